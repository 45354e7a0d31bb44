"""The clinical material of the synthetic demo practice: what therapists and clients write.

:func:`reverie.demo.model.generate_practice` lays out people, sessions and scores; this
part of the generative model then writes, for every episode, the progress notes (signed,
a few still drafts, a few with addenda), the therapist's private process notes, the
seven-feature session reflections and the relationship episodes of the CCRT, and for
every client with a portal account the journal (dreams, daydreams, free association and
thoughts between sessions, some shared with the therapist). It also writes the
consultation requests waiting in the practice's intake queue.

The words come from :mod:`reverie.demo.texts`. The decisions (which session gets which
piece of writing, how a session is rated) are drawn here, from a random stream of their
own (``random.Random`` seeded from the practice seed), so that a change to the writing
never moves a session or a score. ``docs/demo-data.md`` lists every rate and range.

Everything is synthetic. No sentence comes from a real person or record.

This module has no Django imports.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, TypeVar

from reverie.demo import texts
from reverie.demo.texts import Words

if TYPE_CHECKING:
    from reverie.demo.model import ClientSpec, EpisodeSpec

_V = TypeVar("_V")

__all__ = [
    "FEATURE_KEYS",
    "ConsultationSpec",
    "JournalSpec",
    "ProcessNoteSpec",
    "ProgressNoteSpec",
    "ReflectionSpec",
    "RelationshipEpisodeSpec",
    "write_material",
]

#: The seven features of psychodynamic technique, in the order of
#: ``reverie.process.reflection.FEATURE_KEYS`` (a test keeps the two equal).
FEATURE_KEYS: Final = (
    "affect",
    "avoidance",
    "patterns",
    "past",
    "relationships",
    "therapy_relationship",
    "fantasy",
)


@dataclass(frozen=True, slots=True)
class ProgressNoteSpec:
    """The progress note of one session (``session_index`` into the episode's sessions).

    ``signed_at`` is ``None`` for a draft. ``addendum`` is ``""`` when there is none.
    """

    session_index: int
    attendance: str
    content: str
    interventions: str
    risk_assessment: str
    plan: str
    written_at: dt.datetime
    signed_at: dt.datetime | None
    addendum: str = ""
    addendum_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ProcessNoteSpec:
    """The therapist's private note on one session."""

    session_index: int
    text: str
    written_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ReflectionSpec:
    """Ratings 0–6 of the seven features (in :data:`FEATURE_KEYS` order) for one session."""

    session_index: int
    scores: tuple[int, ...]
    comment: str
    written_at: dt.datetime

    def as_dict(self) -> dict[str, int]:
        return dict(zip(FEATURE_KEYS, self.scores, strict=True))


@dataclass(frozen=True, slots=True)
class RelationshipEpisodeSpec:
    """A relationship episode told in a session (``session_index``) or written in the
    client's journal (``journal_index`` into the client's ``journal``)."""

    occurred_on: dt.date
    session_index: int | None
    journal_index: int | None
    other_person: str
    other_person_note: str
    narrative: str
    wish: str
    response_of_other: str
    ro_valence: str
    response_of_self: str
    rs_valence: str

    @property
    def is_transference(self) -> bool:
        return self.other_person == "therapist"


@dataclass(frozen=True, slots=True)
class JournalSpec:
    """One journal entry. ``shared_at`` is ``None`` while it is private."""

    kind: str
    title: str
    text: str
    mood: int | None
    tags: tuple[str, ...]
    entry_date: dt.date
    written_at: dt.datetime
    shared_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ConsultationSpec:
    """A consultation request from the public form, and where intake has got with it."""

    given_name: str
    family_name: str
    email: str
    phone: str
    contact_by: str
    therapist_indexes: tuple[int, ...]
    days: tuple[int, ...]
    times: tuple[str, ...]
    availability_note: str
    message: str
    created_at: dt.datetime
    status: str
    triage_note: str
    assigned_therapist: int | None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


# ---------------------------------------------------------------------------------------------
# Parameters (each one is documented in docs/demo-data.md)
# ---------------------------------------------------------------------------------------------

#: A random stream of its own: the practice seed combined with this constant.
_STREAM: Final = 0x5EED_7E47

#: No-shows get a short note with this probability; cancellations get none.
_NO_SHOW_NOTE: Final = 0.5
#: Notes of sessions in the last days before today stay drafts with this probability.
_DRAFT_DAYS: Final = 10
_DRAFT_SHARE: Final = 0.35
#: Signed notes older than a month get an addendum with this probability (at least 3).
_ADDENDUM_SHARE: Final = 0.004
_MIN_ADDENDA: Final = 3

#: Per therapist, the share of sessions reflected on and (psychodynamic work only) the
#: share with a process note, uniform in these ranges.
_REFLECTION_HABIT: Final = (0.3, 0.6)
_PROCESS_NOTE_HABIT: Final = (0.15, 0.35)
_REFLECTION_COMMENT: Final = 0.35

#: Relationship episodes per attended session (psychodynamic, psychoanalysis) and the
#: share about the therapist (transference).
_RE_RATE: Final[dict[str, float]] = {"psychodynamic": 0.12, "psychoanalysis": 0.06, "cbt": 0.0}
_TRANSFERENCE_SHARE: Final = 0.18
#: Positive responses become more common as treatment goes on (Crits-Christoph &
#: Luborsky 1990): base + gain * min(1, weeks / 52), scaled by the trajectory.
_POSITIVE_BASE: Final = 0.1
_POSITIVE_GAIN: Final = 0.35
_POSITIVE_BY_ARCHETYPE: Final[dict[str, float]] = {
    "improvement": 1.0,
    "later_gains": 1.0,
    "slow_plateau": 0.7,
    "no_change": 0.3,
    "early_dropout": 0.3,
    "deterioration": 0.2,
}

#: Seven-feature profiles (0–6 scale, FEATURE_KEYS order), one per therapist template:
#: each therapist has a style of their own.
_THERAPIST_PROFILES: Final[tuple[tuple[float, ...], ...]] = (
    (4.5, 3.5, 4.0, 3.0, 4.5, 3.5, 2.5),  # relational psychodynamic
    (4.0, 3.5, 4.0, 4.0, 3.5, 4.5, 4.5),  # psychoanalyst
    (3.5, 2.5, 3.5, 2.5, 3.5, 2.5, 1.5),  # CBT and psychodynamic
    (5.0, 3.0, 3.5, 3.5, 4.0, 3.0, 2.5),  # warm, grief and transitions
    (4.0, 4.0, 4.0, 3.0, 4.5, 4.0, 2.5),  # relational, attends to avoidance
    (3.5, 3.0, 3.5, 2.5, 3.5, 2.5, 2.0),  # skills first, then depth
    (4.0, 3.5, 4.0, 4.5, 3.5, 4.5, 5.0),  # psychoanalyst, dreams and the past
    (4.0, 3.5, 4.0, 3.0, 4.0, 3.0, 2.5),  # active, work and mood
)
#: Added to the therapist's profile by modality. CBT sessions rate lower on every
#: feature, most of all on the past, the therapeutic relationship and fantasy: these are
#: the features Blagys & Hilsenroth (2000) found to set psychodynamic technique apart.
_MODALITY_SHIFT: Final[dict[str, tuple[float, ...]]] = {
    "psychodynamic": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "psychoanalysis": (0.0, 0.5, 0.0, 0.5, -0.5, 1.0, 1.0),
    "cbt": (-1.5, -1.5, -1.0, -2.5, -1.5, -2.5, -3.0),
}
#: Over the first year of psychodynamic work, patterns and the therapeutic relationship
#: take up more of the sessions (indices into FEATURE_KEYS, gain after 52 weeks).
_TIME_GAIN: Final = ((2, 0.8), (5, 1.0))
_EPISODE_SD: Final = 0.4
_SESSION_SD: Final = 0.9

#: Journal entries: portal clients write from the start of their current treatment (at
#: most a year back) at a rate per day, by modality; kind weights; sharing.
_JOURNAL_RATE: Final[dict[str, tuple[float, float]]] = {
    "psychodynamic": (1 / 21, 1 / 7),
    "psychoanalysis": (1 / 14, 1 / 5),
    "cbt": (1 / 30, 1 / 14),
}
_JOURNAL_KINDS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "psychodynamic": (("dream", 0.35), ("fantasy", 0.2), ("association", 0.2), ("thought", 0.25)),
    "psychoanalysis": (("dream", 0.45), ("fantasy", 0.2), ("association", 0.25), ("thought", 0.1)),
    "cbt": (("dream", 0.15), ("fantasy", 0.15), ("association", 0.1), ("thought", 0.6)),
}
_JOURNAL_SHARED: Final[dict[str, float]] = {
    "psychodynamic": 0.6,
    "psychoanalysis": 0.65,
    "cbt": 0.4,
}
_JOURNAL_MAX: Final = 30
_JOURNAL_MOOD: Final = 0.75
_MOODS: Final = ((1, 0.1), (2, 0.25), (3, 0.35), (4, 0.22), (5, 0.08))
#: Shared dreams and thoughts become relationship episodes with this probability.
_JOURNAL_RE: Final = 0.3

