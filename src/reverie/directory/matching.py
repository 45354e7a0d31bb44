"""Therapist matching for the directory: hard must-haves first, then an explained fit score.

Matching is a pure function of therapist profiles and a person's query. It has two stages:

1. **Must-haves** (hard filters). A profile that fails any must-have the person set is left out.
   Must-haves are never relaxed behind the person's back: if nothing passes, the answer is an
   empty list, and :meth:`ProfileIndex.explain_filters` can say which must-have emptied it so
   the *person* can decide what to loosen.
2. **Fit score** (soft preferences). The remaining profiles are ranked by an additive integer
   score; each part is listed in :attr:`Match.breakdown` and explained in :attr:`Match.reasons`:

   ``score = 3 × (matching concerns) + 4 × (modality fits the leaning)
   + 2 × (an opening in the preferred days and times) + 1 × (openings on two or more days, when
   more-than-weekly sessions are wanted) + 1 × (accepting new clients and has openings)``

Ties are broken by profile id (ascending), so results never depend on input order or chance.

**No paid placement.** :class:`Profile` has no field for sponsorship, featuring, payment,
seniority or anything else that could lift a therapist in the list; the only inputs to the
score are the fit terms above. Fee is a must-have only: cheaper therapists are not ranked
higher, and neither are more expensive ones.

Speed comes from :class:`ProfileIndex`, built once: numpy columns for fees and flags, small
bitmasks for concerns and modalities, posting lists for open vocabularies (languages, insurance
plans, locations) and the 168 weekly hour slots packed into three ``uint64`` words per profile.
A query is then a handful of vectorised boolean operations, a vectorised score for the
survivors, ``numpy.argpartition`` for the top *k*, and reasons built only for those *k*.
:func:`rank_bruteforce` is a deliberately plain per-profile loop kept as the reference; the two
must agree exactly, and the tests check that on random data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from reverie.directory.selfcheck import CONCERNS, Lean, Preferences

__all__ = [
    "AVAILABILITY_POINTS",
    "CONCERN_POINTS",
    "MODALITIES",
    "MODALITY_POINTS",
    "MULTI_DAY_POINTS",
    "TIME_POINTS",
    "TIME_WINDOWS",
    "Match",
    "Profile",
    "ProfileIndex",
    "Query",
    "query_from_preferences",
    "rank",
    "rank_bruteforce",
]

QuerySetting = Literal["any", "telehealth", "in_person"]

MODALITIES: Final[tuple[str, ...]] = ("psychodynamic", "psychoanalysis", "cbt", "other")

#: Which modalities satisfy each self-check leaning.
LEANING_MODALITIES: Final[Mapping[Lean, frozenset[str]]] = MappingProxyType(
    {
        "psychodynamic": frozenset({"psychodynamic", "psychoanalysis"}),
        "structured": frozenset({"cbt"}),
    }
)

#: Named parts of the day, as half-open hour ranges. "evening" means 17:00 or later.
TIME_WINDOWS: Final[Mapping[str, range]] = MappingProxyType(
    {"morning": range(0, 12), "afternoon": range(12, 17), "evening": range(17, 24)}
)

# Score weights. Concerns weigh most per item because they are what the person came for;
# modality next, because it reflects several self-check answers at once; timing and
# availability are tie-breakers of convenience.
CONCERN_POINTS: Final = 3
MODALITY_POINTS: Final = 4
TIME_POINTS: Final = 2
MULTI_DAY_POINTS: Final = 1
AVAILABILITY_POINTS: Final = 1

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SLOTS_PER_WEEK: Final = 7 * 24
_WORDS: Final = 3  # 168 bits fit in three 64-bit words
_WORD_MASK: Final = (1 << 64) - 1

_CONCERN_BIT: Final[Mapping[str, int]] = MappingProxyType(
    {name: 1 << i for i, name in enumerate(CONCERNS)}
)
_MODALITY_BIT: Final[Mapping[str, int]] = MappingProxyType(
    {name: 1 << i for i, name in enumerate(MODALITIES)}
)

_CONCERN_PHRASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "anxiety": "anxiety",
        "depression": "depression",
        "relationships": "relationship difficulties",
        "attachment": "attachment difficulties",
        "trauma": "trauma",
        "self_esteem": "self-esteem",
        "identity": "questions of identity",
        "grief": "grief and loss",
        "personality": "long-standing personality patterns",
        "panic": "panic",
        "eating": "eating difficulties",
        "substance_use": "alcohol and drug use",
        "work_stress": "work stress",
        "life_transitions": "life transitions",
    }
)
_MODALITY_PHRASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "psychodynamic": "psychodynamic therapy",
        "psychoanalysis": "psychoanalysis",
        "cbt": "CBT",
        "other": "other approaches",
    }
)


def _norm(text: str) -> str:
    """Normalise free text for comparison: collapse whitespace and ignore case."""
    return " ".join(text.split()).casefold()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_vocabulary(what: str, values: Iterable[str], allowed: Sequence[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)} (allowed: {', '.join(allowed)})")


def _check_texts(what: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list | frozenset | set):
        raise ValueError(f"{what} must be a tuple of strings")
    out = tuple(values)
    for value in out:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{what} must contain non-empty strings, got {value!r}")
    return out


def _slot_bit(weekday: int, hour: int) -> int:
    return weekday * 24 + hour


def _slot_mask(slots: Iterable[tuple[int, int]]) -> int:
    mask = 0
    for weekday, hour in slots:
        mask |= 1 << _slot_bit(weekday, hour)
    return mask


def _split_words(mask: int) -> tuple[int, int, int]:
    return (mask & _WORD_MASK, (mask >> 64) & _WORD_MASK, (mask >> 128) & _WORD_MASK)


@dataclass(frozen=True)
class Profile:
    """A therapist's public directory profile, as far as matching needs it.

    ``open_slots`` lists verified bookable (weekday, hour) slots, weekday 0 = Monday; an empty
    tuple means the therapist has no openings. There is deliberately no field that could buy
    or grant a higher place in results.
    """

    id: str
    name: str
    modalities: tuple[str, ...]
    concerns: tuple[str, ...]
    languages: tuple[str, ...]
    fee: int
    sliding_scale: bool = False
    sliding_scale_min_fee: int | None = None
    insurance: tuple[str, ...] = ()
    telehealth: bool = False
    in_person_location: str | None = None
    open_slots: tuple[tuple[int, int], ...] = ()
    accepting_new: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("profile id must be a non-empty string")
        where = f"profile {self.id!r}"
        if not isinstance(self.name, str):
            raise ValueError(f"{where}: name must be a string")
        # Lists are accepted for convenience and stored as tuples so the profile stays hashable.
        for attr in ("modalities", "concerns", "languages", "insurance"):
            object.__setattr__(self, attr, _check_texts(f"{where}: {attr}", getattr(self, attr)))
        _check_vocabulary(f"{where} modality", self.modalities, MODALITIES)
        _check_vocabulary(f"{where} concern", self.concerns, CONCERNS)
        if not self.languages:
            raise ValueError(f"{where}: at least one language is needed")
        if not _is_int(self.fee) or self.fee < 0:
            raise ValueError(f"{where}: fee must be a whole number of dollars, 0 or more")
        if not isinstance(self.sliding_scale, bool):
            raise ValueError(f"{where}: sliding_scale must be True or False")
        if self.sliding_scale:
            low = self.sliding_scale_min_fee
            if low is None or not _is_int(low) or not 0 <= low <= self.fee:
                raise ValueError(
                    f"{where}: a sliding scale needs sliding_scale_min_fee between 0 and the fee"
                )
        elif self.sliding_scale_min_fee is not None:
            raise ValueError(f"{where}: sliding_scale_min_fee is set but sliding_scale is off")
        for flag in ("telehealth", "accepting_new"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{where}: {flag} must be True or False")
        location = self.in_person_location
        if location is not None and (not isinstance(location, str) or not location.strip()):
            raise ValueError(f"{where}: in_person_location must be a non-empty string or None")
        slots = self.open_slots
        if isinstance(slots, str) or not isinstance(slots, tuple | list):
            raise ValueError(f"{where}: open_slots must be a tuple of (weekday, hour) pairs")
        checked = []
        for slot in slots:
            if (
                not isinstance(slot, tuple | list)
                or len(slot) != 2
                or not all(_is_int(part) for part in slot)
                or not 0 <= slot[0] <= 6
                or not 0 <= slot[1] <= 23
            ):
                raise ValueError(f"{where}: bad open slot {slot!r}; use (weekday 0-6, hour 0-23)")
            checked.append((slot[0], slot[1]))
        object.__setattr__(self, "open_slots", tuple(checked))

    @property
    def available(self) -> bool:
        """Accepting new clients and at least one verified bookable slot."""
        return self.accepting_new and bool(self.open_slots)


@dataclass(frozen=True)
class Query:
    """What a person is looking for.

    Must-haves (profiles failing any of these are left out):

    * ``language``: the therapist works in this language (case-insensitive).
    * ``max_budget``: the fee is at most this, or, if ``sliding_scale`` is set, the sliding
      scale starts at or below it. ``sliding_scale`` without a budget means "must offer one".
    * ``insurance``: the therapist accepts this plan (case-insensitive).
    * ``setting``: ``"telehealth"`` needs telehealth; ``"in_person"`` needs in-person sessions,
      at ``location`` if given; ``"any"`` with a ``location`` accepts telehealth *or* that
      location, and without one accepts everyone.
    * ``modalities``: the therapist offers at least one of these.
    * ``require_openings``: accepting new clients with at least one open slot (default on).

    Soft preferences (they only add points): ``concerns``, ``modality_leaning``,
    ``time_windows`` (names from :data:`TIME_WINDOWS`) and ``weekdays`` (0 = Monday), and
    ``multiple_days`` for people hoping to come more than once a week.
    """

    language: str | None = None
    max_budget: int | None = None
    sliding_scale: bool = False
    insurance: str | None = None
    setting: QuerySetting = "any"
    location: str | None = None
    modalities: frozenset[str] = frozenset()
    require_openings: bool = True
    concerns: frozenset[str] = frozenset()
    modality_leaning: Lean | None = None
    time_windows: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()
    multiple_days: bool = False
    _slot_query: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        for attr in ("language", "insurance", "location"):
            value = getattr(self, attr)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"query {attr} must be a non-empty string or None")
        if self.max_budget is not None and (not _is_int(self.max_budget) or self.max_budget < 0):
            raise ValueError("query max_budget must be a whole number of dollars, 0 or more")
        for flag in ("sliding_scale", "require_openings", "multiple_days"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"query {flag} must be True or False")
        if self.setting not in ("any", "telehealth", "in_person"):
            raise ValueError(f"query setting {self.setting!r} is not any, telehealth or in_person")
        if self.setting == "telehealth" and self.location is not None:
            raise ValueError("query asks for telehealth only but also gives an in-person location")
        # Sets are accepted for convenience and frozen so the query stays hashable.
        for attr in ("modalities", "concerns", "time_windows", "weekdays"):
            value = getattr(self, attr)
            if isinstance(value, str) or not isinstance(value, set | frozenset | tuple | list):
                raise ValueError(f"query {attr} must be a set")
            object.__setattr__(self, attr, frozenset(value))
        _check_vocabulary("query modality", self.modalities, MODALITIES)
        _check_vocabulary("query concern", self.concerns, CONCERNS)
        _check_vocabulary("query time window", self.time_windows, tuple(TIME_WINDOWS))
        if self.modality_leaning not in (None, *LEANING_MODALITIES):
            raise ValueError(
                f"query modality_leaning {self.modality_leaning!r} is not psychodynamic, "
                "structured or None"
            )
        for day in self.weekdays:
            if not _is_int(day) or not 0 <= day <= 6:
                raise ValueError(f"query weekday {day!r} must be a whole number from 0 to 6")
        object.__setattr__(self, "_slot_query", self._build_slot_query())

    def _build_slot_query(self) -> int:
        """The 168-bit mask of preferred slots, or 0 when the person has no time preference."""
        if not self.time_windows and not self.weekdays:
            return 0
        days = sorted(self.weekdays) or range(7)
        hours = sorted(
            {hour for name in self.time_windows for hour in TIME_WINDOWS[name]}
        ) or range(24)
        return _slot_mask((day, hour) for day in days for hour in hours)


@dataclass(frozen=True)
class Match:
    """One ranked profile with its score, the parts of the score and the reasons shown."""

    profile: Profile
    score: int
    #: (score part, points) for each part that scored, in formula order.
    breakdown: tuple[tuple[str, int], ...]
    reasons: tuple[str, ...]

    @property
    def profile_id(self) -> str:
        """The matched profile's id."""
        return self.profile.id


