"""Every change to measurement data, each writing its audit entry in the same transaction.

Views, the JSON API and the FHIR API call these; none of them saves a measures model
itself. The central one is :func:`submit`: it checks every answer, scores, stores the
administration, completes the request it answers, and runs crisis handling - all in one
transaction, so that a submission is either wholly stored (with its alert) or not at all.

Idempotency. A submission carries a key (the draft's key in the portal, a key in the paper
form, the ``QuestionnaireResponse.identifier`` or an ``Idempotency-Key`` header in the
APIs). The key is stored hashed with its scope and owner in a unique column, and a request
can be answered once (a one-to-one column and a conditional UPDATE of its status). A double
tap or a retried request therefore returns the administration stored the first time.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User, hash_token
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.actions import raise_alert, restate_alert
from reverie.care.models import Alert, AlertKind, Client, Episode, EpisodeStatus
from reverie.measures import emails, scheduling
from reverie.measures.answers import AnswerProblems, check
from reverie.measures.definitions import InstrumentDefinition, load_definition
from reverie.measures.fhir_questionnaire import questionnaire_to_document
from reverie.measures.models import (
    FOLLOWUP_TIMEPOINTS,
    Administration,
    Draft,
    Instrument,
    MeasureRequest,
    MeasureSchedule,
    RequestLink,
    RequestStatus,
    Source,
    Timepoint,
)
from reverie.measures.registry import definition_for, visible_instruments
from reverie.measures.scoring import CriticalHit, ScoreResult, ScoringError, score
from reverie.measures.writelock import serialized_writes

__all__ = [
    "AnswerProblems",
    "MeasureActionError",
    "Submission",
    "cancel_request",
    "create_request",
    "find_episode",
    "idempotency_key",
    "import_instrument",
    "matching_request",
    "record_read",
    "save_draft",
    "send_due_links",
    "send_due_reminders",
    "send_link",
    "set_schedule",
    "submit",
]


class MeasureActionError(ValueError):
    """The change cannot be made; the message is safe to show to the person acting."""


@dataclass(frozen=True)
class Submission:
    """What :func:`submit` did: the administration, whether this call stored it (``False``
    for a replay of an earlier submission) and the crisis alert, if any."""

    administration: Administration
    created: bool
    alert: Alert | None

    @property
    def crisis(self) -> bool:
        return self.administration.has_critical


def idempotency_key(scope: str, owner: object, raw: str) -> str:
    """The stored form of a caller's key: scoped and hashed, so one caller's key can never
    match (and so reveal) another caller's submission."""
    return hashlib.sha256(f"{scope}\x1f{owner}\x1f{raw}".encode()).hexdigest()


def record_read(ctx: trail.Context, obj: Any, *, client_id: int | None, **detail: Any) -> None:
    """One ``view`` entry for one object of clinical data."""
    trail.record(ctx, Action.VIEW, obj, client_id=client_id, detail=detail)


# --- choosing the episode, request and timepoint --------------------------------------------


def find_episode(client: Client, user: User | None) -> Episode | None:
    """The episode a submission belongs to: a running episode before an ended one, the
    acting therapist's own before a colleague's, the newest first. ``fhir/lookup.py`` makes
    the same choice in SQL."""
    me = user.pk if user is not None else None
    episodes = list(client.episodes.all())
    if not episodes:
        return None
    return max(
        episodes,
        key=lambda e: (e.status != EpisodeStatus.ENDED, e.therapist_id == me, e.start_date, e.pk),
    )


def matching_request(
    client: Client, instrument: Instrument, now: datetime.datetime | None = None
) -> MeasureRequest | None:
    """The open request a free-standing submission (FHIR, paper) answers, if there is one."""
    now = now or timezone.now()
    return (
        MeasureRequest.objects.filter(
            client=client,
            instrument=instrument,
            status=RequestStatus.OPEN,
            opens_at__lte=now,
            expires_at__gt=now,
        )
        .order_by("expires_at")
        .first()
    )


