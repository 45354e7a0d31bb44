"""The practice evidence dashboard: definitions, suppression, splits and benchmarks."""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.conftest import ended_episode
from reverie.outcomes import dashboard, effects, summary
from reverie.testing import World


def _row(**kw: int | None) -> dict[str, int | None]:
    base: dict[str, int | None] = {
        "therapist_id": 1,
        "modality_code": 0,
        "ended": 1,
        "dropout": 0,
        "sessions_attended": 10,
        "days_treated": 200,
        "phq9_n": 5,
        "gad7_n": 5,
    }
    base.update(kw)
    return base


# Hand-classified pairs (PHQ-9 pre, post, GAD-7 pre, post) under the NHS Talking Therapies
# rules: caseness PHQ-9 >= 10 or GAD-7 >= 8; reliable change 6 / 4 points, equality counts.
HIDDEN_CASES = [
    # (phq pre, phq post, gad pre, gad post, recovered, improved, deteriorated, case at start,
    # mixed)
    (15, 9, 12, 7, True, True, False, True, False),  # below both cut-offs, reliable on both
    (10, 9, 7, 7, True, False, False, True, False),  # recovery without reliable improvement
    (15, 9, 12, 8, False, True, False, True, False),  # GAD-7 8 is still a case
    (12, 18, 15, 9, False, False, False, True, True),  # better on GAD-7, worse on PHQ-9: mixed
    (9, 3, 7, 3, False, True, False, False, False),  # not a case at intake: no recovery denominator
    (20, 15, 15, 12, False, False, False, True, False),  # 5 and 3 points: not reliable
    (20, 14, 15, 12, False, True, False, True, False),  # exactly 6 on PHQ-9 is reliable
    (8, 8, 4, 8, False, False, True, False, False),  # exactly 4 worse on GAD-7 is reliable
]


def test_hidden_cases_are_classified_by_the_published_rules() -> None:
    rows = [
        _row(phq9_first=a, phq9_last=b, gad7_first=c, gad7_last=d)
        for a, b, c, d, *_ in HIDDEN_CASES
    ]
    # Pad with ten unchanged cases so no cell is suppressed by the small-cell rule.
    rows += [_row(phq9_first=12, phq9_last=12, gad7_first=9, gad7_last=9)] * 10
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    expected_cases = sum(case[7] for case in HIDDEN_CASES) + 10
    assert board.n_paired_both == 18
    assert board.recovery.n == expected_cases
    assert board.recovery.events == sum(case[4] for case in HIDDEN_CASES)
    assert board.improvement.events == sum(case[5] for case in HIDDEN_CASES)
    assert board.deterioration.events == sum(case[6] for case in HIDDEN_CASES)
    assert board.mixed.events == sum(case[8] for case in HIDDEN_CASES)
    assert board.mixed.n == 18
    assert board.improvement.n == 18


def test_recovery_is_suppressed_below_ten_cases() -> None:
    rows = [_row(phq9_first=15, phq9_last=5, gad7_first=10, gad7_last=3)] * 9
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    assert board.recovery.suppressed and board.recovery.rate is None and board.recovery.events == 0
    assert board.effect.suppressed and board.effect.d is None


def test_unfinished_or_unpaired_episodes_do_not_count_towards_change() -> None:
    good = [
        _row(phq9_first=18 - i % 3, phq9_last=8 + i % 4, gad7_first=12, gad7_last=5)
        for i in range(12)
    ]
    open_ = [_row(ended=0, phq9_first=20, phq9_last=20, gad7_first=15, gad7_last=15)] * 5
    one_session = [
        _row(sessions_attended=1, phq9_first=20, phq9_last=27, gad7_first=15, gad7_last=20)
    ] * 5
    one_score = [_row(phq9_n=1, phq9_first=20, phq9_last=20, gad7_first=15, gad7_last=15)] * 5
    board = dashboard.compute(
        dashboard.frame_from_rows(good + open_ + one_session + one_score), scope="t"
    )
    assert (board.n_episodes, board.n_ended, board.n_course, board.n_paired) == (27, 22, 17, 12)
    ref = effects.prepost_effect_size(
        [r["phq9_first"] for r in good], [r["phq9_last"] for r in good], hedges=True
    )
    assert board.effect.d == pytest.approx(ref.estimate) and board.effect.hedges
    assert board.deterioration.events == 0


def test_dropout_rate_counts_ended_episodes_only() -> None:
    rows = [_row(dropout=1, phq9_n=1)] * 3 + [_row()] * 9 + [_row(ended=0)] * 4
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="t")
    assert (board.dropout.events, board.dropout.n) == (3, 12)


def test_severity_split_shows_points_not_an_inflated_effect_size() -> None:
    rows = [
        _row(phq9_first=16 + i % 3, phq9_last=9 + i % 5, gad7_first=10, gad7_last=6)
        for i in range(20)
    ]
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="t")
    severity = next(s for s in board.splits if s.key == "severity")
    row = next(r for r in severity.rows if r.label == "Moderately severe")
    assert row.effect is None and row.change.mean is not None
    diffs = [(9 + i % 5) - (16 + i % 3) for i in range(20) if 15 <= 16 + i % 3 <= 19]
    assert row.change.mean == pytest.approx(np.mean(diffs))


