"""Generative model for the synthetic demo practice.

``reverie demo`` seeds a small group practice so that every screen of the platform has
something plausible to show. This module produces that practice as plain frozen dataclasses;
it imports neither Django nor the ORM, so it can be tested, benchmarked and read on its own.
The seeding command turns the result into database rows.

Everything produced here is synthetic. No record is derived from a real person, the
e-mail addresses use the reserved ``example.org`` domain, and the score trajectories come
from the stochastic model below, not from any data set. ``docs/demo-data.md`` lists every
distribution and parameter; the outline is:

1. **Therapists** are built from eight fixed profile templates (modalities offered, approach
   statement, core concerns, fee band); names, credentials, languages, insurance and
   availability are drawn from small built-in lists.
2. **Clients** get demographics, presenting concerns and one (sometimes two) treatment
   episodes in psychodynamic psychotherapy, psychoanalysis or CBT, each with a trajectory
   archetype: improvement, slow improvement with plateau, early dropout, no change,
   deterioration, or later gains after ending.
3. **Sessions** are laid out on a weekly calendar with therapist holidays (an August break,
   the late-December break, US public holidays) and drawn attendance. Nothing after the start
   of ``today`` is history: later sessions are kept only as a few ``"scheduled"`` ones.
4. **Scores** come from a latent severity process per client. Expected severity falls along a
   log-linear dose–response curve in attended sessions -- the negatively accelerated shape
   described by Howard, Kopta, Krause & Orlinsky (1986), *The dose–effect relationship in
   psychotherapy*, American Psychologist 41(2):159–164, used here only as a qualitative
   shape. Around that mean an Ornstein–Uhlenbeck process (an AR(1) process at irregular
   measurement times) adds a factor shared by depression and anxiety and a factor specific
   to each. PHQ-9 and GAD-7 item answers are drawn from a graded response model, so totals
   are always sums of coherent item patterns.

The "later gains" archetype mimics the claim that psychodynamic therapy keeps working after
termination (Shedler 2010, *The efficacy of psychodynamic psychotherapy*, American
Psychologist 65(2):98–109). The model gives psychodynamic and psychoanalytic episodes a
higher probability of that archetype than CBT episodes. This is an assumption built into
the synthetic data so the follow-up views have something to show; it is not evidence for
the claim, and nothing computed from demo data is evidence of anything.

>>> import datetime
>>> practice = generate_practice(today=datetime.date(2026, 11, 22))
>>> len(practice.therapists), len(practice.clients)
(4, 60)
>>> practice == generate_practice(today=datetime.date(2026, 11, 22))
True
>>> m = practice.clients[0].episodes[0].measurements[0]
>>> m.timepoint, m.total == sum(m.answers)
('intake', True)
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple, TypeAlias, TypeVar

import numpy as np
from numpy.random import PCG64, Generator

from reverie.demo.material import (
    ConsultationSpec,
    JournalSpec,
    ProcessNoteSpec,
    ProgressNoteSpec,
    ReflectionSpec,
    RelationshipEpisodeSpec,
    write_material,
)

__all__ = [
    "ARCHETYPES",
    "ATTENDANCE",
    "CONCERNS",
    "END_REASONS",
    "EPISODE_STATUSES",
    "INSTRUMENTS",
    "MODALITIES",
    "PRACTICE_TIMEZONE",
    "SESSION_MINUTES",
    "TIMEPOINTS",
    "ClientSpec",
    "ConsultationSpec",
    "EpisodeSpec",
    "Frequency",
    "JournalSpec",
    "MeasurementSpec",
    "ProcessNoteSpec",
    "ProgressNoteSpec",
    "ReflectionSpec",
    "RelationshipEpisodeSpec",
    "SessionSpec",
    "SyntheticPractice",
    "TherapistSpec",
    "describe",
    "generate_practice",
]

_T = TypeVar("_T")

# ---------------------------------------------------------------------------------------------
# Vocabularies shared with the rest of the platform
# ---------------------------------------------------------------------------------------------

CONCERNS: Final[tuple[str, ...]] = (
    "anxiety",
    "depression",
    "relationships",
    "attachment",
    "trauma",
    "self-esteem",
    "identity",
    "grief",
    "personality",
    "panic",
    "eating",
    "substance use",
    "work stress",
    "life transitions",
)
MODALITIES: Final[tuple[str, ...]] = ("psychodynamic", "psychoanalysis", "cbt")
EPISODE_STATUSES: Final[tuple[str, ...]] = ("intake", "active", "paused", "ended")
END_REASONS: Final[tuple[str, ...]] = ("mutual", "client_initiated", "dropout", "referral")
ATTENDANCE: Final[tuple[str, ...]] = (
    "attended",
    "cancelled",
    "late_cancel",
    "no_show",
    "scheduled",
)
INSTRUMENTS: Final[tuple[str, ...]] = ("phq9", "gad7")
TIMEPOINTS: Final[tuple[str, ...]] = (
    "intake",
    "session",
    "followup_1m",
    "followup_3m",
    "followup_6m",
    "followup_12m",
)
ARCHETYPES: Final[tuple[str, ...]] = (
    "improvement",
    "slow_plateau",
    "early_dropout",
    "no_change",
    "deterioration",
    "later_gains",
)

#: Planned sessions per week, or the string ``"fortnightly"`` (one session every two weeks).
Frequency: TypeAlias = int | Literal["fortnightly"]

SESSION_MINUTES: Final = 50
#: The practice keeps its diary in UTC, the platform's default ``TIME_ZONE``: session hours
#: (08:00-20:00) are UTC clock hours, so the demo calendar reads naturally without settings.
PRACTICE_TIMEZONE: Final = "UTC"

# ---------------------------------------------------------------------------------------------
# Model parameters (each one is documented in docs/demo-data.md)
# ---------------------------------------------------------------------------------------------

_HISTORY_YEARS: Final = 3
#: Ordinary episodes open at least this long before ``today`` so that they have a history.
_MIN_HISTORY_DAYS: Final = 28
#: Only this much of the future calendar is kept, as ``"scheduled"`` sessions.
_SCHEDULE_AHEAD_DAYS: Final = 14

# Intake severity of a clinical population, in expected-total units of each instrument.
_PHQ9_INTAKE_MEAN, _PHQ9_INTAKE_SD, _PHQ9_INTAKE_CLIP = 15.0, 4.5, (3.0, 26.0)
_GAD7_INTAKE_MEAN, _GAD7_INTAKE_SD, _GAD7_INTAKE_CLIP = 12.0, 4.5, (2.0, 20.0)
#: Correlation of depressive and anxious intake severity (standardised scale).
_INTAKE_CORRELATION: Final = 0.8
#: A second episode's intake severity is this share of the first intake plus fresh variation.
_SECOND_EPISODE_CARRYOVER: Final = 0.5

_MODALITY_WEIGHTS: Final[dict[str, float]] = {
    "psychodynamic": 0.55,
    "psychoanalysis": 0.15,
    "cbt": 0.30,
}
_PSYCHODYNAMIC_BRIEF_SHARE: Final = 0.3
#: Share of clients with a short first course (CBT, brief therapy, dropout) who return.
_SECOND_EPISODE_SHARE: Final = 0.3

# Archetype probabilities, in ARCHETYPES order. Psychodynamic work gets a higher "later gains"
# share than CBT: a modelling assumption after Shedler (2010), not a finding (see module doc).
_ARCHETYPE_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "psychodynamic": (0.42, 0.19, 0.14, 0.10, 0.06, 0.09),
    "psychoanalysis": (0.42, 0.19, 0.14, 0.10, 0.06, 0.09),
    "cbt": (0.47, 0.20, 0.15, 0.10, 0.05, 0.03),
}
#: Archetypes that only make sense for an episode that has ended before ``today``.
_ENDING_ARCHETYPES: Final = frozenset({"early_dropout", "later_gains"})
#: Weeks that must lie between such an episode's end and ``today``.
_ENDING_MARGIN_WEEKS: Final[dict[str, int]] = {"early_dropout": 8, "later_gains": 20}

#: Share of intake severity removed by the end of the planned course (uniform range).
_EFFECT_RANGE: Final[dict[str, tuple[float, float]]] = {
    "improvement": (0.45, 0.75),
    "slow_plateau": (0.15, 0.35),
    "early_dropout": (0.0, 0.15),
    "no_change": (-0.05, 0.08),
    "deterioration": (-0.5, -0.2),
    "later_gains": (0.2, 0.4),
}
#: "Later gains": share of the ending severity that disappears after ending (uniform range),
#: approached exponentially with this time constant in months.
_LATER_GAIN_RANGE: Final = (0.3, 0.6)
_LATER_GAIN_MONTHS: Final = 3.0
#: Every other ended episode drifts by a N(0, SD) share of its ending severity afterwards.
_POST_END_DRIFT_SD: Final = 0.08
_POST_END_DRIFT_MONTHS: Final = 6.0
#: Dose–response knee: about one month of planned sessions.
_KNEE_WEEKS: Final = 4.0
#: The plateau archetype reaches its full effect halfway through and bends twice as slowly.
_PLATEAU_AT: Final = 0.5
_PLATEAU_KNEE_FACTOR: Final = 2.0

# Latent noise: Ornstein–Uhlenbeck processes on the IRT theta scale.
_NOISE_TAU_DAYS: Final = 42.0
_NOISE_SD_SHARED: Final = 0.3
_NOISE_SD_SPECIFIC: Final = 0.15
#: SD of a client's persistent item-threshold offsets (personal symptom profile).
_ITEM_PROFILE_SD: Final = 0.3

# Attendance probabilities (attended, cancelled, late_cancel, no_show).
_ATTENDANCE_USUAL: Final = (0.87, 0.07, 0.03, 0.03)
_ATTENDANCE_STRAINED: Final = (0.78, 0.11, 0.05, 0.06)
_STRAINED_ARCHETYPES: Final = frozenset({"no_change", "deterioration", "early_dropout"})

#: Take the questionnaires before every n-th attended session, by modality.
_MEASURE_EVERY: Final[dict[str, int]] = {"cbt": 1, "psychodynamic": 2, "psychoanalysis": 4}
_SESSION_COMPLETION: Final = 0.93
#: Follow-up questionnaires: months after the end date, and their timepoint labels.
_FOLLOWUPS: Final = (
    (1, "followup_1m"),
    (3, "followup_3m"),
    (6, "followup_6m"),
    (12, "followup_12m"),
)
_FOLLOWUP_RESPONSE: Final[dict[str, float]] = {
    "mutual": 0.8,
    "client_initiated": 0.6,
    "referral": 0.55,
    "dropout": 0.35,
}
_FOLLOWUP_DECAY: Final = 0.9
_DAYS_PER_MONTH: Final = 30.4375

_END_REASON_WEIGHTS: Final[dict[str, dict[str, float]]] = {
    "improvement": {"mutual": 0.85, "client_initiated": 0.15},
    "slow_plateau": {"mutual": 0.6, "client_initiated": 0.4},
    "early_dropout": {"dropout": 1.0},
    "no_change": {"mutual": 0.25, "client_initiated": 0.5, "referral": 0.25},
    "deterioration": {"client_initiated": 0.4, "referral": 0.6},
    "later_gains": {"mutual": 0.9, "client_initiated": 0.1},
}

#: A recent PHQ-9 is one taken within this many days before ``today``.
_CRISIS_WINDOW_DAYS: Final = 14

#: Former clients placed on purpose so that the practice has psychodynamic episodes ended
#: long enough ago for their 12-month follow-up: one client in this many (at least 10
#: clients), whose course ended at least this many weeks before ``today``.
_ALUMNI_EVERY: Final = 8
_ALUMNI_MARGIN_WEEKS: Final = 56
#: Every follow-up cell of psychodynamic work (psychodynamic + psychoanalysis episodes
#: with paired scores) gets at least this many PHQ-9 follow-ups, so that the outcomes
#: "after therapy" panel is not suppressed. The dashboard suppresses cells under 10
#: (``reverie.outcomes.evidence.MIN_CELL``); a test keeps this target above it.
FOLLOWUP_TARGET: Final = 12
#: Every therapist has at least this many sessions on ``today`` (or one per open
#: episode if fewer), so the demo's Today page is never empty, whatever the weekday.
TODAY_MIN_SESSIONS: Final = 3
_TODAY_HOURS: Final = tuple(range(9, 18))
#: Consultation requests waiting in the intake queue.
_CONSULTATION_REQUESTS: Final = 7

# Graded response model item parameters: (discrimination a, thresholds b1 < b2 < b3).
# They are hand-set for the synthetic model, not estimates from a calibration study. Item 9
# (thoughts of being better off dead or of self-harm) has high thresholds so that it is
# endorsed rarely and mostly at high severity.
_PHQ9_ITEMS: Final = (
    (2.9, -0.2, 0.9, 1.7),  # 1 little interest or pleasure
    (3.4, -0.3, 0.8, 1.6),  # 2 feeling down, depressed, hopeless
    (2.0, -0.8, 0.4, 1.3),  # 3 sleep
    (2.2, -1.0, 0.2, 1.2),  # 4 tired, little energy
    (2.0, -0.4, 0.7, 1.6),  # 5 appetite
    (2.9, -0.1, 0.9, 1.7),  # 6 feeling bad about yourself
    (2.3, -0.2, 0.9, 1.8),  # 7 trouble concentrating
    (2.1, 0.4, 1.4, 2.3),  # 8 moving or speaking slowly, or restless
    (2.4, 2.6, 3.3, 3.9),  # 9 better off dead or hurting yourself
)
_GAD7_ITEMS: Final = (
    (3.1, -0.6, 0.5, 1.4),  # 1 nervous, anxious, on edge
    (3.4, -0.4, 0.6, 1.5),  # 2 not able to stop worrying
    (3.2, -0.5, 0.5, 1.4),  # 3 worrying too much
    (2.7, -0.3, 0.7, 1.6),  # 4 trouble relaxing
    (2.1, 0.2, 1.2, 2.1),  # 5 restless
    (2.2, -0.3, 0.8, 1.8),  # 6 irritable
    (2.5, 0.0, 1.0, 1.9),  # 7 afraid something awful might happen
)


class _ItemBank(NamedTuple):
    """Graded response model parameters plus a lookup table from expected total to theta."""

    a: np.ndarray  # (items,)
    b: np.ndarray  # (items, 3)
    grid: np.ndarray  # theta values
    tcc: np.ndarray  # expected total at each grid theta (the test characteristic curve)

    @property
    def max_total(self) -> int:
        return 3 * len(self.a)


def _item_bank(items: Sequence[tuple[float, float, float, float]]) -> _ItemBank:
    a = np.array([item[0] for item in items])
    b = np.array([item[1:] for item in items])
    grid = np.linspace(-5.0, 8.0, 2601)
    tcc = _exceedance(grid, a, b).sum(axis=(1, 2))
    return _ItemBank(a, b, grid, tcc)


def _exceedance(theta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(answer >= k) for each theta, item and k = 1..3: logistic(a * (theta - b_k))."""
    z = a[None, :, None] * (theta[:, None, None] - b[None, :, :])
    result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


