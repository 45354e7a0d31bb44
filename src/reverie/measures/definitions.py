"""Measurement instruments defined as data.

An instrument (PHQ-9, GAD-7, ...) is described by a JSON document: its items and the LOINC
codes that identify them, the response options and their weights, the scoring rule, severity
bands, the caseness cut-off, the reliable-change threshold together with the psychometric
figures it rests on, critical items, and the licence and source the instrument comes from.
``docs/instruments.md`` documents every field.

This module turns such a document into an immutable :class:`InstrumentDefinition`. All
validation happens here, once, when the definition is loaded; the scoring engine in
:mod:`reverie.measures.scoring` trusts a loaded definition and never re-checks it. That is
what keeps scoring cheap enough to run hundreds of submissions per second.

The module is deliberately free of Django and of any database access so that it can be used
from management commands, background workers, tests and benchmarks alike.

Examples
--------
>>> shipped = load_shipped()
>>> phq9 = shipped["phq-9"]
>>> phq9.short_name, phq9.score_min, phq9.score_max
('PHQ-9', 0, 27)
>>> [band.label for band in phq9.bands]
['Minimal', 'Mild', 'Moderate', 'Moderately severe', 'Severe']
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal

__all__ = [
    "FORMAT",
    "TIMINGS",
    "Band",
    "Caseness",
    "Coding",
    "CriticalItem",
    "InstrumentDefinition",
    "Item",
    "Licence",
    "MissingPolicy",
    "NormValue",
    "Norms",
    "Option",
    "ReliableChange",
    "Source",
    "Subscale",
    "SubscaleMember",
    "Translation",
    "load_definition",
    "load_shipped",
]

#: Identifier of the definition format. Bumped when a field changes meaning.
FORMAT: Final = "reverie.instrument/1"

Number = int | float
ScoringMethod = Literal["sum", "mean"]
MissingHandling = Literal["refuse", "prorate"]
Rounding = Literal["none", "half_up"]
Direction = Literal["at_or_above", "at_or_below"]
Improvement = Literal["decrease", "increase"]
ElectronicUse = Literal["permitted", "restricted", "unknown"]
Timing = Literal["before_session", "after_session"]
#: When a session's questionnaire is asked: before it (symptom measures) or after it (measures
#: that rate the session itself, such as the SPARQ).
TIMINGS: Final = ("before_session", "after_session")

_ID_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: Longest band label: an administration stores its band label in 40 characters.
BAND_LABEL_MAX: Final = 40
_LINK_ID_MAX: Final = 255  # FHIR R4 restricts Questionnaire.item.linkId to 255 characters.


def _empty_mapping() -> Mapping[Any, Any]:
    return MappingProxyType({})


# --------------------------------------------------------------------------------------------
# Value objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coding:
    """A code from a terminology, e.g. a LOINC code for an item or a panel.

    Attributes
    ----------
    system : str
        Canonical URI of the code system, e.g. ``http://loinc.org``.
    code : str
        The code itself, e.g. ``44249-1``.
    display : str or None
        The code system's display name, kept for humans reading exported resources.
    """

    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact in a definition comes from.

    Every cut-off, band, threshold and psychometric figure carries one of these, so that a
    reviewer can check it against the primary literature.

    Attributes
    ----------
    citation : str
        Full bibliographic citation of the primary source.
    doi, pmid, url : str or None
        Stable identifiers of the primary source, where they exist.
    verified_via : tuple of str
        Addresses at which the figure was checked when the definition was written. These
        may be secondary (a reproduction of the form, a registry entry); ``note`` says so.
    note : str or None
        Anything a reviewer should know, in particular how well the figure was verified.
    """

    citation: str
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    verified_via: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Licence:
    """Copyright and licence terms of an instrument.

    Attributes
    ----------
    holder : str
        The copyright holder (e.g. ``Pfizer Inc.``).
    terms : str
        The licence terms as the holder states them, quoted or closely paraphrased.
    electronic_use : {"permitted", "restricted", "unknown"}
        Whether the terms allow Reverie to display and score the instrument electronically
        without a separate agreement. Only ``permitted`` instruments may be shipped.
    verified_via : tuple of str
        Addresses at which the terms were read.
    spdx : str or None
        SPDX identifier when the instrument is under a standard licence (e.g. ``CC-BY-4.0``).
    note : str or None
        Remarks, e.g. attribution that must be displayed.
    name : str or None
        Name of the licence or permission statement (``CC BY-NC-ND 4.0``,
        ``Pfizer PHQ screeners permission``).
    url : str or None
        Where the holder publishes the terms (the source the terms were read from).
    verified_on : str or None
        ISO date (``YYYY-MM-DD``) on which the terms were last read at ``url``.
    attribution : str or None
        Line the holder requires to be shown with the instrument, exactly as the holder
        words it; the answering page displays it under the questions.
    """

    holder: str
    terms: str
    electronic_use: ElectronicUse
    verified_via: tuple[str, ...] = ()
    spdx: str | None = None
    note: str | None = None
    name: str | None = None
    url: str | None = None
    verified_on: str | None = None
    attribution: str | None = None

    @property
    def verified_date(self) -> datetime.date | None:
        """``verified_on`` as a date, for pages that print it in the practice's format."""
        return datetime.date.fromisoformat(self.verified_on) if self.verified_on else None


@dataclass(frozen=True, slots=True)
class Option:
    """One response option of an item.

    Attributes
    ----------
    code : str
        Code of the option, e.g. the LOINC answer code ``LA6568-5``.
    system : str or None
        Code system of ``code``; ``None`` for codes local to the instrument.
    display : str
        The option's wording exactly as printed on the instrument.
    value : int
        The raw response recorded in an answers mapping (``{item_id: value}``).
    weight : int or float
        What the option contributes to the score before any reverse-scoring.
    """

    code: str
    system: str | None
    display: str
    value: int
    weight: Number


