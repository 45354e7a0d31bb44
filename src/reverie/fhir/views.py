"""The FHIR R4 API under ``/fhir``.

JSON only (``application/fhir+json``). Bearer tokens from ``reverie token create`` (GET
also accepts the browser session). Access follows ``care/access.py`` exactly as the pages
do; every read of clinical data and every write is audited. Errors are 4xx responses with
an OperationOutcome, and a refused write stores nothing.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import administrative_clients, clinical_clients
from reverie.care.models import Client, Episode
from reverie.core.http import (
    Rejected,
    bearer_digest,
    bearer_user,
    declared_length,
    preferences,
    read_json,
)
from reverie.fhir import everything, resources, search
from reverie.fhir.lookup import (
    can_look_up_by_token,
    submission_target,
    submission_target_by_token,
)
from reverie.lib.ids import parse_id
from reverie.measures import actions
from reverie.measures.fhir_questionnaire import answers_from_questionnaire_response
from reverie.measures.models import (
    Administration,
    Instrument,
    MeasureRequest,
    Source,
)
from reverie.measures.registry import definition_for, instrument_by_code, visible_instruments

FhirView = Callable[..., HttpResponse]
#: Elements of an R4 QuestionnaireResponse. The resource is checked element by element by
#: the code that reads it; anything else is refused as malformed rather than ignored.
_QR_ELEMENTS = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "implicitRules",
        "language",
        "text",
        "contained",
        "extension",
        "modifierExtension",
        "identifier",
        "basedOn",
        "partOf",
        "questionnaire",
        "status",
        "subject",
        "encounter",
        "authored",
        "author",
        "source",
        "item",
    }
)
_JSON_TYPES = ("application/fhir+json", "application/json")


#: ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``, built once.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def fhir_response(resource: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    return _encoded_response(_COMPACT.encode(resource), status, **headers)


def _encoded_response(body: str, status: int, **headers: str) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=resources.CONTENT_TYPE)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def outcome(
    status: int, code: str, diagnostics: str, expression: str | None = None
) -> HttpResponse:
    return outcome_many(status, [(code, diagnostics, expression)])


def outcome_many(status: int, issues: list[tuple[str, str, str | None]]) -> HttpResponse:
    response = fhir_response(resources.operation_outcome(issues), status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="reverie"'
    return response


#: OperationOutcome issue type for each status ``core.errors`` answers with
#: (http://hl7.org/fhir/R4/valueset-issue-type.html).
_ISSUE_FOR_STATUS = {400: "structure", 404: "not-found", 413: "too-long", 500: "exception"}


def error_outcome(status: int, title: str, detail: str) -> HttpResponse:
    """The OperationOutcome for an error answered outside a view (see ``core.errors``)."""
    return outcome(status, _ISSUE_FOR_STATUS.get(status, "processing"), f"{title}: {detail}")


def _authenticate(request: HttpRequest, roles: tuple[str, ...]) -> HttpResponse | None:
    """Set ``request.user`` from the bearer token (or the session, for GET); the 401 or
    403 to answer instead when there is no such caller or their role is not in ``roles``."""
    user = bearer_user(request)
    if user is None and request.user.is_authenticated and request.method == "GET":
        user = request.user
    return _admit(request, user, roles)


def _admit(request: HttpRequest, user: User | None, roles: tuple[str, ...]) -> HttpResponse | None:
    """Make ``user`` the request's caller; or the 401 (no such caller) or 403 (their role is
    not in ``roles``) to answer instead. The one rule for every way a caller is found."""
    if user is None:
        return outcome(401, "login", "Send 'Authorization: Bearer <token>'.")
    if roles and user.role not in roles:
        return outcome(403, "forbidden", "This interaction is not open to your role.")
    request.user = user
    return None


#: Where a view called by :func:`fhir_view` with ``defer=True`` finds the bearer token's
#: digest it is to authenticate itself (set only on the deferred path).
_DEFERRED = "reverie_fhir_deferred_bearer"
#: The largest body a deferred view reads before its caller is known. A questionnaire
#: response is a few kilobytes (a PHQ-9's is about 2 KB); a larger body, or one of unstated
#: length, is parsed only once the token has been checked on its own, so that nobody
#: without a live token can make the server parse megabytes of JSON before the 401.
DEFER_MAX_BODY = 64 * 1024


def _small_body(request: HttpRequest) -> bool:
    """Whether the request states a body length of at most :data:`DEFER_MAX_BODY`."""
    length = declared_length(request)
    return length is not None and 0 <= length <= DEFER_MAX_BODY


def fhir_view(
    *roles: str, public: bool = False, defer: bool = False
) -> Callable[[FhirView], FhirView]:
    """Authenticate (bearer token, or the session for GET) and gate by role.

    With ``defer`` a bearer call on PostgreSQL with a small body (:data:`DEFER_MAX_BODY`)
    reaches the view unauthenticated, with the token's digest under :data:`_DEFERRED`, and
    the view authenticates it in the same statement as its own lookup. Whatever the view
    answers (or raises) before that is held back until the caller is authenticated here, so
    a caller without a live token or with another role still gets the 401 or 403 first.
    """

    def decorator(view: FhirView) -> FhirView:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if public:
                return view(request, *args, **kwargs)
            if defer and can_look_up_by_token() and _small_body(request):
                digest = bearer_digest(request)
                if digest is not None:
                    setattr(request, _DEFERRED, (digest, roles))
                    try:
                        response = view(request, *args, **kwargs)
                    except Exception:
                        refused = _authenticate_now(request)
                        if refused is not None:
                            return refused
                        raise
                    return _authenticate_now(request) or response
            refused = _authenticate(request, roles)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _deferred(request: HttpRequest) -> tuple[str, tuple[str, ...]] | None:
    """(token digest, roles) while a deferred view has not authenticated its caller."""
    found: tuple[str, tuple[str, ...]] | None = getattr(request, _DEFERRED, None)
    return found


def _take_deferred(request: HttpRequest) -> tuple[str, tuple[str, ...]] | None:
    """:func:`_deferred`, after which the caller counts as being authenticated."""
    pending = _deferred(request)
    if pending is not None:
        delattr(request, _DEFERRED)
    return pending


def _authenticate_now(request: HttpRequest) -> HttpResponse | None:
    """Authenticate a deferred caller as :func:`fhir_view` would have (nothing to do once
    they are known): the 401 or 403 to answer, or ``None``."""
    pending = _take_deferred(request)
    return None if pending is None else _authenticate(request, pending[1])


def _methods(*allowed: str) -> Callable[[FhirView], FhirView]:
    def decorator(view: FhirView) -> FhirView:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = outcome(405, "not-supported", f"{request.method} is not supported here.")
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionError("fhir_view authenticates every caller")
    return user


def _ctx(request: HttpRequest) -> trail.Context:
    return trail.Context(user=_user(request), ip=trail.client_ip(request))


# --- metadata and Questionnaire -------------------------------------------------------------


@_methods("GET")
@fhir_view(public=True)
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability_statement())


#: The Patient search parameters and the SearchParameter each implements (US Core 6.1
#: Patient: https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html).
PATIENT_SEARCH_PARAMS: tuple[tuple[str, str, str], ...] = (
    ("_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id"),
    ("identifier", "token", "http://hl7.org/fhir/SearchParameter/Patient-identifier"),
    ("name", "string", "http://hl7.org/fhir/SearchParameter/Patient-name"),
    ("family", "string", "http://hl7.org/fhir/SearchParameter/individual-family"),
    ("given", "string", "http://hl7.org/fhir/SearchParameter/individual-given"),
    ("birthdate", "date", "http://hl7.org/fhir/SearchParameter/individual-birthdate"),
)


_BULK_OPERATION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"


def capability_statement() -> dict[str, Any]:
    def interactions(*codes: str) -> list[dict[str, str]]:
        return [{"code": code} for code in codes]

    def params(*pairs: tuple[str, str]) -> list[dict[str, str]]:
        return [{"name": name, "type": kind} for name, kind in pairs]

    rest = {
        "mode": "server",
        "documentation": (
            "Bearer tokens from `reverie token create`. Access rules are those of the web "
            "pages; objects outside the caller's relationship answer 404."
        ),
        "security": {
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "OAuth",
                        }
                    ],
                    "text": "Bearer token",
                }
            ]
        },
        # FHIR Bulk Data Access IG v2.0.0 (served by lifecycle/bulk_views.py).
        "operation": [{"name": "export", "definition": _BULK_OPERATION + "export"}],
        "resource": [
            {
                "type": "Patient",
                "interaction": interactions("read", "search-type"),
                "searchParam": [
                    {"name": name, "type": kind, "definition": definition}
                    for name, kind, definition in PATIENT_SEARCH_PARAMS
                ],
                "operation": [
                    {
                        "name": "everything",
                        "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    },
                    {"name": "export", "definition": _BULK_OPERATION + "patient-export"},
                ],
            },
            {
                # A Group is a therapist's caseload; it is only exported (docs/fhir.md).
                "type": "Group",
                "operation": [{"name": "export", "definition": _BULK_OPERATION + "group-export"}],
            },
            {
                "type": "Questionnaire",
                "interaction": interactions("read", "search-type"),
                "searchParam": params(("url", "uri"), ("code", "token"), ("name", "string")),
            },
            {
                "type": "QuestionnaireResponse",
                "interaction": interactions("read", "create"),
                "conditionalCreate": False,
            },
            {
                "type": "Observation",
                "interaction": interactions("read", "search-type"),
                "searchParam": params(
                    ("subject", "reference"), ("patient", "reference"), ("code", "token")
                ),
            },
        ],
    }
    return resources.validated(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-22",
            "publisher": "Reverie",
            "kind": "instance",
            "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
            "software": {"name": "Reverie"},
            "implementation": {"description": "Reverie FHIR API", "url": resources.base_url()},
            "fhirVersion": resources.FHIR_VERSION,
            "format": ["application/fhir+json", "json"],
            "rest": [rest],
        }
    )


def _instruments_for(user: User) -> QuerySet[Instrument]:
    return visible_instruments(user.practice_id)


@_methods("GET")
@fhir_view()
def questionnaire_search(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    url = request.GET.get("url", "").strip()
    code = request.GET.get("code", "").strip()
    name = request.GET.get("name", "").strip().lower()
    unknown = sorted(set(request.GET) - {"url", "code", "name", "_format", "_count"})
    if unknown:
        return outcome(
            400, "not-supported", f"Unsupported search parameter(s): {', '.join(unknown)}."
        )
    system, _, token = code.rpartition("|") if "|" in code else ("", "", code)
    matches = []
    for instrument in _instruments_for(user):
        definition = definition_for(instrument)
        canonical = resources.questionnaire_url(instrument)
        if url and url.split("|")[0] != canonical:
            continue
        if token and not any(
            c.code == token and (not system or c.system == system) for c in definition.codes
        ):
            continue
        if (
            name
            and name not in definition.name.lower()
            and name not in definition.short_name.lower()
        ):
            continue
        matches.append(resources.questionnaire(instrument))
    return fhir_response(
        resources.validated(resources.bundle(matches, self_link=request.build_absolute_uri()))
    )


@_methods("GET")
@fhir_view()
def questionnaire_read(request: HttpRequest, code: str) -> HttpResponse:
    instrument = _instruments_for(_user(request)).filter(code=code).first()
    if instrument is None:
        return outcome(404, "not-found", f"Questionnaire/{code} is not known.")
    return fhir_response(resources.questionnaire(instrument))


# --- QuestionnaireResponse ------------------------------------------------------------------


def _instrument_for_canonical(practice_id: int | None, canonical: str) -> Instrument | None:
    """The instrument a canonical URL names, as practice ``practice_id`` sees it (``None``:
    the shipped instruments only, which every practice sees)."""
    url = canonical.split("|", 1)[0]
    prefix = resources.base_url() + "/Questionnaire/"
    if not url.startswith(prefix):
        return None
    return instrument_by_code(practice_id, url[len(prefix) :])


def _submission_instrument(
    request: HttpRequest, canonical: Any
) -> Instrument | HttpResponse | None:
    """The instrument a submission answers, or the 401/403 owed to a caller found to have
    no live token or another role on the way. A shipped instrument is the same for every
    practice, so a deferred caller's is found before the caller is known; a practice's own
    needs the caller first."""
    if not isinstance(canonical, str):
        return None
    if _deferred(request) is not None:
        shipped = _instrument_for_canonical(None, canonical)
        if shipped is not None:
            return shipped
        refused = _authenticate_now(request)
        if refused is not None:
            return refused
    return _instrument_for_canonical(_user(request).practice_id, canonical)


def _patient_pk(reference: Any) -> int | None:
    if not isinstance(reference, str):
        return None
    kind, _, raw_id = reference.rpartition("/")
    return parse_id(raw_id) if kind.endswith("Patient") else None


def _submission_target(
    request: HttpRequest, reference: Any, instrument: Instrument
) -> tuple[Client, Episode | None, MeasureRequest | None] | HttpResponse | None:
    """(client, episode, open request) if the caller may submit for ``reference``, else
    ``None``, or the 401/403 owed to the caller. A deferred caller is authenticated in the
    same statement (:func:`reverie.fhir.lookup.submission_target_by_token`); one with no
    subject to look up is authenticated by :func:`fhir_view` before the 422 goes out."""
    pk = _patient_pk(reference)
    if pk is None:
        return None
    pending = _take_deferred(request)
    if pending is None:
        return submission_target(_user(request), pk, instrument, timezone.now())
    found = submission_target_by_token(pending[0], pk, instrument, timezone.now())
    refused = _admit(request, found[0] if found is not None else None, pending[1])
    if refused is not None or found is None:
        return refused
    return found[1]


# FHIR R4 dateTime (http://hl7.org/fhir/R4/datatypes.html#dateTime) as a day, or to the
# second with an optional zone (none is read as UTC, as before). Python's ``fromisoformat``
# alone accepts far more (week dates, a space for the "T"), so the shape is checked first.
_DATETIME = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?"
)
#: A questionnaire is not completed before this (nor in year 1, where a positive UTC offset
#: used to overflow Python's datetime when the time was converted to UTC).
_EARLIEST_AUTHORED = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)


def _authored(value: Any) -> tuple[int, datetime.datetime | str | None]:
    """QuestionnaireResponse.authored: (0, aware UTC datetime or None), or (status, why)."""
    if value is None:
        return 0, None
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return 400, (
            "authored is not a FHIR dateTime to the day or the second "
            "(e.g. 2026-11-20T09:30:00+01:00)"
        )
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        moment = moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        return 400, "authored is not a date and time that exists"
    if moment < _EARLIEST_AUTHORED:
        return 400, "authored lies before 1900"
    if moment > timezone.now() + datetime.timedelta(minutes=5):
        return 422, "authored lies in the future"
    return 0, moment


@csrf_exempt
@_methods("POST")
@fhir_view(Role.THERAPIST, Role.CLIENT, defer=True)
def questionnaire_response_create(request: HttpRequest) -> HttpResponse:
    """Validate, score and store a completed QuestionnaireResponse; run crisis handling.

    201 with the stored resource (200 with the first one for a retry carrying the same
    ``identifier`` or ``Idempotency-Key``); 4xx with an OperationOutcome and nothing stored
    otherwise.
    """
    # On the deferred path (fhir_view's ``defer``) the caller is not known until the
    # subject's lookup; fhir_view authenticates them before any earlier answer goes out.
    content_type = (request.content_type or "").lower()
    if content_type not in _JSON_TYPES:
        return outcome(415, "not-supported", "Send the resource as application/fhir+json.")
    try:
        body = read_json(request)
    except Rejected as error:
        return outcome(
            error.status, "too-long" if error.status == 413 else "structure", error.reason
        )
    if body.get("resourceType") != "QuestionnaireResponse":
        return outcome(400, "invalid", "Expected a QuestionnaireResponse resource.")
    unknown = sorted(set(body) - _QR_ELEMENTS)
    if unknown:
        return outcome(
            400, "structure", f"Unknown QuestionnaireResponse element(s): {', '.join(unknown)}."
        )
    if body.get("status") != "completed":
        return outcome(
            422,
            "business-rule",
            "Only completed responses are scored; status must be 'completed'.",
            "QuestionnaireResponse.status",
        )
    canonical = body.get("questionnaire")
    instrument = _submission_instrument(request, canonical)
    if isinstance(instrument, HttpResponse):
        return instrument
    if instrument is None:
        return outcome(
            422,
            "not-found",
            f"Unknown questionnaire {canonical or '(none)'}; search /fhir/Questionnaire for "
            "the canonical URLs this server scores.",
            "QuestionnaireResponse.questionnaire",
        )
    subject = body.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    target = _submission_target(request, reference, instrument)
    if isinstance(target, HttpResponse):
        return target
    if target is None:
        return outcome(
            422,
            "not-found",
            f"subject {reference or '(none)'} is not a patient you can submit for.",
            "QuestionnaireResponse.subject",
        )
    user = _user(request)
    client, episode, measure_request = target
    status, authored = _authored(body.get("authored"))
    if isinstance(authored, str):
        code = "value" if status == 400 else "business-rule"
        return outcome(status, code, authored, "QuestionnaireResponse.authored")
    definition = definition_for(instrument)
    try:
        answers = answers_from_questionnaire_response(definition, body)
    except ValueError as error:
        return outcome(422, "value", str(error), "QuestionnaireResponse.item")
    identifier = body.get("identifier") or {}
    problem = resources.identifier_problem(identifier) if identifier else None
    if problem:
        return outcome(400, "structure", f"{problem}.", "QuestionnaireResponse.identifier")
    raw_key = request.headers.get("Idempotency-Key", "").strip()
    if identifier.get("value"):
        raw_key = f"{identifier.get('system', '')}|{identifier['value']}"
    asked = preferred_return(request)
    wanted = asked or REPRESENTATION
    # The 201's body, built while PostgreSQL commits the write when it can be (see
    # submit's ``meanwhile``); built below otherwise. Not built at all for a caller that
    # asked for a minimal answer or an OperationOutcome.
    prepared: dict[str, Any] = {}

    def prepare(row: Administration) -> None:
        prepared["row"], prepared["body"] = row, _stored_body(row)

    try:
        submission = actions.submit(
            _ctx(request),
            client=client,
            instrument=instrument,
            answers=answers,
            source=Source.FHIR,
            episode=episode,
            request=measure_request,
            completed_at=authored,
            key=actions.idempotency_key("fhir", user.pk, raw_key[:500]) if raw_key else None,
            identifier=identifier,
            meanwhile=prepare if wanted == REPRESENTATION else None,
        )
    except actions.AnswerProblems as error:
        return outcome_many(
            422,
            [
                (
                    "required" if "no answer" in message else "value",
                    message,
                    f"QuestionnaireResponse.item.where(linkId='{item}')" if item else None,
                )
                for item, message in error.problems.items()
            ],
        )
    except actions.MeasureActionError as error:
        return outcome(409, "conflict", str(error))
    row = submission.administration
    headers = {
        "Location": f"{resources.base_url()}/QuestionnaireResponse/{row.pk}",
        "ETag": 'W/"1"',
    }
    if submission.crisis:
        headers["X-Reverie-Crisis"] = "alert-raised"
    status = 201 if submission.created else 200
    if wanted == MINIMAL:
        response = HttpResponse(status=status, headers=headers)
    elif wanted == OUTCOME:
        done = "stored" if submission.created else "already stored, nothing changed"
        crisis = "; a crisis alert was raised" if submission.crisis else ""
        response = fhir_response(
            resources.operation_outcome(
                [("informational", f"QuestionnaireResponse/{row.pk} {done}{crisis}.", None)],
                severity="information",
            ),
            status,
            **headers,
        )
    else:
        body = prepared["body"] if prepared.get("row") is row else _stored_body(row)
        response = _encoded_response(body, status, **headers)
    if asked is not None:
        response["Preference-Applied"] = f"return={asked}"
    return response


MINIMAL, REPRESENTATION, OUTCOME = "minimal", "representation", "OperationOutcome"


def preferred_return(request: HttpRequest) -> str | None:
    """What a create should answer with, from its ``Prefer`` header (RFC 7240; FHIR R4
    http.html#ops), or ``None`` when it states no preference Reverie knows (the stored
    resource is then the answer, as for ``return=representation``): nothing but the status,
    ``Location`` and ``ETag`` (``return=minimal``), or an OperationOutcome
    (``return=OperationOutcome``). An unknown preference or value is ignored, as RFC 7240
    asks; the first ``return`` counts.

    >>> from django.test import RequestFactory
    >>> def asked(header):
    ...     return preferred_return(RequestFactory().post("/", HTTP_PREFER=header))
    >>> asked('respond-async, return="OperationOutcome"; x=1')
    'OperationOutcome'
    >>> asked("return=everything, return=minimal") is None
    True
    >>> asked("") is None
    True
    """
    value = preferences(request).get("return")
    return value if value in (MINIMAL, REPRESENTATION, OUTCOME) else None


def _stored_body(row: Administration) -> str:
    """The stored QuestionnaireResponse, validated and encoded: a submission's answer."""
    return _COMPACT.encode(resources.validated(resources.questionnaire_response(row)))


