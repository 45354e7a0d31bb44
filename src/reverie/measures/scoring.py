"""Pure scoring engine for instrument definitions.

:func:`score` takes a loaded :class:`~reverie.measures.definitions.InstrumentDefinition` and
an answers mapping ``{item_id: value}`` (raw response values as printed on the form) and
returns a frozen :class:`ScoreResult`. It validates the *answers* - unknown items,
out-of-range values, too many missing items - and raises :class:`ScoringError` naming the
offending item. It never re-validates the *definition*: that was done once by
:func:`~reverie.measures.definitions.load_definition`, which is what keeps scoring fast.

The engine has no side effects and no dependency on Django, the database or the clock, so
the same answers always give the same result.

Examples
--------
>>> from reverie.measures.definitions import load_shipped
>>> phq9 = load_shipped()["phq-9"]
>>> answers = {f"phq9-{n}": 1 for n in range(1, 10)}
>>> result = score(phq9, answers)
>>> result.total, result.band.label, result.caseness
(9, 'Mild', False)
>>> [hit.item_id for hit in result.critical_hits]
['phq9-9']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from reverie.measures.definitions import (
    Band,
    InstrumentDefinition,
    MissingPolicy,
    Number,
    ScoringMethod,
)

__all__ = [
    "CriticalHit",
    "ScoreResult",
    "ScoringError",
    "SubscaleScore",
    "jacobson_truax_threshold",
    "score",
    "stored_total",
]

ErrorReason = Literal["unknown_item", "invalid_value", "too_many_missing"]

#: z for a two-tailed 95% criterion, as used by Jacobson & Truax (1991).
_Z_95: Final = 1.96


class ScoringError(ValueError):
    """Answers that cannot be scored against a definition.

    Attributes
    ----------
    item_id : str
        The item (FHIR ``linkId``) that is wrong - unknown, out of range, or the first of
        the missing items.
    reason : {"unknown_item", "invalid_value", "too_many_missing"}
        Machine-readable cause, for callers that map errors to form fields.
    """

    def __init__(self, message: str, *, item_id: str, reason: ErrorReason) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.reason: ErrorReason = reason


@dataclass(frozen=True, slots=True)
class SubscaleScore:
    """Score of one subscale.

    Attributes
    ----------
    id, name : str
        As in the definition.
    score : int or float
        The subscale score (prorated if items were missing and the rule allows it).
    answered : int
        Number of member items answered.
    missing : tuple of str
        Ids of member items left unanswered.
    prorated : bool
        Whether the score was prorated.
    """

    id: str
    name: str
    score: Number
    answered: int
    missing: tuple[str, ...]
    prorated: bool


@dataclass(frozen=True, slots=True)
class CriticalHit:
    """A critical item whose response crossed its threshold.

    Attributes
    ----------
    item_id : str
        The item.
    value : int
        The raw response given.
    threshold : int
        The threshold it met.
    label : str
        What the flag means (from the definition).
    """

    item_id: str
    value: int
    threshold: int
    label: str


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Result of scoring one administration.

    Attributes
    ----------
    instrument_id, instrument_version : str
        Which definition produced the result, so a stored result can be traced.
    total : int or float
        The total score: a sum, a mean, or a prorated sum (see ``prorated``).
    raw_total : int or float
        Sum (or mean) of the answered items before prorating or rounding.
    answered : int
        Number of scored items answered.
    missing : tuple of str
        Ids of scored items left unanswered (only possible when the rule allows it).
    prorated : bool
        Whether ``total`` was prorated from fewer than all items.
    band : Band or None
        Severity band of ``total``; ``None`` if the instrument has no bands.
    caseness : bool or None
        Whether ``total`` meets the caseness cut-off; ``None`` without a cut-off.
    subscales : tuple of SubscaleScore
    critical_hits : tuple of CriticalHit
        Critical items whose threshold was met, in form order.
    item_scores : tuple of (str, int or float)
        Effective (post-reverse) weight per answered scored item, in form order.
    """

    instrument_id: str
    instrument_version: str
    total: Number
    raw_total: Number
    answered: int
    missing: tuple[str, ...]
    prorated: bool
    band: Band | None
    caseness: bool | None
    subscales: tuple[SubscaleScore, ...]
    critical_hits: tuple[CriticalHit, ...]
    item_scores: tuple[tuple[str, Number], ...]

    @property
    def has_critical_hits(self) -> bool:
        """Whether any critical item needs clinical attention."""
        return bool(self.critical_hits)