@dataclass(frozen=True, slots=True)
class Item:
    """One question of an instrument.

    Attributes
    ----------
    id : str
        Stable identifier, also used as the FHIR ``linkId``.
    number : int
        Position on the printed form (1-based).
    text : str
        The item wording exactly as published.
    codes : tuple of Coding
        Terminology codes for the item (LOINC where one exists).
    options : tuple of Option
        The response options in display order.
    scored : bool
        ``False`` for items that are asked but do not count towards any score (for example
        the PHQ-9 functional-difficulty question).
    reverse : bool
        Whether the item is reverse-scored: its effective weight is
        ``min_weight + max_weight - weight``.
    """

    id: str
    number: int
    text: str
    codes: tuple[Coding, ...]
    options: tuple[Option, ...]
    scored: bool = True
    reverse: bool = False
    #: Effective (post-reverse) weight per raw value; built on construction.
    weights: Mapping[int, Number] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=_empty_mapping
    )
    #: Option per raw value; built on construction.
    option_by_value: Mapping[int, Option] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=_empty_mapping
    )

    def __post_init__(self) -> None:
        raw = [option.weight for option in self.options]
        low, high = (min(raw), max(raw)) if raw else (0, 0)
        weights = {
            option.value: (low + high - option.weight) if self.reverse else option.weight
            for option in self.options
        }
        # frozen dataclass: derived lookups are set once here and never again.
        object.__setattr__(self, "weights", MappingProxyType(weights))
        object.__setattr__(
            self,
            "option_by_value",
            MappingProxyType({option.value: option for option in self.options}),
        )

    @property
    def values(self) -> tuple[int, ...]:
        """Allowed raw values in display order."""
        return tuple(option.value for option in self.options)


@dataclass(frozen=True, slots=True)
class MissingPolicy:
    """How many items may be unanswered and what happens then.

    Attributes
    ----------
    max_missing : int
        Largest number of unanswered scored items for which a score is still produced.
    handling : {"refuse", "prorate"}
        ``refuse``: no item may be missing (``max_missing`` must be 0). ``prorate``: the
        score is computed from the answered items and scaled to the full item count
        (for a sum, ``sum * n_items / n_answered``; for a mean, the mean of the answered
        items).
    rounding : {"none", "half_up"}
        Rounding applied to a prorated sum, and to every mean score (complete or not);
        ``half_up`` rounds .5 upwards, the convention most scoring manuals use for paper
        forms. A mean rounded ``half_up`` is a whole number (the CORE-OM's clinical score).
    source : Source or None
        Where the rule comes from. When no source gives a rule, definitions use
        ``refuse`` and say so.
    """

    max_missing: int = 0
    handling: MissingHandling = "refuse"
    rounding: Rounding = "none"
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class SubscaleMember:
    """An item's membership of a subscale, optionally with its own recoding.

    Attributes
    ----------
    item_id : str
        The member item.
    recode : Mapping[int, int | float] or None
        Weight per raw value used for this subscale instead of the item's own weights.
        Some instruments score one response differently on two subscales.
    """

    item_id: str
    recode: Mapping[int, Number] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Subscale:
    """A score computed from a subset of the items.

    Attributes
    ----------
    id, name : str
        Identifier and human-readable name.
    members : tuple of SubscaleMember
        Member items, with optional per-subscale recoding.
    method : {"sum", "mean"}
        How member weights are combined.
    missing : MissingPolicy
        Missing-data rule for this subscale.
    codes : tuple of Coding
        Terminology codes for the subscale score, if any.
    """

    id: str
    name: str
    members: tuple[SubscaleMember, ...]
    method: ScoringMethod
    missing: MissingPolicy
    codes: tuple[Coding, ...] = ()


@dataclass(frozen=True, slots=True)
class Band:
    """A severity band, inclusive on both ends as published (``0–4 minimal``).

    Attributes
    ----------
    min, max : int or float
        Inclusive bounds. A non-integer score that falls between two bands (possible only
        for mean or unrounded prorated scores) is placed in the band whose lower bound it
        has reached.
    label : str
        Label as published (``Moderately severe``).
    code : str
        Machine-friendly identifier (``moderately-severe``).
    """

    min: Number
    max: Number
    label: str
    code: str


@dataclass(frozen=True, slots=True)
class Caseness:
    """The cut-off separating clinical cases from non-cases.

    Attributes
    ----------
    threshold : int or float
        The cut-off score.
    direction : {"at_or_above", "at_or_below"}
        Whether scores at or above (or at or below) the threshold count as a case.
    source : Source
        Where the cut-off is published.
    label : str or None
        Short description, e.g. ``NHS Talking Therapies caseness``.
    """

    threshold: Number
    direction: Direction
    source: Source
    label: str | None = None

    def is_case(self, score: Number) -> bool:
        """Return whether ``score`` is a clinical case under this cut-off."""
        if self.direction == "at_or_above":
            return score >= self.threshold
        return score <= self.threshold


@dataclass(frozen=True, slots=True)
class NormValue:
    """One psychometric figure with its provenance.

    Attributes
    ----------
    value : float
        The figure (a mean, a standard deviation or a reliability coefficient).
    source : Source
        Where it is published.
    kind : str or None
        For reliability: ``cronbach_alpha``, ``test_retest`` ...
    sd : float or None
        For population norms: the standard deviation accompanying a mean.
    note : str or None
        Sample description or verification remarks.
    """

    value: float
    source: Source
    kind: str | None = None
    sd: float | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Norms:
    """Figures needed for the Jacobson & Truax (1991) reliable change index and cut-off c.

    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
    defining meaningful change in psychotherapy research. *Journal of Consulting and
    Clinical Psychology, 59*(1), 12-19.

    Any figure the literature does not supply is ``None``; nothing is invented.

    Attributes
    ----------
    reliability : NormValue or None
        Reliability coefficient of the total score.
    sd : NormValue or None
        Standard deviation used for the standard error of the difference.
    clinical : NormValue or None
        Mean (``value``) and SD (``sd``) of a clinical sample.
    non_clinical : NormValue or None
        Mean (``value``) and SD (``sd``) of a non-clinical sample.
    """

    reliability: NormValue | None = None
    sd: NormValue | None = None
    clinical: NormValue | None = None
    non_clinical: NormValue | None = None