def _default_timepoint(episode: Episode | None, when: datetime.datetime) -> str:
    """For a submission that answers no request: before-session while treatment runs; after
    it ended, the nearest follow-up point (1, 3, 6 or 12 months)."""
    if episode is None or episode.end_date is None or episode.status != EpisodeStatus.ENDED:
        return Timepoint.SESSION
    elapsed = (timezone.localdate(when) - episode.end_date).days
    months = min(FOLLOWUP_TIMEPOINTS, key=lambda m: abs(elapsed - m * 30.44))
    return FOLLOWUP_TIMEPOINTS[months]


def _crisis_summary(
    definition: InstrumentDefinition, hits: tuple[CriticalHit, ...], *, draft: bool = False
) -> str:
    numbers = ", ".join(str(definition.item_index[hit.item_id].number) for hit in hits)
    noun = "item" if len(hits) == 1 else "items"
    state = " (saved in progress, not yet submitted)" if draft else ""
    return f"{definition.short_name} {noun} {numbers} at or above the crisis threshold{state}"


def _restate_draft_alert(
    ctx: trail.Context,
    definition: InstrumentDefinition,
    request: MeasureRequest | None,
    hits: tuple[CriticalHit, ...],
) -> None:
    drafted = Alert.objects.filter(
        kind=AlertKind.CRISIS,
        source_type=MeasureRequest._meta.label_lower,
        source_id=str(request.pk if request is not None else ""),
    ).first()
    if drafted is None:
        return
    if hits:
        summary = _crisis_summary(definition, hits)
    else:
        summary = (
            f"{definition.short_name}: an answer saved in progress was at or above the crisis "
            "threshold; the submitted answers are below it"
        )
    restate_alert(ctx, drafted, summary=summary)


def _result_json(result: ScoreResult) -> dict[str, Any]:
    return {
        "subscales": {s.id: s.score for s in result.subscales},
        "critical": [hit.item_id for hit in result.critical_hits],
        "missing": list(result.missing),
        "prorated": result.prorated,
    }


# --- submitting -----------------------------------------------------------------------------


class _RequestClosed(Exception):
    pass


