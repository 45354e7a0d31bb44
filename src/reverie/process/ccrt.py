"""The Core Conflictual Relationship Theme (CCRT): counting, pervasiveness, grouping.

The method is Luborsky's (Luborsky 1977; Luborsky & Crits-Christoph 1998):

* A **relationship episode** (RE) is a narrative the client tells of an interaction with
  another person (or with the self), including the therapist.
* Each RE is formulated as a **wish** (W), a **response of the other** (RO) and a
  **response of the self** (RS). Reverie uses Luborsky's "tailor-made" formulation: the
  therapist writes each component in free text close to the client's words. Similar
  tailor-made formulations are then grouped (this module suggests groups; the therapist
  confirms or corrects them), which is the step Luborsky's judges do when they cluster
  tailor-made categories before counting.
* The **CCRT** of a set of REs is, for each component, the category that occurs in the
  most REs. The **pervasiveness** of a category is the share of the REs in which it
  appears (Luborsky & Crits-Christoph 1998, ch. 2 and 3), so a CCRT wish with
  pervasiveness 0.6 appears in six of ten episodes.
* Responses (RO and RS) are scored **positive** or **negative**, according to whether
  they go with or against the wish (Luborsky & Crits-Christoph 1998). Reverie adds
  **neutral** for responses the therapist cannot call either way; these are counted but
  left out of the positive share, which is positive / (positive + negative) as in the
  CCRT literature. Crits-Christoph & Luborsky (1990) found that over psychotherapy the
  pervasiveness of negative responses falls and that of positive responses rises, which
  is why the share of positive responses is shown over time.

References:

* Luborsky, L. (1977). Measuring a pervasive psychic structure in psychotherapy: The
  core conflictual relationship theme. In N. Freedman & S. Grand (Eds.), *Communicative
  structures and psychic structures* (pp. 367–395). Plenum.
* Luborsky, L., & Crits-Christoph, P. (1998). *Understanding transference: The Core
  Conflictual Relationship Theme method* (2nd ed.). American Psychological Association.
* Crits-Christoph, P., & Luborsky, L. (1990). Changes in CCRT pervasiveness during
  psychotherapy. In L. Luborsky & P. Crits-Christoph, *Understanding transference: The
  CCRT method* (1st ed., pp. 133–146). Basic Books.

The standard CCRT category lists are under copyright and are not shipped; a practice may
import a set it is licensed to use (see :mod:`reverie.process.categories`).

This module has no Django imports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from reverie.lib import dates
from reverie.process.embeddings import Embedder, content_tokens

__all__ = [
    "COMPONENTS",
    "COMPONENT_NAMES",
    "FORMULATION_DISTANCE",
    "VALENCES",
    "Ccrt",
    "ComponentCount",
    "GroupSuggestion",
    "PeriodRow",
    "ScoredEpisode",
    "ccrt",
    "component_counts",
    "normalise_formulation",
    "over_time",
    "period_start",
    "positive_share",
    "suggest_groups",
]

COMPONENTS: tuple[str, ...] = ("wish", "ro", "rs")
COMPONENT_NAMES = {
    "wish": "Wish (W)",
    "ro": "Response of the other (RO)",
    "rs": "Response of the self (RS)",
}
VALENCES: tuple[str, ...] = ("positive", "negative", "neutral")

#: Cosine distance at which formulations are grouped when the embedder is the sentence
#: model. Formulations are short phrases ("to be looked after"), so the cut is stricter
#: than the one used for whole sentences in theme discovery: average similarity of at
#: least 0.55. It is a conservative starting point, not a tuned value (there is no
#: labelled set of formulations to tune on): suggestions err towards small groups
#: because merging two groups is one choice for the therapist, splitting one is many.
FORMULATION_DISTANCE = 0.45


@dataclass(frozen=True)
class ScoredEpisode:
    """One RE as the counting functions see it.

    ``wish``, ``ro`` and ``rs`` are the keys of the confirmed categories (any hashable,
    usually a group id), or ``None`` when the component is not (yet) categorised;
    ``ro_valence`` and ``rs_valence`` are one of :data:`VALENCES` or ``""``.
    """

    id: Hashable
    date: dt.date
    wish: Hashable | None = None
    ro: Hashable | None = None
    rs: Hashable | None = None
    ro_valence: str = ""
    rs_valence: str = ""
    transference: bool = False

    def category(self, component: str) -> Hashable | None:
        if component not in COMPONENTS:
            raise ValueError(f"component must be one of {', '.join(COMPONENTS)}")
        value: Hashable | None = getattr(self, component)
        return value


@dataclass(frozen=True)
class ComponentCount:
    """How often one category occurs, and its pervasiveness (share of all REs)."""

    key: Hashable
    count: int
    pervasiveness: float


def component_counts(episodes: Sequence[ScoredEpisode], component: str) -> list[ComponentCount]:
    """Categories of one component by number of REs, most frequent first.

    Pervasiveness divides by *all* REs in ``episodes``, including those whose component
    is not categorised, because an RE without the category is evidence that the
    category is absent from it.

    >>> day = dt.date(2025, 3, 1)
    >>> eps = [ScoredEpisode(1, day, wish="close"), ScoredEpisode(2, day, wish="close"),
    ...        ScoredEpisode(3, day, wish="control"), ScoredEpisode(4, day)]
    >>> [(c.key, c.count, c.pervasiveness) for c in component_counts(eps, "wish")]
    [('close', 2, 0.5), ('control', 1, 0.25)]
    """
    n = len(episodes)
    counts: Counter[Hashable] = Counter()
    for episode in episodes:
        key = episode.category(component)
        if key is not None:
            counts[key] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [ComponentCount(key, count, count / n) for key, count in ranked]


@dataclass(frozen=True)
class Ccrt:
    """The CCRT of a set of REs: for each component the most frequent categories.

    ``top[component]`` lists every category tied for the highest count (usually one),
    so a tie is shown as a tie instead of being broken arbitrarily.
    """

    episodes: int
    transference: int
    top: dict[str, list[ComponentCount]] = field(default_factory=dict)
    categorised: dict[str, int] = field(default_factory=dict)


def ccrt(episodes: Sequence[ScoredEpisode]) -> Ccrt:
    """The CCRT (most frequent W, RO and RS) of ``episodes``.

    >>> day = dt.date(2025, 3, 1)
    >>> eps = [ScoredEpisode(1, day, "close", "reject", "withdraw"),
    ...        ScoredEpisode(2, day, "close", "reject", "angry", transference=True),
    ...        ScoredEpisode(3, day, "control", "reject", "withdraw")]
    >>> result = ccrt(eps)
    >>> [(c, [t.key for t in result.top[c]]) for c in COMPONENTS]
    [('wish', ['close']), ('ro', ['reject']), ('rs', ['withdraw'])]
    >>> result.transference, round(result.top["ro"][0].pervasiveness, 2)
    (1, 1.0)
    """
    result = Ccrt(episodes=len(episodes), transference=sum(e.transference for e in episodes))
    for component in COMPONENTS:
        counts = component_counts(episodes, component)
        best = counts[0].count if counts else 0
        result.top[component] = [c for c in counts if c.count == best and best > 0]
        result.categorised[component] = sum(c.count for c in counts)
    return result


def positive_share(episodes: Iterable[ScoredEpisode], component: str) -> tuple[float | None, int]:
    """Share of positive responses among those scored positive or negative.

    Returns ``(share, n)`` where ``n`` counts the positive and negative responses;
    ``share`` is ``None`` when ``n`` is 0. Neutral and unscored responses are left out.

    >>> day = dt.date(2025, 3, 1)
    >>> eps = [ScoredEpisode(1, day, ro_valence="positive"),
    ...        ScoredEpisode(2, day, ro_valence="negative"),
    ...        ScoredEpisode(3, day, ro_valence="negative"),
    ...        ScoredEpisode(4, day, ro_valence="neutral")]
    >>> share, n = positive_share(eps, "ro")
    >>> round(share, 3), n
    (0.333, 3)
    """
    if component not in ("ro", "rs"):
        raise ValueError("only responses (ro, rs) have a valence")
    attr = f"{component}_valence"
    positive = negative = 0
    for episode in episodes:
        value = getattr(episode, attr)
        if value == "positive":
            positive += 1
        elif value == "negative":
            negative += 1
    n = positive + negative
    return (positive / n if n else None), n


_UNITS = ("month", "quarter", "year")


def period_start(day: dt.date, unit: str) -> dt.date:
    """The first day of the month, calendar quarter or year that contains ``day``.

    >>> period_start(dt.date(2025, 8, 19), "quarter")
    datetime.date(2025, 7, 1)
    """
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if unit == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unit must be one of {', '.join(_UNITS)}, got {unit!r}")


def _period_label(start: dt.date, unit: str) -> str:
    if unit == "month":
        return dates.format_date(start, "mon")
    if unit == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


@dataclass(frozen=True)
class PeriodRow:
    """Pervasiveness and response valence in one period."""

    start: dt.date
    label: str
    episodes: int
    pervasiveness: dict[str, float | None]
    positive: dict[str, float | None]
    rated: dict[str, int]


def over_time(
    episodes: Sequence[ScoredEpisode],
    keys: Mapping[str, Hashable | None],
    unit: str = "quarter",
) -> list[PeriodRow]:
    """Per period (oldest first): the pervasiveness of the given category of each
    component, and the positive share of RO and RS.

    ``keys`` names, per component, the category to follow (normally the CCRT of the
    whole range, so that one can see whether the core theme loosens its hold). Periods
    without REs are omitted.

    >>> eps = [ScoredEpisode(1, dt.date(2025, 1, 5), "close", ro_valence="negative"),
    ...        ScoredEpisode(2, dt.date(2025, 2, 5), "close", ro_valence="negative"),
    ...        ScoredEpisode(3, dt.date(2025, 4, 5), "close", ro_valence="positive"),
    ...        ScoredEpisode(4, dt.date(2025, 5, 5), "other", ro_valence="positive")]
    >>> rows = over_time(eps, {"wish": "close", "ro": None, "rs": None})
    >>> [(r.label, r.episodes, r.pervasiveness["wish"], r.positive["ro"]) for r in rows]
    [('Q1 2025', 2, 1.0, 0.0), ('Q2 2025', 2, 0.5, 1.0)]
    """
    buckets: dict[dt.date, list[ScoredEpisode]] = {}
    for episode in episodes:
        buckets.setdefault(period_start(episode.date, unit), []).append(episode)
    rows = []
    for start in sorted(buckets):
        group = buckets[start]
        pervasiveness: dict[str, float | None] = {}
        for component in COMPONENTS:
            key = keys.get(component)
            if key is None:
                pervasiveness[component] = None
            else:
                hits = sum(1 for e in group if e.category(component) == key)
                pervasiveness[component] = hits / len(group)
        positive: dict[str, float | None] = {}
        rated: dict[str, int] = {}
        for component in ("ro", "rs"):
            positive[component], rated[component] = positive_share(group, component)
        rows.append(
            PeriodRow(start, _period_label(start, unit), len(group), pervasiveness, positive, rated)
        )
    return rows


# --------------------------------------------------------------------- grouping


_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def normalise_formulation(text: str) -> str:
    """The grouping key used without the sentence model: content words, in order.

    Case, punctuation, spacing and function words are ignored, so "To be loved." and
    "to be LOVED" share a key; anything else (synonyms, word order) does not.

    >>> normalise_formulation("  To be LOVED, and looked after!  ")
    'loved looked'
    >>> normalise_formulation("Why?")
    'why'
    """
    words = content_tokens(text)
    if words:
        return " ".join(words)
    return _EDGE_PUNCT.sub("", _SPACE.sub(" ", text.strip().casefold()))


@dataclass(frozen=True)
class GroupSuggestion:
    """A suggested group: ``members`` are item keys; ``existing`` is the key of the
    existing group they should join, or ``None`` for a new group named ``label``."""

    members: tuple[Any, ...]
    existing: Any
    label: str


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text.strip())


def suggest_groups(
    items: Sequence[tuple[Any, str]],
    existing: Mapping[Any, Sequence[str]] | None = None,
    embedder: Embedder | None = None,
    distance_threshold: float = FORMULATION_DISTANCE,
) -> list[GroupSuggestion]:
    """Suggest groups for ungrouped formulations of one component.

    ``items`` are ``(key, formulation)`` pairs; ``existing`` maps each existing group to
    its texts (its label and the formulations already in it).

    With an ``embedder``, each formulation joins the existing group whose normalised mean
    embedding is most similar, if the cosine distance is at most ``distance_threshold``;
    the others are clustered among themselves by average-linkage agglomerative
    clustering on cosine distance cut at the same threshold (the method of
    :mod:`reverie.process.themes`), and each new group is named by its most central
    formulation (the medoid).

    Without an embedder, formulations with the same :func:`normalise_formulation` key
    are grouped, joining an existing group that has a text with that key; a new group
    is named by its most common wording.

    Every item appears in exactly one suggestion. Singletons are suggested too, so the
    therapist sees every formulation.

    >>> items = [(1, "to be loved"), (2, "To be loved."), (3, "to be in control")]
    >>> [(s.members, s.existing, s.label) for s in suggest_groups(items, {"g": ["in control"]})]
    [((3,), 'g', ''), ((1, 2), None, 'to be loved')]
    """
    existing = dict(existing or {})
    cleaned: list[tuple[Any, str]] = []
    seen: set[Hashable] = set()
    for key, text in items:
        if key in seen:
            raise ValueError(f"duplicate item key {key!r}")
        seen.add(key)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"item {key!r} has no formulation to group")
        cleaned.append((key, _clean(text)))
    if not cleaned:
        return []
    if not 0.0 < distance_threshold < 2.0:
        raise ValueError(f"distance_threshold must be in (0, 2), got {distance_threshold!r}")
    if embedder is None:
        return _suggest_by_key(cleaned, existing)
    return _suggest_by_embedding(cleaned, existing, embedder, distance_threshold)


def _suggest_by_key(
    items: list[tuple[Any, str]], existing: Mapping[Any, Sequence[str]]
) -> list[GroupSuggestion]:
    owner: dict[str, Hashable] = {}
    for group_key, texts in existing.items():
        for text in texts:
            if text and text.strip():
                owner.setdefault(normalise_formulation(text), group_key)
    joins: dict[Hashable, list[Hashable]] = {}
    fresh: dict[str, list[tuple[Hashable, str]]] = {}
    for key, text in items:
        norm = normalise_formulation(text)
        if norm in owner:
            joins.setdefault(owner[norm], []).append(key)
        else:
            fresh.setdefault(norm, []).append((key, text))
    out = [GroupSuggestion(tuple(members), group, "") for group, members in joins.items()]
    for members in fresh.values():
        wordings = Counter(text for _, text in members)
        # Most common wording; among equals the first written, so the result is stable.
        order = {text: i for i, (_, text) in reversed(list(enumerate(members)))}
        label = min(wordings, key=lambda t: (-wordings[t], order[t]))
        out.append(GroupSuggestion(tuple(k for k, _ in members), None, label))
    return out


def _suggest_by_embedding(
    items: list[tuple[Any, str]],
    existing: Mapping[Any, Sequence[str]],
    embedder: Embedder,
    threshold: float,
) -> list[GroupSuggestion]:
    texts: list[str] = []
    index: dict[str, int] = {}

    def row(text: str) -> int:
        if text not in index:
            index[text] = len(texts)
            texts.append(text)
        return index[text]

    item_rows = [row(text) for _, text in items]
    group_rows = {g: [row(_clean(t)) for t in ts if t and t.strip()] for g, ts in existing.items()}
    vectors = np.asarray(embedder.embed(texts), dtype=np.float64)
    if vectors.shape[0] != len(texts) or vectors.ndim != 2:
        raise ValueError("the embedder returned a matrix of the wrong shape")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0.0, 1.0, norms)

    centroids: list[tuple[Hashable, np.ndarray]] = []
    for group_key, rows in group_rows.items():
        if not rows:
            continue
        mean = vectors[rows].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0.0:
            centroids.append((group_key, mean / norm))

    joins: dict[Hashable, list[Hashable]] = {}
    rest: list[int] = []
    for position, r in enumerate(item_rows):
        best_key: Hashable | None = None
        best_distance = threshold
        for group_key, centroid in centroids:
            distance = 1.0 - float(vectors[r] @ centroid)
            if distance <= best_distance:
                best_key, best_distance = group_key, distance
        if best_key is None:
            rest.append(position)
        else:
            joins.setdefault(best_key, []).append(items[position][0])

    out = [GroupSuggestion(tuple(members), group, "") for group, members in joins.items()]
    if len(rest) == 1:
        key, text = items[rest[0]]
        out.append(GroupSuggestion((key,), None, text))
    elif rest:
        x = vectors[[item_rows[p] for p in rest]]
        sims = np.clip(x @ x.T, -1.0, 1.0)
        upper = np.triu_indices(len(rest), k=1)
        condensed = np.clip(1.0 - sims[upper], 0.0, 2.0)
        assignment = fcluster(
            linkage(condensed, method="average"), t=threshold, criterion="distance"
        )
        clusters: dict[int, list[int]] = {}
        for local, cluster_id in enumerate(assignment):
            clusters.setdefault(int(cluster_id), []).append(local)
        # Groups in the order their first member was written.
        for members in sorted(clusters.values(), key=lambda m: m[0]):
            sub = sims[np.ix_(members, members)]
            medoid = members[int(np.argmax(sub.sum(axis=1)))]
            out.append(
                GroupSuggestion(
                    tuple(items[rest[m]][0] for m in members), None, items[rest[medoid]][1]
                )
            )
    return out
