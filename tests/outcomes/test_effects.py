"""Tests for reverie.outcomes.effects.

Published anchors: Lakens (2013) movie example (d_av = 1.13, g_av = 1.08, d_z = 1.50,
r = .726), the MOTE documentation's d_rm example (0.43), and Newcombe (1998) Table I Wilson
intervals. Everything else is compared with ``reference/reference_effects.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from reverie.outcomes import effects

REFERENCE = json.loads((Path(__file__).parent / "reference" / "effects_expected.json").read_text())
MOVIE_1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
MOVIE_2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]


def test_lakens_2013_movie_example_reproduces_published_descriptives():
    s = effects.summarise_pre_post(MOVIE_1, MOVIE_2)
    assert (s.mean_pre, s.mean_post) == (8.7, 7.7)
    assert round(s.sd_pre, 2) == 0.82
    assert round(s.sd_post, 2) == 0.95
    assert round(s.r, 3) == 0.726


def test_lakens_2013_movie_example_reproduces_published_d_av_g_av_and_d_z():
    s = effects.summarise_pre_post(MOVIE_1, MOVIE_2)
    d_av = effects.cohens_d_av(s.mean_pre, s.mean_post, s.sd_pre, s.sd_post)
    d_z = effects.cohens_d_z(s.mean_pre, s.mean_post, s.sd_pre, s.sd_post, s.r)
    assert round(d_av, 2) == 1.13
    assert round(d_z, 2) == 1.50
    # Lakens's g_av applies J with df = 2(n - 1) = 18.
    assert round(d_av * effects.hedges_correction(18), 2) == 1.08


def test_d_rm_reproduces_the_mote_documentation_worked_example():
    assert round(effects.cohens_d_rm(5.57, 4.43, 1.99, 2.88, 0.68), 2) == 0.43


def test_d_rm_equals_d_av_when_the_sds_are_equal():
    # With SD_pre == SD_post the sqrt(2(1 - r)) factor exactly undoes the correlation.
    assert effects.cohens_d_rm(10, 7, 3, 3, 0.6) == pytest.approx(effects.cohens_d_av(10, 7, 3, 3))


@pytest.mark.parametrize("name", sorted(REFERENCE["effects"]))
def test_effect_sizes_and_cis_match_the_independent_pure_python_reference(name):
    case = REFERENCE["effects"][name]
    pre, post = case["input"]["pre"], case["input"]["post"]
    hib = case["input"]["higher_is_better"]
    exp = case["expected"]

    d_pre = effects.prepost_effect_size(pre, post, "d_pre", higher_is_better=hib)
    assert d_pre.estimate == pytest.approx(exp["d_pre"], rel=1e-12)
    assert [d_pre.ci_low, d_pre.ci_high] == pytest.approx(exp["d_pre_ci"], rel=1e-9)

    g_pre = effects.prepost_effect_size(pre, post, "d_pre", higher_is_better=hib, hedges=True)
    assert g_pre.estimate == pytest.approx(exp["g_pre"], rel=1e-12)
    assert [g_pre.ci_low, g_pre.ci_high] == pytest.approx(exp["g_pre_ci"], rel=1e-9)

    d_z = effects.prepost_effect_size(pre, post, "d_z", higher_is_better=hib)
    assert d_z.estimate == pytest.approx(exp["d_z"], rel=1e-12)
    assert [d_z.ci_low, d_z.ci_high] == pytest.approx(exp["d_z_ci"], rel=1e-9)

    s = effects.summarise_pre_post(pre, post)
    assert s.r == pytest.approx(exp["r"], rel=1e-12)
    args = (s.mean_pre, s.mean_post, s.sd_pre, s.sd_post)
    assert effects.cohens_d_av(*args, higher_is_better=hib) == pytest.approx(exp["d_av"])
    assert effects.cohens_d_rm(*args, s.r, higher_is_better=hib) == pytest.approx(exp["d_rm"])
    assert effects.cohens_d_pre(s.mean_pre, s.mean_post, s.sd_pre, higher_is_better=hib) == (
        pytest.approx(exp["d_pre"])
    )


def test_the_report_default_is_d_with_pre_treatment_sd_and_becker_ci():
    assert effects.DEFAULT_REPORT_EFFECT_SIZE == "d_pre"
    res = effects.prepost_effect_size([18, 14, 22, 11, 16], [9, 12, 10, 6, 15])
    assert res.kind == "d_pre"
    assert res.ci_method == "becker1988"
    r = effects.summarise_pre_post([18, 14, 22, 11, 16], [9, 12, 10, 6, 15]).r
    assert res.se == pytest.approx(math.sqrt(effects.becker_variance(res.estimate, 5, r)))


def test_hedges_correction_for_pre_post_d_uses_n_minus_one_degrees_of_freedom():
    pre, post = [18, 14, 22, 11, 16, 19], [9, 12, 10, 6, 15, 8]
    d = effects.prepost_effect_size(pre, post).estimate
    g = effects.prepost_effect_size(pre, post, hedges=True).estimate
    assert g == pytest.approx(d * (1 - 3 / (4 * 5 - 1)))


def test_effect_sizes_are_positive_for_improvement_whichever_way_the_scale_points():
    sym = effects.prepost_effect_size(
        [20, 18, 15, 22], [12, 10, 11, 15], "d_av", ci="bootstrap", seed=3, n_boot=200
    )
    wel = effects.prepost_effect_size(
        [-20, -18, -15, -22],
        [-12, -10, -11, -15],
        "d_av",
        higher_is_better=True,
        ci="bootstrap",
        seed=3,
        n_boot=200,
    )
    assert sym.estimate > 0
    assert wel.estimate == pytest.approx(sym.estimate)
    assert (wel.ci_low, wel.ci_high) == pytest.approx((sym.ci_low, sym.ci_high))


@pytest.mark.parametrize("kind", ["d_av", "d_rm"])
def test_asking_for_an_analytic_ci_for_d_av_or_d_rm_raises_and_points_to_the_bootstrap(kind):
    with pytest.raises(ValueError, match="bootstrap"):
        effects.prepost_effect_size([1, 2, 3, 5], [0, 2, 1, 3], kind)


def test_bootstrap_ci_is_reproducible_with_the_same_seed():
    pre, post = [20, 18, 15, 22, 17, 19, 25, 16], [12, 10, 11, 15, 9, 14, 17, 13]
    a = effects.bootstrap_ci(pre, post, "d_rm", seed=42)
    b = effects.bootstrap_ci(pre, post, "d_rm", seed=42)
    c = effects.bootstrap_ci(pre, post, "d_rm", seed=43)
    assert a == b
    assert a != c


def test_bootstrap_ci_agrees_with_the_becker_ci_in_a_large_normal_sample():
    rng = np.random.default_rng(11)
    pre = rng.normal(16, 5, 3000)
    post = 0.5 * pre + rng.normal(3, 4, 3000)
    analytic = effects.prepost_effect_size(pre, post)
    boot = effects.prepost_effect_size(pre, post, ci="bootstrap", seed=1, n_boot=1000)
    assert boot.ci_low < analytic.estimate < boot.ci_high
    width_a = analytic.ci_high - analytic.ci_low
    width_b = boot.ci_high - boot.ci_low
    assert width_b == pytest.approx(width_a, rel=0.15)


def test_bootstrap_in_small_blocks_uses_every_replicate_and_agrees_with_one_block(monkeypatch):
    rng = np.random.default_rng(2)
    pre = rng.normal(16, 5, 60)
    post = pre - rng.normal(5, 4, 60)
    whole = effects.bootstrap_ci(pre, post, seed=5, n_boot=4000)
    monkeypatch.setattr(effects, "_BOOT_BLOCK_ELEMENTS", 60 * 7)  # 7 replicates per block
    blocked = effects.bootstrap_ci(pre, post, seed=5, n_boot=4000)
    assert blocked[2] == 4000
    # Different random streams, same sampling distribution: limits agree to MC error.
    assert blocked[0] == pytest.approx(whole[0], abs=0.05)
    assert blocked[1] == pytest.approx(whole[1], abs=0.05)


def test_bootstrap_rejects_too_few_replicates():
    with pytest.raises(ValueError, match="n_boot"):
        effects.bootstrap_ci([1, 2, 3], [1, 3, 2], n_boot=10)


def test_bootstrap_refuses_degenerate_data():
    with pytest.raises(ValueError, match="degenerate"):
        effects.bootstrap_ci([1, 1, 1, 1, 2], [0, 1, 0, 1, 0], seed=0, n_boot=200)


# ------------------------------------------------------------------------------ Wilson


@pytest.mark.parametrize(
    ("x", "n", "lo", "hi"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table_one(x, n, lo, hi):
    got_lo, got_hi = effects.wilson_interval(x, n)
    assert round(float(got_lo), 4) == lo
    assert round(float(got_hi), 4) == hi


def test_wilson_interval_matches_the_independent_reference_at_several_levels():
    for case in REFERENCE["wilson"]:
        lo, hi = effects.wilson_interval(case["x"], case["n"], case["level"])
        assert float(lo) == pytest.approx(case["lo"], abs=1e-12)
        assert float(hi) == pytest.approx(case["hi"], abs=1e-12)


def test_wilson_interval_is_vectorised_and_nan_for_an_empty_denominator():
    lo, hi = effects.wilson_interval([81, 0, 3], [263, 0, 10])
    assert lo.shape == (3,)
    assert math.isnan(lo[1]) and math.isnan(hi[1])
    assert lo[2] < 0.3 < hi[2]


@pytest.mark.parametrize(
    ("x", "n", "message"),
    [(11, 10, "exceed"), (-1, 10, "non-negative"), (2.5, 10, "whole"), (1, 10, None)],
)
def test_wilson_interval_rejects_impossible_counts(x, n, message):
    if message is None:
        with pytest.raises(ValueError, match="level"):
            effects.wilson_interval(x, n, level=1.0)
    else:
        with pytest.raises(ValueError, match=message):
            effects.wilson_interval(x, n)


def test_proportion_with_ci_reports_estimate_and_limits():
    p = effects.proportion_with_ci(81, 263)
    assert p.estimate == pytest.approx(81 / 263)
    assert (round(p.ci_low, 4), round(p.ci_high, 4)) == (0.2553, 0.3662)
    empty = effects.proportion_with_ci(0, 0)
    assert math.isnan(empty.estimate) and math.isnan(empty.ci_low)


# --------------------------------------------------------------------- input validation


def test_summarise_pre_post_needs_at_least_three_complete_pairs():
    with pytest.raises(ValueError, match="at least 3"):
        effects.summarise_pre_post([1, 2], [2, 1])
    with pytest.raises(ValueError, match="NaN"):
        effects.summarise_pre_post([1, 2, np.nan], [2, 1, 3])
    with pytest.raises(ValueError, match="equally long"):
        effects.summarise_pre_post([1, 2, 3], [2, 1])


def test_summarise_pre_post_refuses_constant_scores():
    with pytest.raises(ValueError, match="vary"):
        effects.summarise_pre_post([5, 5, 5], [1, 2, 3])


def test_hedges_correction_refuses_degrees_of_freedom_below_two():
    with pytest.raises(ValueError, match="df"):
        effects.hedges_correction(1)


def test_unknown_effect_kind_and_ci_method_raise_value_error():
    with pytest.raises(ValueError, match="kind"):
        effects.prepost_effect_size([1, 2, 3], [1, 3, 2], "glass")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ci"):
        effects.prepost_effect_size([1, 2, 3], [1, 3, 2], ci="jackknife")  # type: ignore[arg-type]


def test_correlation_outside_minus_one_to_one_raises_value_error():
    with pytest.raises(ValueError, match="correlation"):
        effects.cohens_d_rm(10, 8, 2, 2, 1.2)
    with pytest.raises(ValueError, match="correlation"):
        effects.becker_variance(0.5, 20, -1.5)