def submit(
    ctx: trail.Context,
    *,
    client: Client,
    instrument: Instrument,
    answers: Mapping[str, int | None],
    source: str,
    episode: Episode | None = None,
    timepoint: str | None = None,
    request: MeasureRequest | None = None,
    entered_by: User | None = None,
    completed_at: datetime.datetime | None = None,
    key: str | None = None,
    identifier: Mapping[str, Any] | None = None,
) -> Submission:
    """Check, score and store one completed questionnaire; run crisis handling.

    Parameters
    ----------
    answers : mapping of item id to raw value (``None`` = unanswered)
    source : one of :class:`~reverie.measures.models.Source`
    request : the request answered, if any; it is completed in the same transaction
    entered_by : the therapist who typed in a paper form
    key : the stored idempotency key (see :func:`idempotency_key`)

    Raises
    ------
    AnswerProblems
        Some answer is missing or not allowed; ``problems`` names every item. Nothing is
        stored.
    MeasureActionError
        The request is closed, or ``key`` was used before for different answers.
    """
    if source not in Source.values:
        raise MeasureActionError(f"unknown source {source!r}")
    definition = definition_for(instrument)
    problems = check(definition, answers, complete=True)
    if problems:
        raise AnswerProblems(problems)
    try:
        result = score(definition, answers)
    except ScoringError as error:  # check() covers these; kept so no path stores bad data
        raise AnswerProblems({error.item_id: str(error)}) from error
    stored_answers = {k: v for k, v in answers.items() if v is not None}
    now = timezone.now()
    if request is not None:
        episode = request.episode
        timepoint = request.timepoint
    elif episode is None:
        episode = find_episode(client, ctx.user)
    when = completed_at or now
    timepoint = timepoint or _default_timepoint(episode, when)
    alert = None
    administration = Administration(
        client=client,
        episode=episode,
        instrument=instrument,
        instrument_version=definition.version,
        completed_at=when,
        received_at=now,
        timepoint=timepoint,
        source=source,
        answers=stored_answers,
        total=int(result.total),
        band=result.band.label if result.band is not None else "",
        result=_result_json(result),
        has_critical=result.has_critical_hits,
        entered_by=entered_by,
        idempotency_key=key,
        request=request,
        identifier=dict(identifier or {}),
    )
    audit_detail = {
        "instrument": instrument.code,
        "source": source,
        "request": request.pk if request is not None else None,
        "critical": bool(result.critical_hits),
    }
    try:
        if request is None and not result.critical_hits and trail.can_create_alone():
            # Nothing else to write: the administration, its audit entry and the commit
            # go to PostgreSQL as one statement (trail.create_committed), two round trips
            # fewer than a transaction (bench/RESULTS.md, 2026-12-06).
            trail.create_committed(ctx, administration, client_id=client.pk, detail=audit_detail)
            return Submission(administration, True, None)
        with serialized_writes(), transaction.atomic():
            if request is not None and not MeasureRequest.objects.filter(
                pk=request.pk, status=RequestStatus.OPEN, opens_at__lte=now, expires_at__gt=now
            ).update(status=RequestStatus.COMPLETED, completed_at=now):
                raise _RequestClosed
            # Inserted and audited by trail.create: compiling the INSERT through the ORM
            # was a tenth of a submission, and the insert shares a round trip with the
            # audit chain's lock on PostgreSQL.
            trail.create(ctx, administration, client_id=client.pk, detail=audit_detail)
            had_draft = False
            if request is not None:
                had_draft = Draft.objects.filter(request=request).delete()[0] > 0
            if had_draft:
                # A crisis answer saved in progress raised its alert already; now that the
                # questionnaire is in, the alert says so (and what the submitted answers were).
                _restate_draft_alert(ctx, definition, request, result.critical_hits)
            if result.critical_hits:
                # Alert and administration commit together: an answered crisis item can
                # never be stored without its alert.
                alert = raise_alert(
                    ctx,
                    client=client,
                    episode=episode,
                    kind="crisis",
                    summary=_crisis_summary(definition, result.critical_hits),
                    source=request if request is not None else administration,
                )
    except IntegrityError:
        existing = (
            Administration.objects.filter(idempotency_key=key).first() if key else None
        ) or (Administration.objects.filter(request=request).first() if request else None)
        if existing is None:
            raise
        return _replay(ctx, existing, client, instrument, stored_answers)
    except _RequestClosed:
        if request is None:  # only raised when answering a request
            raise
        existing = Administration.objects.filter(request=request).first()
        if existing is not None:
            return _replay(ctx, existing, client, instrument, stored_answers)
        request.refresh_from_db(fields=["status"])
        raise MeasureActionError(_closed_message(request)) from None
    if request is not None:
        request.status = RequestStatus.COMPLETED
        request.completed_at = now
    return Submission(administration, True, alert)


def _closed_message(request: MeasureRequest) -> str:
    if request.status == RequestStatus.CANCELLED:
        return "This questionnaire was withdrawn by the practice, so it can no longer be sent."
    if request.status == RequestStatus.COMPLETED:
        return "This questionnaire has already been completed."
    if request.opens_at > timezone.now():
        return "This questionnaire is not open yet."
    return "The time to complete this questionnaire has passed."


def _replay(
    ctx: trail.Context,
    existing: Administration,
    client: Client,
    instrument: Instrument,
    answers: Mapping[str, int],
) -> Submission:
    """A retried submission: return what was stored the first time, unchanged."""
    if (
        existing.client_id != client.pk
        or existing.instrument_id != instrument.pk
        or existing.answers != dict(answers)
    ):
        raise MeasureActionError(
            "This submission key was already used for different answers; nothing was stored. "
            "Use a new key for a new response."
        )
    source_obj: Any = existing.request if existing.request_id else existing
    alert = None
    if existing.has_critical:
        alert = Alert.objects.filter(
            kind="crisis",
            source_type=source_obj._meta.label_lower,
            source_id=str(source_obj.pk),
        ).first()
    record_read(ctx, existing, client_id=existing.client_id, replay=True)
    return Submission(existing, False, alert)


