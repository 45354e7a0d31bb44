"""Schedules and requests: an episode's questionnaire schedule, asking now, withdrawing,
and the one-time links and reminders emailed to the client."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import hash_token
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client, Episode, EpisodeStatus
from reverie.measures import emails, scheduling
from reverie.measures.actions.common import (
    MeasureActionError,
    RequestClosed,
    closed_message,
)
from reverie.measures.models import (
    Instrument,
    MeasureRequest,
    MeasureSchedule,
    RequestLink,
    RequestStatus,
    Timepoint,
)
from reverie.measures.registry import definition_for, visible_instruments


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
    language: str = "",
) -> MeasureRequest:
    """Ask the client now (open seven days); email them a link when ``send`` and they have
    an email address. ``language`` opens the form in one of the instrument's published
    translations (empty: its own language)."""
    if instrument.pk not in set(
        visible_instruments(episode.client.practice_id).values_list("pk", flat=True)
    ):
        raise MeasureActionError(f"{instrument.name} is not available in this practice")
    if timepoint not in (Timepoint.INTAKE, Timepoint.SESSION):
        raise MeasureActionError("follow-ups are scheduled from the end of the episode")
    if language and language not in definition_for(instrument).translations:
        raise MeasureActionError(f"{instrument.name} has no published translation {language!r}")
    try:
        request = scheduling.create_manual_request(
            ctx, episode=episode, instrument=instrument, timepoint=timepoint
        )
    except ValueError as error:
        raise MeasureActionError(str(error)) from error
    if language:
        MeasureRequest.objects.filter(pk=request.pk).update(language=language)
        request.language = language
        trail.record(
            ctx, Action.UPDATE, request, client_id=request.client_id, detail={"language": language}
        )
    if send and episode.client.email:
        send_link(ctx, request)
    return request


def cancel_request(ctx: trail.Context, request: MeasureRequest) -> bool:
    return scheduling.cancel_request(ctx, request, reason="withdrawn")


def new_link(ctx: trail.Context, request: MeasureRequest, purpose: str) -> str:
    raw = secrets.token_urlsafe(32)  # 256 bits: a link cannot be guessed
    RequestLink.objects.create(request=request, digest=hash_token(raw), purpose=purpose)
    trail.record(ctx, Action.UPDATE, request, client_id=request.client_id, detail={"link": purpose})
    return raw


def send_link(ctx: trail.Context, request: MeasureRequest, *, purpose: str = "invite") -> None:
    """Email the client a new one-time link to ``request``."""
    if not request.client.email:
        raise MeasureActionError("this client has no email address to send a link to")
    if not request.is_answerable():
        raise RequestClosed(closed_message(request))
    with transaction.atomic():
        raw = new_link(ctx, request, purpose)
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
            raw = new_link(ctx, request, purpose)
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
