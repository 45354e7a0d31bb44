"""Caseload status: the therapist's open episodes, each with its PHQ-9/GAD-7 picture and
the statuses that apply (crisis, deteriorated, not on track, measure overdue, no reliable
change, improving), built in one query.

Reliable change is the statistics module's (:func:`reverie.outcomes.change.
reliable_change_direction`), with each instrument's published threshold and direction from
its definition; this module only reads the scores and names the result. It lives in
outcomes, above care and measures, because it reads both."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.utils import timezone

from reverie.accounts.models import User
from reverie.care.models import Alert, AlertKind, Episode, EpisodeStatus
from reverie.measures.models import Administration
from reverie.measures.registry import definition
from reverie.outcomes.change import reliable_change_direction
from reverie.vault.fields import unread

#: A measure is overdue when an open episode has had no questionnaire for this long. Reverie
#: schedules questionnaires before sessions; five weeks without one means at least a month of
#: sessions went unmeasured, whatever the session frequency (weekly, fortnightly, more often).
OVERDUE_AFTER = datetime.timedelta(days=35)
#: A new episode's intake questionnaire is overdue this long after the episode opened.
INTAKE_OVERDUE_AFTER = datetime.timedelta(days=14)

# Caseload status, most urgent first. ``priority`` sorts the table.
STATUS_LABELS: dict[str, str] = {
    "crisis": "Crisis alert",
    "deteriorated": "Deteriorated",
    "not_on_track": "Not on track",
    "overdue": "Measure overdue",
    "steady": "No reliable change",
    "improving": "Improving",
}
PRIORITY = {name: i for i, name in enumerate(STATUS_LABELS)}


@dataclass(frozen=True)
class Status:
    key: str
    detail: str

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.key]


@dataclass(frozen=True)
class CaseloadRow:
    episode: Episode
    sessions_attended: int
    first_phq9: int | None
    last_phq9: int | None
    last_phq9_band: str
    last_phq9_at: datetime.datetime | None
    last_gad7: int | None
    first_gad7: int | None = None
    last_measured_at: datetime.datetime | None = None
    crisis_alert: bool = False
    not_on_track_alert: bool = False
    overdue_alert: bool = False
    flagged_not_on_track: bool = False
    #: Short notes from other apps (care/hooks.py), e.g. forms not yet signed.
    notes: tuple[str, ...] = ()
    now: datetime.datetime = field(default_factory=timezone.now)

    @property
    def phq9_change(self) -> int | None:
        if self.first_phq9 is None or self.last_phq9 is None:
            return None
        return self.last_phq9 - self.first_phq9

    @property
    def gad7_change(self) -> int | None:
        if self.first_gad7 is None or self.last_gad7 is None:
            return None
        return self.last_gad7 - self.first_gad7

    def _reliable(self) -> tuple[bool, bool]:
        """(reliably better on either measure, reliably worse on either), using each
        instrument's reliable-change threshold (PHQ-9 6 points, GAD-7 4 points)."""
        better = worse = False
        pairs = (
            ("phq-9", self.first_phq9, self.last_phq9),
            ("gad-7", self.first_gad7, self.last_gad7),
        )
        for code, first, last in pairs:
            rc = definition(code).reliable_change
            if first is None or last is None or rc is None:
                continue
            direction = reliable_change_direction(
                [first], [last], rc.threshold, higher_is_better=rc.improvement == "increase"
            )[0]
            better |= bool(direction == 1)
            worse |= bool(direction == -1)
        return better, worse

    @property
    def overdue(self) -> bool:
        if self.overdue_alert:
            return True
        if self.episode.status not in (EpisodeStatus.ACTIVE, EpisodeStatus.INTAKE):
            return False
        if self.last_measured_at is None:
            opened = datetime.datetime.combine(
                self.episode.start_date, datetime.time(), tzinfo=datetime.UTC
            )
            return self.now - opened > INTAKE_OVERDUE_AFTER
        return self.now - self.last_measured_at > OVERDUE_AFTER

    @property
    def statuses(self) -> list[Status]:
        """Every status that applies, most urgent first (an empty caseload cell is never
        shown: a client with too few scores is 'no reliable change')."""
        better, worse = self._reliable()
        out: list[Status] = []
        if self.crisis_alert:
            out.append(Status("crisis", "An answer about self-harm needs review."))
        if worse:
            out.append(Status("deteriorated", "Reliably worse than at intake."))
        if self.not_on_track_alert or self.flagged_not_on_track:
            out.append(
                Status(
                    "not_on_track",
                    "Latest score is past the range expected after the sessions attended.",
                )
            )
        if self.overdue:
            out.append(Status("overdue", "No questionnaire for more than five weeks."))
        if better and not worse:
            out.append(Status("improving", "Reliably better than at intake."))
        if not (better or worse):
            out.append(Status("steady", "No reliable change since intake yet."))
        return out

    @property
    def priority(self) -> int:
        return min(PRIORITY[s.key] for s in self.statuses)