@dataclass(frozen=True, slots=True)
class ReliableChange:
    """The smallest change in total score that exceeds measurement error.

    Attributes
    ----------
    threshold : int or float
        Minimum absolute change counted as reliable.
    improvement : {"decrease", "increase"}
        Direction of change that means improvement.
    source : Source
        Where the threshold is published.
    norms : Norms
        The figures the threshold derives from, as far as they are published.
    note : str or None
        How the threshold relates to the norms (e.g. set by a programme, not computed here).
    """

    threshold: Number
    improvement: Improvement
    source: Source
    norms: Norms = Norms()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CriticalItem:
    """An item whose response needs clinical attention regardless of the total.

    Attributes
    ----------
    item_id : str
        The item.
    threshold : int
        Raw response value that triggers the flag.
    direction : {"at_or_above", "at_or_below"}
        Comparison used with ``threshold``.
    label : str
        What the flag means, shown to clinicians.
    source : Source
        Why this item and threshold.
    """

    item_id: str
    threshold: int
    direction: Direction
    label: str
    source: Source

    def is_hit(self, value: int) -> bool:
        """Return whether a raw response ``value`` triggers this flag."""
        if self.direction == "at_or_above":
            return value >= self.threshold
        return value <= self.threshold


@dataclass(frozen=True, slots=True)
class Translation:
    """A published translation of the whole form: stem, item wording and option labels.

    Only wording changes; items, values, weights and therefore every score stay those of
    the original, so an answer given in any language scores identically.

    Attributes
    ----------
    language : str
        BCP 47 tag (``es-US``).
    label : str
        The language's name in that language, for the chooser (``Español (EE. UU.)``).
    name : str or None
        Title of the instrument in the translation.
    instructions : str or None
        Translated stem.
    items : Mapping[str, str]
        Wording per item id; every item of the form is present.
    options : Mapping[str, str]
        Label per option code; every option code of the form is present.
    attribution : str or None
        Copyright or permission line printed on the translated form.
    source : Source
        Where the translation is published and how it was checked.
    """

    language: str
    label: str
    name: str | None
    instructions: str | None
    items: Mapping[str, str] = field(compare=False, hash=False)
    options: Mapping[str, str] = field(compare=False, hash=False)
    attribution: str | None
    source: Source