_PHQ9: Final = _item_bank(_PHQ9_ITEMS)
_GAD7: Final = _item_bank(_GAD7_ITEMS)


def _theta_for_total(bank: _ItemBank, expected_total: np.ndarray) -> np.ndarray:
    """Invert the test characteristic curve: the theta whose expected total is given."""
    clipped = np.clip(expected_total, 0.3, bank.max_total - 0.3)
    result: np.ndarray = np.interp(clipped, bank.tcc, bank.grid)
    return result


def _sample_items(
    rng: Generator, bank: _ItemBank, theta: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Draw item answers (n, items) given theta (n,) by inverting each item's category CDF.

    ``offsets`` (items,) shifts a client's thresholds item by item, giving each person a
    stable symptom profile. Thresholds still increase, so P(>=1) > P(>=2) > P(>=3) and one
    uniform number per item decides the category: the answer is the number of thresholds it
    falls below.
    """
    p = _exceedance(theta, bank.a, bank.b + offsets[:, None])
    u = rng.random(p.shape[:2])
    result: np.ndarray = (u[:, :, None] < p).sum(axis=2)
    return result


# ---------------------------------------------------------------------------------------------
# Public dataclasses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TherapistSpec:
    """A therapist and the profile shown in the public directory.

    ``availability`` holds the (weekday, hour) slots open to new clients, weekday 0 being
    Monday and the hour a UTC clock hour (see :data:`PRACTICE_TIMEZONE`).
    """

    given_name: str
    family_name: str
    pronouns: str
    email: str
    credentials: tuple[str, ...]
    modalities: tuple[str, ...]
    approach: str
    concerns: tuple[str, ...]
    languages: tuple[str, ...]
    fee_usd: int
    sliding_scale: bool
    insurance: tuple[str, ...]
    telehealth: bool
    location: str
    availability: tuple[tuple[int, int], ...]

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """One booked session: start (aware, UTC), length, and what happened."""

    start: dt.datetime
    attendance: str
    duration_minutes: int = SESSION_MINUTES


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    """One completed questionnaire.

    ``session_index`` points into the episode's ``sessions`` for questionnaires taken before
    a session; it is ``None`` at intake and follow-up.
    """

    taken_at: dt.datetime
    instrument: str
    answers: tuple[int, ...]
    timepoint: str
    session_index: int | None

    @property
    def total(self) -> int:
        return sum(self.answers)


@dataclass(frozen=True, slots=True)
class EpisodeSpec:
    """One course of treatment with one therapist.

    ``archetype`` names the trajectory the episode was generated from. It exists for the
    documentation and the tests; the seeding command should not store it as clinical data.
    ``end_date`` and ``end_reason`` are ``None`` unless ``status == "ended"``.

    The last four fields are the clinical material written for the episode
    (:mod:`reverie.demo.material`); their ``session_index`` points into ``sessions``.
    """

    therapist_index: int
    modality: str
    frequency: Frequency
    start_date: dt.date
    status: str
    end_date: dt.date | None
    end_reason: str | None
    goal: str
    archetype: str
    sessions: tuple[SessionSpec, ...]
    measurements: tuple[MeasurementSpec, ...]
    progress_notes: tuple[ProgressNoteSpec, ...] = ()
    process_notes: tuple[ProcessNoteSpec, ...] = ()
    reflections: tuple[ReflectionSpec, ...] = ()
    relationship_episodes: tuple[RelationshipEpisodeSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """A client. ``preferred_name`` is ``""`` when the client goes by the given name.

    ``journal`` is written only for clients with an open episode (they have a portal
    account in the demo).
    """

    given_name: str
    family_name: str
    preferred_name: str
    pronouns: str
    date_of_birth: dt.date
    email: str
    presenting_concerns: tuple[str, ...]
    referral_source: str
    episodes: tuple[EpisodeSpec, ...]
    journal: tuple[JournalSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class SyntheticPractice:
    """The whole demo practice as of ``as_of``, which is 00:00 UTC on ``today``.

    Everything before ``as_of`` is history; the only things at or after it are sessions with
    attendance ``"scheduled"``. ``consultation_requests`` wait in the intake queue.
    """

    seed: int
    today: dt.date
    as_of: dt.datetime
    name: str
    therapists: tuple[TherapistSpec, ...]
    clients: tuple[ClientSpec, ...]
    consultation_requests: tuple[ConsultationSpec, ...] = ()

    def iter_episodes(self) -> Iterator[tuple[ClientSpec, EpisodeSpec]]:
        """Yield every (client, episode) pair in client order."""
        for client in self.clients:
            for episode in client.episodes:
                yield client, episode


# ---------------------------------------------------------------------------------------------
# Built-in lists for names and profiles
# ---------------------------------------------------------------------------------------------

_GIVEN_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "she/her": (
        "Abigail", "Amara", "Beatrice", "Camila", "Chloe", "Daniela", "Eleanor", "Elizabeth",
        "Farah", "Grace", "Hana", "Imani", "Ines", "Julia", "Katherine", "Leila", "Lucia",
        "Margaret", "Mei", "Nadia", "Naomi", "Olivia", "Priya", "Rosa", "Ruth", "Sofia",
        "Talia", "Vivian", "Yasmin", "Zoe",
    ),
    "he/him": (
        "Aaron", "Alexander", "Andre", "Benjamin", "Carlos", "Daniel", "Elijah", "Felix",
        "Gabriel", "Hiro", "Isaac", "James", "Kenji", "Kwame", "Leo", "Luis", "Mateo",
        "Michael", "Nathan", "Omar", "Paul", "Rafael", "Robert", "Samuel", "Theo", "Thomas",
        "Victor", "William", "Xavier", "Yusuf",
    ),
    "they/them": (
        "Alex", "Avery", "Blake", "Casey", "Dakota", "Eden", "Finley", "Harper", "Jordan",
        "Kai", "Morgan", "Quinn", "Riley", "Rowan", "Sage", "Taylor",
    ),
}  # fmt: skip
_PRONOUN_WEIGHTS: Final[dict[str, float]] = {"she/her": 0.5, "he/him": 0.41, "they/them": 0.09}
_FAMILY_NAMES: Final[tuple[str, ...]] = (
    "Abernathy", "Achebe", "Alvarez", "Bauer", "Bergstrom", "Brennan", "Castillo", "Chen",
    "Costa", "Delgado", "Dubois", "Eriksen", "Fernandes", "Fitzgerald", "Goldberg", "Gupta",
    "Haddad", "Hoffman", "Ibarra", "Ito", "Jensen", "Kaminski", "Kim", "Kowalski", "Larsen",
    "Lindqvist", "Mendoza", "Morales", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor",
    "Olsen", "Patel", "Petrov", "Quinlan", "Rahman", "Rossi", "Schneider", "Silva", "Tanaka",
    "Thompson", "Ueda", "Vargas", "Weber", "Whitfield", "Xu", "Yamamoto", "Zielinski",
)  # fmt: skip
_NICKNAMES: Final[dict[str, str]] = {
    "Abigail": "Abby", "Alexander": "Alex", "Benjamin": "Ben", "Daniel": "Dan",
    "Elizabeth": "Liz", "Eleanor": "Nell", "Gabriel": "Gabe", "Julia": "Jules",
    "Katherine": "Kate", "Margaret": "Maggie", "Michael": "Mike", "Nathan": "Nate",
    "Robert": "Rob", "Samuel": "Sam", "Thomas": "Tom", "William": "Will",
}  # fmt: skip

_REFERRAL_SOURCES: Final[dict[str, float]] = {
    "primary care physician": 0.22,
    "psychiatrist": 0.08,
    "therapist directory": 0.2,
    "friend or family member": 0.18,
    "former client": 0.07,
    "employee assistance program": 0.08,
    "university counseling center": 0.07,
    "insurance provider list": 0.1,
}

_CONCERN_WEIGHTS: Final[dict[str, float]] = {
    "anxiety": 3.0,
    "depression": 3.0,
    "relationships": 2.0,
    "attachment": 1.0,
    "trauma": 1.0,
    "self-esteem": 1.5,
    "identity": 1.0,
    "grief": 0.8,
    "personality": 0.7,
    "panic": 0.8,
    "eating": 0.5,
    "substance use": 0.5,
    "work stress": 1.5,
    "life transitions": 1.2,
}

# Goals as a client might put them, two per concern.
_GOALS: Final[dict[str, tuple[str, str]]] = {
    "anxiety": (
        "I want to stop feeling on edge all the time.",
        "I'd like to get through a workday without dreading every meeting.",
    ),
    "depression": (
        "I want to get out of bed and actually want the day.",
        "I'd like to feel something other than flat.",
    ),
    "relationships": (
        "I keep having the same fight with my partner and want to understand why.",
        "I want to stop picking people who make me feel small.",
    ),
    "attachment": (
        "I want to stop panicking whenever someone I love pulls away.",
        "I'd like to let people get close without bracing for them to leave.",
    ),
    "trauma": (
        "I want the past to stop ambushing me.",
        "I'd like to feel safe in my own body again.",
    ),
    "self-esteem": (
        "I want to stop talking to myself like an enemy.",
        "I'd like to believe I deserve the good things in my life.",
    ),
    "identity": (
        "I want to figure out who I am apart from what everyone expects.",
        "I'd like to stop feeling like I'm performing a version of myself.",
    ),
    "grief": (
        "I need help carrying my mother's death without it flattening me.",
        "I want to be able to remember him without falling apart.",
    ),
    "personality": (
        "I want to understand why my moods and relationships swing so hard.",
        "I'd like to stop blowing up the things I care about.",
    ),
    "panic": (
        "I want to ride the subway again without having an attack.",
        "I'd like to stop being afraid of my own heartbeat.",
    ),
    "eating": (
        "I want food to stop being the thing I think about all day.",
        "I'd like to eat with other people without counting everything.",
    ),
    "substance use": (
        "I want to understand what drinking does for me so I need it less.",
        "I'd like to get through a weekend without using.",
    ),
    "work stress": (
        "I want to stop bringing work home in my body.",
        "I'd like to say no at work without feeling guilty for days.",
    ),
    "life transitions": (
        "I've moved cities and changed jobs and want to find my footing.",
        "I want to work out what comes next now that the kids have left.",
    ),
}


class _TherapistTemplate(NamedTuple):
    modalities: tuple[str, ...]
    credential_options: tuple[tuple[str, ...], ...]
    fee_range: tuple[int, int]
    concerns: tuple[str, ...]
    approach: str


# Eight profiles; the first four give the default mix: two psychodynamic therapists, one
# psychoanalyst who also offers psychodynamic therapy and one CBT + psychodynamic therapist.
_THERAPIST_TEMPLATES: Final[tuple[_TherapistTemplate, ...]] = (
    _TherapistTemplate(
        ("psychodynamic",),
        (("PsyD",), ("PhD",), ("LCSW",)),
        (170, 250),
        ("depression", "anxiety", "relationships", "self-esteem", "personality"),
        "I think of therapy as a place where we can slow down enough to notice the patterns "
        "that keep repeating in your life and relationships. Much of what troubles us has roots "
        "we are not fully aware of, so we will attend to feelings that are hard to put into "
        "words, including what happens between the two of us. My hope is that you leave with "
        "more freedom, not just fewer symptoms.",
    ),
    _TherapistTemplate(
        ("psychoanalysis", "psychodynamic"),
        (("PhD",), ("MD",), ("PsyD",)),
        (130, 200),
        ("personality", "identity", "relationships", "attachment", "depression", "trauma"),
        "I practise psychoanalysis, meeting three or four times a week, as well as once- or "
        "twice-weekly psychodynamic therapy. Frequent sessions leave room to follow dreams, "
        "slips and the feelings that surface toward me, so that long-standing ways of "
        "suffering can be understood rather than merely managed. I am unhurried and curious, "
        "and direct when that helps.",
    ),
    _TherapistTemplate(
        ("cbt", "psychodynamic"),
        (("PhD",), ("PsyD",), ("LPC",)),
        (150, 220),
        ("anxiety", "panic", "depression", "work stress", "life transitions"),
        "I offer structured cognitive-behavioral therapy for panic, worry and low mood, and "
        "longer-term psychodynamic therapy when the difficulty lives in relationships or in how "
        "you see yourself. We will choose together, and it is fine to start with one and move "
        "to the other. Either way I use brief questionnaires so we both know whether therapy is "
        "helping.",
    ),
    _TherapistTemplate(
        ("psychodynamic",),
        (("LCSW",), ("LMFT",), ("PsyD",)),
        (160, 230),
        ("grief", "life transitions", "depression", "relationships", "trauma"),
        "Many people find me after a loss, a move or the end of a relationship, when old ways "
        "of coping stop holding. I listen for the feelings underneath your story and will "
        "gently name themes that recur across your relationships and in our sessions. I work "
        "warmly, at your pace, and take culture and family history seriously.",
    ),
    _TherapistTemplate(
        ("psychodynamic",),
        (("PhD",), ("LCSW",)),
        (170, 240),
        ("relationships", "attachment", "self-esteem", "identity", "anxiety"),
        "My work is psychodynamic and relational: the relationships we carry inside us shape "
        "how we love, work and treat ourselves. We will explore what you avoid as much as what "
        "you bring, because the avoided parts often hold the key.",
    ),
    _TherapistTemplate(
        ("cbt", "psychodynamic"),
        (("PsyD",), ("LMHC",)),
        (140, 210),
        ("anxiety", "panic", "eating", "substance use", "work stress"),
        "I combine practical tools with depth. For some people, concrete skills for anxiety "
        "and sleep come first; for others the pressing work is understanding why the same "
        "conflicts keep returning. I am open about the plan and flexible when it needs to "
        "change.",
    ),
    _TherapistTemplate(
        ("psychoanalysis", "psychodynamic"),
        (("PhD",), ("MD",)),
        (120, 190),
        ("personality", "trauma", "attachment", "depression", "identity"),
        "I am a psychoanalyst and also see people in psychodynamic psychotherapy once or twice "
        "a week. I listen for what is said between the lines, in dreams, memories and reactions "
        "to me, because that is often where change begins. The work is slow by design and aims "
        "at lasting change in how you live and relate.",
    ),
    _TherapistTemplate(
        ("psychodynamic",),
        (("LCSW",), ("PsyD",), ("LPC",)),
        (150, 220),
        ("work stress", "depression", "anxiety", "life transitions", "self-esteem"),
        "I help adults who feel stuck in a career, a relationship or a mood that will not lift. "
        "Together we try to understand what the symptoms protect you from and what they cost "
        "you. I am an active listener and will tell you honestly what I notice.",
    ),
)
_MAX_THERAPISTS: Final = len(_THERAPIST_TEMPLATES)
_MAX_CLIENTS: Final = 400

_EXTRA_LANGUAGES: Final = (("Spanish", 0.35), ("French", 0.15), ("Mandarin", 0.12))
_INSURERS: Final = ("Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Medicare")
_NEIGHBOURHOODS: Final = (
    "Riverside",
    "Old Town",
    "Harbor Point",
    "Maple Heights",
    "University Hill",
    "Elm Park",
    "Lakeview",
    "Northgate",
)

# Weekday patterns by sessions per week; 0 = Monday.
_WEEKDAY_PATTERNS: Final[dict[int, tuple[tuple[int, ...], ...]]] = {
    1: ((0,), (1,), (2,), (3,), (4,)),
    2: ((0, 3), (1, 4), (0, 2), (1, 3), (2, 4)),
    3: ((0, 1, 3), (0, 2, 4), (1, 2, 4), (0, 2, 3), (0, 1, 2), (1, 2, 3), (2, 3, 4), (1, 3, 4)),
    4: ((0, 1, 2, 3), (1, 2, 3, 4), (0, 1, 2, 4), (0, 1, 3, 4), (0, 2, 3, 4)),
}
_SESSION_HOURS: Final = tuple(range(8, 20))
_OVERFLOW_HOURS: Final = (7, 20)
_DIRECTORY_HOURS: Final = tuple(range(9, 19))


# ---------------------------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------------------------


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware UTC datetime at a wall-clock time of the practice (see PRACTICE_TIMEZONE)."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def _is_practice_holiday(day: dt.date) -> bool:
    """Dates on which the whole practice is closed: the winter break and US public holidays."""
    month, dom, weekday = day.month, day.day, day.weekday()
    return (
        (month == 12 and dom >= 22)
        or (month == 1 and dom <= 2)
        or (month == 5 and weekday == 0 and dom >= 25)  # Memorial Day
        or (month == 7 and dom == 4)
        or (month == 9 and weekday == 0 and dom <= 7)  # Labor Day
        or (month == 11 and weekday == 3 and 22 <= dom <= 28)  # Thanksgiving
        or (month == 11 and weekday == 4 and 23 <= dom <= 29)  # and the day after
    )


# ---------------------------------------------------------------------------------------------
# Internal drafts (mutable while the practice is being built)
# ---------------------------------------------------------------------------------------------


@dataclass
class _TherapistDraft:
    template: _TherapistTemplate
    given_name: str
    family_name: str
    pronouns: str
    credentials: tuple[str, ...]
    concerns: tuple[str, ...]
    languages: tuple[str, ...]
    fee_usd: int
    sliding_scale: bool
    insurance: tuple[str, ...]
    telehealth: bool
    location: str
    august_breaks: dict[int, tuple[dt.date, dt.date]]
    # (weekdays, hour, first day, last day) of every standing appointment.
    bookings: list[tuple[frozenset[int], int, dt.date, dt.date]] = field(default_factory=list)
    load: int = 0

    def is_off(self, day: dt.date) -> bool:
        if _is_practice_holiday(day):
            return True
        window = self.august_breaks.get(day.year)
        return window is not None and window[0] <= day < window[1]


@dataclass
class _EpisodePlan:
    modality: str
    therapist: int
    archetype: str
    frequency: Frequency
    brief: bool


@dataclass
class _ClientPlan:
    given_name: str
    family_name: str
    preferred_name: str
    pronouns: str
    email: str
    age_years: int
    age_extra_days: int
    concerns: tuple[str, ...]
    referral_source: str
    phq9_intake: float
    gad7_intake: float
    role: str  # "free", "recent_intake", "paused", "alumni" or "first_of_two"
    first: _EpisodePlan


@dataclass
class _Occasion:
    taken_at: dt.datetime
    timepoint: str
    session_index: int | None
    dose: int
    months_after_end: float | None


@dataclass
class _EpisodeDraft:
    plan: _EpisodePlan
    start: dt.date
    sessions: list[tuple[dt.datetime, str]]
    status: str
    end_date: dt.date | None
    end_reason: str | None
    planned_dose: int
    sessions_per_week: float
    goal: str
    phq9_intake: float
    gad7_intake: float
    effect: float = 0.0
    post_change: float = 0.0
    occasions: list[_Occasion] = field(default_factory=list)
    # Filled in by _score_client: item answers (occasions x items) and latent PHQ-9 theta.
    phq9: np.ndarray = field(default_factory=lambda: np.zeros((0, 9), dtype=np.int64))
    gad7: np.ndarray = field(default_factory=lambda: np.zeros((0, 7), dtype=np.int64))
    phq9_theta: np.ndarray = field(default_factory=lambda: np.zeros(0))


class _Context(NamedTuple):
    today: dt.date
    as_of: dt.datetime
    window_start: dt.date


# ---------------------------------------------------------------------------------------------
# Random helpers
# ---------------------------------------------------------------------------------------------


def _pick(rng: Generator, options: Sequence[_T], weights: Sequence[float] | None = None) -> _T:
    """One element of ``options``, uniformly or with (unnormalised) weights."""
    if weights is None:
        return options[int(rng.integers(len(options)))]
    w = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


def _pick_weighted(rng: Generator, table: dict[str, float]) -> str:
    return _pick(rng, tuple(table), tuple(table.values()))


def _uniform(rng: Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _int_between(rng: Generator, low: int, high: int) -> int:
    """A uniform integer in [low, high], both ends included."""
    return int(rng.integers(low, high, endpoint=True))


def _sessions_per_week(frequency: Frequency) -> float:
    return 0.5 if frequency == "fortnightly" else float(frequency)


def _draw_archetype(rng: Generator, modality: str, *, ongoing_only: bool = False) -> str:
    weights = list(_ARCHETYPE_WEIGHTS[modality])
    if ongoing_only:
        # Used where the episode cannot have ended by today: renormalise over the rest.
        weights = [
            0.0 if a in _ENDING_ARCHETYPES else w for a, w in zip(ARCHETYPES, weights, strict=True)
        ]
    return _pick(rng, ARCHETYPES, weights)


_ANALYTIC_FREQUENCIES: Final[tuple[Frequency, ...]] = (3, 4)
_ANALYTIC_FREQUENCY_WEIGHTS: Final = (0.55, 0.45)
_DYNAMIC_FREQUENCIES: Final[tuple[Frequency, ...]] = (1, 2, "fortnightly")
_DYNAMIC_FREQUENCY_WEIGHTS: Final = (0.8, 0.12, 0.08)


def _draw_frequency(rng: Generator, modality: str, brief: bool) -> Frequency:
    if modality == "psychoanalysis":
        return _pick(rng, _ANALYTIC_FREQUENCIES, _ANALYTIC_FREQUENCY_WEIGHTS)
    if modality == "psychodynamic" and not brief:
        return _pick(rng, _DYNAMIC_FREQUENCIES, _DYNAMIC_FREQUENCY_WEIGHTS)
    return 1  # CBT and brief psychodynamic therapy are weekly


def _draw_length(rng: Generator, plan: _EpisodePlan) -> tuple[int | None, int | None]:
    """Planned length: (attended sessions, None) for counted courses, else (None, weeks)."""
    if plan.archetype == "early_dropout":
        return _int_between(rng, 1, 5), None
    if plan.modality == "cbt":
        return _int_between(rng, 8, 20), None
    if plan.brief:
        return _int_between(rng, 16, 30), None
    return None, _int_between(rng, 52, 156)


def _needed_weeks(count: int | None, weeks: int | None, sessions_per_week: float) -> float:
    """Calendar weeks a course needs; counted courses assume 70 % attendance plus holidays."""
    if weeks is not None:
        return float(weeks)
    if count is None:
        raise ValueError("a course needs either a session count or a duration")
    return math.ceil(count / (sessions_per_week * 0.7)) + 6.0


def _intake_severity(rng: Generator) -> tuple[float, float]:
    """Correlated depressive (PHQ-9 units) and anxious (GAD-7 units) intake severity."""
    z_dep = float(rng.standard_normal())
    rho = _INTAKE_CORRELATION
    z_anx = rho * z_dep + math.sqrt(1.0 - rho * rho) * float(rng.standard_normal())
    phq = float(np.clip(_PHQ9_INTAKE_MEAN + _PHQ9_INTAKE_SD * z_dep, *_PHQ9_INTAKE_CLIP))
    gad = float(np.clip(_GAD7_INTAKE_MEAN + _GAD7_INTAKE_SD * z_anx, *_GAD7_INTAKE_CLIP))
    return phq, gad


# ---------------------------------------------------------------------------------------------
# Therapists and client plans
# ---------------------------------------------------------------------------------------------


def _draw_person_name(
    rng: Generator, used: set[tuple[str, str]]
) -> tuple[str, str, str]:  # pronouns, given, family
    pronouns = _pick_weighted(rng, _PRONOUN_WEIGHTS)
    while True:
        given = _pick(rng, _GIVEN_NAMES[pronouns])
        family = _pick(rng, _FAMILY_NAMES)
        if (given, family) not in used:
            used.add((given, family))
            return pronouns, given, family


def _draft_therapists(
    rng: Generator, n_therapists: int, ctx: _Context, used: set[tuple[str, str]]
) -> list[_TherapistDraft]:
    neighbourhoods = list(_NEIGHBOURHOODS)
    drafts = []
    for index in range(n_therapists):
        template = _THERAPIST_TEMPLATES[index]
        pronouns, given, family = _draw_person_name(rng, used)
        extras = [c for c in CONCERNS if c not in template.concerns]
        n_extra = _int_between(rng, 0, 2)
        extra = tuple(str(c) for c in rng.choice(extras, size=n_extra, replace=False))
        concerns = tuple(c for c in CONCERNS if c in template.concerns or c in extra)
        extra_languages = [lang for lang, p in _EXTRA_LANGUAGES if rng.random() < p]
        languages = ("English", *extra_languages)
        low, high = template.fee_range
        fee = 5 * _int_between(rng, low // 5, high // 5)
        if rng.random() < 0.45:
            insurance: tuple[str, ...] = ()  # private pay; superbills for out-of-network claims
        else:
            chosen = rng.choice(len(_INSURERS), size=_int_between(rng, 1, 3), replace=False)
            insurance = tuple(_INSURERS[i] for i in sorted(int(c) for c in chosen))
        location = neighbourhoods.pop(int(rng.integers(len(neighbourhoods))))
        # The classic August break: three or four weeks from a Monday in late July or August.
        august = {}
        for year in range(ctx.window_start.year, ctx.today.year + 2):
            first = dt.date(year, 7, 27)
            first += dt.timedelta(days=(7 - first.weekday()) % 7 + 7 * _int_between(rng, 0, 2))
            august[year] = (first, first + dt.timedelta(weeks=_int_between(rng, 3, 4)))
        drafts.append(
            _TherapistDraft(
                template=template,
                given_name=given,
                family_name=family,
                pronouns=pronouns,
                credentials=_pick(rng, template.credential_options),
                concerns=concerns,
                languages=languages,
                fee_usd=fee,
                sliding_scale=bool(rng.random() < 0.5),
                insurance=insurance,
                telehealth=bool(rng.random() < 0.8),
                location=location,
                august_breaks=august,
            )
        )
    return drafts


def _choose_therapist(
    rng: Generator,
    therapists: Sequence[_TherapistDraft],
    modality: str,
    *,
    avoid: int | None = None,
) -> int:
    """A therapist offering ``modality``, favouring lighter caseloads."""
    offering = [i for i, t in enumerate(therapists) if modality in t.template.modalities]
    if avoid is not None and len(offering) > 1:
        offering = [i for i in offering if i != avoid]
    weights = [1.0 / (1.0 + therapists[i].load) for i in offering]
    chosen = _pick(rng, offering, weights)
    therapists[chosen].load += 1
    return chosen


def _draw_modality(
    rng: Generator,
    therapists: Sequence[_TherapistDraft],
    concerns: Sequence[str],
    *,
    allowed: Sequence[str] = MODALITIES,
    after: str | None = None,
) -> str:
    offered = {m for t in therapists for m in t.template.modalities}
    options = [m for m in MODALITIES if m in offered and m in allowed]
    weights = []
    for m in options:
        w = _MODALITY_WEIGHTS[m]
        if m == "cbt" and "panic" in concerns:
            w *= 2.0  # panic is the textbook CBT referral
        if after == "cbt" and m != "cbt":
            w *= 2.0  # after a CBT course, people returning often want something different
        weights.append(w)
    return _pick(rng, options, weights)


def _plan_episode(
    rng: Generator,
    therapists: list[_TherapistDraft],
    concerns: Sequence[str],
    role: str,
) -> _EpisodePlan:
    if role == "paused":
        modality, brief = "psychodynamic", False
    else:
        allowed = ("psychodynamic", "cbt") if role == "recent_intake" else MODALITIES
        modality = _draw_modality(rng, therapists, concerns, allowed=allowed)
        brief = modality == "psychodynamic" and rng.random() < _PSYCHODYNAMIC_BRIEF_SHARE
    frequency: Frequency = 1 if role == "paused" else _draw_frequency(rng, modality, brief)
    therapist = _choose_therapist(rng, therapists, modality)
    # The archetype is assigned afterwards, by stratified sampling over all clients.
    return _EpisodePlan(modality, therapist, "", frequency, brief)


def _plan_clients(
    rng: Generator,
    n_clients: int,
    therapists: list[_TherapistDraft],
    used: set[tuple[str, str]],
) -> list[_ClientPlan]:
    # A few clients are placed deliberately so that every episode status appears.
    roles = ["free"] * n_clients
    if n_clients >= 10:
        n_intake = max(1, round(n_clients / 30))
        n_paused = max(1, round(n_clients / 40))
        chosen = rng.choice(n_clients, size=n_intake + n_paused, replace=False)
        for k, i in enumerate(chosen):
            roles[int(i)] = "recent_intake" if k < n_intake else "paused"

    emails: set[str] = set()
    plans = []
    for i in range(n_clients):
        pronouns, given, family = _draw_person_name(rng, used)
        preferred = _NICKNAMES[given] if given in _NICKNAMES and rng.random() < 0.6 else ""
        local = f"{given}.{family}".lower()
        email = f"{local}@example.org"
        suffix = 2
        while email in emails:
            email, suffix = f"{local}{suffix}@example.org", suffix + 1
        emails.add(email)
        # Ages skew toward 25-45, as in outpatient practices (Beta(2, 3.2) stretched to 19-69).
        age_years = 19 + int(rng.beta(2.0, 3.2) * 51)
        age_extra_days = _int_between(rng, 0, 364)
        phq, gad = _intake_severity(rng)
        # Severe depressive or anxious presentations name those concerns more often.
        weights = dict(_CONCERN_WEIGHTS)
        weights["depression"] *= (phq / _PHQ9_INTAKE_MEAN) ** 2
        weights["anxiety"] *= (gad / _GAD7_INTAKE_MEAN) ** 2
        n_concerns = _pick(rng, (1, 2, 3), (0.3, 0.45, 0.25))
        w = np.array([weights[c] for c in CONCERNS])
        picked = rng.choice(len(CONCERNS), size=n_concerns, replace=False, p=w / w.sum())
        concerns = tuple(CONCERNS[int(k)] for k in picked)
        referral = _pick_weighted(rng, _REFERRAL_SOURCES)
        first = _plan_episode(rng, therapists, concerns, roles[i])
        plans.append(
            _ClientPlan(
                given_name=given,
                family_name=family,
                preferred_name=preferred,
                pronouns=pronouns,
                email=email,
                age_years=age_years,
                age_extra_days=age_extra_days,
                concerns=concerns,
                referral_source=referral,
                phq9_intake=phq,
                gad7_intake=gad,
                role=roles[i],
                first=first,
            )
        )
    _assign_first_archetypes(rng, plans)
    _choose_alumni(rng, plans)
    # Some clients with a short first course come back later for a second one.
    for plan in plans:
        first = plan.first
        short = first.modality == "cbt" or first.brief or first.archetype == "early_dropout"
        if plan.role == "free" and short and rng.random() < _SECOND_EPISODE_SHARE:
            plan.role = "first_of_two"
    return plans


def _assign_first_archetypes(rng: Generator, plans: Sequence[_ClientPlan]) -> None:
    """Give first episodes archetypes by systematic (stratified) sampling within modality.

    Independent draws let a 60-client demo wander far from the documented mix (an early,
    independently drawing version gave the default seed 11 deteriorating episodes out of 67).
    Systematic sampling gives each archetype the floor or the ceiling of its expected count,
    with the expected count as its mean, and the labels are then shuffled over the clients of
    that modality.
    """
    for modality in MODALITIES:
        group = [p for p in plans if p.first.modality == modality]
        if not group:
            continue
        cumulative = np.cumsum(_ARCHETYPE_WEIGHTS[modality]) * len(group)
        bounds = np.floor(cumulative + rng.random()).astype(int)
        bounds[-1] = len(group)  # guard against rounding in the cumulative sum
        counts = np.diff(np.concatenate(([0], bounds)))
        labels = [a for a, c in zip(ARCHETYPES, counts, strict=True) for _ in range(int(c))]
        for plan, index in zip(group, rng.permutation(len(labels)), strict=True):
            plan.first.archetype = labels[int(index)]
        # Open-by-design episodes cannot carry an archetype that needs an ending: swap it with
        # a freely placed client of the same modality, or redraw when nobody can swap.
        for plan in group:
            if plan.role == "free" or plan.first.archetype not in _ENDING_ARCHETYPES:
                continue
            partners = [
                q for q in group if q.role == "free" and q.first.archetype not in _ENDING_ARCHETYPES
            ]
            if partners:
                partner = _pick(rng, partners)
                plan.first.archetype, partner.first.archetype = (
                    partner.first.archetype,
                    plan.first.archetype,
                )
            else:
                plan.first.archetype = _draw_archetype(rng, modality, ongoing_only=True)


def _choose_alumni(rng: Generator, plans: Sequence[_ClientPlan]) -> None:
    """Make some freely placed psychodynamic clients former clients whose course ended at
    least :data:`_ALUMNI_MARGIN_WEEKS` before ``today``.

    Left to chance, a three-year window holds few psychodynamic courses that ended more
    than a year ago (long-term work lasts one to three years), so the 6- and 12-month
    follow-up cells of the outcomes dashboard would stay below its small-cell limit.
    Early dropouts are not chosen: with one or two sessions they have no paired scores.
    """
    if len(plans) < 10:
        return
    wanted = round(len(plans) / _ALUMNI_EVERY)
    candidates = [
        p
        for p in plans
        if p.role == "free"
        and p.first.modality in ("psychodynamic", "psychoanalysis")
        and p.first.archetype != "early_dropout"
    ]
    if not candidates:
        return
    chosen = rng.choice(len(candidates), size=min(wanted, len(candidates)), replace=False)
    for index in chosen:
        candidates[int(index)].role = "alumni"


def _ensure_archetype_coverage(rng: Generator, plans: Sequence[_ClientPlan]) -> None:
    """Relabel a few "improvement" first episodes so that every archetype appears.

    A 60-client demo would otherwise miss a rare archetype for some seeds, and each one
    drives a different screen (follow-up gains, the deterioration alert, dropout lists).
    Only freely placed episodes are relabelled, so every archetype stays feasible.
    """
    present = Counter(p.first.archetype for p in plans)
    for archetype in ARCHETYPES:
        if present[archetype]:
            continue
        candidates = [
            p
            for p in plans
            if p.role in ("free", "first_of_two") and p.first.archetype == "improvement"
        ]
        # Keep at least one improvement episode; with tiny practices coverage is best effort.
        if len(candidates) < 2:
            return
        chosen = _pick(rng, candidates)
        chosen.first.archetype = archetype
        present[archetype] += 1
        present["improvement"] -= 1


# ---------------------------------------------------------------------------------------------
# Episodes: timing, calendar and attendance
# ---------------------------------------------------------------------------------------------


def _slot_dates(
    first_day: dt.date, weekdays: Sequence[int], fortnightly: bool, therapist: _TherapistDraft
) -> Iterator[dt.date]:
    """Standing appointment dates from ``first_day`` on, skipping the therapist's days off."""
    monday = first_day - dt.timedelta(days=first_day.weekday())
    week = 0
    while True:
        if not fortnightly or week % 2 == 0:
            for weekday in weekdays:
                day = monday + dt.timedelta(days=7 * week + weekday)
                if day >= first_day and not therapist.is_off(day):
                    yield day
        week += 1


def _book_slot(
    rng: Generator,
    therapist: _TherapistDraft,
    sessions_per_week: int,
    first: dt.date,
    last: dt.date,
) -> tuple[tuple[int, ...], int]:
    """A weekday pattern and hour, uniformly among those free for the whole booking.

    A full diary spills into 07:00 and 20:00; if even those are taken the slot with the fewest
    clashing weekdays is used, so an overbooked analyst double-books rather than failing.
    """
    taken = {
        (day, hour)
        for days, hour, start, end in therapist.bookings
        if start <= last and first <= end
        for day in days
    }
    patterns = _WEEKDAY_PATTERNS[sessions_per_week]
    candidates: list[tuple[tuple[int, ...], int]] = []
    for hours in (_SESSION_HOURS, _OVERFLOW_HOURS):
        candidates = [
            (pattern, hour)
            for hour in hours
            for pattern in patterns
            if not any((day, hour) in taken for day in pattern)
        ]
        if candidates:
            break
    if candidates:
        choice = _pick(rng, candidates)
    else:
        every = [(p, h) for h in _SESSION_HOURS + _OVERFLOW_HOURS for p in patterns]
        choice = min(every, key=lambda c: sum((day, c[1]) in taken for day in c[0]))
    therapist.bookings.append((frozenset(choice[0]), choice[1], first, last))
    return choice


def _draw_attendance(rng: Generator, archetype: str) -> str:
    probs = _ATTENDANCE_STRAINED if archetype in _STRAINED_ARCHETYPES else _ATTENDANCE_USUAL
    return _pick(rng, ATTENDANCE[:4], probs)


def _simulate_episode(
    rng: Generator,
    plan: _EpisodePlan,
    role: str,
    therapist: _TherapistDraft,
    ctx: _Context,
    *,
    not_before: dt.date | None,
    goal: str,
    phq9_intake: float,
    gad7_intake: float,
) -> _EpisodeDraft | None:
    """Place the episode in time, lay out its sessions and settle its status.

    The whole planned course is simulated, including the part after ``today``, so that the
    dose–response curve is normalised by the planned dose whether or not the episode has
    ended. Returns ``None`` when a second episode would not start before ``today``.
    """
    spw = _sessions_per_week(plan.frequency)
    count, weeks = _draw_length(rng, plan)
    latest_start = ctx.today - dt.timedelta(days=_MIN_HISTORY_DAYS)
    total_weeks = (ctx.today - ctx.window_start).days / 7.0

    if role == "second":
        if not_before is None or not_before > latest_start:
            return None
        start = not_before
        if plan.archetype in _ENDING_ARCHETYPES:
            # This archetype must end with follow-up time to spare; shorten or redraw if not.
            margin = _ENDING_MARGIN_WEEKS[plan.archetype]
            room = (ctx.today - start).days / 7.0 - margin - 1.0
            if weeks is not None and room >= 52:
                weeks = min(weeks, int(room))
            elif _needed_weeks(count, weeks, spw) > room:
                plan.archetype = _draw_archetype(rng, plan.modality, ongoing_only=True)
                count, weeks = _draw_length(rng, plan)
    elif role == "recent_intake":
        start = ctx.today - dt.timedelta(days=_int_between(rng, 3, 21))
    elif role == "paused":
        start = ctx.today - dt.timedelta(days=_int_between(rng, 120, 420))
        weeks = max(weeks or 52, (ctx.today - start).days // 7 + 26)
    else:
        lo = ctx.window_start
        hi = latest_start
        if role == "first_of_two":
            hi = min(hi, lo + dt.timedelta(days=400))
        margin = _ENDING_MARGIN_WEEKS.get(plan.archetype, 0)
        if role == "alumni":
            margin = max(margin, _ALUMNI_MARGIN_WEEKS)
        if margin:
            if weeks is not None:
                weeks = min(weeks, int(total_weeks - margin - 2))
            hi = min(hi, ctx.today - dt.timedelta(weeks=_needed_weeks(count, weeks, spw) + margin))
        start = lo + dt.timedelta(days=_int_between(rng, 0, max(0, (hi - lo).days)))

    planned_end = start + dt.timedelta(weeks=weeks) if weeks is not None else None
    booking_end = planned_end or start + dt.timedelta(weeks=_needed_weeks(count, weeks, spw))
    booking_end = min(booking_end, ctx.today + dt.timedelta(days=_SCHEDULE_AHEAD_DAYS + 30))
    fortnightly = plan.frequency == "fortnightly"
    weekdays, hour = _book_slot(rng, therapist, 1 if fortnightly else int(spw), start, booking_end)

    # Lay out the whole planned course with attendance.
    planned: list[tuple[dt.date, str]] = []
    attended = 0
    for day in _slot_dates(start + dt.timedelta(days=1), weekdays, fortnightly, therapist):
        if count is not None and attended >= count:
            break
        if planned_end is not None and day > planned_end:
            break
        # The first meeting is the consultation, which by definition took place.
        attendance = "attended" if not planned else _draw_attendance(rng, plan.archetype)
        planned.append((day, attendance))
        attended += attendance == "attended"
    dropout = plan.archetype == "early_dropout"
    if dropout:
        # The client stops coming: one or two missed sessions and then silence.
        after = planned[-1][0] + dt.timedelta(days=1)
        tail = _slot_dates(after, weekdays, fortnightly, therapist)
        for _ in range(_int_between(rng, 1, 2)):
            planned.append((next(tail), "no_show"))
    elif planned[-1][1] != "attended":
        planned[-1] = (planned[-1][0], "attended")  # a planned ending has a last session
        attended += 1

    sessions = [(_at(day, hour), att) for day, att in planned]
    past = [s for s in sessions if s[0] < ctx.as_of]
    future = [s for s in sessions if s[0] >= ctx.as_of]

    end_date: dt.date | None = None
    end_reason: str | None = None
    if role == "paused":
        status = "paused"
        pause_from = ctx.as_of - dt.timedelta(days=_int_between(rng, 21, 56))
        resume_after = ctx.as_of + dt.timedelta(days=_int_between(rng, 7, 28))
        past = [s for s in past if s[0] < pause_from]
        resume = [s for s in future if s[0] >= resume_after][:1]
        if not resume:
            resume = [(_at(resume_after.date(), hour), "scheduled")]
        realised = [*past, (resume[0][0], "scheduled")]
    elif not future:
        status = "ended"
        end_reason = _pick_weighted(rng, _END_REASON_WEIGHTS[plan.archetype])
        last_day = planned[-1][0]
        if dropout:
            # The therapist closes the file after a few weeks of unanswered outreach.
            lag = _int_between(rng, 14, 28)
            end_date = min(last_day + dt.timedelta(days=lag), ctx.today - dt.timedelta(days=1))
        else:
            end_date = last_day
        realised = past
    else:
        status = "intake" if role == "recent_intake" else "active"
        horizon = ctx.as_of + dt.timedelta(days=_SCHEDULE_AHEAD_DAYS)
        upcoming = [s for s in future if s[0] < horizon] or future[:1]
        realised = past + [(when, "scheduled") for when, _ in upcoming]

    return _EpisodeDraft(
        plan=plan,
        start=start,
        sessions=realised,
        status=status,
        end_date=end_date,
        end_reason=end_reason,
        planned_dose=max(1, attended),
        sessions_per_week=spw,
        goal=goal,
        phq9_intake=phq9_intake,
        gad7_intake=gad7_intake,
    )


# ---------------------------------------------------------------------------------------------
# Measurement occasions and the severity model
# ---------------------------------------------------------------------------------------------


def _schedule_occasions(
    rng: Generator, episode: _EpisodeDraft, ctx: _Context, next_start: dt.date | None
) -> None:
    """Intake, pre-session and follow-up questionnaire occasions that happened by ``as_of``."""
    occasions = episode.occasions
    intake_at = _at(episode.start, _int_between(rng, 8, 21), _int_between(rng, 0, 59))
    occasions.append(_Occasion(intake_at, "intake", None, 0, None))

    every = _MEASURE_EVERY[episode.plan.modality]
    ordinal = 0
    for index, (start, attendance) in enumerate(episode.sessions):
        if attendance != "attended":
            continue
        ordinal += 1
        # The first session is covered by the intake questionnaire.
        if ordinal >= 2 and ordinal % every == 0 and rng.random() < _SESSION_COMPLETION:
            before = dt.timedelta(minutes=_int_between(rng, 10, 180))
            occasions.append(_Occasion(start - before, "session", index, ordinal - 1, None))

    if episode.status != "ended" or episode.end_date is None or episode.end_reason is None:
        return
    base = _FOLLOWUP_RESPONSE[episode.end_reason]
    for step, (months, label) in enumerate(_FOLLOWUPS):
        responded = rng.random() < base * _FOLLOWUP_DECAY**step
        occasion = _followup_occasion(rng, episode, months, label, ctx, next_start)
        # Not answered, not yet due, or superseded by a new episode: no questionnaire.
        if responded and occasion is not None:
            occasions.append(occasion)


def _followup_occasion(
    rng: Generator,
    episode: _EpisodeDraft,
    months: int,
    label: str,
    ctx: _Context,
    next_start: dt.date | None,
) -> _Occasion | None:
    """The follow-up ``months`` after the end, answered 0-6 days after it is due, or
    ``None`` if that moment is not yet history or falls in the client's next episode."""
    if episode.end_date is None:
        return None
    due = episode.end_date + dt.timedelta(days=round(_DAYS_PER_MONTH * months))
    answered_on = due + dt.timedelta(days=_int_between(rng, 0, 6))
    taken_at = _at(answered_on, _int_between(rng, 8, 21), _int_between(rng, 0, 59))
    if taken_at + dt.timedelta(minutes=2) >= ctx.as_of:
        return None
    if next_start is not None and answered_on >= next_start:
        return None
    elapsed = (answered_on - episode.end_date).days / _DAYS_PER_MONTH
    attended = sum(attendance == "attended" for _, attendance in episode.sessions)
    return _Occasion(taken_at, label, None, attended, elapsed)


def _has_paired_scores(episode: _EpisodeDraft) -> bool:
    """Ended with two or more attended sessions and two or more in-treatment occasions:
    the episodes the outcomes dashboard pairs (its "paired (PHQ-9)" definition)."""
    attended = sum(attendance == "attended" for _, attendance in episode.sessions)
    in_treatment = sum(o.timepoint in ("intake", "session") for o in episode.occasions)
    return episode.status == "ended" and attended >= 2 and in_treatment >= 2


def _ensure_followup_cells(
    rng: Generator, drafts: Sequence[Sequence[_EpisodeDraft]], ctx: _Context
) -> None:
    """Give every follow-up timepoint of psychodynamic work :data:`FOLLOWUP_TARGET` answers.

    For each of 1, 3, 6 and 12 months: if fewer paired psychodynamic or psychoanalytic
    episodes than the target have that follow-up, missing follow-ups that are already
    due are answered after all, chosen uniformly at random among the eligible episodes,
    until the target is met or nobody is left. This raises the demo's follow-up response
    above the rates of :data:`_FOLLOWUP_RESPONSE` for long-ago endings; it exists so the
    "after therapy" panel has figures to show, and the documentation says so.
    """
    for months, label in _FOLLOWUPS:
        have = 0
        missing: list[tuple[_EpisodeDraft, dt.date | None]] = []
        for client in drafts:
            for e, episode in enumerate(client):
                if episode.plan.modality == "cbt" or not _has_paired_scores(episode):
                    continue
                if any(o.timepoint == label for o in episode.occasions):
                    have += 1
                    continue
                next_start = client[e + 1].start if e + 1 < len(client) else None
                missing.append((episode, next_start))
        order = rng.permutation(len(missing))
        for index in order:
            if have >= FOLLOWUP_TARGET:
                break
            episode, next_start = missing[int(index)]
            occasion = _followup_occasion(rng, episode, months, label, ctx, next_start)
            if occasion is None:
                continue
            episode.occasions.append(occasion)
            episode.occasions.sort(key=lambda o: o.taken_at)
            have += 1


def _ensure_sessions_today(
    rng: Generator,
    therapists: Sequence[_TherapistDraft],
    drafts: Sequence[Sequence[_EpisodeDraft]],
    ctx: _Context,
) -> None:
    """Give every therapist :data:`TODAY_MIN_SESSIONS` sessions on ``today``.

    The demo is run on whatever day someone tries it, a Sunday or a public holiday
    included, and its Today page should not be empty then. Where a therapist has fewer
    sessions today, open (intake or active) episodes without one get a one-off
    scheduled session at a free hour between 09:00 and 17:00, chosen uniformly: an
    extra session of the kind practices do offer. Sessions already on the calendar are
    not moved, and paused episodes keep their pause.
    """
    for t in range(len(therapists)):
        episodes = [ep for client in drafts for ep in client if ep.plan.therapist == t]
        booked = [when for ep in episodes for when, _ in ep.sessions if when.date() == ctx.today]
        open_without = [
            ep
            for ep in episodes
            if ep.status in ("intake", "active")
            and not any(when.date() == ctx.today for when, _ in ep.sessions)
        ]
        wanted = TODAY_MIN_SESSIONS - len(booked)
        if wanted <= 0 or not open_without:
            continue
        free = [h for h in _TODAY_HOURS if all(when.hour != h for when in booked)]
        chosen = rng.choice(len(open_without), size=min(wanted, len(open_without)), replace=False)
        for index in chosen:
            if not free:
                break
            hour = free.pop(int(rng.integers(len(free))))
            episode = open_without[int(index)]
            episode.sessions.append((_at(ctx.today, hour), "scheduled"))
            episode.sessions.sort(key=lambda s: s[0])


def _dose_share(episode: _EpisodeDraft, dose: int) -> float:
    """Share of the planned effect reached after ``dose`` attended sessions.

    Log-linear in dose, normalised so that the planned course reaches 1: the negatively
    accelerated dose–effect shape of Howard et al. (1986), used qualitatively. The knee sits
    at about a month of sessions, so high-frequency work moves faster per week but not per
    session.
    """
    knee = _KNEE_WEEKS * episode.sessions_per_week
    full = float(episode.planned_dose)
    if episode.plan.archetype == "slow_plateau":
        knee *= _PLATEAU_KNEE_FACTOR
        full = max(1.0, _PLATEAU_AT * full)
    share = math.log1p(dose / knee) / math.log1p(full / knee)
    return min(1.0, share)


def _severity_multiplier(episode: _EpisodeDraft, occasion: _Occasion) -> float:
    """Expected severity at this occasion as a multiple of the episode's intake severity."""
    multiplier = 1.0 - episode.effect * _dose_share(episode, occasion.dose)
    months = occasion.months_after_end
    if months is None:
        return multiplier
    if episode.plan.archetype == "later_gains":
        gain = episode.post_change * (1.0 - math.exp(-months / _LATER_GAIN_MONTHS))
        return multiplier * (1.0 - gain)
    return multiplier * (
        1.0 + episode.post_change * (1.0 - math.exp(-months / _POST_END_DRIFT_MONTHS))
    )


def _score_client(rng: Generator, episodes: Sequence[_EpisodeDraft]) -> None:
    """Latent severity plus shared and specific OU noise, then item answers, for one client."""
    rows: list[tuple[dt.datetime, int, int]] = sorted(
        (occ.taken_at, e, k) for e, ep in enumerate(episodes) for k, occ in enumerate(ep.occasions)
    )
    n = len(rows)
    mean_phq = np.empty(n)
    mean_gad = np.empty(n)
    for r, (_, e, k) in enumerate(rows):
        ep = episodes[e]
        m = _severity_multiplier(ep, ep.occasions[k])
        mean_phq[r] = ep.phq9_intake * m
        mean_gad[r] = ep.gad7_intake * m
    # Ornstein-Uhlenbeck noise sampled at irregular times is an AR(1) process whose
    # coefficient is exp(-gap / tau); the first value comes from the stationary distribution.
    z = rng.standard_normal((n, 3))
    noise = np.empty((n, 3))
    sd = np.array([_NOISE_SD_SHARED, _NOISE_SD_SPECIFIC, _NOISE_SD_SPECIFIC])
    noise[0] = sd * z[0]
    for r in range(1, n):
        gap_days = (rows[r][0] - rows[r - 1][0]).total_seconds() / 86400.0
        phi = math.exp(-gap_days / _NOISE_TAU_DAYS)
        noise[r] = phi * noise[r - 1] + sd * math.sqrt(1.0 - phi * phi) * z[r]
    theta_phq = _theta_for_total(_PHQ9, mean_phq) + noise[:, 0] + noise[:, 1]
    theta_gad = _theta_for_total(_GAD7, mean_gad) + noise[:, 0] + noise[:, 2]
    # Stable personal symptom profiles (someone always sleeps badly, say). Item 9 keeps the
    # population thresholds so that it stays rare and tied to high severity.
    phq_offsets = rng.normal(0.0, _ITEM_PROFILE_SD, len(_PHQ9_ITEMS))
    phq_offsets[8] = 0.0
    gad_offsets = rng.normal(0.0, _ITEM_PROFILE_SD, len(_GAD7_ITEMS))
    phq = _sample_items(rng, _PHQ9, theta_phq, phq_offsets)
    gad = _sample_items(rng, _GAD7, theta_gad, gad_offsets)
    # Scatter back into per-episode arrays in occasion order.
    for ep in episodes:
        size = len(ep.occasions)
        ep.phq9 = np.zeros((size, len(_PHQ9_ITEMS)), dtype=np.int64)
        ep.gad7 = np.zeros((size, len(_GAD7_ITEMS)), dtype=np.int64)
        ep.phq9_theta = np.zeros(size)
    for r, (_, e, k) in enumerate(rows):
        ep = episodes[e]
        ep.phq9[k] = phq[r]
        ep.gad7[k] = gad[r]
        ep.phq9_theta[k] = theta_phq[r]


def _ensure_recent_item9(
    rng: Generator, drafts: Sequence[Sequence[_EpisodeDraft]], ctx: _Context
) -> None:
    """Make sure one recent PHQ-9 endorses item 9, so the crisis pathway can be shown.

    If no PHQ-9 taken in the last fortnight of an open episode already has item 9 >= 1, the
    one with the highest latent severity gets item 9 redrawn from the graded response model
    conditional on a non-zero answer. Falls back to the latest PHQ-9 of an open episode, and
    then to the latest PHQ-9 at all.
    """
    recent_from = ctx.as_of - dt.timedelta(days=_CRISIS_WINDOW_DAYS)
    candidates: list[tuple[bool, float, dt.datetime, _EpisodeDraft, int]] = []
    for client in drafts:
        for ep in client:
            is_open = ep.status != "ended"
            for k, occ in enumerate(ep.occasions):
                if is_open and occ.taken_at >= recent_from and ep.phq9[k, 8] >= 1:
                    return
                candidates.append((is_open, float(ep.phq9_theta[k]), occ.taken_at, ep, k))
    if not candidates:
        return
    recent = [c for c in candidates if c[0] and c[2] >= recent_from]
    if recent:
        chosen = max(recent, key=lambda c: c[1])
    else:
        open_ones = [c for c in candidates if c[0]]
        chosen = max(open_ones or candidates, key=lambda c: c[2])
    _, theta, _, episode, k = chosen
    p = _exceedance(np.array([theta]), _PHQ9.a[8:9], _PHQ9.b[8:9])[0, 0]
    u = rng.random()
    episode.phq9[k, 8] = 1 + int(u < p[1] / p[0]) + int(u < p[2] / p[0])


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------


def _directory_availability(
    rng: Generator, therapist: _TherapistDraft, today: dt.date
) -> tuple[tuple[int, int], ...]:
    """Three to six open weekly slots that do not collide with today's standing bookings."""
    taken = {
        (day, hour)
        for days, hour, start, end in therapist.bookings
        if start <= today <= end
        for day in days
    }
    free = [(d, h) for d in range(5) for h in _DIRECTORY_HOURS if (d, h) not in taken]
    size = min(len(free), _int_between(rng, 3, 6))
    chosen = rng.choice(len(free), size=size, replace=False)
    return tuple(sorted(free[int(i)] for i in chosen))


def _freeze_episode(draft: _EpisodeDraft) -> EpisodeSpec:
    sessions = tuple(SessionSpec(start=when, attendance=att) for when, att in draft.sessions)
    measurements: list[MeasurementSpec] = []
    for k, occ in enumerate(draft.occasions):
        measurements.append(
            MeasurementSpec(
                occ.taken_at,
                "phq9",
                tuple(int(x) for x in draft.phq9[k]),
                occ.timepoint,
                occ.session_index,
            )
        )
        # GAD-7 follows the PHQ-9 on the same form a couple of minutes later.
        measurements.append(
            MeasurementSpec(
                occ.taken_at + dt.timedelta(minutes=2),
                "gad7",
                tuple(int(x) for x in draft.gad7[k]),
                occ.timepoint,
                occ.session_index,
            )
        )
    measurements.sort(key=lambda m: m.taken_at)
    return EpisodeSpec(
        therapist_index=draft.plan.therapist,
        modality=draft.plan.modality,
        frequency=draft.plan.frequency,
        start_date=draft.start,
        status=draft.status,
        end_date=draft.end_date,
        end_reason=draft.end_reason,
        goal=draft.goal,
        archetype=draft.plan.archetype,
        sessions=sessions,
        measurements=tuple(measurements),
    )


def _validate(seed: object, today: object, n_clients: object, n_therapists: object) -> int:
    """Check the arguments of :func:`generate_practice` and return the seed as a plain int."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(today, dt.datetime) or not isinstance(today, dt.date):
        raise ValueError(f"today must be a datetime.date (not a datetime), got {today!r}")
    if not 1900 <= today.year <= 9000:
        raise ValueError(f"today must fall between the years 1900 and 9000, got {today!r}")
    if isinstance(n_clients, bool) or not isinstance(n_clients, int):
        raise ValueError(f"n_clients must be an integer, got {n_clients!r}")
    if not 1 <= n_clients <= _MAX_CLIENTS:
        raise ValueError(f"n_clients must be between 1 and {_MAX_CLIENTS}, got {n_clients}")
    if isinstance(n_therapists, bool) or not isinstance(n_therapists, int):
        raise ValueError(f"n_therapists must be an integer, got {n_therapists!r}")
    if not 1 <= n_therapists <= _MAX_THERAPISTS:
        raise ValueError(
            f"n_therapists must be between 1 and {_MAX_THERAPISTS}, got {n_therapists}"
        )
    return int(seed)


def generate_practice(
    seed: int = 20261122,
    *,
    today: dt.date,
    n_clients: int = 60,
    n_therapists: int = 4,
) -> SyntheticPractice:
    """Generate the synthetic demo practice as it stands at the start of ``today``.

    The result depends only on the arguments: the same ``seed`` and ``today`` give an equal
    practice on every machine (one ``numpy.random.Generator(PCG64(seed))`` drives every
    draw, and all clock times are UTC). ``today`` is keyword-only because it has no
    sensible default for a reproducible generator.

    Raises:
        ValueError: if ``seed`` is negative or not an integer, ``today`` is not a plain
            ``datetime.date``, ``n_clients`` is outside 1–400 or ``n_therapists`` outside 1–8.
    """
    seed = _validate(seed, today, n_clients, n_therapists)
    rng = Generator(PCG64(seed))
    ctx = _Context(
        today=today,
        as_of=_at(today, 0),
        window_start=_years_before(today, _HISTORY_YEARS),
    )
    used_names: set[tuple[str, str]] = set()
    therapists = _draft_therapists(rng, n_therapists, ctx, used_names)
    plans = _plan_clients(rng, n_clients, therapists, used_names)
    _ensure_archetype_coverage(rng, plans)

    all_drafts: list[list[_EpisodeDraft]] = []
    for plan in plans:
        goal_concerns = list(plan.concerns)
        first = _simulate_episode(
            rng,
            plan.first,
            plan.role,
            therapists[plan.first.therapist],
            ctx,
            not_before=None,
            goal=_pick(rng, _GOALS[goal_concerns[0]]),
            phq9_intake=plan.phq9_intake,
            gad7_intake=plan.gad7_intake,
        )
        if first is None:  # pragma: no cover - only second episodes can be skipped
            raise RuntimeError("a first episode could not be placed")
        drafts = [first]
        if plan.role == "first_of_two" and first.end_date is not None:
            modality = _draw_modality(rng, therapists, plan.concerns, after=plan.first.modality)
            brief = modality == "psychodynamic" and rng.random() < _PSYCHODYNAMIC_BRIEF_SHARE
            same = modality in therapists[plan.first.therapist].template.modalities
            if same and rng.random() < 0.5:
                therapist = plan.first.therapist
                therapists[therapist].load += 1
            else:
                therapist = _choose_therapist(rng, therapists, modality, avoid=plan.first.therapist)
            second_plan = _EpisodePlan(
                modality=modality,
                therapist=therapist,
                archetype=_draw_archetype(rng, modality),
                frequency=_draw_frequency(rng, modality, brief),
                brief=brief,
            )
            # A returning client's distress is partly their old level, partly new trouble.
            fresh_phq, fresh_gad = _intake_severity(rng)
            carry = _SECOND_EPISODE_CARRYOVER
            goal_concern = goal_concerns[-1] if len(goal_concerns) > 1 else goal_concerns[0]
            second = _simulate_episode(
                rng,
                second_plan,
                "second",
                therapists[therapist],
                ctx,
                not_before=first.end_date + dt.timedelta(days=_int_between(rng, 90, 400)),
                goal=_pick(rng, _GOALS[goal_concern]),
                phq9_intake=carry * plan.phq9_intake + (1 - carry) * fresh_phq,
                gad7_intake=carry * plan.gad7_intake + (1 - carry) * fresh_gad,
            )
            if second is not None:
                drafts.append(second)
        for e, draft in enumerate(drafts):
            draft.effect = _uniform(rng, _EFFECT_RANGE[draft.plan.archetype])
            if draft.plan.archetype == "later_gains":
                draft.post_change = _uniform(rng, _LATER_GAIN_RANGE)
            else:
                draft.post_change = float(rng.normal(0.0, _POST_END_DRIFT_SD))
            next_start = drafts[e + 1].start if e + 1 < len(drafts) else None
            _schedule_occasions(rng, draft, ctx, next_start)
        all_drafts.append(drafts)

    _ensure_followup_cells(rng, all_drafts, ctx)
    for drafts in all_drafts:
        _score_client(rng, drafts)
    _ensure_recent_item9(rng, all_drafts, ctx)
    _ensure_sessions_today(rng, therapists, all_drafts, ctx)

    clients = []
    for plan, drafts in zip(plans, all_drafts, strict=True):
        # Adults only: nobody is younger than 18 when their first episode opens.
        dob = _years_before(today, plan.age_years) - dt.timedelta(days=plan.age_extra_days)
        adult_by = _years_before(drafts[0].start, 18)
        if dob > adult_by:
            dob = adult_by - dt.timedelta(days=plan.age_extra_days % 200 + 1)
        clients.append(
            ClientSpec(
                given_name=plan.given_name,
                family_name=plan.family_name,
                preferred_name=plan.preferred_name,
                pronouns=plan.pronouns,
                date_of_birth=dob,
                email=plan.email,
                presenting_concerns=plan.concerns,
                referral_source=plan.referral_source,
                episodes=tuple(_freeze_episode(d) for d in drafts),
            )
        )

    therapist_specs = tuple(
        TherapistSpec(
            given_name=t.given_name,
            family_name=t.family_name,
            pronouns=t.pronouns,
            email=f"{t.given_name}.{t.family_name}".lower() + "@example.org",
            credentials=t.credentials,
            modalities=t.template.modalities,
            approach=t.template.approach,
            concerns=t.concerns,
            languages=t.languages,
            fee_usd=t.fee_usd,
            sliding_scale=t.sliding_scale,
            insurance=t.insurance,
            telehealth=t.telehealth,
            location=t.location,
            availability=_directory_availability(rng, t, today),
        )
        for t in therapists
    )
    # People asking for a first consultation: new names, drawn after everything else.
    enquirers = [_draw_person_name(rng, used_names) for _ in range(_CONSULTATION_REQUESTS)]
    written, consultations = write_material(
        seed,
        clients,
        n_therapists=n_therapists,
        as_of=ctx.as_of,
        consultation_people=enquirers,
        concerns=CONCERNS,
    )
    return SyntheticPractice(
        seed=seed,
        today=today,
        as_of=ctx.as_of,
        name="Reverie Demo Group Practice",
        therapists=therapist_specs,
        clients=written,
        consultation_requests=consultations,
    )


def describe(practice: SyntheticPractice) -> dict[str, object]:
    """Summary counts for printing after seeding.

    >>> import datetime
    >>> summary = describe(generate_practice(today=datetime.date(2026, 11, 22)))
    >>> summary["clients"], summary["therapists"]
    (60, 4)
    """
    episodes = [e for _, e in practice.iter_episodes()]
    sessions = [s for e in episodes for s in e.sessions]
    measurements = [m for e in episodes for m in e.measurements]

    def count(values: Sequence[str | None], keys: Sequence[str]) -> dict[str, int]:
        tally = Counter(values)
        return {k: tally[k] for k in keys}

    followup_episodes = sum(
        any(m.timepoint.startswith("followup") for m in e.measurements) for e in episodes
    )
    notes = [n for e in episodes for n in e.progress_notes]
    relationship = [r for e in episodes for r in e.relationship_episodes]
    journal = [j for c in practice.clients for j in c.journal]
    return {
        "seed": practice.seed,
        "today": practice.today.isoformat(),
        "therapists": len(practice.therapists),
        "clients": len(practice.clients),
        "clients_with_two_episodes": sum(len(c.episodes) > 1 for c in practice.clients),
        "episodes": len(episodes),
        "episodes_by_modality": count([e.modality for e in episodes], MODALITIES),
        "episodes_by_status": count([e.status for e in episodes], EPISODE_STATUSES),
        "episodes_by_archetype": count([e.archetype for e in episodes], ARCHETYPES),
        "episodes_by_end_reason": count([e.end_reason for e in episodes], END_REASONS),
        "ended_episodes_with_followups": followup_episodes,
        "sessions": len(sessions),
        "sessions_by_attendance": count([s.attendance for s in sessions], ATTENDANCE),
        "measurements": len(measurements),
        "measurements_by_instrument": count([m.instrument for m in measurements], INSTRUMENTS),
        "measurements_by_timepoint": count([m.timepoint for m in measurements], TIMEPOINTS),
        "progress_notes": len(notes),
        "progress_note_drafts": sum(n.signed_at is None for n in notes),
        "addenda": sum(bool(n.addendum) for n in notes),
        "process_notes": sum(len(e.process_notes) for e in episodes),
        "reflections": sum(len(e.reflections) for e in episodes),
        "relationship_episodes": len(relationship),
        "transference_episodes": sum(r.is_transference for r in relationship),
        "journal_entries": len(journal),
        "journal_entries_shared": sum(j.shared_at is not None for j in journal),
        "consultation_requests": len(practice.consultation_requests),
        "sessions_today": sum(s.start.date() == practice.today for s in sessions),
    }
