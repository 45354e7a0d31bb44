"""The per-episode summary rows of one practice as integer numpy columns.

:func:`load_frame` reads them in one packed query; :func:`frame_from_rows` builds a frame from
plain dictionaries for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection
from numpy.typing import NDArray

from reverie.care.models import Modality
from reverie.outcomes import evidence
from reverie.outcomes.models import SCORE_COLUMNS, EpisodeOutcome

MIN_CELL = evidence.MIN_CELL
MODALITY_CODES: tuple[str, ...] = (
    Modality.PSYCHODYNAMIC,
    Modality.PSYCHOANALYSIS,
    Modality.CBT,
    Modality.OTHER,
)
MODALITY_LABELS: tuple[str, ...] = tuple(str(Modality(m).label) for m in MODALITY_CODES)

_COLUMNS: tuple[str, ...] = (
    "therapist_id",
    "modality_code",
    "ended",
    "dropout",
    "sessions_attended",
    "days_treated",
    *SCORE_COLUMNS,
    "days_since_end",
)
_MISSING = -1

# The SELECT packs each row's small integers into two 64-bit words (plus the therapist id), so
# the database driver creates 3 Python objects per episode instead of 16: at 100,000 episodes
# the fetch, not the arithmetic, is what costs. Each entry: (column, SQL, bits, offset); a
# nullable score is stored as score + 1 with 0 meaning missing, counts are capped (only
# "at least two" matters for them), and numpy unpacks the words with shifts and masks.
_SCORE = "CASE WHEN {c} IS NULL THEN 0 ELSE {c} + 1 END"
_CAP = "CASE WHEN {c} IS NULL THEN 0 WHEN {c} > {cap} THEN {cap} ELSE {c} END"
_WORD_A: tuple[tuple[str, str, int, int], ...] = (
    ("modality_code", "CASE modality {cases} ELSE 3 END", 2, 0),
    ("ended", "CASE WHEN status = 'ended' THEN 1 ELSE 0 END", 1, 0),
    ("dropout", "CASE WHEN end_reason = 'dropout' THEN 1 ELSE 0 END", 1, 0),
    *(
        (c, _SCORE.format(c=c), 5, 1)
        for c in (
            "phq9_first",
            "phq9_last",
            "phq9_fu1",
            "phq9_fu3",
            "phq9_fu6",
            "phq9_fu12",
            "gad7_first",
            "gad7_last",
        )
    ),
)
_WORD_B: tuple[tuple[str, str, int, int], ...] = (
    ("sessions_attended", _CAP.format(c="sessions_attended", cap=65535), 16, 0),
    (
        "days_treated",
        "CASE WHEN days_treated IS NULL THEN 0 WHEN days_treated > 65534 THEN 65535 "
        "ELSE days_treated + 1 END",
        16,
        1,
    ),
    ("phq9_n", _CAP.format(c="phq9_n", cap=255), 8, 0),
    ("gad7_n", _CAP.format(c="gad7_n", cap=255), 8, 0),
)


# GAD-7 follow-ups and the days since the episode ended (for "was the follow-up due?") in a
# third word. Days since ending needs date arithmetic, which the two databases spell
# differently; {days} is filled in per vendor.
_WORD_C: tuple[tuple[str, str, int, int], ...] = (
    *((c, _SCORE.format(c=c), 5, 1) for c in ("gad7_fu1", "gad7_fu3", "gad7_fu6", "gad7_fu12")),
    (
        "days_since_end",
        "CASE WHEN end_date IS NULL THEN 0 WHEN {days} > 65534 THEN 65535 "
        "WHEN {days} < 0 THEN 1 ELSE {days} + 1 END",
        16,
        1,
    ),
)
_DAYS_SINCE_END = {
    "postgresql": "(CURRENT_DATE - end_date)",
    "sqlite": "CAST(julianday('now') - julianday(end_date) AS INTEGER)",
}


def _pack(word: tuple[tuple[str, str, int, int], ...], cases: str, days: str = "") -> str:
    terms, shift = [], 0
    for _, expr, bits, _offset in word:
        terms.append(f"CAST({expr.format(cases=cases, days=days)} AS BIGINT) * {2**shift}")
        shift += bits
    return " + ".join(terms)


def _select_sql(therapist: bool) -> str:
    table = EpisodeOutcome._meta.db_table
    cases = " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(MODALITY_CODES[:3]))
    where = "practice_id = %s" + (" AND therapist_id = %s" if therapist else "")
    days = _DAYS_SINCE_END.get(connection.vendor, _DAYS_SINCE_END["sqlite"])
    return (
        f"SELECT therapist_id, {_pack(_WORD_A, cases)}, {_pack(_WORD_B, cases)}, "  # noqa: S608
        f"{_pack(_WORD_C, cases, days)} "
        f"FROM {table} WHERE {where}"  # (constants only; values are parameters)
    )


def _unpack(
    word: NDArray[np.int64], spec: tuple[tuple[str, str, int, int], ...]
) -> dict[str, NDArray[np.int64]]:
    out, shift = {}, 0
    for name, _, bits, offset in spec:
        value = (word >> shift) & ((1 << bits) - 1)
        out[name] = value - offset if offset else value
        shift += bits
    return out


@dataclass(frozen=True)
class Frame:
    """One integer column per summary field; -1 marks a missing score."""

    columns: dict[str, NDArray[np.int64]]

    def __getitem__(self, name: str) -> NDArray[np.int64]:
        return self.columns[name]

    @property
    def size(self) -> int:
        return int(self.columns["therapist_id"].size)

    def score(self, name: str) -> NDArray[np.float64]:
        """A score column as floats with NaN for missing."""
        col = self.columns[name].astype(np.float64)
        col[self.columns[name] == _MISSING] = np.nan
        return col


def load_frame(practice_id: int, therapist_id: int | None = None) -> Frame:
    """The summary rows of a practice (or one therapist's episodes) as numpy columns."""
    params: list[int] = [practice_id] + ([therapist_id] if therapist_id is not None else [])
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(therapist_id is not None), params)
        rows = cursor.fetchall()
    flat = np.fromiter(
        (v for row in rows for v in row), dtype=np.int64, count=len(rows) * 4
    ).reshape(len(rows), 4)
    columns = {"therapist_id": flat[:, 0].copy()}
    columns.update(_unpack(flat[:, 1], _WORD_A))
    columns.update(_unpack(flat[:, 2], _WORD_B))
    columns.update(_unpack(flat[:, 3], _WORD_C))
    return Frame(columns)


def frame_from_rows(rows: list[dict[str, Any]]) -> Frame:
    """A frame from plain dictionaries (tests and benchmarks build synthetic practices)."""
    cols: dict[str, list[int]] = {c: [] for c in _COLUMNS}
    for row in rows:
        for c in _COLUMNS:
            v = row.get(c)
            cols[c].append(_MISSING if v is None else int(v))
    return Frame({c: np.asarray(v, dtype=np.int64) for c, v in cols.items()})
