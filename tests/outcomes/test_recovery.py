"""Dose-indexed expected recovery in a practice: doses read from attended sessions, curves and
accuracy stored with the other curves, and the dashboard panel (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
from django.urls import reverse

from outcomes.conftest import ended_episode
from reverie.outcomes import dose, recovery, summary
from reverie.outcomes.models import ExpectedCurves
from reverie.testing import World


def test_doses_count_the_sessions_attended_before_each_answer(
    practice_with_outcomes: World,
) -> None:
    series, ids = recovery.load_series(practice_with_outcomes.practice.pk, "phq-9")
    assert len(ids) == 36 and series.n_episodes == 36
    # The fixture answers before each weekly session: 0, 1, 2, 3 and 4 sessions attended.
    for e in range(36):
        assert series.dose[series.episode == e].tolist() == [0, 1, 2, 3, 4]
    groups = np.bincount(series.group, minlength=len(recovery.GROUPS))
    assert groups[recovery.GROUPS.index("psychodynamic")] == 24
    assert groups[recovery.GROUPS.index("cbt")] == 12


def test_curves_and_accuracy_are_stored_and_shown(practice_with_outcomes: World, as_user) -> None:
    w = practice_with_outcomes
    summary.refresh(full=True)
    row = ExpectedCurves.objects.get(practice=w.practice, instrument="phq-9")
    stored = row.curves["dose"]
    series, _ = recovery.load_series(w.practice.pk, "phq-9")
    rule, baseline = dose.cross_validate(series, len(recovery.GROUPS), 6.0)
    # 36 ended episodes with five scores; the 12 CBT ones improve by 5 points at most: poor.
    assert stored["accuracy"]["n"] == rule.n == 36
    assert stored["accuracy"]["poor"] == 12
    assert stored["accuracy"]["tp"] == rule.true_pos
    assert stored["accuracy"]["fp"] == rule.false_pos
    assert stored["baseline"]["tp"] == baseline.true_pos
    assert stored["n_episodes"][recovery.GROUPS.index("cbt")] == 12
    fitted = dose.fit(series, len(recovery.GROUPS), 6.0)
    assert np.allclose(stored["weight"], np.round(fitted.weight, 3))
    page = as_user("admin").get(reverse("outcomes:dashboard")).content.decode()
    assert "Expected recovery by sessions attended" in page
    assert "Of 36 ended episodes with at least three PHQ-9 scores, 12 ended" in page
    assert "Old default: reliable deterioration only" in page
    own = as_user("therapist").get(reverse("outcomes:dashboard")).content.decode()
    assert "Expected recovery by sessions attended" in own


def test_a_new_practice_gets_the_reference_and_says_too_few(world: World, as_user) -> None:
    summary.refresh(full=True)
    row = ExpectedCurves.objects.get(practice=world.practice, instrument="phq-9")
    data = row.curves["dose"]
    assert np.all(np.asarray(data["weight"]) == 0)
    assert data["accuracy"]["too_few"]
    page = as_user("admin").get(reverse("outcomes:dashboard")).content.decode()
    assert "Too few ended episodes with at least three PHQ-9 scores" in page


def test_a_few_episodes_move_the_curve_only_part_way(world: World) -> None:
    # Three CBT episodes that improve far faster than the reference: the curve moves toward
    # them but not all the way.
    for i in range(3):
        ended_episode(
            world.practice, world.therapist, [20, 10, 6, 4 + i], [10, 8, 6, 5], modality="cbt"
        )
    summary.fit_practice_curves(world.practice.pk, "phq-9")
    data = ExpectedCurves.objects.get(practice=world.practice, instrument="phq-9").curves["dose"]
    g = recovery.GROUPS.index("cbt")
    b = 1  # one session attended
    own, ref, got = data["practice_mean"][g][b], data["reference_mean"][b], data["mean"][g][b]
    assert own == -10.0
    assert own < got < ref
    assert 0 < data["weight"][g][b] < 1
