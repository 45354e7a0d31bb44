"""The measurement routes of the JSON API (``/api/v1/``), for the portal and other clients.

Bearer tokens (``reverie token create``) or, for GET, the browser session; errors are
RFC 9457 problem documents. Access follows ``care/access.py``: objects outside a person's
relationship answer 404. Every read of clinical data is audited; every change goes through
:mod:`reverie.measures.actions`. ``/api/v1/openapi.json`` describes every route (see
:mod:`reverie.measures.openapi`).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import clinical_clients, own_client
from reverie.care.models import Client, Episode
from reverie.core.http import Rejected, api_methods, api_view, problem, read_json
from reverie.measures import actions, answers, scheduling
from reverie.measures.models import Administration, Draft, Instrument, MeasureRequest, Source
from reverie.measures.openapi import document
from reverie.measures.registry import definition_for, visible_instruments
from reverie.vault.fields import unread


def _ctx(request: HttpRequest) -> trail.Context:
    return trail.Context(user=_user(request), ip=trail.client_ip(request))


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # api_view has authenticated the caller already
        raise Http404
    return user


def _json_body(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    content_type = request.content_type or ""
    if content_type != "application/json":
        return None, problem(415, "Unsupported media type", "Send the body as application/json.")
    try:
        return read_json(request), None
    except Rejected as error:
        title = "Body too large" if error.status == 413 else "Malformed JSON"
        return None, problem(error.status, title, error.reason)


def _not_found(what: str) -> JsonResponse:
    return problem(404, "Not found", f"No such {what}, or it is not yours to see.")


def instrument_json(instrument: Instrument, *, full: bool = False) -> dict[str, Any]:
    definition = definition_for(instrument)
    out: dict[str, Any] = {
        "code": instrument.code,
        "name": definition.name,
        "short_name": definition.short_name,
        "version": definition.version,
        "items": len(definition.items),
        "score_min": definition.score_min,
        "score_max": definition.score_max,
        "licence": {
            "holder": definition.licence.holder,
            "terms": definition.licence.terms,
            "electronic_use": definition.licence.electronic_use,
        },
        "source": definition.source.citation,
        "shipped": instrument.is_shipped,
    }
    if full:
        out["instructions"] = definition.instructions
        out["questions"] = [
            {
                "id": item.id,
                "number": item.number,
                "text": item.text,
                "scored": item.scored,
                "options": [{"value": o.value, "display": o.display} for o in item.options],
            }
            for item in definition.items
        ]
        out["bands"] = [
            {"min": b.min, "max": b.max, "label": b.label, "code": b.code} for b in definition.bands
        ]
        out["critical_items"] = [
            {"item": c.item_id, "threshold": c.threshold, "direction": c.direction}
            for c in definition.critical_items
        ]
    return out


def administration_json(row: Administration) -> dict[str, Any]:
    return {
        "id": row.pk,
        "client": row.client_id,
        "episode": row.episode_id,
        "instrument": row.instrument.code,
        "completed_at": row.completed_at.isoformat(),
        "received_at": row.received_at.isoformat(),
        "timepoint": row.timepoint,
        "source": row.source,
        "entered_by": row.entered_by_id,
        "answers": row.answers,
        "total": row.total,
        "band": row.band,
        "subscales": row.result.get("subscales", {}),
        "critical_items": row.result.get("critical", []),
        "request": row.request_id,
    }


def request_json(row: MeasureRequest, draft: Draft | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.pk,
        "client": row.client_id,
        "episode": row.episode_id,
        "instrument": row.instrument.code,
        "timepoint": row.timepoint,
        "status": row.status,
        "opens_at": row.opens_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "answerable": row.is_answerable(),
    }
    if draft is not None:
        out["draft"] = {
            "answers": draft.answers,
            "key": draft.key,
            "updated_at": draft.updated_at.isoformat(),
        }
    return out


def _crisis_json(client: Client) -> dict[str, Any]:
    return {"message": client.practice.crisis_info}


# --- instruments ----------------------------------------------------------------------------


@api_methods("GET")
@api_view()
def instruments(request: HttpRequest) -> JsonResponse:
    rows = visible_instruments(_user(request).practice_id)
    return JsonResponse({"results": [instrument_json(i) for i in rows]})


@api_methods("GET")
@api_view()
def instrument(request: HttpRequest, code: str) -> JsonResponse:
    row = visible_instruments(_user(request).practice_id).filter(code=code).first()
    if row is None:
        return _not_found("instrument")
    return JsonResponse(instrument_json(row, full=True))


# --- the client's requests ------------------------------------------------------------------


def _request_for(user: User, pk: int) -> MeasureRequest | None:
    # The episode's encrypted text is never answered here (vault.fields.unread).
    rows = MeasureRequest.objects.select_related("instrument", "client__practice", "episode").defer(
        *unread(Episode, "episode")
    )
    if user.role == Role.CLIENT:
        return rows.filter(pk=pk, client__user=user).first()
    return rows.filter(pk=pk, client__in=clinical_clients(user)).first()


@api_methods("GET")
@api_view(Role.CLIENT)
def measure_requests(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    client = own_client(user)
    rows = actions.open_requests_for(client) if client is not None else []
    trail.record(
        _ctx(request),
        Action.LIST,
        object_type="measures.measurerequest",
        client_id=client.pk if client is not None else None,
        detail={"view": "api.measure_requests", "requests": [r.pk for r in rows]},
    )
    return JsonResponse({"results": [request_json(r) for r in rows]})


@api_methods("GET")
@api_view(Role.CLIENT, Role.THERAPIST)
def measure_request(request: HttpRequest, pk: int) -> JsonResponse:
    row = _request_for(_user(request), pk)
    if row is None:
        return _not_found("request")
    draft = Draft.objects.filter(request=row).first()
    actions.record_read(_ctx(request), row, client_id=row.client_id, view="api.request")
    body = request_json(row, draft)
    body["questionnaire"] = instrument_json(row.instrument, full=True)
    return JsonResponse(body)


def _answers_from(body: Any, row: MeasureRequest) -> tuple[dict[str, int | None], dict[str, str]]:
    if not isinstance(body, dict) or "answers" not in body:
        return {}, {"": "The body must be an object with an 'answers' object."}
    return answers.from_json(definition_for(row.instrument), body["answers"])


@api_methods("POST")
@api_view(Role.CLIENT)
def measure_request_draft(request: HttpRequest, pk: int) -> JsonResponse:
    """Save partial answers; a crisis answer comes back with the practice's crisis text."""
    row = _request_for(_user(request), pk)
    if row is None:
        return _not_found("request")
    body, error = _json_body(request)
    if error is not None:
        return error
    given, problems = _answers_from(body, row)
    if problems:
        return problem(400, "Invalid answers", next(iter(problems.values())), errors=problems)
    try:
        draft, alert = actions.save_draft(_ctx(request), row, given, key=body.get("key"))
    except actions.AnswerProblems as exc:
        return problem(400, "Invalid answers", str(exc), errors=exc.problems)
    except actions.MeasureActionError as exc:
        return _refused(exc)
    out = request_json(row, draft)
    out["crisis"] = _crisis_json(row.client) if alert is not None else None
    return JsonResponse(out)


