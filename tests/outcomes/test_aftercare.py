"""After therapy ends: both questionnaires, a carried-forward bound for non-returners and the
difference between modalities.

Expected values come from scipy's Welch t-test (an independent implementation) and from plain
Python loops over the synthetic rows.
"""

from __future__ import annotations

import datetime
import math
import random
import statistics

import pytest
from django.utils import timezone
from scipy import stats

from outcomes.conftest import ended_episode
from reverie.care.models import Episode
from reverie.outcomes import aftercare, dashboard, summary
from reverie.testing import World


def test_welch_difference_matches_scipy() -> None:
    rng = random.Random(3)
    a = [rng.gauss(-2, 3) for _ in range(23)]
    b = [rng.gauss(0, 5) for _ in range(14)]
    got = aftercare.welch_difference(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval()
    assert got.difference == pytest.approx(statistics.mean(a) - statistics.mean(b))
    assert (got.ci_low, got.ci_high) == pytest.approx((ci.low, ci.high))
    assert got.df == pytest.approx(ref.df)


def test_welch_difference_needs_two_values_in_each_group() -> None:
    got = aftercare.welch_difference([1.0], [1.0, 2.0])
    assert math.isnan(got.difference) and (got.n_a, got.n_b) == (1, 2)


def test_carried_forward_change_counts_due_non_returners_as_unchanged() -> None:
    end = [10, 12, 8, 9, 14, 11]
    fu = [6, float("nan"), 2, float("nan"), 20, 1]
    due = [True, True, True, True, True, False]
    got = aftercare.carried_forward_change(end, fu, due)
    changes = [6 - 10, 0, 2 - 8, 0, 20 - 14]
    assert got.n == 5 and got.mean == pytest.approx(statistics.mean(changes))
    t = stats.t.ppf(0.975, 4)
    half = t * statistics.stdev(changes) / math.sqrt(5)
    assert (got.ci_low, got.ci_high) == pytest.approx((got.mean - half, got.mean + half))


def test_minimum_detectable_difference_is_the_normal_power_formula() -> None:
    z = statistics.NormalDist()
    assert aftercare.minimum_detectable_difference(1.7) == pytest.approx(
        (z.inv_cdf(0.975) + z.inv_cdf(0.8)) * 1.7
    )
    assert math.isnan(aftercare.minimum_detectable_difference(0.0))


def _row(**kw):
    row = {
        "therapist_id": 1,
        "modality_code": 0,
        "ended": 1,
        "dropout": 0,
        "sessions_attended": 40,
        "days_treated": 300,
        "phq9_n": 5,
        "gad7_n": 5,
        "days_since_end": 500,
    }
    row.update(kw)
    return row


def _practice(seed: int):
    rng = random.Random(seed)
    rows = []
    for i in range(60):
        modality = 0 if i < 36 else 2
        end, gend = rng.randint(3, 14), rng.randint(2, 12)
        answered = rng.random() < 0.6
        rows.append(
            _row(
                modality_code=modality,
                phq9_first=end + rng.randint(3, 10),
                phq9_last=end,
                gad7_first=gend + rng.randint(2, 8),
                gad7_last=gend,
                phq9_fu6=max(0, end - rng.randint(-3, 6)) if answered else None,
                gad7_fu6=max(0, gend - rng.randint(-3, 5)) if answered else None,
                phq9_fu12=max(0, end - rng.randint(-3, 7)) if answered else None,
                gad7_fu12=max(0, gend - rng.randint(-3, 5)) if answered else None,
                # A fifth ended only four months ago: not due at 6 or 12 months.
                days_since_end=120 if i % 5 == 0 else 500,
            )
        )
    return rows


def test_aftercare_panel_matches_independent_sums_for_both_questionnaires() -> None:
    rows = _practice(9)
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    for measure, col in (("PHQ-9", "phq9"), ("GAD-7", "gad7")):
        cell = next(
            c
            for c in board.aftercare
            if c.measure == measure and c.group == "All modalities" and c.months == 6
        )
        answered = [r for r in rows if r[f"{col}_fu6"] is not None]
        due = [
            r
            for r in rows
            if r["days_since_end"] >= dashboard.followup_due_days(6) or r[f"{col}_fu6"] is not None
        ]
        observed = [r[f"{col}_fu6"] - r[f"{col}_last"] for r in answered]
        carried = [
            (r[f"{col}_fu6"] - r[f"{col}_last"]) if r[f"{col}_fu6"] is not None else 0 for r in due
        ]
        assert cell.observed.n == len(observed)
        assert cell.observed.mean == pytest.approx(statistics.mean(observed))
        assert cell.carried.n == len(due)
        assert cell.carried.mean == pytest.approx(statistics.mean(carried))
        assert cell.answered_of_due == sum(r[f"{col}_fu6"] is not None for r in due)


def test_modality_difference_at_six_and_twelve_months_with_welch_ci_and_words() -> None:
    rows = _practice(4)
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    diff = next(d for d in board.modality_differences if d.measure == "PHQ-9" and d.months == 12)
    dyn = [
        r["phq9_fu12"] - r["phq9_last"]
        for r in rows
        if r["modality_code"] == 0 and r["phq9_fu12"] is not None
    ]
    cbt = [
        r["phq9_fu12"] - r["phq9_last"]
        for r in rows
        if r["modality_code"] == 2 and r["phq9_fu12"] is not None
    ]
    ref = stats.ttest_ind(dyn, cbt, equal_var=False).confidence_interval()
    assert diff.observed.difference == pytest.approx(statistics.mean(dyn) - statistics.mean(cbt))
    assert (diff.observed.ci_low, diff.observed.ci_high) == pytest.approx((ref.low, ref.high))
    assert "not randomised" in diff.words
    assert "points" in diff.words


def test_too_few_answers_say_so_instead_of_a_difference() -> None:
    rows = _practice(5)
    for r in rows:
        if r["modality_code"] == 2:
            r["phq9_fu6"] = r["gad7_fu6"] = None
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    diff = next(d for d in board.modality_differences if d.measure == "PHQ-9" and d.months == 6)
    assert diff.too_few and "too few people answered" in diff.words and "CBT 0" in diff.words


def test_days_since_end_is_read_from_the_database(world: World) -> None:
    episode = ended_episode(
        world.practice, world.therapist, [18, 12, 9], [12, 9, 6], name="Long ago"
    )
    Episode.objects.filter(pk=episode.pk).update(
        end_date=timezone.localdate() - datetime.timedelta(days=400)
    )
    summary.refresh(full=True)
    frame = dashboard.load_frame(world.practice.pk)
    assert 399 <= int(frame["days_since_end"].max()) <= 401
