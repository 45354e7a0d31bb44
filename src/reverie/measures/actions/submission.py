"""Submitting a completed questionnaire: choosing its episode, request and timepoint,
scoring, storing and crisis handling in one transaction, and replaying a retried
submission."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import User
from reverie.audit import trail
from reverie.care.actions import raise_alert, restate_alert
from reverie.care.models import Alert, AlertKind, Client, Episode, EpisodeStatus
from reverie.measures.actions.common import (
    MeasureActionError,
    RequestClosed,
    closed_message,
    crisis_summary,
    record_read,
)
from reverie.measures.answers import AnswerProblems, check
from reverie.measures.definitions import InstrumentDefinition
from reverie.measures.models import (
    FOLLOWUP_TIMEPOINTS,
    Administration,
    Draft,
    Instrument,
    MeasureRequest,
    RequestStatus,
    Source,
    Timepoint,
)
from reverie.measures.registry import definition_for
from reverie.measures.scoring import (
    CriticalHit,
    ScoreResult,
    ScoringError,
    score,
    stored_total,
)
from reverie.measures.writelock import serialized_writes


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
        summary = crisis_summary(definition, hits)
    else:
        summary = (
            f"{definition.short_name}: an answer saved in progress was at or above the crisis "
            "threshold; the submitted answers are below it"
        )
    restate_alert(ctx, drafted, summary=summary)


def result_json(result: ScoreResult, language: str | None = None) -> dict[str, Any]:
    """What ``Administration.result`` holds for ``result`` (the demo stores the same)."""
    out: dict[str, Any] = {
        "subscales": {s.id: s.score for s in result.subscales},
        "critical": [hit.item_id for hit in result.critical_hits],
        "missing": list(result.missing),
        "prorated": result.prorated,
    }
    if language:
        # Which published translation the client read; the score does not depend on it.
        out["language"] = language
    return out


# --- submitting -----------------------------------------------------------------------------


#: ``Source.values`` builds a new list on every read; this is on every submission's path.
_SOURCES = frozenset(Source.values)


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
    language: str | None = None,
    meanwhile: Callable[[Administration], None] | None = None,
) -> Submission:
    """Check, score and store one completed questionnaire; run crisis handling.

    Parameters
    ----------
    answers : mapping of item id to raw value (``None`` = unanswered)
    source : one of :class:`~reverie.measures.models.Source`
    request : the request answered, if any; it is completed in the same transaction
    entered_by : the therapist who typed in a paper form
    key : the stored idempotency key (see :func:`idempotency_key`)
    language : the translation the form was shown in, when not the instrument's own; it is
        kept with the result (scores never depend on it)
    meanwhile : work on the new, not yet committed administration that needs no database
        (building the answer to the request), run while PostgreSQL writes and commits it
        when that is one statement (``trail.create_committed``), so the core is not idle
        during the commit's flush. It may not run at all (another path, or a replay);
        whatever it made is for the caller to use only once this returns.

    Raises
    ------
    AnswerProblems
        Some answer is missing or not allowed; ``problems`` names every item. Nothing is
        stored.
    RequestClosed
        The request can no longer be answered: withdrawn, not open yet, past its date, or
        already answered (with other answers: with the same ones, the first result comes
        back instead). Nothing is stored.
    MeasureActionError
        ``key`` was used before for different answers, or the instrument can score
        fractional totals (which are never stored truncated). Nothing is stored.
    """
    if source not in _SOURCES:
        raise MeasureActionError(f"unknown source {source!r}")
    definition = definition_for(instrument)
    if not definition.integer_scores:
        # Imports refuse such instruments (actions/instruments.py); a row that got in another
        # way is refused here, before anything is stored, rather than truncated.
        raise MeasureActionError(
            f"{definition.short_name} can score fractions; Reverie stores totals as whole "
            "numbers only, so nothing was stored."
        )
    if language is not None and language not in definition.translations:
        language = None
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
        total=stored_total(result),
        band=result.band.label if result.band is not None else "",
        result=result_json(result, language),
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
            trail.create_committed(
                ctx,
                administration,
                client_id=client.pk,
                detail=audit_detail,
                meanwhile=None if meanwhile is None else lambda: meanwhile(administration),
            )
            return Submission(administration, True, None)
        with serialized_writes(), transaction.atomic():
            if request is not None and not MeasureRequest.objects.filter(
                pk=request.pk, status=RequestStatus.OPEN, opens_at__lte=now, expires_at__gt=now
            ).update(status=RequestStatus.COMPLETED, completed_at=now):
                # Its words are chosen below, once the transaction is rolled back and
                # the request's state can be read (or the first answer replayed).
                raise RequestClosed
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
                    summary=crisis_summary(definition, result.critical_hits),
                    source=request if request is not None else administration,
                )
    except IntegrityError:
        existing = (
            Administration.objects.filter(idempotency_key=key).first() if key else None
        ) or (Administration.objects.filter(request=request).first() if request else None)
        if existing is None:
            raise
        return _replay(ctx, existing, client, instrument, stored_answers, request)
    except RequestClosed:
        if request is None:  # only raised when answering a request
            raise
        existing = Administration.objects.filter(request=request).first()
        if existing is not None:
            return _replay(ctx, existing, client, instrument, stored_answers, request)
        request.refresh_from_db(fields=["status"])
        raise RequestClosed(closed_message(request)) from None
    if request is not None:
        request.status = RequestStatus.COMPLETED
        request.completed_at = now
    return Submission(administration, True, alert)


def _replay(
    ctx: trail.Context,
    existing: Administration,
    client: Client,
    instrument: Instrument,
    answers: Mapping[str, int],
    request: MeasureRequest | None,
) -> Submission:
    """A retried submission: return what was stored the first time, unchanged."""
    if (
        existing.client_id != client.pk
        or existing.instrument_id != instrument.pk
        or existing.answers != dict(answers)
    ):
        message = (
            "This submission key was already used for different answers; nothing was stored. "
            "Use a new key for a new response."
        )
        if request is not None and existing.request_id == request.pk:
            # The request was answered first (a second tab, a race): to whoever answers
            # it now it is closed, and the answering page shows what was received.
            raise RequestClosed(message)
        raise MeasureActionError(message)
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