# --- drafts ---------------------------------------------------------------------------------


def save_draft(
    ctx: trail.Context,
    request: MeasureRequest,
    answers: Mapping[str, int | None],
    *,
    key: str | None = None,
) -> tuple[Draft, Alert | None]:
    """Keep the answers given so far on the server. Values are checked (completeness is
    not); a crisis answer raises the alert at once, before the form is submitted.

    ``key`` is the idempotency key the page carries; the first save keeps it, so the page
    and its draft submit with the same key.
    """
    definition = definition_for(request.instrument)
    problems = check(definition, answers, complete=False)
    if problems:
        raise AnswerProblems(problems)
    if not request.is_answerable():
        raise MeasureActionError(_closed_message(request))
    clean = {k: v for k, v in answers.items() if v is not None}
    now = timezone.now()
    hits = tuple(
        CriticalHit(c.item_id, clean[c.item_id], c.threshold, c.label)
        for c in definition.critical_items
        if c.item_id in clean and c.is_hit(clean[c.item_id])
    )
    alert = None
    with transaction.atomic():
        draft, created = Draft.objects.get_or_create(
            request=request,
            defaults={"answers": clean, "key": _usable_key(key), "updated_at": now},
        )
        if not created:
            draft.answers = clean
            draft.updated_at = now
            draft.save(update_fields=["answers", "updated_at"])
        trail.record(
            ctx,
            Action.CREATE if created else Action.UPDATE,
            draft,
            client_id=request.client_id,
            detail={"request": request.pk, "answered": len(clean)},
        )
        if hits:
            alert = raise_alert(
                ctx,
                client=request.client,
                episode=request.episode,
                kind="crisis",
                summary=_crisis_summary(definition, hits, draft=True),
                source=request,
            )
    return draft, alert


def _usable_key(key: str | None) -> str:
    if key and len(key) == 32 and all(ch in "0123456789abcdef" for ch in key):
        return key
    return new_key()


def new_key() -> str:
    """A fresh idempotency key for a form that is about to be shown."""
    return secrets.token_hex(16)


def draft_key(request: MeasureRequest) -> str:
    """The key the form carries: the draft's, or a new random one before any draft."""
    draft = Draft.objects.filter(request=request).only("key").first()
    return draft.key if draft is not None else new_key()


# --- schedules and requests -----------------------------------------------------------------


def set_schedule(
    ctx: trail.Context,
    episode: Episode,
    entries: list[tuple[Instrument, bool, list[int]]],
) -> None:
    """Save the episode's schedule: per instrument, before sessions and follow-up months.

    Open session requests for instruments no longer asked before sessions are withdrawn;
    for an ended episode the follow-ups are brought in line at once.
    """
    allowed = set(visible_instruments(episode.client.practice_id).values_list("pk", flat=True))
    summary: dict[str, Any] = {}
    for instrument, before, months in entries:
        if instrument.pk not in allowed:
            raise MeasureActionError(f"{instrument.name} is not available in this practice")
        bad = sorted(set(months) - set(scheduling.FOLLOWUP_MONTH_CHOICES))
        if bad:
            choices = ", ".join(str(m) for m in scheduling.FOLLOWUP_MONTH_CHOICES)
            raise MeasureActionError(f"follow-ups can be at {choices} months; not {bad}")
        summary[instrument.code] = {"before_sessions": before, "followup_months": sorted(months)}
    now = timezone.now()
    with transaction.atomic():
        for instrument, before, months in entries:
            MeasureSchedule.objects.update_or_create(
                episode=episode,
                instrument=instrument,
                defaults={
                    "before_sessions": before,
                    "followup_months": sorted(set(months)),
                    "updated_by": ctx.user,
                    "updated_at": now,
                },
            )
        trail.record(
            ctx, Action.UPDATE, episode, client_id=episode.client_id, detail={"schedule": summary}
        )
        asked_before = {i.pk for i, before, _ in entries if before}
        for request in MeasureRequest.objects.filter(
            episode=episode, status=RequestStatus.OPEN, appointment__isnull=False
        ):
            if request.instrument_id not in asked_before:
                scheduling.cancel_request(ctx, request, reason="schedule_changed")
        if episode.status == EpisodeStatus.ENDED:
            scheduling.schedule_followups(ctx, episode)


