"""Jacobson-Truax clinical significance as the practice shows it: which cut-off, from which
norms, and each episode's category (recovered / improved / unchanged / deteriorated).

The arithmetic is in :mod:`reverie.outcomes.change` (``cutoff_a`` / ``cutoff_c``,
``classify_jacobson_truax``); this module decides which figures go into it, so that the
client's trajectory page and the practice dashboard classify an episode the same way.

The figures (Jacobson & Truax, 1991):

* **reliability** r_xx of the measure: from the instrument file (PHQ-9 0.89, Kroenke et al.
  2001; GAD-7 0.92, Spitzer et al. 2006).
* **dysfunctional population** (M_1, s_1): the intake scores of the practice's own paired
  episodes (ended, at least two sessions attended, at least two in-treatment scores on the
  measure). Jacobson & Truax used the pre-treatment sample for s_1; it is also the SD in the
  standard error of the difference, so RC = (post - pre) / (s_1 * sqrt(2 (1 - r_xx))).
* **functional population** (M_0, s_0): the published general-population norms recorded in
  the instrument file (``reliable_change.norms.non_clinical``): PHQ-9 Kocalevent, Hinz &
  Brähler (2013), GAD-7 Löwe et al. (2008).
* **cut-off**: *c* = (s_0 M_1 + s_1 M_0) / (s_0 + s_1) when both populations are known (what
  Jacobson & Truax recommend when the two distributions overlap, as they do for these
  questionnaires); *a* = M_1 - 2 s_1 (towards health) when the instrument has no functional
  norms (an imported questionnaire).
* A client who started on the healthy side of the cut-off can be at most "improved"
  (``require_dysfunctional_start=True``): being "recovered" from a state one was never in
  would mislead.

With fewer than :data:`MIN_INTAKES` paired intake scores the practice's SD is too unstable to
carry the reliable change index, so nothing is classified and the pages say why.

References
----------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to defining
meaningful change in psychotherapy research. *Journal of Consulting and Clinical Psychology,
59*\\(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reverie.measures.definitions import InstrumentDefinition
from reverie.outcomes import change

__all__ = [
    "CATEGORY_LABELS",
    "MIN_INTAKES",
    "IntakeSums",
    "JTReference",
    "category_label",
    "reference",
]

#: Fewest paired intake scores from which the practice's intake SD is used (the dashboard's
#: small-cell rule).
MIN_INTAKES: int = 10

#: Plain labels of :class:`~reverie.outcomes.change.JTCategory` codes.
CATEGORY_LABELS: dict[int, str] = {
    int(change.JTCategory.RECOVERED): "recovered",
    int(change.JTCategory.IMPROVED): "improved",
    int(change.JTCategory.UNCHANGED): "unchanged",
    int(change.JTCategory.DETERIORATED): "deteriorated",
}


def category_label(code: int) -> str:
    """The plain label of a category code.

    >>> category_label(2), category_label(-1)
    ('recovered', 'deteriorated')
    """
    return CATEGORY_LABELS[int(code)]


@dataclass(frozen=True)
class IntakeSums:
    """Count, sum and sum of squares of intake scores: enough for their mean and SD, and
    what one SQL aggregate returns.

    >>> s = IntakeSums.of([10, 12, 14])
    >>> s.n, s.mean, s.sd
    (3, 12.0, 2.0)
    """

    n: int
    total: float
    squares: float

    @classmethod
    def of(cls, scores: ArrayLike) -> IntakeSums:
        x = np.asarray(scores, dtype=np.float64)
        x = x[np.isfinite(x)]
        return cls(int(x.size), float(x.sum()), float((x * x).sum()))

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def sd(self) -> float:
        """Sample SD (n - 1 denominator)."""
        if self.n < 2:
            return math.nan
        var = (self.squares - self.total * self.total / self.n) / (self.n - 1)
        return math.sqrt(max(var, 0.0))


@dataclass(frozen=True)
class JTReference:
    """Everything one Jacobson-Truax classification on one measure depends on."""

    code: str
    short_name: str
    higher_is_better: bool
    reliability: float
    reliability_citation: str
    intake: IntakeSums
    functional_mean: float | None
    functional_sd: float | None
    functional_citation: str | None
    functional_doi: str | None
    kind: str
    cutoff: float
    rc_points: float

    @property
    def key(self) -> str:
        """Changes whenever a classification could (for page caches)."""
        return f"{self.code}:{self.kind}:{self.cutoff:.4f}:{self.rc_points:.4f}"

    @property
    def short_citation(self) -> str:
        """First author and year of the functional norms, e.g. "Kocalevent et al. (2013)"."""
        text = self.functional_citation or ""
        surname = text.split(" ", 1)[0].rstrip(",")
        year = next((tok[:4] for tok in text.replace(";", " ").split() if tok[:4].isdigit()), "")
        return f"{surname} et al. ({year})" if surname and year else text

    def classify(self, pre: ArrayLike, post: ArrayLike) -> NDArray[np.int8]:
        """Category codes (:class:`~reverie.outcomes.change.JTCategory`) for score pairs."""
        return change.classify_jacobson_truax(
            pre,
            post,
            sd_pre=self.intake.sd,
            reliability=self.reliability,
            cutoff=self.cutoff,
            higher_is_better=self.higher_is_better,
            require_dysfunctional_start=True,
        )

    @property
    def cutoff_text(self) -> str:
        """The cut-off and where its figures come from, in one sentence."""
        practice = (
            f"this practice's intake scores (mean {self.intake.mean:.1f}, SD "
            f"{self.intake.sd:.1f}, n = {self.intake.n})"
        )
        if self.kind == "c":
            return (
                f"Cut-off c = {self.cutoff:.1f}, the point between the general population "
                f"(mean {self.functional_mean:.2f}, SD {self.functional_sd:.2f}; "
                f"{self.short_citation}) and {practice}."
            )
        return (
            f"Cut-off a = {self.cutoff:.1f}, two SDs healthier than {practice}; this "
            "questionnaire has no general-population norms on file."
        )

    @property
    def rc_text(self) -> str:
        return (
            f"A change of more than {self.rc_points:.1f} points is reliable (1.96 × the "
            f"standard error of the difference, from the intake SD and reliability "
            f"{self.reliability:.2f})."
        )


def unavailable_reason(d: InstrumentDefinition, intake: IntakeSums) -> str | None:
    """Why no classification can be made, or None when one can."""
    norms = d.reliable_change.norms if d.reliable_change else None
    if norms is None or norms.reliability is None:
        return f"The {d.short_name} file records no reliability, which the method needs."
    if intake.n < MIN_INTAKES or not intake.sd > 0:
        return (
            f"Needs the intake scores of at least {MIN_INTAKES} finished courses with "
            f"{d.short_name} scores at the start and end; the practice has {intake.n}."
        )
    return None


def reference(d: InstrumentDefinition, intake: IntakeSums) -> JTReference | None:
    """The classification reference for one measure, or None (see
    :func:`unavailable_reason`).

    Parameters
    ----------
    d : InstrumentDefinition
        The measure; its ``reliable_change.norms`` supply the reliability and, when present,
        the functional (general-population) norms.
    intake : IntakeSums
        The practice's paired intake scores on the measure (the dysfunctional sample).

    Examples
    --------
    With the PHQ-9's recorded norms (r = 0.89; general population 2.914, SD 3.505) and a
    practice whose 40 intakes average 15 with SD 5, cut-off c lies at
    (3.505 · 15 + 5 · 2.914) / 8.505 = 7.89, and a change of more than
    1.96 · 5 · √(2 · 0.11) = 4.60 points is reliable:

    >>> from reverie.measures.registry import definition
    >>> n, m, sd = 40, 15.0, 5.0
    >>> sums = IntakeSums(n, n * m, sd * sd * (n - 1) + n * m * m)
    >>> ref = reference(definition("phq-9"), sums)
    >>> ref.kind, round(ref.cutoff, 2), round(ref.rc_points, 2)
    ('c', 7.89, 4.6)
    >>> [category_label(c) for c in ref.classify([18, 18, 18, 18, 5], [7, 12, 16, 23, 0])]
    ['recovered', 'improved', 'unchanged', 'deteriorated', 'improved']
    """
    if unavailable_reason(d, intake) is not None:
        return None
    rc = d.reliable_change
    if rc is None or rc.norms.reliability is None:  # pragma: no cover (checked above)
        return None
    r = float(rc.norms.reliability.value)
    hib = not d.higher_is_worse
    m1, s1 = intake.mean, intake.sd
    functional = rc.norms.non_clinical
    if functional is not None and functional.sd:
        kind = "c"
        cut = change.cutoff_c(functional.value, functional.sd, m1, s1)
    else:
        kind = "a"
        cut = change.cutoff_a(m1, s1, higher_is_better=hib)
    return JTReference(
        code=d.id,
        short_name=d.short_name,
        higher_is_better=hib,
        reliability=r,
        reliability_citation=rc.norms.reliability.source.citation,
        intake=intake,
        functional_mean=functional.value if functional is not None else None,
        functional_sd=functional.sd if functional is not None else None,
        functional_citation=functional.source.citation if functional is not None else None,
        functional_doi=functional.source.doi if functional is not None else None,
        kind=kind,
        cutoff=float(cut),
        rc_points=change.reliable_change_threshold(s1, r),
    )