def _score(code: str, field: str, newest: bool = True) -> Subquery:
    order = "-completed_at" if newest else "completed_at"
    return Subquery(
        Administration.objects.filter(
            episode=OuterRef("pk"), instrument__code=code, timepoint__in=("intake", "session")
        )
        .order_by(order)
        .values(field)[:1]
    )


def _open_alert(kind: str, *, per_episode: bool) -> Exists:
    owner = {"episode": OuterRef("pk")} if per_episode else {"client": OuterRef("client")}
    return Exists(Alert.objects.filter(kind=kind, acknowledged_at__isnull=True, **owner))


def caseload(therapist: User) -> list[CaseloadRow]:
    """The therapist's open episodes with attendance, the PHQ-9/GAD-7 picture and a status
    per client (crisis, deteriorated, not on track, measure overdue, improving), in one
    query."""
    episodes = (
        Episode.objects.filter(therapist=therapist)
        .exclude(status=EpisodeStatus.ENDED)
        .select_related("client")
        .defer(*unread(Episode))  # the goals: not on the caseload, so not decrypted
        .annotate(
            attended=Count("appointments", filter=Q(appointments__attendance="attended")),
            first_phq9=_score("phq-9", "total", newest=False),
            last_phq9=_score("phq-9", "total"),
            last_phq9_band=_score("phq-9", "band"),
            last_phq9_at=_score("phq-9", "completed_at"),
            first_gad7=Subquery(
                Administration.objects.filter(
                    episode=OuterRef("pk"),
                    instrument__code="gad-7",
                    timepoint__in=("intake", "session"),
                )
                .order_by("completed_at")
                .values("total")[:1],
                output_field=IntegerField(),
            ),
            last_gad7=Subquery(
                Administration.objects.filter(
                    episode=OuterRef("pk"),
                    instrument__code="gad-7",
                    timepoint__in=("intake", "session"),
                )
                .order_by("-completed_at")
                .values("total")[:1],
                output_field=IntegerField(),
            ),
            last_any_at=Subquery(
                Administration.objects.filter(episode=OuterRef("pk"))
                .order_by("-completed_at")
                .values("completed_at")[:1]
            ),
            crisis_open=_open_alert(AlertKind.CRISIS, per_episode=False),
            not_on_track_open=_open_alert(AlertKind.NOT_ON_TRACK, per_episode=True),
            overdue_open=_open_alert(AlertKind.OVERDUE, per_episode=True),
            summary_flag=Subquery(
                Episode.objects.filter(pk=OuterRef("pk")).values("outcome__not_on_track")[:1]
            ),
        )
        .order_by("client__family_name", "client__given_name")
    )
    now = timezone.now()
    return [
        CaseloadRow(
            episode=e,
            sessions_attended=e.attended,
            first_phq9=e.first_phq9,
            last_phq9=e.last_phq9,
            last_phq9_band=e.last_phq9_band or "",
            last_phq9_at=e.last_phq9_at,
            last_gad7=e.last_gad7,
            first_gad7=e.first_gad7,
            last_measured_at=e.last_any_at,
            crisis_alert=e.crisis_open,
            not_on_track_alert=e.not_on_track_open,
            overdue_alert=e.overdue_open,
            flagged_not_on_track=bool(e.summary_flag),
            now=now,
        )
        for e in episodes
    ]