def create_request(
    ctx: trail.Context,
    *,
    episode: Episode,
    instrument: Instrument,
    timepoint: str = Timepoint.SESSION,
    send: bool = True,
) -> MeasureRequest:
    """Ask the client now (open seven days); email them a link when ``send`` and they have
    an email address."""
    if instrument.pk not in set(
        visible_instruments(episode.client.practice_id).values_list("pk", flat=True)
    ):
        raise MeasureActionError(f"{instrument.name} is not available in this practice")
    if timepoint not in (Timepoint.INTAKE, Timepoint.SESSION):
        raise MeasureActionError("follow-ups are scheduled from the end of the episode")
    try:
        request = scheduling.create_manual_request(
            ctx, episode=episode, instrument=instrument, timepoint=timepoint
        )
    except ValueError as error:
        raise MeasureActionError(str(error)) from error
    if send and episode.client.email:
        send_link(ctx, request)
    return request


def cancel_request(ctx: trail.Context, request: MeasureRequest) -> bool:
    return scheduling.cancel_request(ctx, request, reason="withdrawn")


def _new_link(ctx: trail.Context, request: MeasureRequest, purpose: str) -> str:
    raw = secrets.token_urlsafe(32)  # 256 bits: a link cannot be guessed
    RequestLink.objects.create(request=request, digest=hash_token(raw), purpose=purpose)
    trail.record(ctx, Action.UPDATE, request, client_id=request.client_id, detail={"link": purpose})
    return raw


def send_link(ctx: trail.Context, request: MeasureRequest, *, purpose: str = "invite") -> None:
    """Email the client a new one-time link to ``request``."""
    if not request.client.email:
        raise MeasureActionError("this client has no email address to send a link to")
    if not request.is_answerable():
        raise MeasureActionError(_closed_message(request))
    with transaction.atomic():
        raw = _new_link(ctx, request, purpose)
        MeasureRequest.objects.filter(pk=request.pk, link_sent_at__isnull=True).update(
            link_sent_at=timezone.now()
        )
        emails.measure_link(request, raw, reminder=purpose == "reminder")


def _claim_and_send(
    pks: list[int],
    field: str,
    purpose: str,
    now: datetime.datetime,
) -> int:
    """Claim each request with a conditional UPDATE and queue its email in the same
    transaction; a request another worker claimed first is skipped, so each message goes
    out once. The outbox sends it after commit and retries while mail is down. Returns how
    many were queued."""
    sent = 0
    for pk in pks:
        with transaction.atomic():
            claimed = MeasureRequest.objects.filter(
                pk=pk, status=RequestStatus.OPEN, **{f"{field}__isnull": True}
            ).update(**{field: now})
            if not claimed:
                continue
            request = MeasureRequest.objects.select_related("client__practice", "instrument").get(
                pk=pk
            )
            ctx = trail.system("measures.mailer", practice=request.client.practice)
            raw = _new_link(ctx, request, purpose)
            emails.measure_link(request, raw, reminder=purpose == "reminder")
        sent += 1
    return sent