def _check_limit(limit: int) -> None:
    if not _is_int(limit) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, got {limit!r}")


def _check_query(query: object) -> None:
    if not isinstance(query, Query):
        raise ValueError(f"expected a Query, got {type(query).__name__}")


def _join(words: Sequence[str], last: str = "and") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def _money(amount: int) -> str:
    return f"${amount}"


def _mode_phrase(profile: Profile, query: Query) -> str:
    """How this therapist can see the person, limited to what the person would accept."""
    telehealth = profile.telehealth and query.setting != "in_person"
    in_person = (
        profile.in_person_location is not None
        and query.setting != "telehealth"
        and (query.location is None or _norm(profile.in_person_location) == _norm(query.location))
    )
    if telehealth and in_person:
        return f"sessions by telehealth or in {profile.in_person_location}"
    if telehealth:
        return "telehealth"
    if in_person:
        return f"sessions in {profile.in_person_location}"
    return "sessions"


def _reasons(profile: Profile, query: Query) -> tuple[str, ...]:
    """Short sentences saying why this profile fits; only ever built for the shown results."""
    reasons: list[str] = []
    shared = [c for c in CONCERNS if c in query.concerns and c in profile.concerns]
    if shared:
        reasons.append(f"works with {_join([_CONCERN_PHRASES[c] for c in shared])}")

    relevant: set[str] = set(query.modalities)
    if query.modality_leaning is not None:
        relevant |= LEANING_MODALITIES[query.modality_leaning]
    offered = [m for m in MODALITIES if m in relevant and m in profile.modalities]
    if offered:
        reasons.append(f"practises {_join([_MODALITY_PHRASES[m] for m in offered])}")

    mode = _mode_phrase(profile, query)
    hits = _slot_mask(profile.open_slots) & query._slot_query
    if hits:
        hit_slots = [(d, h) for d, h in profile.open_slots if hits >> _slot_bit(d, h) & 1]
        windows = [
            name
            for name, hours in TIME_WINDOWS.items()
            if name in query.time_windows and any(h in hours for _, h in hit_slots)
        ]
        text = f"offers {' and '.join(windows)} {mode}" if windows else f"offers {mode}"
        if query.weekdays:
            days = sorted({d for d, _ in hit_slots})
            text += f" on {_join([_WEEKDAYS[d] for d in days], 'or')}"
        reasons.append(text)
    elif query.setting != "any" or query.location is not None:
        reasons.append(f"offers {mode}")

    if query.multiple_days:
        days_open = len({d for d, _ in profile.open_slots})
        if days_open >= 2:
            reasons.append(f"has openings on {days_open} different days, enough to come more often")

    if query.language is not None:
        spoken = next(lang for lang in profile.languages if _norm(lang) == _norm(query.language))
        reasons.append(f"works in {spoken}")

    if query.sliding_scale and profile.sliding_scale_min_fee is not None:
        reasons.append(f"sliding scale from {_money(profile.sliding_scale_min_fee)}")
    elif query.max_budget is not None:
        reasons.append(f"fee of {_money(profile.fee)} is within your budget")

    if query.insurance is not None:
        plan = next(p for p in profile.insurance if _norm(p) == _norm(query.insurance))
        reasons.append(f"accepts {plan}")

    if profile.available:
        count = len(set(profile.open_slots))
        times = "time" if count == 1 else "times"
        reasons.append(f"taking new clients, with {count} open {times} to book")
    return tuple(reasons)