#: Consultation requests in the intake queue, by status.
_CONSULTATION_STATUSES: Final = ("new", "new", "new", "contacted", "contacted", "booked", "closed")
_CONSULTATION_DAYS: Final = (1, 21)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _weighted(words: Words, table: Sequence[tuple[_V, float]]) -> _V:
    total = sum(w for _, w in table)
    u = words.random() * total
    for value, weight in table:
        u -= weight
        if u < 0:
            return value
    return table[-1][0]


def _uniform(words: Words, low: float, high: float) -> float:
    return low + (high - low) * words.random()


def _normal(words: Words) -> float:
    """A standard normal draw (Box–Muller on two uniforms)."""
    u1 = 1.0 - words.random()
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * words.random())


def _hours(words: Words, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(minutes=round(60 * _uniform(words, low, high)))


def _end_of(start: dt.datetime, minutes: int) -> dt.datetime:
    return start + dt.timedelta(minutes=minutes)


# ---------------------------------------------------------------------------------------------
# Per episode
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Habits:
    reflect: float
    process: float


def _item9_by_session(episode: EpisodeSpec) -> dict[int, int]:
    """PHQ-9 item 9 answers taken before a session, by session index."""
    return {
        m.session_index: m.answers[8]
        for m in episode.measurements
        if m.instrument == "phq9" and m.session_index is not None
    }


def _scores(
    words: Words,
    therapist: int,
    modality: str,
    offsets: Sequence[float],
    weeks: float,
) -> tuple[int, ...]:
    base = _THERAPIST_PROFILES[therapist % len(_THERAPIST_PROFILES)]
    shift = _MODALITY_SHIFT[modality]
    values = [b + s + o for b, s, o in zip(base, shift, offsets, strict=True)]
    if modality != "cbt":
        for index, gain in _TIME_GAIN:
            values[index] += gain * min(1.0, weeks / 52.0)
    return tuple(max(0, min(6, round(v + _SESSION_SD * _normal(words)))) for v in values)


def _write_episode(
    words: Words,
    episode: EpisodeSpec,
    case: texts.CaseMaterial,
    habits: _Habits,
    as_of: dt.datetime,
) -> EpisodeSpec:
    item9 = _item9_by_session(episode)
    offsets = [_EPISODE_SD * _normal(words) for _ in FEATURE_KEYS]
    positive_scale = _POSITIVE_BY_ARCHETYPE.get(episode.archetype, 0.5)
    notes: list[ProgressNoteSpec] = []
    process: list[ProcessNoteSpec] = []
    reflections: list[ReflectionSpec] = []
    relationship: list[RelationshipEpisodeSpec] = []
    draft_from = as_of - dt.timedelta(days=_DRAFT_DAYS)
    for index, session in enumerate(episode.sessions):
        if session.start >= as_of or session.attendance not in ("attended", "no_show"):
            continue
        if session.attendance == "no_show" and not words.chance(_NO_SHOW_NOTE):
            continue
        end = _end_of(session.start, session.duration_minutes)
        text = texts.progress_note(
            words,
            case,
            modality=episode.modality,
            attendance=session.attendance,
            item9=item9.get(index, 0),
        )
        written = end + _hours(words, 0.2, 6.0)
        signed: dt.datetime | None = written + _hours(words, 0.0, 30.0)
        if session.start >= draft_from and words.chance(_DRAFT_SHARE):
            signed = None
        if signed is not None and signed >= as_of:
            signed = None  # not signed yet: it would be signed after today began
        if written >= as_of:
            written = as_of - dt.timedelta(minutes=5)
        notes.append(
            ProgressNoteSpec(
                session_index=index,
                attendance=session.attendance,
                content=text.content,
                interventions=text.interventions,
                risk_assessment=text.risk_assessment,
                plan=text.plan,
                written_at=written,
                signed_at=signed,
            )
        )
        if session.attendance != "attended":
            continue
        weeks = (session.start.date() - episode.start_date).days / 7.0
        if words.chance(habits.reflect):
            comment = (
                texts.reflection_comment(words, case) if words.chance(_REFLECTION_COMMENT) else ""
            )
            reflections.append(
                ReflectionSpec(
                    session_index=index,
                    scores=_scores(
                        words, episode.therapist_index, episode.modality, offsets, weeks
                    ),
                    comment=comment,
                    written_at=min(end + _hours(words, 0.1, 8.0), as_of - dt.timedelta(minutes=4)),
                )
            )
        if episode.modality == "cbt":
            continue
        if words.chance(habits.process):
            process.append(
                ProcessNoteSpec(
                    session_index=index,
                    text=texts.process_note(words, case),
                    written_at=min(end + _hours(words, 0.1, 3.0), as_of - dt.timedelta(minutes=3)),
                )
            )
        if words.chance(_RE_RATE[episode.modality]):
            share = (_POSITIVE_BASE + _POSITIVE_GAIN * min(1.0, weeks / 52.0)) * positive_scale
            told = texts.relationship_episode(
                words, case, transference=words.chance(_TRANSFERENCE_SHARE), positive_share=share
            )
            relationship.append(_relationship_spec(told, session.start.date(), index, None))
    return replace(
        episode,
        progress_notes=tuple(notes),
        process_notes=tuple(process),
        reflections=tuple(reflections),
        relationship_episodes=tuple(relationship),
    )


def _relationship_spec(
    told: texts.EpisodeText, day: dt.date, session: int | None, journal: int | None
) -> RelationshipEpisodeSpec:
    return RelationshipEpisodeSpec(
        occurred_on=day,
        session_index=session,
        journal_index=journal,
        other_person=told.other_person,
        other_person_note=told.other_person_note,
        narrative=told.narrative,
        wish=told.wish,
        response_of_other=told.response_of_other,
        ro_valence=told.ro_valence,
        response_of_self=told.response_of_self,
        rs_valence=told.rs_valence,
    )


def _add_addenda(
    words: Words, seed: int, clients: list[ClientSpec], as_of: dt.datetime
) -> list[ClientSpec]:
    """A few signed notes get an addendum (at least :data:`_MIN_ADDENDA` in the practice)."""
    candidates: list[tuple[int, int, int]] = []
    for c, client in enumerate(clients):
        for e, episode in enumerate(client.episodes):
            for n, note in enumerate(episode.progress_notes):
                if note.signed_at is not None and note.signed_at < as_of - dt.timedelta(days=30):
                    candidates.append((c, e, n))
    chosen = {key for key in candidates if words.chance(_ADDENDUM_SHARE)}
    spare = [key for key in candidates if key not in chosen]
    chosen.update(words.sample(spare, max(0, _MIN_ADDENDA - len(chosen))))
    out = list(clients)
    for c, e, n in sorted(chosen):
        client = out[c]
        episode = client.episodes[e]
        note = episode.progress_notes[n]
        if note.signed_at is None:  # pragma: no cover - every candidate is signed
            continue
        case = _case_for(seed, client)
        added = replace(
            note,
            addendum=texts.addendum(words, case),
            addendum_at=note.signed_at + dt.timedelta(days=words.between(1, 10)),
        )
        notes = list(episode.progress_notes)
        notes[n] = added
        episodes = list(client.episodes)
        episodes[e] = replace(episode, progress_notes=tuple(notes))
        out[c] = replace(client, episodes=tuple(episodes))
    return out


def _case_for(seed: int, client: ClientSpec) -> texts.CaseMaterial:
    """A client's case material, from a stream fixed by the seed and the client's e-mail
    address, so that it is the same every time it is asked for."""
    key = sum(ord(ch) * (i + 1) for i, ch in enumerate(client.email))
    return texts.case_material(
        Words(seed * 104729 + key), pronouns=client.pronouns, concerns=client.presenting_concerns
    )


# ---------------------------------------------------------------------------------------------
# Per client: the journal
# ---------------------------------------------------------------------------------------------


def _write_journal(
    words: Words,
    client: ClientSpec,
    case: texts.CaseMaterial,
    today: dt.date,
) -> tuple[tuple[JournalSpec, ...], list[tuple[int, texts.EpisodeText]]]:
    """Entries of a client with an open episode, and relationship episodes drawn from
    the shared ones (as (entry index, text) pairs)."""
    current = next((e for e in client.episodes if e.status != "ended"), None)
    if current is None:
        return (), []
    first = max(current.start_date, today - dt.timedelta(days=365))
    low, high = _JOURNAL_RATE[current.modality]
    rate = _uniform(words, low, high)
    days: list[dt.date] = []
    day = first
    while len(days) < _JOURNAL_MAX:
        # Exponential gaps: entries arrive as a Poisson process at ``rate`` a day.
        day += dt.timedelta(days=max(1, round(-math.log(1.0 - words.random()) / rate)))
        if day >= today:
            break
        days.append(day)
    entries: list[JournalSpec] = []
    episodes: list[tuple[int, texts.EpisodeText]] = []
    for day in days:
        kind = _weighted(words, _JOURNAL_KINDS[current.modality])
        text = texts.journal_entry(words, case, kind)
        written = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + _hours(words, 19, 23.9)
        shared = None
        if words.chance(_JOURNAL_SHARED[current.modality]):
            shared = written + _hours(words, 0, 20)
            if shared.date() >= today:
                shared = written
        mood = _weighted(words, _MOODS) if words.chance(_JOURNAL_MOOD) else None
        entries.append(
            JournalSpec(
                kind=kind,
                title=text.title,
                text=text.text,
                mood=mood,
                tags=text.tags,
                entry_date=day,
                written_at=written,
                shared_at=shared,
            )
        )
        if (
            shared is not None
            and kind in ("dream", "thought")
            and current.modality != "cbt"
            and words.chance(_JOURNAL_RE)
        ):
            weeks = (day - current.start_date).days / 7.0
            share = (_POSITIVE_BASE + _POSITIVE_GAIN * min(1.0, weeks / 52.0)) * (
                _POSITIVE_BY_ARCHETYPE.get(current.archetype, 0.5)
            )
            episodes.append(
                (
                    len(entries) - 1,
                    texts.relationship_episode(
                        words, case, transference=False, positive_share=share
                    ),
                )
            )
    return tuple(entries), episodes


# ---------------------------------------------------------------------------------------------
# The intake queue
# ---------------------------------------------------------------------------------------------


def _write_consultations(
    words: Words,
    people: Sequence[tuple[str, str, str]],
    n_therapists: int,
    concerns: Sequence[str],
    as_of: dt.datetime,
) -> tuple[ConsultationSpec, ...]:
    out = []
    for k, (_pronouns, given, family) in enumerate(people):
        status = _CONSULTATION_STATUSES[k % len(_CONSULTATION_STATUSES)]
        concern = words.pick(concerns)
        created = (
            as_of - dt.timedelta(days=words.between(*_CONSULTATION_DAYS)) + _hours(words, 7, 22)
        )
        if status == "new":
            # New requests are the most recent: nobody has looked at them yet.
            created = as_of - dt.timedelta(days=words.between(0, 4)) - _hours(words, 1, 14)
        by_phone = words.chance(0.25)
        assigned = words.between(0, n_therapists - 1) if status in ("contacted", "booked") else None
        preferred = tuple(sorted(words.sample(range(n_therapists), words.between(0, 2))))
        out.append(
            ConsultationSpec(
                given_name=given,
                family_name=family,
                email=f"{given}.{family}".lower() + "@example.org",
                # 555-0100 to 555-0199 are reserved for fiction in the North American plan.
                phone=f"555-01{words.between(0, 99):02d}" if by_phone else "",
                contact_by="phone" if by_phone else "email",
                therapist_indexes=preferred,
                days=tuple(sorted(words.sample(range(5), words.between(1, 3)))),
                times=tuple(words.sample(("morning", "afternoon", "evening"), words.between(1, 2))),
                availability_note=words.pick(
                    ("", "", "Not on Fridays.", "Lunchtimes work best.", "Can do early mornings.")
                ),
                message=texts.consultation_message(words, concern, tried_before=words.chance(0.4)),
                created_at=created,
                status=status,
                triage_note=texts.triage_note(words, status),
                assigned_therapist=assigned,
            )
        )
    return tuple(sorted(out, key=lambda c: c.created_at))


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def write_material(
    seed: int,
    clients: Sequence[ClientSpec],
    *,
    n_therapists: int,
    as_of: dt.datetime,
    consultation_people: Sequence[tuple[str, str, str]],
    concerns: Sequence[str],
) -> tuple[tuple[ClientSpec, ...], tuple[ConsultationSpec, ...]]:
    """Attach notes, reflections, relationship episodes and journals to ``clients``, and
    write the consultation requests of ``consultation_people``."""
    words = Words(seed * 7919 + _STREAM)
    habits = [
        _Habits(
            reflect=_uniform(words, *_REFLECTION_HABIT),
            process=_uniform(words, *_PROCESS_NOTE_HABIT),
        )
        for _ in range(n_therapists)
    ]
    today = as_of.date()
    written: list[ClientSpec] = []
    for client in clients:
        case = _case_for(seed, client)
        episodes = tuple(
            _write_episode(words, e, case, habits[e.therapist_index], as_of)
            for e in client.episodes
        )
        journal, from_journal = _write_journal(
            words, replace(client, episodes=episodes), case, today
        )
        if from_journal:
            # A relationship episode from the journal belongs to the open episode's record.
            open_index = next(i for i, e in enumerate(episodes) if e.status != "ended")
            current = episodes[open_index]
            extra = tuple(
                _relationship_spec(told, journal[j].entry_date, None, j) for j, told in from_journal
            )
            merged = tuple(
                sorted(
                    current.relationship_episodes + extra,
                    key=lambda r: (r.occurred_on, r.journal_index is not None),
                )
            )
            episodes = (
                *episodes[:open_index],
                replace(current, relationship_episodes=merged),
                *episodes[open_index + 1 :],
            )
        written.append(replace(client, episodes=episodes, journal=journal))
    written = _add_addenda(words, seed, written, as_of)
    consultations = _write_consultations(words, consultation_people, n_therapists, concerns, as_of)
    return tuple(written), consultations