def _clinical_administrations(user: User) -> QuerySet[Administration]:
    return Administration.objects.filter(client__in=clinical_clients(user)).select_related(
        "instrument", "entered_by"
    )


@_methods("GET")
@fhir_view(Role.THERAPIST, Role.CLIENT)
def questionnaire_response_read(request: HttpRequest, pk: int) -> HttpResponse:
    row = _clinical_administrations(_user(request)).filter(pk=pk).first()
    if row is None:
        return outcome(404, "not-found", f"QuestionnaireResponse/{pk} is not known.")
    actions.record_read(_ctx(request), row, client_id=row.client_id, view="fhir.read")
    return fhir_response(resources.validated(resources.questionnaire_response(row)))


# --- Observation ----------------------------------------------------------------------------


def _patient_id(value: str) -> int | None:
    return parse_id(value.rpartition("/")[2] if "/" in value else value)


@_methods("GET")
@fhir_view(Role.THERAPIST, Role.CLIENT)
def observation_search(request: HttpRequest) -> HttpResponse:
    """``?subject=Patient/{id}`` (required) ``&code=[system|]code`` ``&_sort=date|-date``."""
    user = _user(request)
    unknown = sorted(
        set(request.GET) - {"subject", "patient", "code", "_sort", "_format", "_count", "category"}
    )
    if unknown:
        return outcome(
            400, "not-supported", f"Unsupported search parameter(s): {', '.join(unknown)}."
        )
    subject = request.GET.get("subject") or request.GET.get("patient") or ""
    patient_id = _patient_id(subject)
    if patient_id is None:
        return outcome(400, "required", "Search by subject=Patient/{id}.", "subject")
    sort = request.GET.get("_sort", "date")
    if sort not in ("date", "-date"):
        return outcome(400, "not-supported", "_sort accepts date or -date.")
    category = request.GET.get("category", "")
    code = request.GET.get("code", "")
    system, _, token = code.rpartition("|") if "|" in code else ("", "", code)
    rows = _clinical_administrations(user).filter(client_id=patient_id)
    if category and category.rpartition("|")[2] != "survey":
        rows = rows.none()
    rows = rows.order_by("completed_at" if sort == "date" else "-completed_at", "pk")
    found = []
    for row in rows:
        for observation in resources.observations(row):
            if token and not any(
                c["code"] == token and (not system or c["system"] == system)
                for c in observation["code"]["coding"]
            ):
                continue
            found.append(observation)
    trail.record(
        _ctx(request),
        Action.LIST,
        object_type="measures.administration",
        client_id=patient_id if found else None,
        detail={
            "view": "fhir.observation_search",
            "patient": patient_id,
            "observations": [o["id"] for o in found],
        },
    )
    return fhir_response(
        resources.validated(resources.bundle(found, self_link=request.build_absolute_uri()))
    )