# --------------------------------------------------------------------------------------
# Reference implementation: a plain loop, easy to read and to trust.
# --------------------------------------------------------------------------------------


def _passes_must_haves(profile: Profile, query: Query) -> bool:
    if query.require_openings and not profile.available:
        return False
    if query.language is not None and _norm(query.language) not in {
        _norm(lang) for lang in profile.languages
    }:
        return False
    if query.max_budget is not None:
        affordable = profile.fee <= query.max_budget
        if query.sliding_scale and profile.sliding_scale_min_fee is not None:
            affordable = affordable or profile.sliding_scale_min_fee <= query.max_budget
        if not affordable:
            return False
    elif query.sliding_scale and not profile.sliding_scale:
        return False
    if query.insurance is not None and _norm(query.insurance) not in {
        _norm(plan) for plan in profile.insurance
    }:
        return False
    at_location = profile.in_person_location is not None and (
        query.location is None or _norm(profile.in_person_location) == _norm(query.location)
    )
    if query.setting == "telehealth" and not profile.telehealth:
        return False
    if query.setting == "in_person" and not at_location:
        return False
    # "Either" with a location: video anywhere, or in person at that place.
    either_fails = not (profile.telehealth or at_location)
    if query.setting == "any" and query.location is not None and either_fails:
        return False
    return not (query.modalities and not query.modalities & set(profile.modalities))


