"""Tests for reverie.outcomes.change.

Expected values come from published numbers where they exist (Spanier 1976 DAS norms for the
Jacobson-Truax cut-offs) and otherwise from the independent scripts in ``reference/``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from reverie.outcomes import change
from reverie.outcomes.change import FollowupStatus, JTCategory

REFERENCE = Path(__file__).parent / "reference"


def _nhs(phq_pre, phq_post, gad_pre, gad_post):
    return change.nhs_tt_paired_outcomes([phq_pre], [phq_post], [gad_pre], [gad_post])


# ------------------------------------------------------------------ Jacobson & Truax (1991)


def test_standard_error_of_measurement_is_sd_times_root_one_minus_reliability():
    assert change.standard_error_of_measurement(10.0, 0.84) == pytest.approx(4.0)
    assert change.standard_error_of_measurement(5.0, 0.0) == pytest.approx(5.0)


def test_standard_error_of_difference_is_root_two_times_the_standard_error():
    se = change.standard_error_of_measurement(7.3, 0.9)
    assert change.standard_error_of_difference(7.3, 0.9) == pytest.approx(math.sqrt(2) * se)


def test_reliable_change_threshold_is_1_96_standard_errors_of_the_difference():
    s_diff = change.standard_error_of_difference(10.0, 0.84)
    assert change.reliable_change_threshold(10.0, 0.84) == pytest.approx(1.96 * s_diff)


def test_jacobson_truax_cutoffs_match_hand_calculation_from_spanier_norms():
    # Spanier (1976) DAS: married (functional) 114.8 / 17.8, divorced 70.7 / 23.8.
    assert change.cutoff_a(70.7, 23.8, higher_is_better=True) == pytest.approx(70.7 + 47.6)
    assert change.cutoff_b(114.8, 17.8, higher_is_better=True) == pytest.approx(114.8 - 35.6)
    expected_c = (17.8 * 70.7 + 23.8 * 114.8) / (17.8 + 23.8)
    assert change.cutoff_c(114.8, 17.8, 70.7, 23.8) == pytest.approx(expected_c)
    assert change.cutoff_c(114.8, 17.8, 70.7, 23.8) == pytest.approx(95.93, abs=0.005)


def test_cutoffs_a_and_b_point_the_other_way_on_symptom_scales():
    assert change.cutoff_a(18.0, 4.0) == pytest.approx(10.0)
    assert change.cutoff_b(4.0, 3.0) == pytest.approx(10.0)


def test_cutoff_c_is_the_plain_midpoint_when_both_sds_are_equal():
    assert change.cutoff_c(5.0, 4.0, 15.0, 4.0) == pytest.approx(10.0)


def test_reliable_change_index_matches_independent_computation_on_jacobson_truax_das_data():
    ref = json.loads((REFERENCE / "jacobson_truax_expected.json").read_text())
    rc = change.reliable_change_index(
        ref["pre"], ref["post"], sd_pre=ref["sd_pre"], reliability=ref["reliability"]
    )
    np.testing.assert_allclose(rc, ref["rc"], rtol=1e-12)
    assert change.reliable_change_threshold(ref["sd_pre"], ref["reliability"]) == pytest.approx(
        ref["rc_threshold_points"]
    )


def test_jacobson_truax_classification_matches_independent_computation_on_das_data():
    ref = json.loads((REFERENCE / "jacobson_truax_expected.json").read_text())
    codes = change.classify_jacobson_truax(
        ref["pre"],
        ref["post"],
        sd_pre=ref["sd_pre"],
        reliability=ref["reliability"],
        cutoff=ref["cutoff_c"],
        higher_is_better=True,
    )
    assert [JTCategory(c).name for c in codes] == ref["categories_cutoff_c"]


def test_reliable_change_must_exceed_1_96_not_merely_reach_it():
    threshold = change.reliable_change_threshold(10.0, 0.84)
    just_below = change.classify_jacobson_truax(
        [25.0], [25.0 - threshold + 1e-9], sd_pre=10, reliability=0.84, cutoff=12
    )
    just_above = change.classify_jacobson_truax(
        [25.0], [25.0 - threshold - 1e-9], sd_pre=10, reliability=0.84, cutoff=12
    )
    assert just_below.tolist() == [JTCategory.UNCHANGED]
    assert just_above.tolist() == [JTCategory.IMPROVED]


def test_recovered_requires_the_post_score_strictly_on_the_functional_side_of_the_cutoff():
    codes = change.classify_jacobson_truax(
        [30, 30], [12, 11.9], sd_pre=10, reliability=0.84, cutoff=12
    )
    assert codes.tolist() == [JTCategory.IMPROVED, JTCategory.RECOVERED]


def test_requiring_a_dysfunctional_start_stops_never_ill_clients_being_called_recovered():
    plain = change.classify_jacobson_truax([25], [5], sd_pre=10, reliability=0.84, cutoff=30)
    strict = change.classify_jacobson_truax(
        [25], [5], sd_pre=10, reliability=0.84, cutoff=30, require_dysfunctional_start=True
    )
    assert plain.tolist() == [JTCategory.RECOVERED]
    assert strict.tolist() == [JTCategory.IMPROVED]


def test_higher_is_better_mirrors_the_jacobson_truax_classification():
    low = change.classify_jacobson_truax(
        [25, 25, 10], [8, 20, 22], sd_pre=10, reliability=0.84, cutoff=12
    )
    high = change.classify_jacobson_truax(
        [-25, -25, -10],
        [-8, -20, -22],
        sd_pre=10,
        reliability=0.84,
        cutoff=-12,
        higher_is_better=True,
    )
    assert low.tolist() == high.tolist()


@pytest.mark.parametrize("reliability", [1.0, -0.1, 1.5, float("nan"), "high"])
def test_invalid_reliability_raises_a_clear_value_error(reliability):
    with pytest.raises(ValueError, match="reliability"):
        change.standard_error_of_measurement(10.0, reliability)


@pytest.mark.parametrize("sd", [0.0, -1.0, float("inf")])
def test_non_positive_standard_deviation_raises_value_error(sd):
    with pytest.raises(ValueError, match="sd_pre"):
        change.reliable_change_threshold(sd, 0.8)


def test_missing_scores_raise_value_error_in_the_reliable_change_index():
    with pytest.raises(ValueError, match="NaN"):
        change.reliable_change_index([10, np.nan], [5, 5], sd_pre=5, reliability=0.8)


def test_mismatched_shapes_raise_value_error():
    with pytest.raises(ValueError, match="same shape"):
        change.reliable_change_index([1, 2, 3], [1, 2], sd_pre=5, reliability=0.8)


def test_fixed_threshold_direction_counts_a_change_equal_to_the_threshold_by_default():
    assert change.reliable_change_direction([15], [9], 6).tolist() == [1]
    assert change.reliable_change_direction([15], [9], 6, inclusive=False).tolist() == [0]
    assert change.reliable_change_direction([9], [15], 6, higher_is_better=True).tolist() == [1]


# ------------------------------------------------------------ NHS Talking Therapies rules
#
# [TT-G] = NHS Digital, A guide to IAPT data and publications v2.1, definitions of recovery,
# reliable improvement and reliable recovery and the PROM threshold table, as quoted verbatim in
# The-Strategy-Unit/talking_therapies outputs/evaluation_framework.qmd (commit 413b3626, which
# attributes them to the guide; Reverie used to credit the NHS Talking Therapies Manual for
# them, following an earlier version of that file).
# [TT-TOS] = NHS Digital IAPT measure constructions (M186-M195) transcribed in the same file.
# See docs/statistics.md sections 3 and 10.


def _reference_rows():
    with (REFERENCE / "nhs_tt_expected.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_every_nhs_tt_flag_matches_the_independent_reference_on_the_edge_case_grid():
    rows = _reference_rows()
    cols = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    out = change.nhs_tt_paired_outcomes(
        cols["phq9_pre"], cols["phq9_post"], cols["gad7_pre"], cols["gad7_post"]
    )
    for flag in (
        "caseness_start",
        "caseness_end",
        "reliable_improvement",
        "reliable_deterioration",
        "no_reliable_change",
        "recovery",
        "reliable_recovery",
        "mixed",
    ):
        got = getattr(out, flag).astype(int)
        want = cols[flag].astype(int)
        mismatches = np.flatnonzero(got != want)
        assert mismatches.size == 0, f"{flag} differs for row {rows[mismatches[0]]}"
    assert out.paired.all()


def test_phq9_of_exactly_ten_is_at_caseness_and_nine_is_not():
    assert change.at_caseness([10, 9], [0, 0]).tolist() == [True, False]


def test_gad7_of_exactly_eight_is_at_caseness_and_seven_is_not():
    assert change.at_caseness([0, 0], [8, 7]).tolist() == [True, False]


# Equality at the thresholds: [TT-G]'s table gives PHQ-9 10 / 6 and GAD-7 8 / 4 as plain values
# while marking strict ones explicitly (">5", ">2.3"); NHS Digital as quoted in PMC8411661 says
# "10 or above", "6 or more", "8 or higher", "4 or more". See docs/statistics.md section 3.


def test_exactly_six_point_phq9_drop_is_reliable_improvement_and_five_is_not():
    assert _nhs(16, 10, 5, 5).reliable_improvement.tolist() == [True]
    assert _nhs(16, 11, 5, 5).reliable_improvement.tolist() == [False]


def test_exactly_six_point_phq9_rise_is_reliable_deterioration_and_five_is_not():
    assert _nhs(10, 16, 5, 5).reliable_deterioration.tolist() == [True]
    assert _nhs(10, 15, 5, 5).reliable_deterioration.tolist() == [False]


def test_exactly_four_point_gad7_drop_is_reliable_improvement_and_three_is_not():
    assert _nhs(5, 5, 12, 8).reliable_improvement.tolist() == [True]
    assert _nhs(5, 5, 12, 9).reliable_improvement.tolist() == [False]


def test_reliable_improvement_requires_no_reliable_deterioration_on_other_measure():
    # [TT-G]: reliable improvement needs that "neither the PHQ-9 measure nor the ADSM measure has
    # an increase from the first to the last score that is greater than the reliable change
    # threshold". PHQ-9 improves by 8 but GAD-7 worsens by 4: mixed, neither improved nor
    # counted as deterioration (no NHS text defining deterioration was retrieved).
    mixed = _nhs(18, 10, 6, 10)
    assert mixed.reliable_improvement.tolist() == [False]
    assert mixed.reliable_deterioration.tolist() == [False]
    assert mixed.mixed.tolist() == [True]
    assert mixed.no_reliable_change.tolist() == [False]
    # PHQ-9 improves by 8 and GAD-7 worsens by only 3: improved.
    ok = _nhs(18, 10, 6, 9)
    assert ok.reliable_improvement.tolist() == [True]
    assert ok.reliable_deterioration.tolist() == [False]


def test_reliable_improvement_on_either_single_measure_is_enough():
    # [TT-G]: "a decrease ... on either the PHQ-9 or the ADSM measure, or both".
    assert _nhs(18, 12, 9, 9).reliable_improvement.tolist() == [True]
    assert _nhs(12, 12, 12, 8).reliable_improvement.tolist() == [True]


def test_reliable_improvement_on_both_measures_counts_once():
    # [TT-G]: "... on either the PHQ-9 or the ADSM measure, or both".
    out = _nhs(20, 10, 15, 5)
    assert out.reliable_improvement.tolist() == [True]
    assert out.reliable_deterioration.tolist() == [False]
    assert out.no_reliable_change.tolist() == [False]


def test_missing_anxiety_score_unpairs_the_episode_even_when_phq9_improves():
    # [TT-G]: every outcome needs "two or more PHQ-9 scores and two or more ADSM scores
    # (known as 'paired scores')", so a PHQ-9 drop of 15 alone is not reliable improvement.
    out = _nhs(20, 5, 10, np.nan)
    assert out.paired.tolist() == [False]
    assert out.reliable_improvement.tolist() == [False]
    assert out.recovery.tolist() == [False]
    assert out.caseness_start.tolist() == [False]


def test_end_score_exactly_at_caseness_blocks_recovery():
    # [TT-G]: recovery needs "both of the last scores ... below the relevant caseness
    # thresholds"; a last PHQ-9 of 10 or GAD-7 of 8 is at caseness, not below it.
    assert _nhs(15, 10, 9, 2).recovery.tolist() == [False]
    assert _nhs(15, 9, 12, 8).recovery.tolist() == [False]
    assert _nhs(15, 9, 12, 7).recovery.tolist() == [True]


def test_start_score_exactly_at_caseness_on_one_measure_makes_a_case():
    # [TT-G]: "one or both of their first scores are above the relevant caseness threshold";
    # the threshold table gives 10 (PHQ-9) and 8 (GAD-7) as the caseness values (read as
    # inclusive, see docs/statistics.md section 3).
    assert _nhs(10, 3, 0, 0).recovery.tolist() == [True]
    assert _nhs(0, 0, 8, 2).recovery.tolist() == [True]
    assert _nhs(9, 3, 7, 2).recovery.tolist() == [False]


def test_recovery_can_coexist_with_reliable_deterioration():
    # [TT-G]: "it is even possible for an individual to show recovery but also deteriorate when
    # evaluating the PHQ-9 and ADSM". PHQ-9 12 -> 9 (case to non-case, 3 points), GAD-7
    # 3 -> 7 (+4): recovered and reliably worse on the GAD-7 only.
    out = _nhs(12, 9, 3, 7)
    assert out.recovery.tolist() == [True]
    assert out.reliable_deterioration.tolist() == [True]
    assert out.reliable_improvement.tolist() == [False]
    assert out.reliable_recovery.tolist() == [False]
    # PHQ-9 15 -> 9 (-6) and GAD-7 2 -> 7 (+5): recovered, and mixed rather than deteriorated.
    both = _nhs(15, 9, 2, 7)
    assert both.recovery.tolist() == [True]
    assert both.mixed.tolist() == [True]
    assert both.reliable_deterioration.tolist() == [False]


def test_every_paired_episode_is_in_exactly_one_change_category():
    rows = _reference_rows()
    cols = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    out = change.nhs_tt_paired_outcomes(
        cols["phq9_pre"], cols["phq9_post"], cols["gad7_pre"], cols["gad7_post"]
    )
    total = (
        out.reliable_improvement.astype(int)
        + out.reliable_deterioration
        + out.mixed
        + out.no_reliable_change
    )
    assert (total == 1).all()
    s = change.summarise_nhs_tt(out)
    assert s.n_mixed == 140  # counted independently by reference/reference_nhs_tt.py
    assert s.reliable_improvement_rate + s.reliable_deterioration_rate + s.mixed_rate + (
        s.no_reliable_change_rate
    ) == pytest.approx(1.0)


def test_reliable_recovery_needs_both_recovery_and_reliable_improvement():
    # [TT-G]: reliable recovery means meeting "the criteria for both the recovery and reliable
    # improvement measures"; [TT-TOS] M193 counts Recovery_Flag and ReliableImprovement_Flag.
    via_gad = _nhs(9, 9, 12, 7)  # case on GAD-7 only; GAD-7 drops 5 and ends below 8
    assert via_gad.recovery.tolist() == [True]
    assert via_gad.reliable_improvement.tolist() == [True]
    assert via_gad.reliable_recovery.tolist() == [True]
    still_case = _nhs(20, 14, 5, 5)  # reliably improved but still a PHQ-9 case
    assert still_case.reliable_improvement.tolist() == [True]
    assert still_case.recovery.tolist() == [False]
    assert still_case.reliable_recovery.tolist() == [False]


def test_recovery_requires_caseness_at_start_and_below_caseness_on_both_measures_at_end():
    assert _nhs(15, 9, 9, 7).recovery.tolist() == [True]
    assert _nhs(15, 9, 9, 8).recovery.tolist() == [False]  # GAD-7 still a case
    assert _nhs(15, 10, 5, 3).recovery.tolist() == [False]  # PHQ-9 still a case


def test_recovery_does_not_need_reliable_improvement_but_reliable_recovery_does():
    out = _nhs(10, 9, 7, 6)
    assert out.recovery.tolist() == [True]
    assert out.reliable_improvement.tolist() == [False]
    assert out.reliable_recovery.tolist() == [False]


def test_client_not_at_caseness_at_intake_cannot_recover():
    out = _nhs(9, 2, 7, 1)
    assert out.caseness_start.tolist() == [False]
    assert out.recovery.tolist() == [False]
    assert out.reliable_improvement.tolist() == [True]


def test_client_not_at_caseness_at_intake_is_excluded_from_the_recovery_denominator():
    out = change.nhs_tt_paired_outcomes([15, 9], [5, 2], [10, 7], [4, 1])
    summary = change.summarise_nhs_tt(out)
    assert summary.n_paired == 2
    assert summary.n_caseness_start == 1
    assert summary.recovery_rate == 1.0
    assert summary.reliable_recovery_rate == 1.0


def test_reliable_recovery_rate_excludes_clients_not_at_caseness_from_its_denominator():
    # [TT-TOS] M195: reliable recovery "Denominator is count of referrals finishing in the period
    # minus those finishing a course of treatment who were not at caseness at initial
    # assessment"; M186 divides reliable improvement by all who finished treatment.
    out = change.nhs_tt_paired_outcomes([9, 15, 20], [2, 5, 19], [7, 10, 12], [1, 4, 12])
    summary = change.summarise_nhs_tt(out)
    assert (summary.n_paired, summary.n_caseness_start) == (3, 2)
    assert summary.n_reliable_recovery == 1
    assert summary.reliable_recovery_rate == 0.5
    assert summary.reliable_improvement_rate == pytest.approx(2 / 3)


def test_reliable_improvement_denominator_includes_clients_not_at_caseness():
    # [TT-TOS] M186: divided by all referrals that finished a course of treatment.
    out = change.nhs_tt_paired_outcomes([15, 9], [5, 9], [10, 7], [4, 7])
    summary = change.summarise_nhs_tt(out)
    assert summary.reliable_improvement_rate == 0.5
    assert summary.no_reliable_change_rate == 0.5


def test_unpaired_episodes_are_excluded_from_every_numerator_and_denominator():
    out = change.nhs_tt_paired_outcomes([15, 15], [5, np.nan], [10, 10], [4, 4])
    assert out.paired.tolist() == [True, False]
    assert not out.recovery[1] and not out.reliable_improvement[1] and not out.caseness_start[1]
    summary = change.summarise_nhs_tt(out)
    assert (summary.n_paired, summary.n_caseness_start, summary.n_recovery) == (1, 1, 1)


def test_rates_are_nan_when_there_is_nothing_to_divide_by():
    out = change.nhs_tt_paired_outcomes([np.nan], [1], [1], [1])
    summary = change.summarise_nhs_tt(out)
    assert math.isnan(summary.recovery_rate)
    assert math.isnan(summary.reliable_improvement_rate)


@pytest.mark.parametrize(
    ("phq_pre", "gad_pre", "name"), [(28, 5, "phq9_pre"), (10, 22, "gad7_pre"), (-1, 5, "phq9")]
)
def test_scores_outside_the_questionnaire_range_raise_value_error(phq_pre, gad_pre, name):
    with pytest.raises(ValueError, match=name):
        change.nhs_tt_paired_outcomes([phq_pre], [5], [gad_pre], [5])


def test_summarise_nhs_tt_rejects_anything_but_paired_outcomes():
    with pytest.raises(ValueError, match="nhs_tt_paired_outcomes"):
        change.summarise_nhs_tt({"paired": [True]})  # type: ignore[arg-type]


def test_vectorised_nhs_tt_flags_equal_one_at_a_time_results():
    rng = np.random.default_rng(7)
    n = 500
    p1, p2 = rng.integers(0, 28, n), rng.integers(0, 28, n)
    g1, g2 = rng.integers(0, 22, n), rng.integers(0, 22, n)
    bulk = change.nhs_tt_paired_outcomes(p1, p2, g1, g2)
    for i in range(0, n, 37):
        one = _nhs(p1[i], p2[i], g1[i], g2[i])
        assert one.reliable_improvement[0] == bulk.reliable_improvement[i]
        assert one.reliable_recovery[0] == bulk.reliable_recovery[i]
        assert one.reliable_deterioration[0] == bulk.reliable_deterioration[i]


# ---------------------------------------------------------------- response and remission


def test_response_needs_at_least_a_fifty_percent_reduction_from_baseline():
    assert change.response([20, 20, 21], [10, 11, 10]).tolist() == [True, False, True]


def test_response_is_never_credited_from_a_zero_baseline():
    assert change.response([0], [0]).tolist() == [False]


def test_response_rejects_negative_scores_and_bad_reduction():
    with pytest.raises(ValueError, match="non-negative"):
        change.response([-1], [0])
    with pytest.raises(ValueError, match="reduction"):
        change.response([10], [0], reduction=1.5)


def test_remission_is_a_phq9_score_strictly_below_five():
    assert change.remission([4, 5, 4.5]).tolist() == [True, False, True]


# ----------------------------------------------------------------------------- follow-up


def test_followup_change_is_followup_score_minus_termination_score():
    followups = np.array([[4, 12, 5, 5], [8, 9, np.nan, 2]])
    got = change.followup_change([5, 8], followups)
    np.testing.assert_array_equal(got, [[-1, 7, 0, 0], [0, 1, np.nan, -6]])


def test_further_reliable_improvement_after_ending_is_classed_as_improving():
    codes = change.classify_followup([12], [[6]], threshold=6)
    assert codes.tolist() == [[FollowupStatus.IMPROVING]]


def test_reliable_worsening_since_termination_is_classed_as_relapse():
    codes = change.classify_followup([6, 6], [[12], [11]], threshold=6)
    assert codes[:, 0].tolist() == [FollowupStatus.RELAPSED, FollowupStatus.STABLE]


def test_missing_followups_are_marked_missing_and_left_out_of_the_proportions():
    followups = np.array([[12, np.nan], [6, np.nan], [0, 7]])
    codes = change.classify_followup([6, 6, 6], followups, threshold=6)
    assert codes[:, 1].tolist() == [FollowupStatus.MISSING, FollowupStatus.MISSING, 0]
    summary = change.summarise_followup(codes)
    assert summary.n_observed.tolist() == [3, 1]
    np.testing.assert_allclose(summary.proportion_relapsed, [1 / 3, 0.0])
    np.testing.assert_allclose(summary.proportion_improving, [1 / 3, 0.0])
    np.testing.assert_allclose(summary.proportion_stable, [1 / 3, 1.0])


def test_proportions_are_nan_at_a_timepoint_nobody_attended():
    summary = change.summarise_followup([[FollowupStatus.MISSING]])
    assert math.isnan(summary.proportion_relapsed[0])


def test_caseness_rule_relapses_only_clients_who_ended_below_caseness():
    codes = change.classify_followup(
        [9, 10, 4], [[10], [20], [9]], threshold=6, rule="caseness", caseness=10
    )
    assert codes[:, 0].tolist() == [
        FollowupStatus.RELAPSED,
        FollowupStatus.STABLE,
        FollowupStatus.STABLE,
    ]


def test_either_rule_combines_reliable_worsening_and_return_to_caseness():
    codes = change.classify_followup([9, 10], [[10], [20]], threshold=6, rule="either", caseness=10)
    assert codes[:, 0].tolist() == [FollowupStatus.RELAPSED, FollowupStatus.RELAPSED]


def test_followup_rules_mirror_when_higher_is_better():
    low = change.classify_followup(
        [9, 10, 4], [[10], [20], [9]], threshold=6, rule="either", caseness=10
    )
    high = change.classify_followup(
        [-9, -10, -4],
        [[-10], [-20], [-9]],
        threshold=6,
        rule="either",
        caseness=-10,
        higher_is_better=True,
    )
    assert low.tolist() == high.tolist()


def test_caseness_rule_without_a_cutoff_raises_value_error():
    with pytest.raises(ValueError, match="caseness"):
        change.classify_followup([5], [[6]], threshold=6, rule="caseness")


def test_unknown_followup_rule_raises_value_error():
    with pytest.raises(ValueError, match="rule"):
        change.classify_followup([5], [[6]], threshold=6, rule="vibes")  # type: ignore[arg-type]


def test_followup_scores_with_the_wrong_number_of_rows_raise_value_error():
    with pytest.raises(ValueError, match=r"shape \(n, k\)"):
        change.classify_followup([5, 6], [[6, 7, 8]], threshold=6)


def test_followup_months_are_the_reporting_schedule():
    assert change.FOLLOWUP_MONTHS == (1, 3, 6, 12)


def test_summarise_followup_rejects_unknown_codes():
    with pytest.raises(ValueError, match="FollowupStatus"):
        change.summarise_followup([[5]])