@_methods("GET")
@fhir_view(Role.THERAPIST, Role.CLIENT)
def observation_read(request: HttpRequest, observation_id: str) -> HttpResponse:
    raw_pk, _, part = observation_id.partition("-")
    pk = parse_id(raw_pk)
    row = _clinical_administrations(_user(request)).filter(pk=pk).first() if pk else None
    match = (
        next((o for o in resources.observations(row) if o["id"] == observation_id), None)
        if row is not None and part
        else None
    )
    if row is None or match is None:
        return outcome(404, "not-found", f"Observation/{observation_id} is not known.")
    actions.record_read(_ctx(request), row, client_id=row.client_id, view="fhir.observation")
    return fhir_response(resources.validated(match))


# --- Patient --------------------------------------------------------------------------------

#: The HumanName parts each string parameter looks at. ``preferred_name`` is sent as the
#: ``usual`` name's given name (resources.patient), so searching by given finds it too.
_NAME_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("family_name", "given_name", "preferred_name"),
    "family": ("family_name",),
    "given": ("given_name", "preferred_name"),
}
_STRING_LOOKUP = {"start": "istartswith", "exact": "exact", "contains": "icontains"}
_PATIENT_PARAMS = frozenset(
    {"name", "family", "given", "birthdate", "identifier", "_id", "_count", "_offset", "_format"}
)