def _refused(error: actions.MeasureActionError) -> JsonResponse:
    """409 for a refused draft or submission, titled by why: only a request that can no
    longer be answered is "closed" (another refusal, such as an instrument whose totals
    can be fractional, says what it is in the detail)."""
    closed = isinstance(error, actions.RequestClosed)
    return problem(409, "Questionnaire closed" if closed else "Not stored", str(error))


@api_methods("POST")
@api_view(Role.CLIENT)
def measure_request_submit(request: HttpRequest, pk: int) -> JsonResponse:
    """Submit the answers. ``Idempotency-Key`` (or the draft's key) makes a retry safe: the
    first submission's result comes back with 200 instead of 201."""
    row = _request_for(_user(request), pk)
    if row is None:
        return _not_found("request")
    body, error = _json_body(request)
    if error is not None:
        return error
    given, problems = _answers_from(body, row)
    if problems:
        return problem(400, "Invalid answers", next(iter(problems.values())), errors=problems)
    raw_key = request.headers.get("Idempotency-Key", "").strip()[:200] or actions.draft_key(row)
    try:
        result = actions.submit(
            _ctx(request),
            client=row.client,
            instrument=row.instrument,
            answers=given,
            source=Source.PORTAL,
            request=row,
            key=actions.idempotency_key("request", row.pk, raw_key),
        )
    except actions.AnswerProblems as exc:
        return problem(400, "Invalid answers", str(exc), errors=exc.problems)
    except actions.MeasureActionError as exc:
        return _refused(exc)
    out = administration_json(result.administration)
    out["crisis"] = _crisis_json(row.client) if result.crisis else None
    return JsonResponse(out, status=201 if result.created else 200)