def _score_parts(profile: Profile, query: Query) -> tuple[tuple[str, int], ...]:
    parts: list[tuple[str, int]] = []
    shared = len(query.concerns & set(profile.concerns))
    if shared:
        parts.append(("concerns", CONCERN_POINTS * shared))
    if query.modality_leaning is not None and LEANING_MODALITIES[query.modality_leaning] & set(
        profile.modalities
    ):
        parts.append(("modality", MODALITY_POINTS))
    if query._slot_query and _slot_mask(profile.open_slots) & query._slot_query:
        parts.append(("time", TIME_POINTS))
    if query.multiple_days and len({day for day, _ in profile.open_slots}) >= 2:
        parts.append(("days", MULTI_DAY_POINTS))
    if profile.available:
        parts.append(("availability", AVAILABILITY_POINTS))
    return tuple(parts)


def rank_bruteforce(profiles: Iterable[Profile], query: Query, limit: int = 10) -> list[Match]:
    """Rank by checking every profile in turn; the reference that :func:`rank` must equal.

    >>> p = Profile("a", "Dr A", ("psychodynamic",), ("grief",), ("English",), 120,
    ...             telehealth=True, open_slots=((1, 18),))
    >>> [m.reasons for m in rank_bruteforce([p], Query(concerns=frozenset({"grief"})))]
    [('works with grief and loss', 'taking new clients, with 1 open time to book')]
    """
    _check_query(query)
    _check_limit(limit)
    scored: list[tuple[int, str, Profile, tuple[tuple[str, int], ...]]] = []
    seen: set[str] = set()
    for profile in profiles:
        if not isinstance(profile, Profile):
            raise ValueError(f"expected Profile objects, got {type(profile).__name__}")
        if profile.id in seen:
            raise ValueError(f"duplicate profile id {profile.id!r}")
        seen.add(profile.id)
        if _passes_must_haves(profile, query):
            parts = _score_parts(profile, query)
            scored.append((-sum(points for _, points in parts), profile.id, profile, parts))
    scored.sort(key=lambda row: (row[0], row[1]))
    return [
        Match(profile, -neg, parts, _reasons(profile, query))
        for neg, _, profile, parts in scored[:limit]
    ]