def _string_q(param: str, criterion: search.StringCriterion) -> Q:
    lookup = _STRING_LOOKUP[criterion.mode]
    either = Q()
    for value in criterion.values:
        for field in _NAME_FIELDS[param]:
            either |= Q(**{f"{field}__{lookup}": value})
    return either


def _birthdate_q(criteria: list[search.DateCriterion]) -> Q:
    # Mirrors DateCriterion.matches for a birth date, which is one whole day; a client
    # without a birth date matches no birthdate criterion.
    either = Q()
    for c in criteria:
        either |= {
            "eq": Q(date_of_birth__gte=c.low, date_of_birth__lt=c.high),
            "ne": Q(date_of_birth__lt=c.low) | Q(date_of_birth__gte=c.high),
            "lt": Q(date_of_birth__lt=c.low),
            "eb": Q(date_of_birth__lt=c.low),
            "gt": Q(date_of_birth__gte=c.high),
            "sa": Q(date_of_birth__gte=c.high),
            "le": Q(date_of_birth__lt=c.high),
            "ge": Q(date_of_birth__gte=c.low),
        }[c.prefix]
    return either


def _identifier_q(tokens: list[search.Token]) -> Q:
    """Reverie's one Patient identifier is ``{base}/sid/client|{id}``; a token naming
    another system, no system, or a value that is not an id simply finds nothing."""
    system = resources.client_identifier_system()
    ids: list[int] = []
    any_code = False
    for token in tokens:
        if token.system is not None and token.system != system:
            continue
        if token.code is None:
            any_code = True
        elif (pk := parse_id(token.code)) is not None:
            ids.append(pk)
    if any_code:
        return Q()
    return Q(pk__in=ids)


