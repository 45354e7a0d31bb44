"""Jacobson-Truax clinical significance as shown on the client's page and the dashboard.

Expected values are recomputed here with the standard library only (``statistics``, ``math``)
from the formulas of Jacobson & Truax (1991) and the published norms recorded in the instrument
files, never by calling the code under test.
"""

from __future__ import annotations

import math
import random
import statistics

import pytest
from django.urls import reverse

from outcomes.conftest import ended_episode
from reverie.measures.registry import definition
from reverie.outcomes import change, dashboard, significance, summary
from reverie.testing import World

# -------------------------------------------------------------------- independent reference


def _reference_category(pre, post, *, m0, s0, m1, s1, r):
    """Jacobson & Truax (1991) for a symptom scale, typed in again: cut-off c, RC with the
    pre-treatment SD, recovered only from the dysfunctional side of c."""
    c = (s0 * m1 + s1 * m0) / (s0 + s1)
    s_diff = math.sqrt(2 * (s1 * math.sqrt(1 - r)) ** 2)
    rc = (post - pre) / s_diff
    if rc < -1.96:
        return "recovered" if post < c and pre >= c else "improved"
    if rc > 1.96:
        return "deteriorated"
    return "unchanged"


# -------------------------------------------------------------------- pooled norms


def test_pooled_mean_and_sd_equal_those_of_the_concatenated_raw_scores() -> None:
    rng = random.Random(18)
    groups = [[rng.randint(0, 27) for _ in range(n)] for n in (37, 52, 11)]
    m, sd, n = change.pooled_mean_sd(
        [len(g) for g in groups],
        [statistics.mean(g) for g in groups],
        [statistics.stdev(g) for g in groups],
    )
    everyone = [x for g in groups for x in g]
    assert n == 100
    assert m == pytest.approx(statistics.mean(everyone), abs=1e-12)
    assert sd == pytest.approx(statistics.stdev(everyone), abs=1e-12)


@pytest.mark.parametrize(
    ("code", "n", "women", "by_sex"),
    [
        # Kocalevent, Hinz & Brähler (2013) abstract: n = 5,018, 53.6 % women,
        # women 3.1 (3.5), men 2.7 (3.5).
        ("phq-9", 5018, 0.536, ((3.1, 3.5), (2.7, 3.5))),
        # Löwe et al. (2008) abstract: n = 5,030, 53.6 % women, women 3.2 (3.5), men 2.7 (3.2).
        ("gad-7", 5030, 0.536, ((3.2, 3.5), (2.7, 3.2))),
    ],
)
def test_recorded_general_population_norms_follow_from_the_published_figures_by_sex(
    code, n, women, by_sex
) -> None:
    n_women = round(n * women)
    sizes = (n_women, n - n_women)
    # Sums and sums of squares, group by group (the decomposition, not the Cochrane form).
    total = sum(k * m for k, (m, _) in zip(sizes, by_sex, strict=True))
    squares = sum(s * s * (k - 1) + k * m * m for k, (m, s) in zip(sizes, by_sex, strict=True))
    mean = total / n
    sd = math.sqrt((squares - total * total / n) / (n - 1))
    norms = definition(code).reliable_change.norms.non_clinical
    assert norms.value == round(mean, 3)
    assert norms.sd == round(sd, 3)
    assert norms.source.doi