def _round_half_up(value: float) -> int:
    # Python's round() rounds half to even (round(12.5) == 12); scoring manuals mean
    # "round .5 up", so do that explicitly. Scores are never negative here, but floor(x+.5)
    # is also correct for negatives under the "half up" convention.
    return math.floor(value + 0.5)


def _combine(
    weights: list[Number],
    n_items: int,
    method: ScoringMethod,
    policy: MissingPolicy,
) -> tuple[Number, Number, bool]:
    """Combine answered weights into (score, raw score, prorated)."""
    answered = len(weights)
    raw: Number = sum(weights)
    if method == "mean":
        raw = raw / answered
        # The mean of the answered items already is the prorated mean. ``half_up`` rounds
        # every mean (whole or prorated) to a whole number: the CORE-OM's clinical score.
        mean: Number = _round_half_up(raw) if policy.rounding == "half_up" else raw
        return mean, raw, answered < n_items
    if answered == n_items:
        return raw, raw, False
    prorated: Number = raw * n_items / answered
    if policy.rounding == "half_up":
        prorated = _round_half_up(prorated)
    return prorated, raw, True


def _check_missing(
    definition: InstrumentDefinition,
    missing: list[str],
    policy: MissingPolicy,
    scope: str,
) -> None:
    if len(missing) > policy.max_missing:
        if policy.handling == "refuse":
            rule = f"{definition.short_name} is only scored when every item is answered"
        else:
            rule = f"at most {policy.max_missing} may be missing"
        raise ScoringError(
            f"{scope}: {len(missing)} item(s) unanswered ({', '.join(missing)}); {rule}",
            item_id=missing[0],
            reason="too_many_missing",
        )


def score(definition: InstrumentDefinition, answers: Mapping[str, int | None]) -> ScoreResult:
    """Score one administration of an instrument.

    Parameters
    ----------
    definition : InstrumentDefinition
        A definition returned by :func:`~reverie.measures.definitions.load_definition` or
        :func:`~reverie.measures.definitions.load_shipped`.
    answers : Mapping of str to int or None
        Raw response value per item id. An item that is absent or mapped to ``None`` is
        unanswered. Unscored items (such as the PHQ-9 difficulty question) may be answered
        or not; their values are validated but never counted.

    Returns
    -------
    ScoreResult

    Raises
    ------
    ScoringError
        If an item id is unknown, a value is not one of the item's values (booleans and
        floats are rejected: raw values are integers), or more scored items are missing
        than the definition's missing-data rule allows. The error names the item.

    Examples
    --------
    >>> from reverie.measures.definitions import load_shipped
    >>> gad7 = load_shipped()["gad-7"]
    >>> score(gad7, {f"gad7-{n}": 3 for n in range(1, 8)}).total
    21
    >>> try:
    ...     score(gad7, {"gad7-1": 4})
    ... except ScoringError as error:
    ...     print(error.item_id, error.reason)
    gad7-1 invalid_value
    """
    item_index = definition.item_index
    values: dict[str, int] = {}
    for item_id, value in answers.items():
        item = item_index.get(item_id)
        if item is None:
            raise ScoringError(
                f"{definition.id}: unknown item {item_id!r}", item_id=item_id, reason="unknown_item"
            )
        if value is None:
            continue
        # bool is a subclass of int; True must not silently score as 1.
        if type(value) is not int or value not in item.weights:
            allowed = ", ".join(str(v) for v in item.values)
            raise ScoringError(
                f"{definition.id}: item {item_id!r} has value {value!r}; allowed values are "
                f"{allowed}",
                item_id=item_id,
                reason="invalid_value",
            )
        values[item_id] = value

    missing = [item_id for item_id in definition.scored_item_ids if item_id not in values]
    _check_missing(definition, missing, definition.missing, definition.id)

    item_scores = tuple(
        (item_id, item_index[item_id].weights[values[item_id]])
        for item_id in definition.scored_item_ids
        if item_id in values
    )
    total, raw_total, prorated = _combine(
        [weight for _, weight in item_scores],
        len(definition.scored_item_ids),
        definition.method,
        definition.missing,
    )

    subscales = []
    for subscale in definition.subscales:
        weights: list[Number] = []
        sub_missing: list[str] = []
        for member in subscale.members:
            value = values.get(member.item_id)
            if value is None:
                sub_missing.append(member.item_id)
                continue
            table = (
                member.recode if member.recode is not None else item_index[member.item_id].weights
            )
            weights.append(table[value])
        _check_missing(
            definition, sub_missing, subscale.missing, f"{definition.id} subscale {subscale.id!r}"
        )
        sub_score, _, sub_prorated = _combine(
            weights, len(subscale.members), subscale.method, subscale.missing
        )
        subscales.append(
            SubscaleScore(
                id=subscale.id,
                name=subscale.name,
                score=sub_score,
                answered=len(weights),
                missing=tuple(sub_missing),
                prorated=sub_prorated,
            )
        )

    hits = tuple(
        CriticalHit(
            item_id=critical.item_id,
            value=values[critical.item_id],
            threshold=critical.threshold,
            label=critical.label,
        )
        for critical in definition.critical_items
        if critical.item_id in values and critical.is_hit(values[critical.item_id])
    )

    return ScoreResult(
        instrument_id=definition.id,
        instrument_version=definition.version,
        total=total,
        raw_total=raw_total,
        answered=len(item_scores),
        missing=tuple(missing),
        prorated=prorated,
        band=definition.band_for(total),
        caseness=definition.caseness.is_case(total) if definition.caseness else None,
        subscales=tuple(subscales),
        critical_hits=hits,
        item_scores=item_scores,
    )