def _patient_filter(request: HttpRequest) -> tuple[Q, int, int]:
    """The query of a Patient search and its page; raises SearchError for bad input."""
    where = Q()
    count_raw = offset_raw = None
    for key, raw_values in request.GET.lists():
        param, _, modifier = key.partition(":")
        if param not in _PATIENT_PARAMS:
            raise search.SearchError(
                key, f"Unsupported search parameter {key!r} for Patient.", "not-supported"
            )
        if modifier and param.startswith("_"):
            raise search.SearchError(key, f"{param} takes no modifier.", "not-supported")
        for raw in raw_values:
            if param in _NAME_FIELDS:
                criterion = search.string_criterion(param, modifier, raw)
                if criterion is not None:
                    where &= _string_q(param, criterion)
            elif param == "birthdate":
                dates = search.date_criterion(param, modifier, raw)
                if dates:
                    where &= _birthdate_q(dates)
            elif param == "identifier":
                tokens = search.token_criterion(param, modifier, raw)
                if tokens:
                    where &= _identifier_q(tokens)
            elif param == "_id":
                wanted = search.ids(param, raw)
                if wanted:
                    where &= Q(pk__in=[pk for i in wanted if (pk := parse_id(i)) is not None])
            elif param == "_count":
                count_raw = raw
            elif param == "_offset":
                offset_raw = raw
    count, offset = search.page(count_raw, offset_raw)
    return where, count, offset