# --------------------------------------------------------------------------------------
# Indexed implementation.
# --------------------------------------------------------------------------------------

BoolArray = npt.NDArray[np.bool_]


class ProfileIndex:
    """Columnar, read-only view of a set of profiles for fast repeated queries.

    Build it once when the directory changes and reuse it for every search; it is never
    mutated after construction, so one index can serve concurrent requests.
    """

    def __init__(self, profiles: Iterable[Profile]) -> None:
        self._profiles: tuple[Profile, ...] = tuple(profiles)
        n = len(self._profiles)
        fee = np.empty(n, dtype=np.int64)
        # A sentinel above any budget stands in for "no sliding scale", so one comparison does.
        sliding_min = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        has_sliding = np.zeros(n, dtype=np.bool_)
        telehealth = np.zeros(n, dtype=np.bool_)
        has_in_person = np.zeros(n, dtype=np.bool_)
        available = np.zeros(n, dtype=np.bool_)
        concern_bits = np.zeros(n, dtype=np.uint16)
        modality_bits = np.zeros(n, dtype=np.uint8)
        day_count = np.zeros(n, dtype=np.uint8)
        slot_words: list[tuple[int, int, int]] = []
        languages: dict[str, list[int]] = {}
        plans: dict[str, list[int]] = {}
        locations: dict[str, list[int]] = {}
        ids: list[str] = []
        seen: set[str] = set()

        for i, p in enumerate(self._profiles):
            if not isinstance(p, Profile):
                raise ValueError(f"expected Profile objects, got {type(p).__name__}")
            if p.id in seen:
                raise ValueError(f"duplicate profile id {p.id!r}")
            seen.add(p.id)
            ids.append(p.id)
            fee[i] = p.fee
            if p.sliding_scale_min_fee is not None:
                has_sliding[i] = True
                sliding_min[i] = p.sliding_scale_min_fee
            telehealth[i] = p.telehealth
            available[i] = p.available
            concern_bits[i] = sum(_CONCERN_BIT[c] for c in set(p.concerns))
            modality_bits[i] = sum(_MODALITY_BIT[m] for m in set(p.modalities))
            day_count[i] = len({day for day, _ in p.open_slots})
            slot_words.append(_split_words(_slot_mask(p.open_slots)))
            for lang in {_norm(lang) for lang in p.languages}:
                languages.setdefault(lang, []).append(i)
            for plan in {_norm(plan) for plan in p.insurance}:
                plans.setdefault(plan, []).append(i)
            if p.in_person_location is not None:
                has_in_person[i] = True
                locations.setdefault(_norm(p.in_person_location), []).append(i)

        self._n = n
        self._fee = fee
        self._sliding_min = sliding_min
        self._has_sliding = has_sliding
        self._telehealth = telehealth
        self._has_in_person = has_in_person
        self._available = available
        self._concern_bits = concern_bits
        self._modality_bits = modality_bits
        self._day_count = day_count
        self._slots = np.array(slot_words, dtype=np.uint64).reshape(n, _WORDS)
        self._languages = {k: np.array(v, dtype=np.intp) for k, v in languages.items()}
        self._plans = {k: np.array(v, dtype=np.intp) for k, v in plans.items()}
        self._locations = {k: np.array(v, dtype=np.intp) for k, v in locations.items()}
        # Position of each profile in id order: the tie-breaker, folded into one sort key below.
        id_rank = np.empty(n, dtype=np.int64)
        id_rank[np.array(sorted(range(n), key=ids.__getitem__), dtype=np.intp)] = np.arange(n)
        self._id_rank = id_rank

    def __len__(self) -> int:
        return self._n

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """The indexed profiles, in the order given."""
        return self._profiles

    def _term_mask(self, postings: Mapping[str, npt.NDArray[np.intp]], term: str) -> BoolArray:
        mask = np.zeros(self._n, dtype=np.bool_)
        hits = postings.get(_norm(term))
        if hits is not None:
            mask[hits] = True
        return mask

    def _must_haves(self, query: Query) -> Iterator[tuple[str, BoolArray]]:
        """Yield (description, passing mask) for each must-have the query sets, in order."""
        if query.require_openings:
            yield "taking new clients with open times", self._available
        if query.language is not None:
            yield f"works in {query.language}", self._term_mask(self._languages, query.language)
        if query.max_budget is not None:
            affordable = self._fee <= query.max_budget
            label = f"fee up to {_money(query.max_budget)}"
            if query.sliding_scale:
                affordable = affordable | (self._sliding_min <= query.max_budget)
                label += " (or a sliding scale starting there)"
            yield label, affordable
        elif query.sliding_scale:
            yield "offers a sliding scale", self._has_sliding
        if query.insurance is not None:
            yield f"accepts {query.insurance}", self._term_mask(self._plans, query.insurance)
        if query.setting == "telehealth":
            yield "offers telehealth", self._telehealth
        elif query.setting == "in_person":
            if query.location is None:
                yield "sees clients in person", self._has_in_person
            else:
                at = self._term_mask(self._locations, query.location)
                yield f"sees clients in person in {query.location}", at
        elif query.location is not None:
            at = self._term_mask(self._locations, query.location)
            yield f"offers telehealth or sessions in {query.location}", self._telehealth | at
        if query.modalities:
            bits = sum(_MODALITY_BIT[m] for m in query.modalities)
            label = f"offers {_join(sorted(query.modalities), 'or')}"
            yield label, (self._modality_bits & bits) != 0

    def explain_filters(self, query: Query) -> list[tuple[str, int]]:
        """How many profiles remain after each must-have, applied in order.

        Meant for an empty result page: it shows the person which of *their* must-haves
        narrowed the list, so they can choose what to loosen. Nothing is loosened here.
        """
        _check_query(query)
        mask = np.ones(self._n, dtype=np.bool_)
        steps = []
        for label, passing in self._must_haves(query):
            mask &= passing
            steps.append((label, int(mask.sum())))
        return steps

    def rank(self, query: Query, limit: int = 10) -> list[Match]:
        """Return up to ``limit`` matches, best first; see the module docstring for the rules."""
        _check_query(query)
        _check_limit(limit)
        mask = np.ones(self._n, dtype=np.bool_)
        for _, passing in self._must_haves(query):
            mask &= passing
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return []

        # Each part is computed only for the profiles that passed; all are small integers.
        parts: dict[str, npt.NDArray[np.int64]] = {}
        if query.concerns:
            wanted = np.uint16(sum(_CONCERN_BIT[c] for c in query.concerns))
            shared = np.bitwise_count(self._concern_bits[idx] & wanted).astype(np.int64)
            parts["concerns"] = CONCERN_POINTS * shared
        if query.modality_leaning is not None:
            bits = np.uint8(
                sum(_MODALITY_BIT[m] for m in LEANING_MODALITIES[query.modality_leaning])
            )
            fits = (self._modality_bits[idx] & bits) != 0
            parts["modality"] = MODALITY_POINTS * fits.astype(np.int64)
        if query._slot_query:
            want = np.array(_split_words(query._slot_query), dtype=np.uint64)
            hit = ((self._slots[idx] & want) != 0).any(axis=1)
            parts["time"] = TIME_POINTS * hit.astype(np.int64)
        if query.multiple_days:
            parts["days"] = MULTI_DAY_POINTS * (self._day_count[idx] >= 2).astype(np.int64)
        parts["availability"] = AVAILABILITY_POINTS * self._available[idx].astype(np.int64)

        score = np.zeros(idx.size, dtype=np.int64)
        for points in parts.values():
            score += points
        # One integer key orders by score (descending) and then id (ascending): the id rank is
        # below n, so it can never outweigh a whole point of score. Keys are unique, so the
        # order is total and the same on every run.
        key = score * self._n + (self._n - 1 - self._id_rank[idx])
        k = min(limit, idx.size)
        top = np.argpartition(-key, k - 1)[:k] if k < idx.size else np.arange(idx.size)
        top = top[np.argsort(-key[top], kind="stable")]

        matches = []
        for pos in top.tolist():
            profile = self._profiles[int(idx[pos])]
            breakdown = tuple(
                (name, int(points[pos])) for name, points in parts.items() if points[pos]
            )
            matches.append(Match(profile, int(score[pos]), breakdown, _reasons(profile, query)))
        return matches


