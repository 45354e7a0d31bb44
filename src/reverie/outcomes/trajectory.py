"""One client's trajectory on each instrument: the read model behind the trajectory page, the
client progress PDF and the caseload link.

:func:`load` reads everything in a fixed number of queries whatever the number of
administrations (the client's episodes, administrations, attended sessions and the practice's
expected-recovery curves), then builds per-instrument series in Python. Facts shown in the
chart are also written out as sentences (:attr:`InstrumentTrajectory.summary`), so a screen
reader user gets the same information as a sighted one.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reverie.care.models import Appointment, Client, Episode, EpisodeStatus
from reverie.lib import dates
from reverie.measures.definitions import InstrumentDefinition
from reverie.measures.models import Administration, Timepoint
from reverie.measures.registry import definition
from reverie.outcomes import change, recovery, significance
from reverie.outcomes.summary import IN_TREATMENT, SUMMARY_INSTRUMENTS
from reverie.vault.fields import unread

FOLLOWUP_MONTHS: dict[str, int] = {
    Timepoint.FOLLOWUP_1M: 1,
    Timepoint.FOLLOWUP_3M: 3,
    Timepoint.FOLLOWUP_6M: 6,
    Timepoint.FOLLOWUP_12M: 12,
}


@dataclass(frozen=True)
class ItemAnswer:
    number: int
    text: str
    answer: str
    value: int


@dataclass(frozen=True)
class Point:
    id: int
    at: datetime.datetime
    total: int
    band: str
    timepoint: str
    timepoint_label: str
    episode_id: int | None
    session: int | None
    followup_months: int | None
    items: tuple[ItemAnswer, ...]
    not_on_track: bool = False
    expected_low: float | None = None
    expected_mid: float | None = None
    expected_high: float | None = None
    #: Sessions attended before this in-treatment answer (the dose the band is read at).
    dose: int | None = None

    @property
    def title(self) -> str:
        where = (
            f"measurement {self.session} in treatment"
            if self.session
            else self.timepoint_label.lower()
        )
        text = f"{dates.format_date(self.at)}: {self.total}"
        if self.band:
            text += f" ({self.band})"
        return f"{text}, {where}"

    def as_json(self) -> dict[str, Any]:
        return {
            "date": dates.format_date(self.at),
            "total": self.total,
            "band": self.band,
            "when": self.timepoint_label,
            "session": self.session,
            "dose": self.dose,
            "expected": (
                None
                if self.expected_low is None
                else [round(self.expected_low), round(float(self.expected_high or 0))]
            ),
            "items": [
                {"number": i.number, "text": i.text, "answer": i.answer, "value": i.value}
                for i in self.items
            ],
        }


@dataclass(frozen=True)
class EpisodeSpan:
    id: int
    modality: str
    status: str
    start: datetime.date
    end: datetime.date | None
    therapist: str
    sessions: tuple[datetime.datetime, ...]
    intake: int | None
    last: int | None
    rc_low: float | None
    rc_high: float | None
    expected_source: str
    category: str
    #: Jacobson-Truax category ("recovered", ...), "" when it cannot be given.
    jt_category: str = ""


@dataclass
class InstrumentTrajectory:
    code: str
    name: str
    short_name: str
    definition: InstrumentDefinition
    points: list[Point]
    episodes: list[EpisodeSpan]
    caseness: float | None
    reliable_change: float | None
    summary: list[str] = field(default_factory=list)
    #: How clinical significance is judged on this measure, or why it cannot be.
    jt: significance.JTReference | None = None
    jt_reason: str | None = None

    @property
    def higher_is_worse(self) -> bool:
        return self.definition.higher_is_worse

    @property
    def dom_id(self) -> str:
        return self.code.replace("-", "")

    def fingerprint(self, extra: str = "") -> str:
        # Everything the section draws or writes, dates included: an id with the same
        # total but another date (a database restored or rolled back and written again)
        # must not bring back a section drawn for the old one.
        h = hashlib.sha256(extra.encode())
        for p in self.points:
            h.update(
                f"{p.id}:{p.at.isoformat()}:{p.total}:{p.band}:{p.timepoint}:{p.not_on_track}:"
                f"{p.expected_low}:{p.expected_mid}:{p.expected_high};".encode()
            )
        for e in self.episodes:
            h.update(
                f"{e.id}:{e.status}:{e.modality}:{e.therapist}:{e.start}:{e.end}:"
                f"{','.join(t.isoformat() for t in e.sessions)};".encode()
            )
        h.update((self.jt.key if self.jt else str(self.jt_reason)).encode())
        return h.hexdigest()


@dataclass
class Trajectory:
    client: Client
    episodes: list[Episode]
    instruments: list[InstrumentTrajectory]
    sessions_attended: int
    administration_ids: list[int]


def _item_answers(d: InstrumentDefinition, answers: dict[str, Any]) -> tuple[ItemAnswer, ...]:
    out = []
    for item in d.items:
        if item.id not in answers or answers[item.id] is None:
            continue
        value = int(answers[item.id])
        option = item.option_by_value.get(value)
        out.append(
            ItemAnswer(
                number=item.number,
                text=item.text,
                answer=option.display if option else str(value),
                value=value,
            )
        )
    return tuple(out)


def _category(intake: int | None, last: int | None, rc: float | None, hiw: bool) -> str:
    if intake is None or last is None or rc is None:
        return "not enough scores yet"
    code = int(change.reliable_change_direction([intake], [last], rc, higher_is_better=not hiw)[0])
    return {1: "a reliable improvement", -1: "a reliable deterioration", 0: "no reliable change"}[
        code
    ]


@dataclass(frozen=True)
class _Row:
    """One administration as read for the trajectory (no model instances: 300 rows a page)."""

    id: int
    episode_id: int | None
    code: str
    completed_at: datetime.datetime
    timepoint: str
    total: int
    band: str
    answers: dict[str, Any]


def load(client: Client) -> Trajectory:
    """Everything the trajectory page needs, in five queries whatever the number of scores."""
    from reverie.measures.models import Instrument

    episodes = list(
        client.episodes.select_related("therapist")
        .defer(*unread(Episode))  # the goals are not on the trajectory
        .order_by("start_date", "pk")
    )
    raw = list(
        Administration.objects.filter(client=client)
        .order_by("completed_at", "pk")
        .values_list(
            "pk",
            "episode_id",
            "instrument_id",
            "completed_at",
            "timepoint",
            "total",
            "band",
            "answers",
        )
    )
    codes = dict(Instrument.objects.filter(pk__in={r[2] for r in raw}).values_list("pk", "code"))
    sessions: dict[int, list[datetime.datetime]] = defaultdict(list)
    for episode_id, starts_at in (
        Appointment.objects.filter(episode__client=client, attendance="attended")
        .order_by("starts_at")
        .values_list("episode_id", "starts_at")
    ):
        sessions[episode_id].append(starts_at)
    rules = recovery.practice_rules(client.practice_id, list(SUMMARY_INSTRUMENTS))
    from reverie.outcomes.dashboard import practice_intake_sums

    intakes = practice_intake_sums(client.practice_id)
    by_code: dict[str, list[_Row]] = defaultdict(list)
    for pk, episode_id, instrument_id, at, tp, total, band, answers in raw:
        code = codes[instrument_id]
        by_code[code].append(_Row(pk, episode_id, code, at, tp, total, band, answers or {}))
    instruments = []
    order = list(SUMMARY_INSTRUMENTS)
    for code in sorted(by_code, key=lambda c: (order.index(c) if c in order else len(order), c)):
        instruments.append(
            _instrument(code, by_code[code], episodes, sessions, rules.get(code), intakes.get(code))
        )
    return Trajectory(
        client=client,
        episodes=episodes,
        instruments=instruments,
        sessions_attended=sum(len(v) for v in sessions.values()),
        administration_ids=[r[0] for r in raw],
    )


def _expected_at(
    rows: list[_Row],
    rule: recovery.LiveRule | None,
    modality_of: dict[int, str],
    sessions: dict[int, list[datetime.datetime]],
) -> dict[int, tuple[int, int | None, float | None, float | None, float | None, bool]]:
    """Measurement number, dose (sessions attended before), the 80 % band's lower edge,
    expected score and upper edge, and the not-on-track flag of every in-treatment
    administration: the live dose rule (:class:`.recovery.LiveRule`) at the sessions
    attended, one vectorised lookup per episode."""
    out: dict[int, tuple[int, int | None, float | None, float | None, float | None, bool]] = {}
    per_episode: dict[int | None, list[_Row]] = defaultdict(list)
    for r in rows:
        if r.timepoint in IN_TREATMENT:
            per_episode[r.episode_id].append(r)
    for episode_id, treated in per_episode.items():
        if rule is None or episode_id is None:
            for k, r in enumerate(treated, start=1):
                out[r.id] = (k, None, None, None, None, False)
            continue
        starts = sessions.get(episode_id, [])
        doses = [recovery.sessions_before(starts, r.completed_at) for r in treated]
        modality = modality_of.get(episode_id, "other")
        intake = float(treated[0].total)
        low, mid, high = rule.band(modality, doses, intake)
        flags = rule.flags(modality, doses, [float(r.total) for r in treated], intake)
        for i, r in enumerate(treated):
            out[r.id] = (
                i + 1,
                doses[i],
                float(low[i]),
                float(mid[i]),
                float(high[i]),
                bool(flags[i]),
            )
    return out


def _instrument(
    code: str,
    admins: list[_Row],
    episodes: list[Episode],
    sessions: dict[int, list[datetime.datetime]],
    rule: recovery.LiveRule | None,
    intake_sums: significance.IntakeSums | None = None,
) -> InstrumentTrajectory:
    try:
        d = definition(code)
    except KeyError:
        d = _stored_definition(code)
    jt = significance.reference(d, intake_sums) if intake_sums is not None else None
    jt_reason = significance.unavailable_reason(d, intake_sums) if intake_sums is not None else None
    rc = float(d.reliable_change.threshold) if d.reliable_change else None
    caseness = float(d.caseness.threshold) if d.caseness else None
    labels = dict(Timepoint.choices)
    modality_of = {e.pk: e.modality for e in episodes}
    expected_by_id = _expected_at(admins, rule, modality_of, sessions)
    points: list[Point] = []
    for a in admins:
        session, sessions_attended, low, mid, high, flagged = expected_by_id.get(
            a.id, (None, None, None, None, None, False)
        )
        band = a.band
        if not band:
            found = d.band_for(a.total)
            band = found.label if found else ""
        points.append(
            Point(
                id=a.id,
                at=a.completed_at,
                total=a.total,
                band=band,
                timepoint=a.timepoint,
                timepoint_label=str(labels.get(a.timepoint, a.timepoint)),
                episode_id=a.episode_id,
                session=session,
                followup_months=FOLLOWUP_MONTHS.get(a.timepoint),
                items=_item_answers(d, a.answers),
                not_on_track=flagged,
                expected_low=low,
                expected_mid=mid,
                expected_high=high,
                dose=sessions_attended,
            )
        )
    spans = []
    for e in episodes:
        treated = [p for p in points if p.episode_id == e.pk and p.session]
        intake = treated[0].total if treated else None
        last = treated[-1].total if treated else None
        source = ""
        if rule is not None and intake is not None:
            source = rule.source(e.modality) if rule.stored else "unfitted"
        spans.append(
            EpisodeSpan(
                id=e.pk,
                modality=e.get_modality_display(),
                status=e.status,
                start=e.start_date,
                end=e.end_date if e.status == EpisodeStatus.ENDED else None,
                therapist=e.therapist.display_name,
                sessions=tuple(sessions.get(e.pk, ())),
                intake=intake,
                last=last,
                rc_low=None if intake is None or rc is None else intake - rc,
                rc_high=None if intake is None or rc is None else intake + rc,
                expected_source=source,
                category=_category(intake, last, rc, d.higher_is_worse),
                jt_category=(
                    significance.category_label(jt.classify([intake], [last])[0])
                    if jt is not None
                    and intake is not None
                    and last is not None
                    and len(treated) > 1
                    else ""
                ),
            )
        )
    traj = InstrumentTrajectory(
        code=code,
        name=d.name,
        short_name=d.short_name,
        definition=d,
        points=points,
        episodes=[s for s in spans if any(p.episode_id == s.id for p in points)],
        caseness=caseness,
        reliable_change=rc,
        jt=jt,
        jt_reason=jt_reason,
    )
    traj.summary = describe(traj)
    return traj


def _stored_definition(code: str) -> InstrumentDefinition:
    """The definition of an instrument that is not shipped (imported from FHIR)."""
    from reverie.measures.definitions import load_definition
    from reverie.measures.models import Instrument

    return load_definition(Instrument.objects.get(code=code).definition)


#: What each Jacobson-Truax category means, in the words the page uses.
JT_MEANING: dict[str, str] = {
    "recovered": "The change is larger than measurement error and the latest score is on the "
    "healthy side of the cut-off",
    "improved": "The change is larger than measurement error, but the latest score is not on "
    "the healthy side of the cut-off (or the score started there)",
    "unchanged": "The change is within measurement error",
    "deteriorated": "The score is worse by more than measurement error",
}


#: What the range rests on, said after it (docs/statistics.md section 8a).
EXPECTED_SOURCE_WORDS: dict[str, str] = {
    "practice": " The range is the published reference moved toward the practice's own ended "
    "episodes.",
    "reference": " The range is the published reference trajectory; the practice's own ended "
    "episodes have not moved it yet.",
    "unfitted": " The practice's curves have not been fitted yet, so the range is the "
    "published reference trajectory.",
}


def describe(t: InstrumentTrajectory) -> list[str]:
    """The chart's facts as plain sentences (the text alternative of the chart)."""
    if not t.points:
        return [f"No {t.short_name} scores yet."]
    first, last = t.points[0], t.points[-1]
    lines = [
        f"{t.short_name}: {len(t.points)} score{'s' if len(t.points) != 1 else ''} from "
        f"{dates.format_date(first.at)} to {dates.format_date(last.at)}. Scores run from "
        f"{t.definition.score_min} to {t.definition.score_max}; "
        f"{'lower' if t.higher_is_worse else 'higher'} is better."
    ]
    for span in t.episodes:
        head = f"{span.modality} from {dates.format_date(span.start)}"
        head += f" to {dates.format_date(span.end)}" if span.end else " (ongoing)"
        lines.append(f"{head}, {len(span.sessions)} sessions attended.")
        if span.intake is None:
            continue
        treated = [p for p in t.points if p.episode_id == span.id and p.session]
        text = f"At intake the score was {span.intake}"
        if span.last is not None and len(treated) > 1:
            diff = span.last - span.intake
            sign = "+" if diff > 0 else ""
            text += (
                f"; the latest score in treatment is {span.last} ({sign}{diff} points), "
                f"which is {span.category}"
            )
            if t.reliable_change:
                text += f" (a change of {t.reliable_change:g} points or more counts as reliable)"
        lines.append(text + ".")
        if span.jt_category and t.jt is not None:
            lines.append(
                f"Clinical significance (Jacobson and Truax): {span.jt_category}"
                + (" so far" if span.end is None else "")
                + f". {JT_MEANING[span.jt_category]}"
            )
        if t.caseness is not None and span.last is not None:
            above = span.last >= t.caseness
            lines.append(
                f"The latest score is {'at or above' if above else 'below'} the caseness line of "
                f"{t.caseness:g}."
            )
        latest = treated[-1] if treated else None
        if (
            latest is not None
            and latest.expected_low is not None
            and latest.session
            and latest.session > 1
        ):
            where = "outside" if latest.not_on_track else "within"
            after = "session" if latest.dose == 1 else "sessions"
            lines.append(
                f"After {latest.dose} {after} attended, {span.modality.lower()} clients who "
                f"started like this usually score between {latest.expected_low:.0f} and "
                f"{latest.expected_high:.0f}; the latest score is {where} that range"
                + (" (not on track)." if latest.not_on_track else ".")
                + EXPECTED_SOURCE_WORDS.get(span.expected_source, "")
            )
        for p in t.points:
            if p.episode_id == span.id and p.followup_months and span.last is not None:
                diff = p.total - span.last
                lines.append(
                    f"{p.followup_months} month{'s' if p.followup_months > 1 else ''} after "
                    f"ending: {p.total} ({'+' if diff > 0 else ''}{diff} points since the last "
                    "session)."
                )
    flagged = sum(1 for p in t.points if p.not_on_track)
    if flagged:
        lines.append(f"{flagged} score{'s' if flagged != 1 else ''} lay above the expected range.")
    return lines


def severity_rows(t: InstrumentTrajectory) -> list[tuple[float, float, str]]:
    return [(float(b.min), float(b.max), b.label) for b in t.definition.bands]


def numeric_dates(values: list[datetime.datetime]) -> np.ndarray:
    from matplotlib import dates as mdates

    return np.asarray(mdates.date2num(values), dtype=np.float64)  # type: ignore[no-untyped-call]