def _page_link(request: HttpRequest, offset: int, count: int) -> str:
    query = request.GET.copy()
    query.setlist("_offset", [str(offset)])
    query.setlist("_count", [str(count)])
    return f"{resources.base_url()}/Patient?{query.urlencode(safe='|:,')}"


@_methods("GET")
@fhir_view(Role.THERAPIST, Role.CLIENT, Role.ADMIN)
def patient_search(request: HttpRequest) -> HttpResponse:
    """US Core Patient search over the administrative records the caller may see.

    Scoped like ``Patient/{id}``: an admin searches the whole practice, a therapist the
    clients they treat or were granted, a client finds only themselves. Sorted by family
    name, given name and id so that pages do not overlap; ``_count``/``_offset`` page.
    """
    user = _user(request)
    try:
        where, count, offset = _patient_filter(request)
    except search.SearchError as error:
        return outcome(400, error.code, str(error), error.param)
    matches = administrative_clients(user).filter(where)
    total = matches.count()
    rows = (
        list(matches.order_by("family_name", "given_name", "pk")[offset : offset + count])
        if count
        else []
    )
    links: dict[str, str] = {}
    if count:
        links["first"] = _page_link(request, 0, count)
        if offset + count < total:
            links["next"] = _page_link(request, offset + count, count)
        if offset > 0:
            links["previous"] = _page_link(request, max(offset - count, 0), count)
    found = [c.pk for c in rows]
    trail.record(
        _ctx(request),
        Action.LIST,
        object_type="care.client",
        client_id=found[0] if len(found) == 1 else None,
        detail={"view": "fhir.patient_search", "patients": found, "total": total},
    )
    return fhir_response(
        resources.validated(
            resources.bundle(
                [resources.patient(c) for c in rows],
                self_link=request.build_absolute_uri(),
                total=total,
                links=links,
            )
        )
    )