def stored_total(result: ScoreResult) -> int:
    """``result.total`` as ``Administration.total`` stores it: the same number, as an int.

    The column holds whole numbers, which is every total of an instrument whose
    :attr:`~reverie.measures.definitions.InstrumentDefinition.integer_scores` is true (all
    shipped ones; imports with fractional totals are refused). A fractional total raises
    instead of being truncated, so a stored total can never disagree with the band and
    caseness computed from the real one.

    Raises
    ------
    ValueError
        If the total is not a whole number.

    Examples
    --------
    >>> from reverie.measures.definitions import load_shipped
    >>> phq9 = load_shipped()["phq-9"]
    >>> stored_total(score(phq9, {f"phq9-{n}": 2 for n in range(1, 10)}))
    18
    """
    total = result.total
    if isinstance(total, int):
        return total
    if math.isfinite(total) and float(total).is_integer():
        return int(total)
    raise ValueError(
        f"{result.instrument_id}: total {total!r} is not a whole number; Reverie stores "
        "whole-number totals and does not truncate"
    )


def jacobson_truax_threshold(sd: float, reliability: float, z: float = _Z_95) -> float:
    """Smallest change exceeding measurement error, after Jacobson & Truax (1991).

    ``z * S_diff`` where ``S_diff = sqrt(2 * SE**2)`` and ``SE = sd * sqrt(1 - reliability)``.

    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
    defining meaningful change in psychotherapy research. *Journal of Consulting and
    Clinical Psychology, 59*(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

    Parameters
    ----------
    sd : float
        Standard deviation of the measure (pre-treatment or normative sample). Positive.
    reliability : float
        Reliability coefficient, strictly between 0 and 1.
    z : float, default 1.96
        Critical value; 1.96 gives the conventional 95% criterion.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``sd`` is not positive or ``reliability`` is outside (0, 1).

    Examples
    --------
    >>> round(jacobson_truax_threshold(sd=5.0, reliability=0.8), 3)
    6.198
    """
    if not sd > 0:
        raise ValueError(f"sd must be positive; got {sd!r}")
    if not 0 < reliability < 1:
        raise ValueError(f"reliability must lie strictly between 0 and 1; got {reliability!r}")
    standard_error = sd * math.sqrt(1 - reliability)
    return z * math.sqrt(2 * standard_error**2)
