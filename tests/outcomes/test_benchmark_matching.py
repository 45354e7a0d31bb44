"""Design-matched benchmarks: each published figure beside the practice's figure on the
episodes of the same design, with its CI, n and a verdict.

Expected practice figures are recomputed here with the standard library only (Becker's 1988
d with the intake SD, Wilson's interval), never by calling the code under test.
"""

from __future__ import annotations

import math
import random
import statistics

import pytest
from django.urls import reverse

from reverie.outcomes import dashboard, summary
from reverie.testing import World

Z = 1.959963984540054


def _row(**kw):
    row = {
        "therapist_id": 1,
        "modality_code": 0,
        "ended": 1,
        "dropout": 0,
        "sessions_attended": 10,
        "days_treated": 200,
        "phq9_n": 5,
        "gad7_n": 5,
    }
    row.update(kw)
    return row


def _becker(pre, post):
    """d with the intake SD and Becker's (1988) normal CI, typed in from the formula."""
    n = len(pre)
    d = (statistics.mean(pre) - statistics.mean(post)) / statistics.stdev(pre)
    r = statistics.correlation(pre, post)
    se = math.sqrt(2 * (1 - r) / n + d * d / (2 * n))
    return d, d - Z * se, d + Z * se


def _wilson(x, n):
    centre = x + Z * Z / 2
    half = Z * math.sqrt(x * (n - x) / n + Z * Z / 4)
    return (centre - half) / (n + Z * Z), (centre + half) / (n + Z * Z)


def _board(rows):
    return dashboard.compute(dashboard.frame_from_rows(rows), scope="test")


def _bench(board, benchmark_id):
    return next(r for r in board.benchmark_rows if r.benchmark.id == benchmark_id)


def test_every_benchmark_declares_its_design_and_a_source_address() -> None:
    for b in dashboard.load_benchmarks()["benchmarks"]:
        m = b["match"]
        assert m["design"] in ("pre-post", "pre-followup", "controlled"), b["id"]
        assert (m["design"] == "controlled") == (b["use"] == "context"), b["id"]
        assert m["modalities"] and m["measure"] and m["population"], b["id"]
        # A DOI, or the address of the source (Driessen et al. 2010: no DOI was shown where
        # the figure was read).
        assert b.get("doi") or b.get("url") or b["verified_via"], b["id"]
        assert b["kind"] in ("effect", "rate"), b["id"]
        if b["kind"] == "rate":
            assert 0 < b["value"] < 1
            assert b["rate"] in ("recovery", "reliable_recovery", "reliable_improvement")


def test_long_term_benchmark_uses_only_episodes_of_a_year_and_fifty_sessions() -> None:
    rng = random.Random(7)
    long_rows, short_rows = [], []
    for _ in range(24):
        pre = rng.randint(12, 24)
        long_rows.append(
            _row(
                sessions_attended=rng.randint(50, 160),
                days_treated=rng.randint(365, 900),
                phq9_first=pre,
                phq9_last=max(0, pre - rng.randint(0, 14)),
                gad7_first=10,
                gad7_last=6,
            )
        )
    for _ in range(30):
        # Short psychodynamic work that improved a lot: must not lift the long-term figure.
        short_rows.append(
            _row(
                sessions_attended=12,
                days_treated=120,
                phq9_first=20,
                phq9_last=2,
                gad7_first=10,
                gad7_last=2,
            )
        )
    row = _bench(_board(long_rows + short_rows), "de-maat-2009-ltpp-symptoms")
    pre = [r["phq9_first"] for r in long_rows]
    post = [r["phq9_last"] for r in long_rows]
    d, lo, hi = _becker(pre, post)
    assert row.n == 24
    assert (row.estimate, row.ci_low, row.ci_high) == pytest.approx((d, lo, hi))
    assert "at least 50 sessions attended" in row.matched and "365 days" in row.matched
    want = "inside" if lo <= 1.03 <= hi else ("above" if hi < 1.03 else "below")
    assert row.status == want


def test_rows_with_too_few_matching_episodes_say_so_instead_of_a_number() -> None:
    rows = [_row(phq9_first=18, phq9_last=9, gad7_first=12, gad7_last=6)] * 30
    # Three psychoanalyses only.
    rows += [_row(modality_code=1, phq9_first=18, phq9_last=8, gad7_first=12, gad7_last=6)] * 3
    row = _bench(_board(rows), "de-maat-2013-psychoanalysis-symptoms")
    assert row.status == "too_few" and row.estimate is None and row.practice_figure == ""
    assert row.n == 3 and "at least 10 are needed" in row.verdict


def test_cbt_depression_benchmark_uses_cbt_episodes_that_started_depressed() -> None:
    rng = random.Random(11)
    rows = []
    for _ in range(40):
        pre = rng.randint(5, 25)
        rows.append(
            _row(
                modality_code=2,
                phq9_first=pre,
                phq9_last=max(0, pre - rng.randint(-2, 12)),
                gad7_first=9,
                gad7_last=6,
            )
        )
    rows += [_row(phq9_first=20, phq9_last=0, gad7_first=12, gad7_last=0)] * 15  # not CBT
    row = _bench(_board(rows), "hans-hiller-2013-cbt-depression-routine")
    depressed = [r for r in rows[:40] if r["phq9_first"] >= 10]
    d, lo, hi = _becker([r["phq9_first"] for r in depressed], [r["phq9_last"] for r in depressed])
    assert row.n == len(depressed)
    assert (row.estimate, row.ci_low, row.ci_high) == pytest.approx((d, lo, hi))


