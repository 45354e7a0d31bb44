"""Jacobson-Truax categories per measure among the paired episodes, with the intake sums
that fix the reference sample (the whole practice, even on one therapist's page)."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import Count, F, Q, Sum
from numpy.typing import NDArray

from reverie.measures.registry import definition
from reverie.outcomes import change, evidence, significance
from reverie.outcomes.dashboard.episodes import _derive, _Derived
from reverie.outcomes.dashboard.frame import Frame
from reverie.outcomes.dashboard.results import JTRow, Rate, _rates
from reverie.outcomes.models import EpisodeOutcome

#: Measures classified by Jacobson & Truax, with the summary columns holding them.
JT_MEASURES: tuple[tuple[str, str], ...] = (("phq-9", "phq9"), ("gad-7", "gad7"))


def frame_intake_sums(frame: Frame) -> dict[str, significance.IntakeSums]:
    """Intake scores of the frame's paired episodes, per measure (the dysfunctional sample of
    :mod:`.significance`)."""
    return _intake_sums(_derive(frame))


def _intake_sums(dv: _Derived) -> dict[str, significance.IntakeSums]:
    return {
        "phq-9": significance.IntakeSums.of(dv.pre[dv.paired]),
        "gad-7": significance.IntakeSums.of(dv.gad_pre[dv.paired_gad]),
    }


def practice_intake_sums(practice_id: int) -> dict[str, significance.IntakeSums]:
    """The same sums for a whole practice in one aggregate query (used where the frame in
    hand is one therapist's, or there is none: the trajectory page). The filters are the
    paired definitions of :func:`_derive`; a test checks both give the same sums."""
    course = Q(status="ended", sessions_attended__gte=2)
    spec: dict[str, Any] = {}
    for _code, key in JT_MEASURES:
        col = key
        paired = course & Q(
            **{f"{col}_n__gte": 2, f"{col}_first__isnull": False, f"{col}_last__isnull": False}
        )
        spec[f"jt_{key}_count"] = Count("pk", filter=paired)
        spec[f"jt_{key}_sum"] = Sum(f"{col}_first", filter=paired)
        spec[f"jt_{key}_squares"] = Sum(F(f"{col}_first") * F(f"{col}_first"), filter=paired)
    row = EpisodeOutcome.objects.filter(practice_id=practice_id).aggregate(**spec)
    return {
        code: significance.IntakeSums(
            int(row[f"jt_{col}_count"] or 0),
            float(row[f"jt_{col}_sum"] or 0),
            float(row[f"jt_{col}_squares"] or 0),
        )
        for code, col in JT_MEASURES
    }


def _jacobson_truax(dv: _Derived, intakes: dict[str, significance.IntakeSums]) -> tuple[JTRow, ...]:
    zero = np.zeros(dv.paired.size, dtype=np.int64)
    rows = []
    for code, pre, post, eligible in (
        ("phq-9", dv.pre, dv.post, dv.paired),
        ("gad-7", dv.gad_pre, dv.gad_post, dv.paired_gad),
    ):
        d = definition(code)
        sums = intakes[code]
        ref = significance.reference(d, sums)
        n = int(eligible.sum())
        if ref is None:
            rows.append(
                JTRow(
                    code,
                    d.short_name,
                    None,
                    significance.unavailable_reason(d, sums),
                    n,
                    None,
                    None,
                    None,
                    None,
                )
            )
            continue
        codes = np.full(dv.paired.size, 99, dtype=np.int8)
        if n:
            codes[eligible] = ref.classify(pre[eligible], post[eligible])

        def rate(
            cat: change.JTCategory,
            codes: NDArray[np.int8] = codes,
            eligible: NDArray[np.bool_] = eligible,
        ) -> Rate:
            return _rates(evidence.grouped_rate(codes == cat, eligible, zero, 1))[0]

        rows.append(
            JTRow(
                code,
                d.short_name,
                ref,
                None,
                n,
                rate(change.JTCategory.RECOVERED),
                rate(change.JTCategory.IMPROVED),
                rate(change.JTCategory.UNCHANGED),
                rate(change.JTCategory.DETERIORATED),
            )
        )
    return tuple(rows)