# --- the therapist's view -------------------------------------------------------------------


def _clinical_client(user: User, pk: int) -> Client | None:
    return clinical_clients(user).filter(pk=pk).first()


@api_methods("GET")
@api_view(Role.THERAPIST, Role.CLIENT)
def client_administrations(request: HttpRequest, pk: int) -> JsonResponse:
    client = _clinical_client(_user(request), pk)
    if client is None:
        return _not_found("client")
    rows = list(
        Administration.objects.filter(client=client)
        .select_related("instrument")
        .order_by("completed_at")
    )
    code = request.GET.get("instrument")
    if code:
        rows = [r for r in rows if r.instrument.code == code]
    trail.record(
        _ctx(request),
        Action.LIST,
        object_type="measures.administration",
        client_id=client.pk,
        detail={"view": "api.client_administrations", "administrations": [r.pk for r in rows]},
    )
    return JsonResponse({"results": [administration_json(r) for r in rows]})


@api_methods("GET")
@api_view(Role.THERAPIST, Role.CLIENT)
def administration(request: HttpRequest, pk: int) -> JsonResponse:
    row = (
        Administration.objects.select_related("instrument")
        .filter(pk=pk, client__in=clinical_clients(_user(request)))
        .first()
    )
    if row is None:
        return _not_found("administration")
    actions.record_read(_ctx(request), row, client_id=row.client_id, view="api.administration")
    return JsonResponse(administration_json(row))


def _schedule_json(episode: Episode) -> dict[str, Any]:
    return {
        "episode": episode.pk,
        "schedule": [
            {
                "instrument": entry.instrument.code,
                "before_sessions": entry.before_sessions,
                "followup_months": list(entry.followup_months),
            }
            for entry in scheduling.effective_schedule(episode)
        ],
    }


@api_methods("GET", "POST")
@api_view(Role.THERAPIST)
def episode_schedule(request: HttpRequest, pk: int) -> JsonResponse:
    user = _user(request)
    episode = (
        Episode.objects.select_related("client__practice")
        .filter(pk=pk, client__in=clinical_clients(user))
        .first()
    )
    if episode is None:
        return _not_found("episode")
    if request.method == "GET":
        actions.record_read(
            _ctx(request), episode, client_id=episode.client_id, view="api.schedule"
        )
        return JsonResponse(_schedule_json(episode))
    body, error = _json_body(request)
    if error is not None:
        return error
    entries = body.get("schedule") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return problem(400, "Invalid schedule", "Send {'schedule': [...]}.")
    available = {i.code: i for i in visible_instruments(episode.client.practice_id)}
    parsed = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("instrument") not in available:
            return problem(400, "Invalid schedule", f"schedule[{index}]: unknown instrument")
        before = entry.get("before_sessions", False)
        months = entry.get("followup_months", [])
        if not isinstance(before, bool) or not (
            isinstance(months, list) and all(type(m) is int for m in months)
        ):
            return problem(
                400,
                "Invalid schedule",
                f"schedule[{index}]: before_sessions is true or false; followup_months a "
                "list of whole numbers",
            )
        parsed.append((available[entry["instrument"]], before, months))
    try:
        actions.set_schedule(_ctx(request), episode, parsed)
    except actions.MeasureActionError as exc:
        return problem(400, "Invalid schedule", str(exc))
    return JsonResponse(_schedule_json(episode))


@api_methods("GET")
def openapi(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3.1 description of every /api/v1/ route. Public: it holds no data
    (but, like every API answer, it is not cached: see ``core.middleware``)."""
    return JsonResponse(document())
