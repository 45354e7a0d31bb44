"""Every route Reverie serves. tests/test_access_matrix.py fails when a route here has no
entry in the access matrix."""

from django.urls import include, path

from reverie.accounts import admin_views, outbox_views
from reverie.accounts import api as accounts_api
from reverie.audit import views as audit_views
from reverie.backups import views as backup_views
from reverie.care import admin_views as care_admin_views
from reverie.care import urls as care_urls
from reverie.core import views as core_views
from reverie.measures import api_urls as measures_api_urls
from reverie.outcomes import caseload_views
from reverie.process import note_urls as process_note_urls

core_patterns = (
    [
        path("", core_views.landing, name="landing"),
        path("home/", core_views.home, name="home"),
        path("healthz", core_views.healthz, name="healthz"),
    ],
    "core",
)

practice_patterns = (
    [
        path("users/", admin_views.users, name="users"),
        path("users/invite/", admin_views.invite, name="invite"),
        path("users/<int:pk>/unlock/", admin_views.unlock, name="unlock"),
        path("users/<int:pk>/active/", admin_views.set_active, name="set_active"),
        path("date-format/", admin_views.date_format, name="date_format"),
        path("audit/", audit_views.browse, name="audit"),
        path("audit/export.csv", audit_views.export_csv, name="audit_csv"),
        path("outgoing-mail/", outbox_views.outgoing, name="outgoing"),
        path("outgoing-mail/<int:pk>/retry/", outbox_views.retry, name="retry_message"),
        path("backups/", backup_views.backups, name="backups"),
        path("grants/", care_admin_views.grants, name="grants"),
        path("grants/<int:pk>/revoke/", care_admin_views.revoke, name="revoke_grant"),
    ],
    "practice",
)

# The caseload is the therapist's home in care's namespace, but its status is reliable change
# from outcomes (above care in the app order), so its view lives there and is added here.
# Process notes moved to the process app; their routes keep care's names and addresses.
care_patterns = (
    [
        path("caseload/", caseload_views.caseload, name="caseload"),
        *care_urls.urlpatterns,
        *process_note_urls.urlpatterns,
    ],
    "care",
)

api_patterns = (
    [
        path("me", accounts_api.me, name="me"),
        path("caseload", caseload_views.caseload_api, name="caseload"),
        *measures_api_urls.urlpatterns,
    ],
    "api",
)

# Under /api/ and /fhir/ an unknown path, a refused request and a server error answer in
# JSON (a problem document or an OperationOutcome); elsewhere with the HTML pages.
handler400 = "reverie.core.errors.bad_request"
handler404 = "reverie.core.errors.page_not_found"
handler500 = "reverie.core.errors.server_error"

# Django tries these in order on every request. The APIs come first: a FHIR submission
# used to be matched against every page pattern before reaching /fhir/, a measurable
# share of its time (bench/bench_fhir_submissions.py). No two patterns match the same
# path, so the order only decides how soon a match is found.
urlpatterns = [
    path("", include(core_patterns)),
    path("fhir/", include("reverie.lifecycle.bulk_urls")),
    path("fhir/", include("reverie.fhir.urls")),
    path("api/v1/", include(api_patterns)),
    path("accounts/", include("reverie.accounts.urls")),
    path("outcomes/", include("reverie.outcomes.urls")),
    path("process/", include("reverie.process.urls")),
    path("records/", include("reverie.lifecycle.urls")),
    path("paperwork/", include("reverie.paperwork.urls")),
    path("messages/", include("reverie.messaging.urls")),
    path("practice/overview/", include("reverie.overview.urls")),
    path("practice/", include(practice_patterns)),
    path("", include(care_patterns)),
    path("", include("reverie.directory.urls")),
    path("", include("reverie.scheduling.urls")),
    path("", include("reverie.billing.urls")),
    path("", include("reverie.measures.urls")),
]
