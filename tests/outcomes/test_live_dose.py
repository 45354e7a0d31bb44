"""The live not-on-track rule (alerts, the caseload flag, the client's chart, the demo's past
alerts) is the dose rule whose cross-validated accuracy the dashboard reports (issue 18).

Hand calculation for the world's client (psychodynamic, PHQ-9 intake 17, three sessions
attended before the new score). The practice has no ended episodes with scores, so the curves
are the published reference: expected change after d sessions -RC * P(d) / 0.5 with
P(d) = Phi(beta * ln(d / 8)), beta = Phi^-1(0.75) / ln(26 / 8) = 0.57226 (Howard et al., 1986,
through 50 % at 8 and 75 % at 26 sessions), read at the middle of the dose bin; spread
RC / z(0.90) = 6 / 1.28155 = 4.6818, so the line is intake + 6 - 12 * P(d).

* dose 3 (bin "3"): P = Phi(0.57226 * ln(3/8)) = Phi(-0.56129) = 0.28731; expected
  17 - 3.448 = 13.55; 80 % band 7.55 to 19.55. A 20 is not on track; a 19 is on track.
* dose 10 (bin "9-12", read at 10.5): P = Phi(0.57226 * ln(10.5/8)) = Phi(0.15562) = 0.56183;
  line 23 - 6.742 = 16.26. The same 19 is not on track after ten sessions.
* The old default (reliable deterioration only) would flag neither 19 nor 20 (line 23).
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats

from outcomes.conftest import add_scores
from reverie.care.models import Alert, Appointment, Episode
from reverie.outcomes import dose, recovery, summary, trajectory
from reverie.outcomes.caseload import caseload
from reverie.outcomes.models import EpisodeOutcome, ExpectedCurves
from reverie.testing import World

BETA = float(stats.norm.ppf(0.75)) / math.log(26 / 8)


def hand_line(intake: float, bin_dose: float) -> float:
    p = float(stats.norm.cdf(BETA * math.log(bin_dose / 8)))
    return intake + 6.0 - 12.0 * p


def test_the_hand_calculation_itself() -> None:
    assert pytest.approx(0.57226, abs=1e-5) == BETA
    assert hand_line(17, 3.0) == pytest.approx(19.552, abs=0.002)
    assert hand_line(17, 10.5) == pytest.approx(16.258, abs=0.002)


def _new_score(world: World, total: int, extra_sessions: int = 0) -> None:
    """A PHQ-9 two hours ago in the world's open episode, after its three attended sessions
    and ``extra_sessions`` more."""
    now = timezone.now()
    Appointment.objects.bulk_create(
        Appointment(
            episode=world.episode,
            starts_at=now - datetime.timedelta(days=6, hours=i),
            attendance="attended",
        )
        for i in range(extra_sessions)
    )
    add_scores(
        world.episode,
        [total],
        start=now - datetime.timedelta(hours=2),
        first_is_intake=False,
        attended=0,
    )


@pytest.mark.parametrize(
    ("total", "extra", "flagged"),
    [(20, 0, True), (19, 0, False), (19, 7, True), (16, 7, False)],
)
def test_alert_and_caseload_flag_follow_the_dose_rule(
    world: World, total: int, extra: int, flagged: bool
) -> None:
    summary.refresh(full=True)  # stores the curves (the reference: no ended episodes)
    Alert.objects.all().delete()
    _new_score(world, total, extra)
    result = summary.refresh()
    assert result is not None and result.alerts == int(flagged)
    assert EpisodeOutcome.objects.get(episode=world.episode).not_on_track is flagged
    row = next(r for r in caseload(world.therapist) if r.episode.pk == world.episode.pk)
    assert row.flagged_not_on_track is flagged
    assert ("not_on_track" in [s.key for s in row.statuses]) is flagged
    if flagged:
        alert = Alert.objects.get(kind="not_on_track")
        sessions = 3 + extra
        assert alert.summary.startswith(
            f"PHQ-9 {total} after {sessions} sessions attended is above the range expected for "
            "psychodynamic psychotherapy clients who started at 17"
        )
        assert "published reference range" in alert.summary


def test_without_stored_curves_the_reference_is_used_and_said(world: World) -> None:
    assert not ExpectedCurves.objects.exists()
    rule = recovery.practice_rules(world.practice.pk)["phq-9"]
    assert not rule.stored and rule.source("psychodynamic") == "reference"
    assert rule.not_on_track("psychodynamic", 3, 20, 17)
    assert not rule.not_on_track("psychodynamic", 3, 19, 17)
    assert not rule.not_on_track("psychodynamic", 0, 22, 17)  # never before a session
    Alert.objects.all().delete()
    _new_score(world, 20)
    summary.check_new_administrations(0, summary._instrument_ids())
    assert Alert.objects.filter(kind="not_on_track", episode=world.episode).count() == 1
    t = trajectory.load(world.client)
    words = " ".join(t.instruments[0].summary)
    assert "curves have not been fitted yet" in words


def test_the_chart_band_is_the_dose_band(world: World) -> None:
    summary.refresh(full=True)
    _new_score(world, 20)
    t = trajectory.load(world.client)
    phq = t.instruments[0]
    treated = [p for p in phq.points if p.session]
    assert [p.dose for p in treated] == [0, 1, 2, 3]
    latest = treated[-1]
    assert latest.expected_high == pytest.approx(hand_line(17, 3.0), abs=0.01)
    assert latest.expected_mid == pytest.approx(hand_line(17, 3.0) - 6.0, abs=0.01)
    assert latest.expected_low == pytest.approx(hand_line(17, 3.0) - 12.0, abs=0.01)
    assert latest.not_on_track and not treated[0].not_on_track
    # 14 after one session: line 17 + 6 - 12 * Phi(beta ln(1/8)) = 21.76, on track.
    assert treated[1].expected_high == pytest.approx(hand_line(17, 1.0), abs=0.01)
    assert not treated[1].not_on_track
    assert latest.as_json()["dose"] == 3
    words = " ".join(phq.summary)
    assert "After 3 sessions attended, psychodynamic psychotherapy clients" in words
    assert "between 8 and 20; the latest score is outside that range (not on track)" in words


def test_stored_curves_are_the_fitted_curves(practice_with_outcomes: World) -> None:
    world = practice_with_outcomes
    summary.refresh(full=True)
    rule = recovery.practice_rules(world.practice.pk)["phq-9"]
    series, _ = recovery.load_series(world.practice.pk, "phq-9")
    fitted = dose.fit(series, len(recovery.GROUPS), 6.0)
    assert rule.stored and rule.source("psychodynamic") == "practice"
    groups = np.repeat(np.arange(len(recovery.GROUPS)), 13)
    doses = np.tile(np.arange(13), len(recovery.GROUPS))
    intake = np.full(groups.size, 16.0)
    assert np.allclose(
        rule.curves.line(groups, doses, intake), fitted.line(groups, doses, intake), atol=0.01
    )
    # The rule reads each modality's own curve.
    cbt = recovery.GROUPS.index("cbt")
    dyn = recovery.GROUPS.index("psychodynamic")
    assert rule.band("cbt", [3], 16.0)[2][0] == pytest.approx(
        float(fitted.band([cbt], [3], [16.0], scale=(0, 27))[2][0]), abs=0.01
    )
    assert rule.band("psychodynamic", [3], 16.0)[2][0] == pytest.approx(
        float(fitted.band([dyn], [3], [16.0], scale=(0, 27))[2][0]), abs=0.01
    )


def test_stored_curves_of_other_bins_are_refused() -> None:
    data = recovery.payload(
        dose.Series(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
        ),
        6.0,
    )
    assert recovery.curves_from_json(data).mean.shape == (4, len(dose.DOSE_EDGES))
    with pytest.raises(ValueError, match="refit"):
        recovery.curves_from_json({**data, "edges": [0, 1, 2]})


def test_doses_come_from_attended_sessions_before_the_answer(world: World) -> None:
    starts = recovery.attended_starts([world.episode.pk])[world.episode.pk]
    assert len(starts) == 3
    assert recovery.sessions_before(starts, starts[0]) == 0  # same minute: not before
    assert recovery.sessions_before(starts, starts[1] + datetime.timedelta(seconds=1)) == 2
    assert Episode.objects.get(pk=world.episode.pk).modality == "psychodynamic"
