"""Tests for reverie.outcomes.expected: intake severity bands and Howard et al.'s (1986)
dose-effect curve (50 % improved by 8 sessions, 75 % by 26), which the dose curves start from.
"""

from __future__ import annotations

import numpy as np
import pytest

from reverie.outcomes import expected

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


# ---------------------------------------------------------------- dose-effect curve


def test_howard_dose_effect_passes_through_the_published_anchor_points():
    p = expected.howard_dose_effect([0, 8, 26])
    np.testing.assert_allclose(p, [0.0, 0.5, 0.75], atol=1e-12)
    assert np.all(np.diff(expected.howard_dose_effect(np.arange(0, 60))) > 0)
