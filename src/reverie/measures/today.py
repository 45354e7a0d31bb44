"""Questionnaire results for care's Today page, registered in ``care.hooks`` (measures is
above care, so care asks through the hook rather than importing this)."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber

from reverie.care.access import current_care_clients
from reverie.care.hooks import Questionnaires
from reverie.care.models import Appointment, Attendance
from reverie.measures.models import Administration


def latest(episode_ids: Collection[int], code: str, n: int) -> dict[int, list[Administration]]:
    """``{episode id: [administration, …]}``: each episode's ``n`` newest results of the
    instrument ``code``, newest first, in one query.

    The database keeps the ``n`` newest of each episode (a window function), and the
    answers are not read: Today shows the totals. Reading every result to keep two decoded
    the answers of a client's whole history, about 500 JSON values on the demo's Today.
    """
    newest = Window(
        RowNumber(),
        partition_by=[F("episode_id")],
        order_by=[F("completed_at").desc(), F("pk").desc()],
    )
    scores: dict[int, list[Administration]] = {}
    for adm in (
        Administration.objects.filter(episode_id__in=episode_ids, instrument__code=code)
        .annotate(newest=newest)
        .filter(newest__lte=n)
        .select_related("instrument")
        .defer("answers", "result")
        .order_by("episode_id", "-completed_at", "-pk")
    ):
        scores.setdefault(adm.episode_id or 0, []).append(adm)
    return scores


def returned_since_last_session(user: Any, now: datetime.datetime) -> list[Administration]:
    """Questionnaires completed by clients in the therapist's current care since that
    client's last session with them (or ever, for a client not yet seen), newest first."""
    last_session = Subquery(
        Appointment.objects.filter(
            episode__client=OuterRef("client"),
            episode__therapist=user,
            starts_at__lt=now,
        )
        .exclude(attendance=Attendance.CANCELLED)
        .order_by("-starts_at")
        .values("starts_at")[:1]
    )
    return list(
        Administration.objects.filter(client__in=current_care_clients(user))
        .annotate(last_session=last_session)
        .filter(Q(last_session__isnull=True) | Q(completed_at__gt=F("last_session")))
        .select_related("client", "instrument")
        .order_by("-completed_at")[:50]
    )


READER = Questionnaires(latest=latest, returned_since_last_session=returned_since_last_session)
