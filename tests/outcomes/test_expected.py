"""Tests for reverie.outcomes.expected (expected-recovery curves and not-on-track flags).

Fitted curves are compared with the loop-based recomputation in
``reference/reference_expected.py``; the default curve is pinned to Howard et al.'s (1986)
anchor points (50 % improved by 8 sessions, 75 % by 26).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from reverie.outcomes import expected
from reverie.outcomes.expected import BandCurve

REFERENCE = Path(__file__).parent / "reference"


def _synthetic_practice(n_episodes: int, sessions: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    intake = rng.integers(0, 28, n_episodes).astype(float)
    sess = np.tile(np.arange(1, sessions + 1), n_episodes)
    x0 = np.repeat(intake, sessions)
    scores = np.clip(np.round(x0 - 0.4 * (sess - 1) + rng.normal(0, 3, x0.size)), 0, 27)
    episode = np.repeat(np.arange(n_episodes), sessions)
    return scores, sess, x0, episode


# ------------------------------------------------------------------------------ banding


def test_intake_bands_follow_kroenke_cut_points_with_edge_scores_in_the_higher_band():
    assert expected.assign_band([0, 4, 5, 9, 10, 14, 15, 19, 20, 27]).tolist() == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]


def test_band_edges_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        expected.assign_band([3], edges=(10, 5))


# ------------------------------------------------------------------------ default curve


def test_howard_dose_effect_passes_through_the_published_anchor_points():
    p = expected.howard_dose_effect([0, 8, 26])
    np.testing.assert_allclose(p, [0.0, 0.5, 0.75], atol=1e-12)
    assert np.all(np.diff(expected.howard_dose_effect(np.arange(0, 60))) > 0)


def test_default_curve_median_starts_at_intake_and_improves_one_reliable_change_by_dose_eight():
    c = expected.default_band_curve(18.0, 6.0, max_session=30)
    median = c.curve(50)
    assert median[0] == pytest.approx(18.0)  # session 1 = intake, no treatment yet
    assert median[8] == pytest.approx(12.0)  # session 9 = after 8 sessions
    assert median[26] == pytest.approx(9.0)  # after 26 sessions: 1.5 reliable changes


def test_default_curve_warning_edge_is_reliable_deterioration_from_intake():
    c = expected.default_band_curve(18.0, 6.0, max_session=30)
    np.testing.assert_allclose(c.curve(90), 24.0)
    assert c.source == "default" and c.n_episodes == 0


def test_default_curve_percentiles_are_ordered_and_clipped_to_the_scale():
    c = expected.default_band_curve(25.0, 6.0, max_session=30)
    assert np.all(np.diff(c.values, axis=0) >= 0)
    assert c.values.max() == 27.0 and c.values.min() >= 0.0


def test_default_curve_mirrors_when_higher_is_better():
    low = expected.default_band_curve(18.0, 6.0, max_session=20)
    high = expected.default_band_curve(
        -18.0, 6.0, max_session=20, scale=(-27.0, 0.0), higher_is_better=True
    )
    np.testing.assert_allclose(high.values[::-1], -low.values)
    assert high.warning_percentile == 10.0


def test_default_curve_needs_its_warning_percentile():
    with pytest.raises(ValueError, match="90th"):
        expected.default_band_curve(18.0, 6.0, percentiles=(25, 50, 75))


# ---------------------------------------------------------------------------- fitting


def _reference_input():
    with (REFERENCE / "expected_curves_input.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return (
        np.array([float(r["score"]) for r in rows]),
        np.array([int(r["session"]) for r in rows]),
        np.array([float(r["intake"]) for r in rows]),
        np.array([int(r["episode"]) for r in rows]),
    )


def test_fitted_curves_match_the_independent_pure_python_reference():
    ref = json.loads((REFERENCE / "expected_curves_expected.json").read_text())
    st = ref["settings"]
    curves = expected.fit_expected_curves(
        *_reference_input(),
        reliable_change=st["reliable_change"],
        band_edges=st["edges"],
        scale=tuple(st["scale"]),
        percentiles=st["percentiles"],
        max_session=st["max_session"],
        window=st["window"],
        min_episodes=st["min_episodes"],
        min_scores_per_session=st["min_scores"],
    )
    assert len(curves) == len(ref["curves"])
    for got, want in zip(curves, ref["curves"], strict=True):
        assert got.band == want["band"]
        assert got.source == want["source"]
        np.testing.assert_allclose(got.values, want["values"], rtol=1e-12, atol=1e-12)
    assert curves[3].n_episodes == 35


def test_band_with_fewer_than_the_minimum_episodes_falls_back_to_the_default_curve():
    scores, sess, x0, ep = _synthetic_practice(200, 10)
    curves = expected.fit_expected_curves(
        scores, sess, x0, ep, reliable_change=6, max_session=10, min_episodes=1000
    )
    assert {c.source for c in curves} == {"default"}
    assert all(c.n_episodes == 0 for c in curves)


def test_band_reaches_an_empirical_curve_at_exactly_the_minimum_episode_count():
    rng = np.random.default_rng(5)
    n_ep, n_s = 30, 6
    x0 = np.full(n_ep * n_s, 17.0)
    sess = np.tile(np.arange(1, n_s + 1), n_ep)
    scores = np.clip(17 - sess + rng.integers(-2, 3, n_ep * n_s), 0, 27).astype(float)
    ep = np.repeat(np.arange(n_ep), n_s)
    ok = expected.fit_expected_curves(scores, sess, x0, ep, reliable_change=6, max_session=n_s)
    assert ok[3].source == "empirical" and ok[3].n_episodes == 30
    keep = ep > 0  # drop one episode -> 29
    short = expected.fit_expected_curves(
        scores[keep], sess[keep], x0[keep], ep[keep], reliable_change=6, max_session=n_s
    )
    assert short[3].source == "default"


def test_sessions_without_enough_scores_take_the_nearest_supported_value():
    n_ep = 40
    sess = np.concatenate([np.tile([1, 2, 3], n_ep), [8, 8]])
    ep = np.concatenate([np.repeat(np.arange(n_ep), 3), [0, 1]])
    x0 = np.full(sess.size, 12.0)
    scores = np.where(sess == 1, 12.0, np.where(sess == 2, 10.0, 8.0))
    scores[-2:] = 2.0
    curves = expected.fit_expected_curves(
        scores, sess, x0, ep, reliable_change=6, max_session=8, window=0
    )
    med = curves[2].curve(50)
    np.testing.assert_allclose(med, [12, 10, 8, 8, 8, 8, 8, 8])


def test_fit_rejects_bad_input_with_clear_messages():
    s, k, x, e = np.array([5.0]), np.array([1]), np.array([5.0]), np.array([1])
    with pytest.raises(ValueError, match="start at 1"):
        expected.fit_expected_curves(s, np.array([0]), x, e, reliable_change=6)
    with pytest.raises(ValueError, match="NaN"):
        expected.fit_expected_curves(np.array([np.nan]), k, x, e, reliable_change=6)
    with pytest.raises(ValueError, match="scale"):
        expected.fit_expected_curves(np.array([30.0]), k, x, e, reliable_change=6)
    with pytest.raises(ValueError, match="equal"):
        expected.fit_expected_curves(s, np.array([1, 2]), x, e, reliable_change=6)
    with pytest.raises(ValueError, match="whole numbers"):
        expected.fit_expected_curves(s, np.array([1.5]), x, e, reliable_change=6)


# ------------------------------------------------------------------------------- flags


def test_not_on_track_flags_only_scores_above_the_ninetieth_percentile():
    c = expected.default_band_curve(17.0, 6.0, max_session=20)
    flags = expected.not_on_track([23.0, 23.01, 10.0], [5, 5, 5], c)
    assert flags.tolist() == [False, True, False]


def test_not_on_track_uses_the_last_session_for_sessions_beyond_the_curve():
    values = np.array([[5.0, 4.0, 3.0], [10.0, 9.0, 8.0]])
    c = BandCurve(band=0, percentiles=(50, 90), values=values, source="empirical", n_episodes=50)
    assert expected.not_on_track([8.5, 8.5], [3, 99], c).tolist() == [True, True]
    assert expected.not_on_track([8.5], [2], c).tolist() == [False]


def test_not_on_track_never_flags_a_missing_score():
    c = expected.default_band_curve(17.0, 6.0)
    assert expected.not_on_track([np.nan], [3], c).tolist() == [False]


def test_not_on_track_uses_the_lower_edge_when_higher_is_better():
    values = np.array([[40.0, 42.0], [50.0, 55.0]])
    c = BandCurve(
        band=0,
        percentiles=(10, 50),
        values=values,
        source="empirical",
        n_episodes=40,
        higher_is_better=True,
    )
    assert expected.not_on_track([41.0, 43.0], [2, 2], c).tolist() == [True, False]


def test_not_on_track_rejects_a_percentile_the_curve_does_not_have():
    c = expected.default_band_curve(17.0, 6.0)
    with pytest.raises(ValueError, match="percentile"):
        expected.not_on_track([10], [2], c, percentile=95)


def test_not_on_track_rejects_session_zero():
    c = expected.default_band_curve(17.0, 6.0)
    with pytest.raises(ValueError, match=">= 1"):
        expected.not_on_track([10], [0], c)


def test_banded_flags_equal_flags_computed_band_by_band():
    scores, sess, x0, ep = _synthetic_practice(3000, 15, seed=3)
    curves = expected.fit_expected_curves(scores, sess, x0, ep, reliable_change=6, max_session=12)
    band = expected.assign_band(x0)
    bulk = expected.not_on_track_banded(scores, sess, band, curves)
    for b, curve in enumerate(curves):
        mask = band == b
        np.testing.assert_array_equal(
            bulk[mask], expected.not_on_track(scores[mask], sess[mask], curve)
        )


def test_banded_flags_reject_out_of_range_bands_and_mixed_directions():
    c0 = expected.default_band_curve(7.0, 6.0, band=0)
    with pytest.raises(ValueError, match="band indices"):
        expected.not_on_track_banded([5], [2], [3], [c0])
    c1 = expected.default_band_curve(
        7.0, 6.0, band=1, scale=(0, 27), higher_is_better=True, percentiles=(10, 50, 90)
    )
    with pytest.raises(ValueError, match="direction"):
        expected.not_on_track_banded([5], [2], [0], [c0, c1])


def test_band_curve_validates_its_shape_and_percentiles():
    with pytest.raises(ValueError, match="shape"):
        BandCurve(
            band=0, percentiles=(50, 90), values=np.zeros((3, 4)), source="default", n_episodes=0
        )
    with pytest.raises(ValueError, match="increasing"):
        BandCurve(
            band=0, percentiles=(90, 50), values=np.zeros((2, 4)), source="default", n_episodes=0
        )