def test_nhs_recovery_rate_is_compared_on_short_finished_courses_with_the_nhs_denominator() -> None:
    rng = random.Random(5)
    rows = []
    for _ in range(60):
        rows.append(
            _row(
                sessions_attended=rng.randint(2, 20),
                phq9_first=rng.randint(6, 24),
                phq9_last=rng.randint(0, 20),
                gad7_first=rng.randint(3, 18),
                gad7_last=rng.randint(0, 15),
            )
        )
    # Long therapy and single-session episodes are outside the declared design.
    rows += [
        _row(sessions_attended=80, phq9_first=20, phq9_last=2, gad7_first=12, gad7_last=2)
    ] * 10
    rows += [_row(sessions_attended=1, phq9_first=20, phq9_last=2, gad7_first=12, gad7_last=2)] * 10
    row = _bench(_board(rows), "nhs-tt-2023-24-recovery")
    cases = [r for r in rows[:60] if r["phq9_first"] >= 10 or r["gad7_first"] >= 8]
    recovered = [r for r in cases if r["phq9_last"] < 10 and r["gad7_last"] < 8]
    assert row.n == len(cases)
    assert row.estimate == pytest.approx(len(recovered) / len(cases))
    lo, hi = _wilson(len(recovered), len(cases))
    assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
    assert row.benchmark.figure == "50.1%" and "%" in row.practice_figure


def test_nhs_reliable_improvement_rate_counts_every_paired_short_course() -> None:
    """NHS reliable improvement: a fall of 6+ on the PHQ-9 or 4+ on the GAD-7 (or both) and a
    rise of that size on neither, among every finished course with both questionnaires paired,
    case at the start or not [TT-G]. Recomputed here from the definition."""
    rng = random.Random(9)
    rows = []
    for _ in range(70):
        rows.append(
            _row(
                sessions_attended=rng.randint(2, 20),
                phq9_first=rng.randint(0, 24),
                phq9_last=rng.randint(0, 24),
                gad7_first=rng.randint(0, 18),
                gad7_last=rng.randint(0, 18),
            )
        )
    # Outside the design: long therapy, a single session, and a course without a GAD-7 pair.
    rows += [_row(sessions_attended=60, phq9_first=20, phq9_last=2, gad7_first=12, gad7_last=2)] * 8
    rows += [_row(sessions_attended=1, phq9_first=20, phq9_last=2, gad7_first=12, gad7_last=2)] * 8
    rows += [_row(phq9_first=20, phq9_last=2, gad7_n=1, gad7_first=12)] * 8
    row = _bench(_board(rows), "nhs-digital-2018-19-reliable-improvement")

    def improved(r):
        dp, dg = r["phq9_first"] - r["phq9_last"], r["gad7_first"] - r["gad7_last"]
        return (dp >= 6 or dg >= 4) and not (dp <= -6 or dg <= -4)

    events = sum(improved(r) for r in rows[:70])
    assert row.n == 70
    assert row.estimate == pytest.approx(events / 70)
    assert (row.ci_low, row.ci_high) == pytest.approx(_wilson(events, 70))
    assert row.benchmark.figure == "67.4%"
    assert row.benchmark.url.startswith("https://digital.nhs.uk/")
    if row.status == "above":
        assert "improved reliably less often" in row.verdict


def test_follow_up_benchmark_uses_the_twelve_month_scores() -> None:
    rows = [
        _row(
            modality_code=1,
            sessions_attended=300,
            days_treated=1200,
            phq9_first=16 + i % 6,
            phq9_last=8 + i % 5,
            phq9_fu12=6 + i % 7,
            gad7_first=12,
            gad7_last=6,
        )
        for i in range(25)
    ]
    row = _bench(_board(rows), "de-maat-2013-psychoanalysis-symptoms-followup")
    d, lo, hi = _becker([r["phq9_first"] for r in rows], [r["phq9_fu12"] for r in rows])
    assert (row.estimate, row.ci_low, row.ci_high) == pytest.approx((d, lo, hi))
    assert "12-month follow-up" in row.matched


@pytest.mark.parametrize(
    ("value", "high", "ci", "status"),
    [
        (1.0, None, (0.5, 1.0), "inside"),  # on the edge counts as inside
        (1.01, None, (0.5, 1.0), "above"),
        (0.49, None, (0.5, 1.0), "below"),
        (0.3, 0.6, (0.5, 1.0), "inside"),  # a published range overlapping the CI
        (0.2, 0.4, (0.5, 1.0), "below"),
    ],
)
def test_verdict_places_the_published_figure_against_the_practice_interval(
    value, high, ci, status
) -> None:
    assert dashboard.verdict(value, high, *ci, rate=False)[0] == status


def test_dashboard_page_shows_practice_figures_beside_benchmarks(
    practice_with_outcomes: World, as_user
) -> None:
    summary.refresh(full=True)
    page = as_user("admin").get(reverse("outcomes:dashboard")).content.decode()
    assert "Practice, matching episodes" in page
    assert "Too few matching episodes to compare" in page  # no 50-session therapy in the fixture
    assert "Hans, E., &amp; Hiller" in page and "10.1037/a0031080" in page
    assert "50.1%" in page
