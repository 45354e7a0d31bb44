from django.urls import path

from reverie.billing import admin_views, document_views, portal_views, views

app_name = "billing"

urlpatterns = [
    # Staff: accounts of the clients a person may see.
    path("billing/", views.overview, name="overview"),
    path("billing/clients/<int:pk>/", views.account, name="account"),
    path("billing/clients/<int:pk>/payments/", views.record_payment, name="payment"),
    path("billing/clients/<int:pk>/agreed-fee/", views.agreed_fee, name="agreed_fee"),
    path("billing/clients/<int:pk>/settings/", views.client_settings, name="client_settings"),
    path("billing/clients/<int:pk>/diagnoses/", views.diagnoses, name="diagnoses"),
    path("billing/charges/<int:pk>/waive/", views.waive, name="waive"),
    path("billing/charges/<int:pk>/write-off/", views.write_off, name="write_off"),
    path("billing/payments/<int:pk>/refund/", views.refund, name="refund"),
    path("billing/provider/", views.provider, name="provider"),
    path(
        "billing/clients/<int:pk>/statements/<str:period>.pdf",
        document_views.client_statement,
        name="client_statement",
    ),
    path(
        "billing/clients/<int:pk>/superbills/<str:period>.pdf",
        document_views.client_superbill,
        name="client_superbill",
    ),
    path(
        "billing/clients/<int:pk>/estimates/<int:estimate>.pdf",
        document_views.client_estimate,
        name="client_estimate",
    ),
    path(
        "billing/clients/<int:pk>/estimates/", document_views.issue_estimate, name="issue_estimate"
    ),
    # The practice admin.
    path("practice/billing/", admin_views.settings_page, name="settings"),
    path("practice/billing/fees/", admin_views.fee_schedule, name="fees"),
    path("practice/billing/reports/", admin_views.reports_page, name="reports"),
    path("practice/billing/reports.csv", admin_views.reports_csv, name="reports_csv"),
    # The client's portal.
    path("me/billing/", portal_views.mine, name="mine"),
    path(
        "me/billing/statements/<str:period>.pdf", document_views.my_statement, name="my_statement"
    ),
    path(
        "me/billing/superbills/<str:period>.pdf", document_views.my_superbill, name="my_superbill"
    ),
    path("me/billing/estimates/<int:pk>.pdf", document_views.my_estimate, name="my_estimate"),
    path("me/billing/estimates/", document_views.ask_estimate, name="ask_estimate"),
]
