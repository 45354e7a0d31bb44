"""The de-identified summary a practice may publish."""

from __future__ import annotations

from typing import Any

from reverie.outcomes.dashboard.board import compute
from reverie.outcomes.dashboard.frame import MIN_CELL, Frame


def public_summary(frame: Frame) -> dict[str, Any]:
    """The de-identified summary a practice may publish: counts rounded down to tens, and
    every figure whose denominator is under :data:`MIN_CELL` suppressed."""
    board = compute(frame, scope="public")

    def rounded(n: int) -> str:
        return "fewer than 10" if n < MIN_CELL else f"{(n // 10) * 10}+"

    modality = next(s for s in board.splits if s.key == "modality")
    return {
        "episodes_ended": rounded(board.n_ended),
        "paired": rounded(board.n_paired),
        "effect": board.effect,
        "recovery": board.recovery,
        "improvement": board.improvement,
        "deterioration": board.deterioration,
        "mixed": board.mixed,
        "dropout": board.dropout,
        "by_modality": [
            {
                "label": row.label,
                "n": rounded(row.n_ended),
                "effect": row.effect,
                "recovery": row.recovery,
            }
            for row in modality.rows
        ],
        "followup": board.followup[0],
        "followup_groups": board.followup,
        "benchmarks": board.comparable,
        "context": board.context,
        "min_cell": MIN_CELL,
    }