def test_followup_change_is_measured_from_the_last_session() -> None:
    rows = [
        _row(phq9_first=18, phq9_last=9, phq9_fu3=9 - 7 * (i % 2), gad7_first=12, gad7_last=6)
        for i in range(12)
    ]
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="t")
    cell = next(c for c in board.followup[0].cells if c.months == 3)
    assert cell.n == 12 and cell.mean_change == pytest.approx(-3.5)
    assert (cell.improving, cell.stable, cell.relapsed) == (0.5, 0.5, 0.0)
    assert next(c for c in board.followup[0].cells if c.months == 1).suppressed


def test_dashboard_reads_the_summary_table(practice_with_outcomes: World) -> None:
    w = practice_with_outcomes
    summary.refresh(full=True)
    frame = dashboard.load_frame(w.practice.pk)
    board = dashboard.compute(
        frame, scope="p", therapist_labels={w.therapist.pk: "Theo", w.colleague.pk: "Cora"}
    )
    assert board.n_episodes == 38 and board.n_ended == 36
    modality = next(s for s in board.splits if s.key == "modality")
    assert [r.label for r in modality.rows] == [
        "Psychodynamic psychotherapy",
        "Cognitive behavioural therapy",
    ]
    therapist = next(s for s in board.splits if s.key == "therapist")
    assert {r.label: r.n_ended for r in therapist.rows} == {"Cora": 12, "Theo": 24}
    assert board.dropout.events == 3
    own = dashboard.load_frame(w.practice.pk, therapist_id=w.therapist.pk)
    assert own.size == 25
    other = dashboard.load_frame(w.other_practice.pk)
    assert other.size == 1


def test_every_benchmark_is_data_with_citation_design_figure_and_source() -> None:
    data = dashboard.load_benchmarks()
    assert data["benchmarks"]
    for b in data["benchmarks"]:
        assert b["use"] in ("comparable", "context"), b["id"]
        assert b["citation"] and b["design"] and b["verified_via"], b["id"]
        assert isinstance(b["value"], float)
        # Controlled comparisons are context only, never placed beside a pre-post figure.
        assert (b["compares_with"] == "controlled") == (b["use"] == "context"), b["id"]
    assert all("0.97" not in b.get("statistic", "") for b in data["benchmarks"])
    assert data["not_included"]


def test_benchmarks_follow_the_modalities_present() -> None:
    cbt_only = dashboard.frame_from_rows([_row(modality_code=2)])
    comparable, context = dashboard.benchmarks_for(cbt_only)
    # Only the CBT benchmark and the all-modality NHS rates, no psychodynamic one.
    assert [b.id for b in comparable] == [
        "hans-hiller-2013-cbt-depression-routine",
        "nhs-tt-2023-24-recovery",
        "nhs-tt-2025-04-reliable-recovery",
        "nhs-digital-2018-19-reliable-improvement",
    ]
    assert [b.id for b in context] == ["plessen-2023-psychotherapy-vs-control"]


def test_public_summary_rounds_counts_and_suppresses_small_cells() -> None:
    rows = [
        _row(phq9_first=16 + i % 4, phq9_last=8 + i % 3, gad7_first=12, gad7_last=5)
        for i in range(23)
    ]
    rows += [_row(modality_code=2, phq9_first=18, phq9_last=8, gad7_first=12, gad7_last=5)] * 4
    data = dashboard.public_summary(dashboard.frame_from_rows(rows))
    assert data["episodes_ended"] == "20+"
    by = {r["label"]: r for r in data["by_modality"]}
    assert by["Cognitive behavioural therapy"]["n"] == "fewer than 10"
    assert by["Cognitive behavioural therapy"]["effect"].suppressed
    assert not data["effect"].suppressed


def test_packed_select_returns_every_column_exactly(world: World) -> None:
    """load_frame packs each row into 64-bit words in SQL; unpacking must give back the stored
    values, with -1 for missing scores and counts capped only above what matters."""
    from reverie.outcomes.models import EpisodeOutcome

    ended_episode(
        world.practice,
        world.therapist,
        [27, 0, 21],
        [21, 0, 0],
        modality="other",
        end_reason="dropout",
        followups={"followup_12m": (27, 21)},
        name="Edge",
    )
    summary.refresh(full=True)
    EpisodeOutcome.objects.filter(episode=world.episode).update(sessions_attended=70000, phq9_n=300)
    frame = dashboard.load_frame(world.practice.pk)
    rows = list(EpisodeOutcome.objects.filter(practice=world.practice))
    assert frame.size == len(rows) == 3
    by_first = {int(frame["phq9_first"][i]): i for i in range(frame.size)}
    edge = by_first[27]
    assert frame["modality_code"][edge] == 3 and frame["dropout"][edge] == 1
    assert frame["phq9_fu12"][edge] == 27 and frame["phq9_fu1"][edge] == -1
    assert frame["gad7_last"][edge] == 0 and frame["gad7_first"][edge] == 21
    assert frame["days_treated"][edge] == 21
    capped = by_first[17]
    assert frame["sessions_attended"][capped] == 65535 and frame["phq9_n"][capped] == 255
    assert frame["days_treated"][capped] == -1 and frame["ended"][capped] == 0
    assert sorted(frame["therapist_id"].tolist()) == sorted(r.therapist_id for r in rows)