def send_due_links(now: datetime.datetime | None = None) -> int:
    """Email a link for every request that has opened and has not been sent."""
    now = now or timezone.now()
    pks = list(
        MeasureRequest.objects.filter(
            status=RequestStatus.OPEN,
            opens_at__lte=now,
            expires_at__gt=now,
            link_sent_at__isnull=True,
        )
        .exclude(client__email="")
        .values_list("pk", flat=True)
    )
    return _claim_and_send(pks, "link_sent_at", "invite", now)


def send_due_reminders(now: datetime.datetime | None = None) -> int:
    """Remind, once, every client whose open request closes soon and who was sent a link."""
    now = now or timezone.now()
    pks = list(
        MeasureRequest.objects.filter(
            status=RequestStatus.OPEN,
            remind_at__lte=now,
            expires_at__gt=now,
            reminder_sent_at__isnull=True,
            link_sent_at__isnull=False,
        )
        .exclude(client__email="")
        .values_list("pk", flat=True)
    )
    return _claim_and_send(pks, "reminder_sent_at", "reminder", now)


# --- instruments ----------------------------------------------------------------------------


def import_instrument(
    ctx: trail.Context,
    *,
    practice: Practice,
    questionnaire: Mapping[str, Any],
    licence_holder: str,
    licence_terms: str,
    permits_electronic_use: bool,
) -> Instrument:
    """Add an SDC-style FHIR Questionnaire as an instrument of ``practice``.

    The person importing must confirm that the licence allows electronic use; Reverie does
    not ship or use instruments whose terms forbid it. The instrument's id is prefixed with
    the practice's slug, so two practices never collide.
    """
    if ctx.user is None or ctx.user.role != Role.ADMIN:
        raise MeasureActionError("only a practice admin can import an instrument")
    if not permits_electronic_use:
        raise MeasureActionError(
            "Reverie only uses instruments whose licence allows them to be shown and scored "
            "on screen. Confirm that it does, or do not import it."
        )
    if not licence_holder.strip() or not licence_terms.strip():
        raise MeasureActionError("give the copyright holder and the licence terms")
    raw_id = str(questionnaire.get("id") or questionnaire.get("name") or "imported")
    slug = "".join(ch if ch.isalnum() else "-" for ch in raw_id.lower()).strip("-")
    code = f"{practice.slug}-{slug}"[:50].rstrip("-")
    today = timezone.localdate().isoformat()
    try:
        document = questionnaire_to_document(
            questionnaire,
            instrument_id=code,
            licence={
                "holder": licence_holder.strip()[:200],
                "terms": licence_terms.strip(),
                "electronic_use": "permitted",
                "note": f"Electronic use confirmed by {ctx.user.email} on import, {today}.",
            },
        )
        definition = load_definition(document, require_electronic_use_permitted=True)
    except ValueError as error:
        raise MeasureActionError(f"This Questionnaire cannot be imported: {error}") from error
    if not definition.integer_scores:
        raise MeasureActionError(
            "This Questionnaire's scores are not whole numbers; Reverie stores whole-number "
            "totals, so it cannot be imported."
        )
    if Instrument.objects.filter(code=code).exists():
        raise MeasureActionError(
            f"This practice already has an instrument with the id {code}. Change the "
            "Questionnaire's id to import it as a separate instrument."
        )
    with transaction.atomic():
        instrument = Instrument.objects.create(
            code=code,
            name=definition.name[:200],
            version=definition.version[:40],
            definition=document,
            practice=practice,
            imported_by=ctx.user,
        )
        trail.record(
            ctx,
            Action.IMPORT,
            instrument,
            detail={"items": len(definition.items), "url": questionnaire.get("url") or ""},
        )
    return instrument


def open_requests_for(client: Client, now: datetime.datetime | None = None) -> list[MeasureRequest]:
    """The requests a client can answer now, soonest to close first."""
    now = now or timezone.now()
    return list(
        MeasureRequest.objects.filter(
            client=client, status=RequestStatus.OPEN, opens_at__lte=now, expires_at__gt=now
        )
        .select_related("instrument")
        .order_by("expires_at")
    )
