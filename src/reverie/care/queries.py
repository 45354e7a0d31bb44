"""Read models for the clinical pages, each built in a constant number of queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.utils import timezone

from reverie.accounts.models import User
from reverie.care.models import Episode, EpisodeStatus
from reverie.measures.models import Administration


@dataclass(frozen=True)
class CaseloadRow:
    episode: Episode
    sessions_attended: int
    first_phq9: int | None
    last_phq9: int | None
    last_phq9_band: str
    last_phq9_at: datetime.datetime | None
    last_gad7: int | None

    @property
    def phq9_change(self) -> int | None:
        if self.first_phq9 is None or self.last_phq9 is None:
            return None
        return self.last_phq9 - self.first_phq9


def _score(code: str, field: str, newest: bool = True) -> Subquery:
    order = "-completed_at" if newest else "completed_at"
    return Subquery(
        Administration.objects.filter(episode=OuterRef("pk"), instrument__code=code)
        .order_by(order)
        .values(field)[:1]
    )


def caseload(therapist: User) -> list[CaseloadRow]:
    """The therapist's open episodes with attendance and the PHQ-9/GAD-7 picture."""
    episodes = (
        Episode.objects.filter(therapist=therapist)
        .exclude(status=EpisodeStatus.ENDED)
        .select_related("client")
        .annotate(
            attended=Count("appointments", filter=Q(appointments__attendance="attended")),
            first_phq9=_score("phq-9", "total", newest=False),
            last_phq9=_score("phq-9", "total"),
            last_phq9_band=_score("phq-9", "band"),
            last_phq9_at=_score("phq-9", "completed_at"),
            last_gad7=Subquery(
                Administration.objects.filter(episode=OuterRef("pk"), instrument__code="gad-7")
                .order_by("-completed_at")
                .values("total")[:1],
                output_field=IntegerField(),
            ),
        )
        .order_by("client__family_name", "client__given_name")
    )
    return [
        CaseloadRow(
            episode=e,
            sessions_attended=e.attended,
            first_phq9=e.first_phq9,
            last_phq9=e.last_phq9,
            last_phq9_band=e.last_phq9_band or "",
            last_phq9_at=e.last_phq9_at,
            last_gad7=e.last_gad7,
        )
        for e in episodes
    ]


def today() -> datetime.date:
    return timezone.localdate()