def rank(profiles: ProfileIndex | Iterable[Profile], query: Query, limit: int = 10) -> list[Match]:
    """Rank therapist profiles for a person's query, best fit first.

    Pass a prebuilt :class:`ProfileIndex` for repeated searches; a plain iterable of profiles
    is indexed on the fly. Profiles failing a must-have are never returned; the rest are
    ordered by the additive fit score in the module docstring, then by profile id. No field of
    a profile other than its fit to the query can raise its place: there is no paid placement.

    >>> profiles = [
    ...     Profile("b", "Dr B", ("cbt",), ("anxiety",), ("English",), 90,
    ...             telehealth=True, open_slots=((0, 9),)),
    ...     Profile("a", "Dr A", ("psychodynamic",), ("anxiety", "relationships"), ("English",),
    ...             150, sliding_scale=True, sliding_scale_min_fee=60, telehealth=True,
    ...             open_slots=((1, 18), (3, 19))),
    ... ]
    >>> query = Query(max_budget=100, sliding_scale=True, setting="telehealth",
    ...               concerns=frozenset({"relationships", "anxiety"}),
    ...               modality_leaning="psychodynamic", time_windows=frozenset({"evening"}))
    >>> best = rank(profiles, query)[0]
    >>> best.profile_id, best.score, best.breakdown
    ('a', 13, (('concerns', 6), ('modality', 4), ('time', 2), ('availability', 1)))
    >>> best.reasons[:4]  # doctest: +NORMALIZE_WHITESPACE
    ('works with anxiety and relationship difficulties', 'practises psychodynamic therapy',
     'offers evening telehealth', 'sliding scale from $60')
    >>> rank(profiles, Query(language="Welsh"))
    []
    """
    index = profiles if isinstance(profiles, ProfileIndex) else ProfileIndex(profiles)
    return index.rank(query, limit)


