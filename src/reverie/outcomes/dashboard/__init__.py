"""The practice evidence dashboard, computed with numpy from the per-episode summary table.

:func:`load_frame` reads the summary rows of one practice (optionally one therapist) in a
single query into integer numpy columns; :func:`compute` turns them into every figure the
dashboard, the practice PDF and the public page show. Nothing here loops over episodes in
Python. Definitions (docs/outcomes.md has the full list):

* **ended**: the episode's status is ended.
* **finished course**: ended with at least two attended sessions (NHS Digital's "finished a
  course of treatment": two or more attended treatment appointments).
* **paired (PHQ-9)**: a finished course with at least two in-treatment PHQ-9 scores; the
  pre-post effect size, response and remission use these.
* **paired (PHQ-9 and GAD-7)**: also two GAD-7 scores; recovery, reliable improvement and
  reliable deterioration use the NHS Talking Therapies rules in :mod:`.change` on these;
  *mixed* (reliably better on one measure, reliably worse on the other) is shown beside them
  as a category of its own, not counted as deterioration.
* **dropout**: ended with the end reason "dropout", among ended episodes.
* Cells with fewer than :data:`~.evidence.MIN_CELL` (10) episodes in their denominator are
  suppressed: the figure is not shown.
"""

from reverie.outcomes.dashboard.benchmarks import (
    benchmark_row,
    benchmarks_for,
    load_benchmarks,
    verdict,
)
from reverie.outcomes.dashboard.board import (
    LENGTH_EDGES,
    LENGTH_LABELS,
    compute,
    intake_band_labels,
)
from reverie.outcomes.dashboard.episodes import _derive, _Derived
from reverie.outcomes.dashboard.followup import (
    AFTERCARE_GROUPS,
    FOLLOWUP_ANSWER_DAYS,
    FOLLOWUPS,
    _aftercare,
    _followup,
    followup_due_days,
)
from reverie.outcomes.dashboard.frame import (
    MIN_CELL,
    MODALITY_CODES,
    MODALITY_LABELS,
    Frame,
    _select_sql,
    frame_from_rows,
    load_frame,
)
from reverie.outcomes.dashboard.jacobson_truax import (
    JT_MEASURES,
    frame_intake_sums,
    practice_intake_sums,
)
from reverie.outcomes.dashboard.public import public_summary
from reverie.outcomes.dashboard.results import (
    AftercareCell,
    Benchmark,
    BenchmarkRow,
    Change,
    Dashboard,
    Effect,
    FollowupCell,
    FollowupGroup,
    JTRow,
    ModalityDifference,
    Rate,
    Split,
    SplitRow,
)

__all__ = [
    "AFTERCARE_GROUPS",
    "FOLLOWUPS",
    "FOLLOWUP_ANSWER_DAYS",
    "JT_MEASURES",
    "LENGTH_EDGES",
    "LENGTH_LABELS",
    "MIN_CELL",
    "MODALITY_CODES",
    "MODALITY_LABELS",
    "AftercareCell",
    "Benchmark",
    "BenchmarkRow",
    "Change",
    "Dashboard",
    "Effect",
    "FollowupCell",
    "FollowupGroup",
    "Frame",
    "JTRow",
    "ModalityDifference",
    "Rate",
    "Split",
    "SplitRow",
    "_Derived",
    "_aftercare",
    "_derive",
    "_followup",
    "_select_sql",
    "benchmark_row",
    "benchmarks_for",
    "compute",
    "followup_due_days",
    "frame_from_rows",
    "frame_intake_sums",
    "intake_band_labels",
    "load_benchmarks",
    "load_frame",
    "practice_intake_sums",
    "public_summary",
    "verdict",
]
