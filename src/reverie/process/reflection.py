"""The seven-feature session reflection: item wording and the technique profile.

After a session the therapist says, on a 0–6 scale, how much each of seven features of
psychodynamic technique was part of it. The seven features are those Blagys &
Hilsenroth (2000) identified by reviewing the comparative process research, as
summarised by Shedler (2010):

* Blagys, M. D., & Hilsenroth, M. J. (2000). Distinctive features of short-term
  psychodynamic-interpersonal psychotherapy: A review of the comparative psychotherapy
  process literature. *Clinical Psychology: Science and Practice*, 7(2), 167–188.
* Shedler, J. (2010). The efficacy of psychodynamic psychotherapy. *American
  Psychologist*, 65(2), 98–109.

The item wording below is Reverie's own, written for a quick self-report. It is **not**
the Comparative Psychotherapy Process Scale (CPPS; Hilsenroth et al. 2005) or any other
published or licensed instrument, and its numbers are a therapist's reflection, not a
validated measurement: they are meant for noticing one's own habits over time.

This module has no Django imports; views and tests use it directly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reverie.lib import dates

__all__ = [
    "FEATURES",
    "FEATURE_KEYS",
    "SCALE_MAX",
    "SCALE_MIN",
    "Feature",
    "ProfileRow",
    "mean_profile",
    "monthly_profile",
    "validate_scores",
]

SCALE_MIN = 0
SCALE_MAX = 6

#: Anchors shown under the scale. Reverie's own words.
SCALE_ANCHORS = {0: "not at all", 3: "somewhat", 6: "a great deal"}


@dataclass(frozen=True)
class Feature:
    """One of the seven features: a stable key, a short name and the question asked."""

    key: str
    name: str
    question: str


FEATURES: tuple[Feature, ...] = (
    Feature(
        "affect",
        "Feelings",
        "How much did the session attend to the client's feelings and their expression, "
        "including feelings that were hard to put into words?",
    ),
    Feature(
        "avoidance",
        "Avoidance",
        "How much did we notice and explore the ways the client moved away from painful "
        "thoughts or feelings, such as changing the subject or going vague?",
    ),
    Feature(
        "patterns",
        "Recurring patterns",
        "How much did we look at themes and patterns that keep coming back in the client's "
        "life, feelings or relationships?",
    ),
    Feature(
        "past",
        "The past",
        "How much did we link what is happening now with earlier life, such as childhood "
        "and family?",
    ),
    Feature(
        "relationships",
        "Relationships",
        "How much did the session focus on the client's relationships with other people?",
    ),
    Feature(
        "therapy_relationship",
        "Our relationship",
        "How much did we talk about what was happening between the client and me, here in "
        "the room?",
    ),
    Feature(
        "fantasy",
        "Inner life",
        "How much did we explore dreams, daydreams, wishes, fantasies or free association?",
    ),
)

FEATURE_KEYS: tuple[str, ...] = tuple(f.key for f in FEATURES)


def validate_scores(scores: Mapping[str, object]) -> dict[str, int]:
    """Check a full set of seven ratings and return them as integers.

    Every feature must be rated (an unrated feature would silently lower a mean), each
    with a whole number from 0 to 6; unknown keys are refused.

    >>> validate_scores(dict.fromkeys(FEATURE_KEYS, 3))["past"]
    3
    >>> validate_scores({**dict.fromkeys(FEATURE_KEYS, 3), "affect": 9})
    Traceback (most recent call last):
    ...
    ValueError: affect must be from 0 to 6, got 9
    """
    unknown = sorted(set(scores) - set(FEATURE_KEYS))
    missing = sorted(set(FEATURE_KEYS) - set(scores))
    if unknown or missing:
        parts = []
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        if missing:
            parts.append("missing " + ", ".join(missing))
        raise ValueError("unknown or missing features: " + "; ".join(parts))
    clean: dict[str, int] = {}
    for key in FEATURE_KEYS:
        value = scores[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key} must be a whole number from {SCALE_MIN} to {SCALE_MAX}")
        if not SCALE_MIN <= value <= SCALE_MAX:
            raise ValueError(f"{key} must be from {SCALE_MIN} to {SCALE_MAX}, got {value}")
        clean[key] = value
    return clean


def mean_profile(rows: Iterable[Mapping[str, int]]) -> dict[str, float] | None:
    """The mean rating of each feature over ``rows``; ``None`` when there are none.

    >>> mean_profile([dict.fromkeys(FEATURE_KEYS, 2), dict.fromkeys(FEATURE_KEYS, 5)])["affect"]
    3.5
    >>> mean_profile([]) is None
    True
    """
    totals = dict.fromkeys(FEATURE_KEYS, 0)
    n = 0
    for row in rows:
        n += 1
        for key in FEATURE_KEYS:
            totals[key] += int(row[key])
    if n == 0:
        return None
    return {key: totals[key] / n for key in FEATURE_KEYS}


@dataclass(frozen=True)
class ProfileRow:
    """The mean profile of one calendar month."""

    month: dt.date  # the first day of the month
    sessions: int
    means: dict[str, float]

    @property
    def label(self) -> str:
        return dates.format_date(self.month, "mon")


def monthly_profile(rows: Sequence[tuple[dt.date, Mapping[str, int]]]) -> list[ProfileRow]:
    """Mean ratings per calendar month, oldest first, for months with a reflection.

    Months without any reflection are left out rather than shown as zero: no reflection
    says nothing about the technique used.

    >>> jan, feb = dt.date(2025, 1, 7), dt.date(2025, 2, 3)
    >>> rows = [(jan, dict.fromkeys(FEATURE_KEYS, 1)), (jan, dict.fromkeys(FEATURE_KEYS, 3)),
    ...         (feb, dict.fromkeys(FEATURE_KEYS, 6))]
    >>> [(r.label, r.sessions, r.means["fantasy"]) for r in monthly_profile(rows)]
    [('Jan 2025', 2, 2.0), ('Feb 2025', 1, 6.0)]
    """
    by_month: dict[dt.date, list[Mapping[str, int]]] = defaultdict(list)
    for day, scores in rows:
        by_month[day.replace(day=1)].append(scores)
    out = []
    for month in sorted(by_month):
        means = mean_profile(by_month[month])
        if means is not None:
            out.append(ProfileRow(month, len(by_month[month]), means))
    return out