def query_from_preferences(
    preferences: Preferences,
    *,
    location: str | None = None,
    time_windows: Iterable[str] = (),
    weekdays: Iterable[int] = (),
    require_openings: bool = True,
) -> Query:
    """Turn self-check preferences into a directory query.

    Practical answers become must-haves (language, budget and sliding scale, insurance, video
    or in person); concerns, the modality leaning and more-than-weekly sessions only add
    points, because a self-check is too rough to exclude anyone on. ``location`` and times come
    from the directory's own search form; a location is ignored for video-only searches.
    """
    if not isinstance(preferences, Preferences):
        raise ValueError(f"expected Preferences, got {type(preferences).__name__}")
    setting: QuerySetting = "any"
    if preferences.setting == "telehealth":
        setting = "telehealth"
        location = None
    elif preferences.setting == "in_person":
        setting = "in_person"
    return Query(
        language=preferences.language,
        max_budget=preferences.budget,
        sliding_scale=preferences.sliding_scale,
        insurance=preferences.insurance,
        setting=setting,
        location=location,
        require_openings=require_openings,
        concerns=frozenset(preferences.concerns),
        modality_leaning=preferences.modality_leaning,
        time_windows=frozenset(time_windows),
        weekdays=frozenset(weekdays),
        multiple_days=preferences.frequency == "more_than_weekly",
    )