@_methods("GET")
@fhir_view(Role.THERAPIST, Role.CLIENT, Role.ADMIN)
def patient_read(request: HttpRequest, pk: int) -> HttpResponse:
    """The administrative record: visible to the practice admin, as on the client's page."""
    user = _user(request)
    client = administrative_clients(user).filter(pk=pk).first()
    if client is None:
        return outcome(404, "not-found", f"Patient/{pk} is not known.")
    actions.record_read(_ctx(request), client, client_id=client.pk, view="fhir.patient")
    return fhir_response(resources.validated(resources.patient(client)))


@_methods("GET")
@fhir_view(Role.THERAPIST, Role.CLIENT)
def patient_everything(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one client that may leave the practice (never process notes)."""
    user = _user(request)
    client = clinical_clients(user).filter(pk=pk).first()
    if client is None:
        return outcome(404, "not-found", f"Patient/{pk} is not known.")
    entries = everything.collect(client)
    body = resources.validated(
        resources.bundle(
            entries,
            self_link=request.build_absolute_uri(),
            include={t for t, _ in everything.SECTIONS if t != "Patient"},
        )
    )
    trail.record(
        _ctx(request),
        Action.EXPORT,
        client,
        client_id=client.pk,
        detail={
            "view": "fhir.everything",
            "resources": {
                t: sum(1 for e in entries if e["resourceType"] == t) for t, _ in everything.SECTIONS
            },
        },
    )
    return fhir_response(body)