@dataclass(frozen=True, slots=True)
class InstrumentDefinition:
    """A validated, immutable instrument definition.

    Build one with :func:`load_definition`; do not construct it by hand, because the
    constructor does not validate (validation lives in the loader so that it runs once).

    Attributes
    ----------
    id : str
        Stable identifier (``phq-9``); also the FHIR ``Questionnaire.id``.
    version : str
        Version of the definition (not of the instrument).
    name, short_name : str
        Full and short names.
    description : str
        What the instrument measures.
    language : str
        BCP 47 language tag of the item wording.
    respondent : str
        Who completes it (``client``, ``therapist`` ...).
    recall_period : str or None
        Period the items ask about.
    instructions : str or None
        Stem shown above the items, exactly as published.
    codes : tuple of Coding
        Codes for the instrument as a whole (LOINC panel).
    total_code : Coding or None
        Code for the total score observation.
    items : tuple of Item
        The items in form order.
    method : {"sum", "mean"}
        How item weights combine into the total.
    missing : MissingPolicy
        Missing-data rule for the total.
    higher_is_worse : bool
        Whether higher totals indicate more severe problems.
    subscales : tuple of Subscale
    bands : tuple of Band
        Severity bands, ascending.
    caseness : Caseness or None
    reliable_change : ReliableChange or None
    critical_items : tuple of CriticalItem
    source : Source
        Primary publication of the instrument.
    references : tuple of Source
        Further sources (scoring manuals, validation studies).
    licence : Licence
    notes : str or None
        Decisions a reviewer should know about.
    timing : {"before_session", "after_session"}
        When a scheduled session questionnaire is asked: before each session (the default)
        or after it, for instruments that rate the session just held.
    translations : Mapping[str, Translation]
        Published translations by language tag (see :meth:`localised`).
    """

    id: str
    version: str
    name: str
    short_name: str
    description: str
    language: str
    respondent: str
    recall_period: str | None
    instructions: str | None
    codes: tuple[Coding, ...]
    total_code: Coding | None
    items: tuple[Item, ...]
    method: ScoringMethod
    missing: MissingPolicy
    higher_is_worse: bool
    subscales: tuple[Subscale, ...]
    bands: tuple[Band, ...]
    caseness: Caseness | None
    reliable_change: ReliableChange | None
    critical_items: tuple[CriticalItem, ...]
    source: Source
    references: tuple[Source, ...]
    licence: Licence
    notes: str | None = None
    timing: Timing = "before_session"
    translations: Mapping[str, Translation] = field(
        repr=False, compare=False, hash=False, default_factory=_empty_mapping
    )
    #: Item per id; built on construction.
    item_index: Mapping[str, Item] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=_empty_mapping
    )
    #: Ids of the items that count towards the total, in form order.
    scored_item_ids: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    #: Lowest and highest possible total.
    score_min: Number = field(init=False, compare=False, default=0)
    score_max: Number = field(init=False, compare=False, default=0)
    #: Whether every possible total is an integer (drives band validation and rounding).
    integer_scores: bool = field(init=False, repr=False, compare=False, default=True)
    #: Lower bounds of ``bands``, for bisection.
    band_lower_bounds: tuple[Number, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        scored = tuple(item for item in self.items if item.scored)
        low, high = _score_range(self.method, [item.weights.values() for item in scored])
        integer = _integer_scores(self.method, scored, self.missing)
        # frozen dataclass: derived lookups are computed exactly once, here.
        object.__setattr__(self, "item_index", MappingProxyType({i.id: i for i in self.items}))
        object.__setattr__(self, "scored_item_ids", tuple(item.id for item in scored))
        object.__setattr__(self, "score_min", low)
        object.__setattr__(self, "score_max", high)
        object.__setattr__(self, "integer_scores", integer)
        object.__setattr__(self, "band_lower_bounds", tuple(band.min for band in self.bands))

    @property
    def higher_is_better(self) -> bool:
        """Whether higher totals are better (an alliance or wellbeing scale)."""
        return not self.higher_is_worse

    @property
    def languages(self) -> tuple[str, ...]:
        """The original language first, then every translation's tag."""
        return (self.language, *self.translations)

    def localised(self, language: str | None) -> InstrumentDefinition:
        """This definition worded in ``language``; itself for the original or an unknown tag.

        Items, values, weights, bands and every other scoring fact are unchanged, so
        ``score(d.localised("es-US"), answers) == score(d, answers)`` for any answers.

        Examples
        --------
        >>> phq9 = load_shipped()["phq-9"]
        >>> phq9.localised("es-US").items[0].text
        'Poco interés o placer en hacer cosas'
        >>> phq9.localised("xx") is phq9
        True
        """
        translation = self.translations.get(language or "")
        if translation is None:
            return self
        items = tuple(
            dataclasses.replace(
                item,
                text=translation.items[item.id],
                options=tuple(
                    dataclasses.replace(option, display=translation.options[option.code])
                    for option in item.options
                ),
            )
            for item in self.items
        )
        return dataclasses.replace(
            self,
            language=translation.language,
            name=translation.name or self.name,
            instructions=translation.instructions or self.instructions,
            items=items,
            licence=dataclasses.replace(
                self.licence, attribution=translation.attribution or self.licence.attribution
            ),
        )

    def band_for(self, score: Number) -> Band | None:
        """Return the severity band containing ``score``; ``None`` without bands or out of range.

        Examples
        --------
        >>> phq9 = load_shipped()["phq-9"]
        >>> phq9.band_for(9).label, phq9.band_for(10).label
        ('Mild', 'Moderate')
        """
        if not self.bands:
            return None
        index = bisect.bisect_right(self.band_lower_bounds, score) - 1
        if index < 0 or score > self.bands[-1].max:
            return None
        return self.bands[index]


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


class _Problems:
    """Collects validation problems so that one ValueError can list all of them."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.messages.append(f"{path}: {message}")

    def raise_if_any(self, label: str) -> None:
        if self.messages:
            lines = "\n".join(f"  - {message}" for message in self.messages)
            raise ValueError(
                f"invalid instrument definition {label} ({len(self.messages)} problem(s)):\n{lines}"
            )


class _Reader:
    """Typed access to a JSON object that records problems instead of raising."""

    def __init__(self, data: Any, path: str, problems: _Problems, allowed: Iterable[str]) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(data, Mapping):
            problems.add(path, f"expected an object, got {type(data).__name__}")
            data = {}
        self.data: Mapping[str, Any] = data
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            # Unknown keys are almost always typos ("treshold"); refusing them keeps a
            # misspelt cut-off from being silently ignored.
            problems.add(path, f"unknown field(s) {', '.join(map(repr, unknown))}")

    def _type_error(self, key: str, expected: str, value: Any) -> None:
        self.problems.add(f"{self.path}.{key}", f"expected {expected}, got {value!r}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def string(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problems.add(f"{self.path}.{key}", "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self._type_error(key, "a non-empty string", value)
            return None
        return value

    def choice(self, key: str, allowed: Sequence[str], default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in allowed:
            self.problems.add(
                f"{self.path}.{key}", f"must be one of {', '.join(allowed)}; got {value!r}"
            )
            return allowed[0]
        return str(value)

    def integer(self, key: str, *, default: int | None = None) -> int | None:
        value = self.data.get(key, default)
        if value is None:
            self.problems.add(f"{self.path}.{key}", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self._type_error(key, "an integer", value)
            return None
        return value

    def number(self, key: str, *, required: bool = True) -> Number | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problems.add(f"{self.path}.{key}", "is required")
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self._type_error(key, "a finite number", value)
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self._type_error(key, "true or false", value)
            return default
        return value

    def array(self, key: str, *, required: bool = True) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problems.add(f"{self.path}.{key}", "is required")
            return []
        if not isinstance(value, list):
            self._type_error(key, "a list", value)
            return []
        return value


_SOURCE_KEYS = ("citation", "doi", "pmid", "url", "verified_via", "note")


def _source(data: Any, path: str, problems: _Problems) -> Source:
    reader = _Reader(data, path, problems, _SOURCE_KEYS)
    return Source(
        citation=reader.string("citation") or "",
        doi=reader.string("doi", required=False),
        pmid=reader.string("pmid", required=False),
        url=reader.string("url", required=False),
        verified_via=_strings(reader, "verified_via"),
        note=reader.string("note", required=False),
    )


def _strings(reader: _Reader, key: str) -> tuple[str, ...]:
    values = reader.array(key, required=False)
    out = []
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            reader.problems.add(f"{reader.path}.{key}[{index}]", "expected a non-empty string")
        else:
            out.append(value)
    return tuple(out)


def _coding(data: Any, path: str, problems: _Problems) -> Coding:
    reader = _Reader(data, path, problems, ("system", "code", "display"))
    return Coding(
        system=reader.string("system") or "",
        code=reader.string("code") or "",
        display=reader.string("display", required=False),
    )


def _codings(reader: _Reader, key: str) -> tuple[Coding, ...]:
    return tuple(
        _coding(value, f"{reader.path}.{key}[{index}]", reader.problems)
        for index, value in enumerate(reader.array(key, required=False))
    )


_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _licence(data: Any, path: str, problems: _Problems) -> Licence:
    reader = _Reader(
        data,
        path,
        problems,
        (
            "holder",
            "terms",
            "electronic_use",
            "verified_via",
            "spdx",
            "note",
            "name",
            "url",
            "verified_on",
            "attribution",
        ),
    )
    electronic_use = reader.choice("electronic_use", ("permitted", "restricted", "unknown"))
    verified_on = reader.string("verified_on", required=False)
    if verified_on is not None:
        try:
            if not _DATE_RE.match(verified_on):
                raise ValueError(verified_on)
            datetime.date.fromisoformat(verified_on)
        except ValueError:
            problems.add(f"{path}.verified_on", f"must be a date YYYY-MM-DD; got {verified_on!r}")
    return Licence(
        holder=reader.string("holder") or "",
        terms=reader.string("terms") or "",
        electronic_use=electronic_use,  # type: ignore[arg-type]
        verified_via=_strings(reader, "verified_via"),
        spdx=reader.string("spdx", required=False),
        note=reader.string("note", required=False),
        name=reader.string("name", required=False),
        url=reader.string("url", required=False),
        verified_on=verified_on,
        attribution=reader.string("attribution", required=False),
    )


def _options(data: Any, path: str, problems: _Problems) -> tuple[Option, ...]:
    if not isinstance(data, list) or not data:
        problems.add(path, "expected a non-empty list of options")
        return ()
    options: list[Option] = []
    seen_values: set[int] = set()
    seen_codes: set[tuple[str | None, str]] = set()
    for index, raw in enumerate(data):
        where = f"{path}[{index}]"
        reader = _Reader(raw, where, problems, ("code", "system", "display", "value", "weight"))
        code = reader.string("code") or ""
        system = reader.string("system", required=False)
        value = reader.integer("value")
        weight = reader.number("weight", required=False)
        if value is not None:
            if value in seen_values:
                problems.add(f"{where}.value", f"duplicate value {value}")
            seen_values.add(value)
        if (system, code) in seen_codes:
            problems.add(f"{where}.code", f"duplicate code {code!r}")
        seen_codes.add((system, code))
        options.append(
            Option(
                code=code,
                system=system,
                display=reader.string("display") or "",
                value=value if value is not None else index,
                weight=weight if weight is not None else (value if value is not None else 0),
            )
        )
    return tuple(options)


def _missing(data: Any, path: str, problems: _Problems) -> MissingPolicy:
    if data is None:
        return MissingPolicy()
    reader = _Reader(data, path, problems, ("max_missing", "handling", "rounding", "source"))
    max_missing = reader.integer("max_missing", default=0) or 0
    handling = reader.choice("handling", ("refuse", "prorate"), default="refuse")
    rounding = reader.choice("rounding", ("none", "half_up"), default="none")
    if max_missing < 0:
        problems.add(f"{path}.max_missing", "must not be negative")
    if handling == "refuse" and max_missing != 0:
        problems.add(path, "handling 'refuse' requires max_missing 0")
    if handling == "prorate" and max_missing == 0:
        problems.add(path, "handling 'prorate' needs max_missing of at least 1")
    source = _source(data["source"], f"{path}.source", problems) if reader.has("source") else None
    return MissingPolicy(
        max_missing=max_missing,
        handling=handling,  # type: ignore[arg-type]
        rounding=rounding,  # type: ignore[arg-type]
        source=source,
    )


def _norm(data: Any, path: str, problems: _Problems) -> NormValue | None:
    if data is None:
        return None
    reader = _Reader(data, path, problems, ("value", "source", "kind", "sd", "note"))
    value = reader.number("value")
    sd = reader.number("sd", required=False)
    if sd is not None and sd <= 0:
        problems.add(f"{path}.sd", "must be positive")
    return NormValue(
        value=float(value) if value is not None else 0.0,
        source=_source(reader.raw("source"), f"{path}.source", problems),
        kind=reader.string("kind", required=False),
        sd=float(sd) if sd is not None else None,
        note=reader.string("note", required=False),
    )


def _integer_scores(method: str, scored: Sequence[Item], missing: MissingPolicy) -> bool:
    """Whether every possible total is a whole number: a sum of whole weights that is never
    prorated, or prorated with ``half_up`` rounding, or any mean rounded ``half_up``."""
    if method == "mean":
        return missing.rounding == "half_up"
    return all(isinstance(w, int) for item in scored for w in item.weights.values()) and (
        missing.handling == "refuse" or missing.rounding == "half_up"
    )


def _score_range(method: str, weight_sets: Sequence[Iterable[Number]]) -> tuple[Number, Number]:
    """Lowest and highest possible score for a set of items."""
    lows = [min(weights) for weights in map(list, weight_sets) if weights]
    highs = [max(weights) for weights in map(list, weight_sets) if weights]
    if not lows:
        return 0, 0
    if method == "mean":
        return min(lows), max(highs)
    return sum(lows), sum(highs)


def _as_int_keyed(
    data: Any, path: str, problems: _Problems, allowed: Iterable[int]
) -> dict[int, Number]:
    """Parse a recode table ``{"1": 3, "2": 2, ...}`` keyed by raw value."""
    if not isinstance(data, Mapping):
        problems.add(path, "expected an object mapping raw values to weights")
        return {}
    table: dict[int, Number] = {}
    for key, weight in data.items():
        try:
            value = int(key)
        except (TypeError, ValueError):
            problems.add(path, f"key {key!r} is not an integer raw value")
            continue
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            problems.add(f"{path}.{key}", f"expected a number, got {weight!r}")
            continue
        table[value] = weight
    expected = set(allowed)
    if set(table) != expected:
        problems.add(
            path,
            f"must give a weight for exactly the item's values {sorted(expected)}; "
            f"got {sorted(table)}",
        )
    return table


_TOP_KEYS = (
    "format",
    "id",
    "version",
    "name",
    "short_name",
    "description",
    "language",
    "respondent",
    "recall_period",
    "instructions",
    "codes",
    "total_code",
    "response_sets",
    "items",
    "scoring",
    "subscales",
    "bands",
    "caseness",
    "reliable_change",
    "critical_items",
    "source",
    "references",
    "licence",
    "notes",
    "timing",
    "translations",
)
_LANGUAGE_RE: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def load_definition(
    data: Mapping[str, Any], *, require_electronic_use_permitted: bool = False
) -> InstrumentDefinition:
    """Validate a definition document and build an immutable :class:`InstrumentDefinition`.

    Parameters
    ----------
    data : Mapping
        The parsed JSON document (see ``docs/instruments.md``).
    require_electronic_use_permitted : bool, default False
        Also refuse definitions whose licence does not permit electronic use. Shipped
        instruments are always loaded with this set.

    Returns
    -------
    InstrumentDefinition

    Raises
    ------
    ValueError
        If anything is wrong. The message lists every problem found, each with the path of
        the offending field, so that one run shows all that needs fixing.

    Examples
    --------
    >>> load_definition({"format": FORMAT, "id": "x"})
    Traceback (most recent call last):
      ...
    ValueError: invalid instrument definition 'x' (...
    """
    problems = _Problems()
    top = _Reader(data, "$", problems, _TOP_KEYS)
    label = repr(top.raw("id")) if isinstance(top.raw("id"), str) else "<no id>"

    if top.raw("format") != FORMAT:
        problems.add("$.format", f"must be {FORMAT!r}; got {top.raw('format')!r}")
    instrument_id = top.string("id") or ""
    if instrument_id and not _ID_RE.match(instrument_id):
        problems.add("$.id", "must be lower-case letters, digits and hyphens (max 63)")

    # Response sets are shared option lists referenced by name from items.
    response_sets: dict[str, tuple[Option, ...]] = {}
    raw_sets = top.raw("response_sets") or {}
    if not isinstance(raw_sets, Mapping):
        problems.add("$.response_sets", "expected an object")
        raw_sets = {}
    for set_name, raw_options in raw_sets.items():
        response_sets[set_name] = _options(raw_options, f"$.response_sets.{set_name}", problems)

    items: list[Item] = []
    seen_ids: set[str] = set()
    for index, raw_item in enumerate(top.array("items")):
        where = f"$.items[{index}]"
        reader = _Reader(
            raw_item,
            where,
            problems,
            ("id", "number", "text", "codes", "response_set", "options", "scored", "reverse"),
        )
        item_id = reader.string("id") or f"<item {index}>"
        if item_id != item_id.strip() or len(item_id) > _LINK_ID_MAX:
            problems.add(f"{where}.id", "must not have surrounding spaces or exceed 255 chars")
        if item_id in seen_ids:
            problems.add(f"{where}.id", f"duplicate item id {item_id!r}")
        seen_ids.add(item_id)
        number = reader.integer("number", default=index + 1) or index + 1
        if reader.has("response_set") == reader.has("options"):
            problems.add(where, "give exactly one of 'response_set' and 'options'")
            options: tuple[Option, ...] = ()
        elif reader.has("response_set"):
            set_name = reader.string("response_set") or ""
            if set_name not in response_sets:
                problems.add(f"{where}.response_set", f"no response set named {set_name!r}")
            options = response_sets.get(set_name, ())
        else:
            options = _options(reader.raw("options"), f"{where}.options", problems)
        items.append(
            Item(
                id=item_id,
                number=number,
                text=reader.string("text") or "",
                codes=_codings(reader, "codes"),
                options=options,
                scored=reader.boolean("scored", True),
                reverse=reader.boolean("reverse", False),
            )
        )
    if not any(item.scored for item in items):
        problems.add("$.items", "at least one scored item is required")
    numbers = [item.number for item in items]
    if len(set(numbers)) != len(numbers):
        problems.add("$.items", "item numbers must be unique")
    item_index = {item.id: item for item in items}

    scoring = _Reader(
        top.raw("scoring"),
        "$.scoring",
        problems,
        ("method", "missing", "higher_is_worse", "higher_is_better"),
    )
    method = scoring.choice("method", ("sum", "mean"))
    missing = _missing(scoring.raw("missing"), "$.scoring.missing", problems)
    scored_count = sum(1 for item in items if item.scored)
    if missing.max_missing >= max(scored_count, 1):
        problems.add("$.scoring.missing.max_missing", "must be smaller than the scored items")
    # The direction may be written either way round; both given must agree.
    higher_is_worse = scoring.boolean("higher_is_worse", True)
    if scoring.has("higher_is_better"):
        better = scoring.boolean("higher_is_better", False)
        if scoring.has("higher_is_worse") and better == higher_is_worse:
            problems.add("$.scoring", "higher_is_worse and higher_is_better contradict each other")
        higher_is_worse = not better

    subscales = _subscales(top, item_index, problems)

    # Score range (used to check bands and thresholds) from the items as parsed so far.
    scored_items = [item for item in items if item.scored]
    low, high = _score_range(method, [item.weights.values() for item in scored_items])
    integer_scores = _integer_scores(method, scored_items, missing)
    bands = _bands(top, low, high, integer_scores, problems)

    caseness = None
    if top.has("caseness"):
        reader = _Reader(
            top.raw("caseness"),
            "$.caseness",
            problems,
            ("threshold", "direction", "source", "label"),
        )
        threshold = reader.number("threshold")
        if threshold is not None and not low <= threshold <= high:
            problems.add("$.caseness.threshold", f"must lie within the score range {low}-{high}")
        caseness = Caseness(
            threshold=threshold if threshold is not None else 0,
            direction=reader.choice("direction", ("at_or_above", "at_or_below")),  # type: ignore[arg-type]
            source=_source(reader.raw("source"), "$.caseness.source", problems),
            label=reader.string("label", required=False),
        )

    reliable_change = None
    if top.has("reliable_change"):
        reliable_change = _reliable_change(top.raw("reliable_change"), problems, high - low)
        expected = "decrease" if higher_is_worse else "increase"
        if reliable_change.improvement != expected:
            problems.add(
                "$.reliable_change.improvement",
                f"is {reliable_change.improvement!r} but the scale's direction makes "
                f"improvement a {expected}",
            )

    critical_items = []
    for index, raw in enumerate(top.array("critical_items", required=False)):
        where = f"$.critical_items[{index}]"
        reader = _Reader(
            raw, where, problems, ("item", "threshold", "direction", "label", "source")
        )
        target = reader.string("item") or ""
        threshold_value = reader.integer("threshold")
        if target and target not in item_index:
            problems.add(f"{where}.item", f"no item with id {target!r}")
        elif target and threshold_value is not None:
            values = item_index[target].values
            if not min(values, default=0) <= threshold_value <= max(values, default=0):
                problems.add(f"{where}.threshold", f"must be one of the item's values {values}")
        critical_items.append(
            CriticalItem(
                item_id=target,
                threshold=threshold_value if threshold_value is not None else 0,
                direction=reader.choice("direction", ("at_or_above", "at_or_below")),  # type: ignore[arg-type]
                label=reader.string("label") or "",
                source=_source(reader.raw("source"), f"{where}.source", problems),
            )
        )

    source = _source(top.raw("source"), "$.source", problems)
    references = tuple(
        _source(raw, f"$.references[{index}]", problems)
        for index, raw in enumerate(top.array("references", required=False))
    )
    licence = _licence(top.raw("licence"), "$.licence", problems)
    if require_electronic_use_permitted and licence.electronic_use != "permitted":
        problems.add(
            "$.licence.electronic_use",
            f"is {licence.electronic_use!r}; only instruments whose licence permits "
            "electronic use may be shipped",
        )

    definition_kwargs = {
        "id": instrument_id,
        "version": top.string("version") or "",
        "name": top.string("name") or "",
        "short_name": top.string("short_name") or "",
        "description": top.string("description") or "",
        "language": top.string("language") or "",
        "respondent": top.string("respondent") or "",
        "recall_period": top.string("recall_period", required=False),
        "instructions": top.string("instructions", required=False),
        "codes": _codings(top, "codes"),
        "total_code": (
            _coding(top.raw("total_code"), "$.total_code", problems)
            if top.has("total_code")
            else None
        ),
        "notes": top.string("notes", required=False),
        "timing": top.choice("timing", TIMINGS, default="before_session"),
    }
    language = definition_kwargs["language"]
    if language and not _LANGUAGE_RE.match(str(language)):
        problems.add(
            "$.language", f"must be a BCP 47 tag such as 'en' or 'es-US'; got {language!r}"
        )
    translations = _translations(top, items, str(language), problems)
    problems.raise_if_any(label)
    return InstrumentDefinition(
        translations=MappingProxyType(translations),
        items=tuple(items),
        method=method,  # type: ignore[arg-type]
        missing=missing,
        higher_is_worse=higher_is_worse,
        subscales=subscales,
        bands=bands,
        caseness=caseness,
        reliable_change=reliable_change,
        critical_items=tuple(critical_items),
        source=source,
        references=references,
        licence=licence,
        **definition_kwargs,  # type: ignore[arg-type]
    )


def _translated(reader: _Reader, kind: str, wanted: Sequence[str]) -> dict[str, str]:
    """One ``{key: text}`` block of a translation, which must cover exactly ``wanted``."""
    where = f"{reader.path}.{kind}"
    given = reader.raw(kind)
    if not isinstance(given, Mapping):
        reader.problems.add(where, "expected an object")
        return {}
    missing = [key for key in wanted if key not in given]
    unknown = sorted(set(given) - set(wanted))
    if missing:
        reader.problems.add(where, f"no translation for {', '.join(missing)}")
    if unknown:
        reader.problems.add(where, f"unknown key(s) {', '.join(unknown)}")
    out = {}
    for key, text in given.items():
        if not isinstance(text, str) or not text.strip():
            reader.problems.add(f"{where}.{key}", "expected a non-empty string")
        else:
            out[key] = text
    return out


def _translations(
    top: _Reader, items: Sequence[Item], original: str, problems: _Problems
) -> dict[str, Translation]:
    """Parse ``translations``: each must word every item and every option, and nothing else."""
    raw = top.raw("translations")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add("$.translations", "expected an object keyed by language tag")
        return {}
    item_ids = [item.id for item in items]
    option_codes = sorted({option.code for item in items for option in item.options})
    out: dict[str, Translation] = {}
    for language, data in raw.items():
        where = f"$.translations.{language}"
        if not isinstance(language, str) or not _LANGUAGE_RE.match(language):
            problems.add(where, "the key must be a BCP 47 tag such as 'es-US'")
            continue
        if language == original:
            problems.add(where, "repeats the definition's own language")
        reader = _Reader(
            data,
            where,
            problems,
            ("label", "name", "instructions", "items", "options", "attribution", "source"),
        )
        texts = _translated(reader, "items", item_ids)
        options = _translated(reader, "options", option_codes)
        out[language] = Translation(
            language=language,
            label=reader.string("label") or language,
            name=reader.string("name", required=False),
            instructions=reader.string("instructions", required=False),
            items=MappingProxyType(texts),
            options=MappingProxyType(options),
            attribution=reader.string("attribution", required=False),
            source=_source(reader.raw("source"), f"{where}.source", problems),
        )
    return out


def _subscales(
    top: _Reader, item_index: Mapping[str, Item], problems: _Problems
) -> tuple[Subscale, ...]:
    subscales = []
    seen: set[str] = set()
    for index, raw in enumerate(top.array("subscales", required=False)):
        where = f"$.subscales[{index}]"
        reader = _Reader(
            raw, where, problems, ("id", "name", "items", "method", "missing", "codes")
        )
        subscale_id = reader.string("id") or ""
        if subscale_id in seen:
            problems.add(f"{where}.id", f"duplicate subscale id {subscale_id!r}")
        seen.add(subscale_id)
        members = []
        for position, raw_member in enumerate(reader.array("items")):
            member_path = f"{where}.items[{position}]"
            recode = None
            if isinstance(raw_member, str):
                member_id = raw_member
            else:
                member = _Reader(raw_member, member_path, problems, ("item", "recode"))
                member_id = member.string("item") or ""
                if member.has("recode") and member_id in item_index:
                    recode = MappingProxyType(
                        _as_int_keyed(
                            member.raw("recode"),
                            f"{member_path}.recode",
                            problems,
                            item_index[member_id].values,
                        )
                    )
            # An unscored item may belong to a subscale: it is left out of the total only
            # (the SPARQ's Negative affect items form a scale but not part of its total).
            if member_id not in item_index:
                problems.add(member_path, f"no item with id {member_id!r}")
            members.append(SubscaleMember(item_id=member_id, recode=recode))
        if not members:
            problems.add(f"{where}.items", "a subscale needs at least one item")
        missing = _missing(reader.raw("missing"), f"{where}.missing", problems)
        if members and missing.max_missing >= len(members):
            problems.add(f"{where}.missing.max_missing", "must be smaller than the item count")
        subscales.append(
            Subscale(
                id=subscale_id,
                name=reader.string("name") or "",
                members=tuple(members),
                method=reader.choice("method", ("sum", "mean")),  # type: ignore[arg-type]
                missing=missing,
                codes=_codings(reader, "codes"),
            )
        )
    return tuple(subscales)


def _bands(
    top: _Reader, low: Number, high: Number, integer_scores: bool, problems: _Problems
) -> tuple[Band, ...]:
    bands = []
    for index, raw in enumerate(top.array("bands", required=False)):
        where = f"$.bands[{index}]"
        reader = _Reader(raw, where, problems, ("min", "max", "label", "code"))
        band_min = reader.number("min")
        band_max = reader.number("max")
        label = reader.string("label") or ""
        if len(label) > BAND_LABEL_MAX:
            problems.add(f"{where}.label", f"must be at most {BAND_LABEL_MAX} characters")
        if band_min is not None and band_max is not None and band_min > band_max:
            problems.add(where, f"min {band_min} exceeds max {band_max}")
        bands.append(
            Band(
                min=band_min if band_min is not None else 0,
                max=band_max if band_max is not None else 0,
                label=label,
                code=reader.string("code") or "",
            )
        )
    if not bands:
        return ()
    # Bands must tile the score range exactly: every possible score gets exactly one band.
    if bands[0].min != low:
        problems.add("$.bands[0].min", f"must equal the lowest possible score {low}")
    if bands[-1].max != high:
        problems.add(f"$.bands[{len(bands) - 1}].max", f"must equal the highest score {high}")
    for index in range(1, len(bands)):
        previous, current = bands[index - 1], bands[index]
        if integer_scores and current.min != previous.max + 1:
            problems.add(
                f"$.bands[{index}].min",
                f"must be {previous.max + 1} so that bands neither overlap nor leave gaps",
            )
        elif not integer_scores and current.min <= previous.max:
            problems.add(f"$.bands[{index}].min", "overlaps the previous band")
    codes = [band.code for band in bands]
    if len(set(codes)) != len(codes):
        problems.add("$.bands", "band codes must be unique")
    return tuple(bands)


def _reliable_change(data: Any, problems: _Problems, span: Number) -> ReliableChange:
    path = "$.reliable_change"
    reader = _Reader(data, path, problems, ("threshold", "improvement", "source", "norms", "note"))
    threshold = reader.number("threshold")
    if threshold is not None and not 0 < threshold <= span:
        problems.add(f"{path}.threshold", f"must be positive and at most the score span {span}")
    norms = Norms()
    if reader.has("norms"):
        norms_reader = _Reader(
            reader.raw("norms"),
            f"{path}.norms",
            problems,
            ("reliability", "sd", "clinical", "non_clinical"),
        )
        norms = Norms(
            reliability=_norm(
                norms_reader.raw("reliability"), f"{path}.norms.reliability", problems
            ),
            sd=_norm(norms_reader.raw("sd"), f"{path}.norms.sd", problems),
            clinical=_norm(norms_reader.raw("clinical"), f"{path}.norms.clinical", problems),
            non_clinical=_norm(
                norms_reader.raw("non_clinical"), f"{path}.norms.non_clinical", problems
            ),
        )
        if norms.reliability is not None and not 0 < norms.reliability.value < 1:
            problems.add(f"{path}.norms.reliability.value", "must lie strictly between 0 and 1")
    return ReliableChange(
        threshold=threshold if threshold is not None else 0,
        improvement=reader.choice("improvement", ("decrease", "increase")),  # type: ignore[arg-type]
        source=_source(reader.raw("source"), f"{path}.source", problems),
        norms=norms,
        note=reader.string("note", required=False),
    )


@functools.cache
def _load_shipped_cached() -> tuple[InstrumentDefinition, ...]:
    package = resources.files("reverie.measures.instruments")
    definitions = []
    for entry in sorted(package.iterdir(), key=lambda path: path.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            document = json.loads(entry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{entry.name} is not valid JSON: {error}") from error
        try:
            definitions.append(load_definition(document, require_electronic_use_permitted=True))
        except ValueError as error:
            raise ValueError(f"{entry.name}: {error}") from error
    ids = [definition.id for definition in definitions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"shipped instruments share ids: {', '.join(duplicates)}")
    return tuple(definitions)


def load_shipped() -> dict[str, InstrumentDefinition]:
    """Load every instrument shipped in :mod:`reverie.measures.instruments`.

    Files are read with :mod:`importlib.resources` (so this works from a wheel or zip) and
    parsed once per process; later calls return a new dict over the same immutable
    definitions.

    Returns
    -------
    dict of str to InstrumentDefinition
        Keyed by instrument id.

    Raises
    ------
    ValueError
        If a shipped file is invalid or its licence does not permit electronic use.
    """
    return {definition.id: definition for definition in _load_shipped_cached()}