def test_pooled_mean_sd_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="equal length"):
        change.pooled_mean_sd([1, 2], [1.0], [1.0])
    with pytest.raises(ValueError, match="at least 1"):
        change.pooled_mean_sd([0, 5], [1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="two people"):
        change.pooled_mean_sd([1], [1.0], [0.0])


# -------------------------------------------------------------------- reference and categories


def _practice_intakes(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(8, 26) for _ in range(n)]


def test_cutoff_c_and_reliable_change_match_an_independent_calculation() -> None:
    intakes = _practice_intakes(1, 60)
    ref = significance.reference(definition("phq-9"), significance.IntakeSums.of(intakes))
    assert ref is not None and ref.kind == "c"
    m1, s1 = statistics.mean(intakes), statistics.stdev(intakes)
    m0, s0 = 2.914, 3.505  # recorded PHQ-9 norms (checked above against the abstract)
    assert ref.cutoff == pytest.approx((s0 * m1 + s1 * m0) / (s0 + s1), abs=1e-9)
    assert ref.rc_points == pytest.approx(1.96 * math.sqrt(2) * s1 * math.sqrt(1 - 0.89))
    assert ref.reliability == 0.89
    assert "Kocalevent" in ref.cutoff_text and "n = 60" in ref.cutoff_text


@pytest.mark.parametrize(("code", "r", "m0", "s0"), [("phq-9", 0.89, 2.914, 3.505)])
def test_every_category_matches_the_independent_classification(code, r, m0, s0) -> None:
    intakes = _practice_intakes(2, 80)
    ref = significance.reference(definition(code), significance.IntakeSums.of(intakes))
    m1, s1 = statistics.mean(intakes), statistics.stdev(intakes)
    pairs = [(pre, post) for pre in range(28) for post in range(28)]
    got = ref.classify([p for p, _ in pairs], [q for _, q in pairs])
    for (pre, post), code_ in zip(pairs, got, strict=True):
        want = _reference_category(pre, post, m0=m0, s0=s0, m1=m1, s1=s1, r=r)
        assert significance.category_label(code_) == want, (pre, post)


def test_no_classification_below_ten_intakes_and_the_reason_says_so() -> None:
    d = definition("gad-7")
    few = significance.IntakeSums.of([12, 14, 16])
    assert significance.reference(d, few) is None
    assert "at least 10" in significance.unavailable_reason(d, few)
    assert "has 3" in significance.unavailable_reason(d, few)


def _row(pre, post, gpre, gpost, **kw):
    row = {
        "therapist_id": 1,
        "modality_code": 0,
        "ended": 1,
        "dropout": 0,
        "sessions_attended": 8,
        "days_treated": 120,
        "phq9_n": 4,
        "gad7_n": 4,
        "phq9_first": pre,
        "phq9_last": post,
        "gad7_first": gpre,
        "gad7_last": gpost,
    }
    row.update(kw)
    return row


def test_dashboard_rates_count_the_independent_categories_among_paired_courses() -> None:
    rng = random.Random(3)
    rows = []
    for _ in range(120):
        pre, gpre = rng.randint(5, 27), rng.randint(3, 21)
        rows.append(_row(pre, min(27, max(0, pre - rng.randint(-6, 14))), gpre, rng.randint(0, 21)))
    # Not paired: one session only, or still open; they count nowhere.
    rows.append(_row(20, 2, 15, 1, sessions_attended=1))
    rows.append(_row(20, 2, 15, 1, ended=0))
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    phq = next(j for j in board.jacobson_truax if j.code == "phq-9")
    gad = next(j for j in board.jacobson_truax if j.code == "gad-7")
    assert phq.n == gad.n == 120
    for row_, col, r, m0, s0 in (
        (phq, "phq9", 0.89, 2.914, 3.505),
        (gad, "gad7", 0.92, 2.968, 3.373),
    ):
        pre = [x[f"{col}_first"] for x in rows[:120]]
        post = [x[f"{col}_last"] for x in rows[:120]]
        m1, s1 = statistics.mean(pre), statistics.stdev(pre)
        want = [
            _reference_category(a, b, m0=m0, s0=s0, m1=m1, s1=s1, r=r)
            for a, b in zip(pre, post, strict=True)
        ]
        for label in ("recovered", "improved", "unchanged", "deteriorated"):
            rate = getattr(row_, label)
            assert (rate.events, rate.n) == (want.count(label), 120), (col, label)
        assert row_.reference.intake.n == 120


def test_too_few_courses_show_the_reason_instead_of_rates() -> None:
    rows = [_row(18, 8, 14, 6) for _ in range(4)]
    board = dashboard.compute(dashboard.frame_from_rows(rows), scope="test")
    for j in board.jacobson_truax:
        assert j.reference is None and j.recovered is None
        assert "the practice has 4" in j.reason


# -------------------------------------------------------------------- pages (both databases)


@pytest.mark.django_db
def test_practice_sums_from_sql_equal_those_from_the_frame(practice_with_outcomes: World) -> None:
    summary.refresh(full=True)
    pid = practice_with_outcomes.practice.pk
    from_sql = dashboard.practice_intake_sums(pid)
    from_frame = dashboard.frame_intake_sums(dashboard.load_frame(pid))
    assert from_sql == from_frame
    assert from_sql["phq-9"].n == 36


def test_client_page_and_dashboard_show_the_category_cut_off_and_source(
    practice_with_outcomes: World, as_user
) -> None:
    world = practice_with_outcomes
    summary.refresh(full=True)
    episode = ended_episode(
        world.practice, world.therapist, [18, 14, 9, 4], [14, 10, 6, 3], name="Shown"
    )
    summary.refresh(full=True)
    http = as_user("therapist")
    page = http.get(reverse("outcomes:trajectory", args=[episode.client_id])).content.decode()
    intakes = dashboard.practice_intake_sums(world.practice.pk)["phq-9"]
    ref = significance.reference(definition("phq-9"), intakes)
    want = _reference_category(18, 4, m0=2.914, s0=3.505, m1=intakes.mean, s1=intakes.sd, r=0.89)
    assert "Clinical significance" in page
    assert f"<strong>{want.capitalize()}</strong>" in page
    assert f"Cut-off c = {ref.cutoff:.1f}" in page
    assert "Kocalevent R-D, Hinz A, Br" in page and "10.1016/j.genhosppsych.2013.04.006" in page
    board = as_user("admin").get(reverse("outcomes:dashboard")).content.decode()
    assert "Clinically significant change (Jacobson and Truax)" in board
    assert f"Cut-off c = {ref.cutoff:.1f}" in board and "Löwe B" in board


def test_client_page_says_why_when_the_practice_has_too_few_courses(world: World, as_user) -> None:
    episode = ended_episode(world.practice, world.therapist, [18, 9], [14, 6], name="Early")
    summary.refresh(full=True)
    page = as_user("therapist").get(reverse("outcomes:trajectory", args=[episode.client_id]))
    text = page.content.decode()
    assert "Jacobson and Truax categories are not shown yet" in text
    assert "the practice has 1." in text
