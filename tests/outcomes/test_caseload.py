"""Caseload status (reverie.outcomes.caseload): reliable change comes from the statistics
module with each instrument's published threshold (PHQ-9 6 points, GAD-7 4 points, NHS
Talking Therapies manual; a change equal to the threshold counts), here checked by hand at
and around the thresholds."""

from __future__ import annotations

import datetime

import pytest

from reverie.care.models import Episode, EpisodeStatus
from reverie.outcomes.caseload import CaseloadRow

NOW = datetime.datetime(2026, 12, 6, 9, tzinfo=datetime.UTC)


def row(**scores: int | None) -> CaseloadRow:
    episode = Episode(status=EpisodeStatus.ACTIVE, start_date=datetime.date(2026, 9, 1))
    return CaseloadRow(
        episode=episode,
        sessions_attended=10,
        first_phq9=scores.get("first_phq9"),
        last_phq9=scores.get("last_phq9"),
        last_phq9_band="",
        last_phq9_at=NOW,
        last_gad7=scores.get("last_gad7"),
        first_gad7=scores.get("first_gad7"),
        last_measured_at=NOW - datetime.timedelta(days=3),
        now=NOW,
    )


@pytest.mark.parametrize(
    ("scores", "keys"),
    [
        ({"first_phq9": 15, "last_phq9": 9}, ["improving"]),  # 6 down: reliable
        ({"first_phq9": 15, "last_phq9": 10}, ["steady"]),  # 5 down: not
        ({"first_phq9": 15, "last_phq9": 21}, ["deteriorated"]),  # 6 up
        ({"first_phq9": 15, "last_phq9": 20}, ["steady"]),
        ({"first_gad7": 12, "last_gad7": 8}, ["improving"]),  # 4 down
        ({"first_gad7": 12, "last_gad7": 9}, ["steady"]),
        ({"first_gad7": 8, "last_gad7": 12}, ["deteriorated"]),
        # Better on one, worse on the other: deteriorated, never also "improving".
        ({"first_phq9": 20, "last_phq9": 10, "first_gad7": 5, "last_gad7": 9}, ["deteriorated"]),
        ({}, ["steady"]),  # too few scores
    ],
)
def test_reliable_change_by_published_thresholds(scores: dict[str, int], keys: list[str]) -> None:
    assert [s.key for s in row(**scores).statuses] == keys


def test_overdue_after_five_weeks_without_a_questionnaire() -> None:
    late = row(first_phq9=15, last_phq9=15)
    late = CaseloadRow(**{**late.__dict__, "last_measured_at": NOW - datetime.timedelta(days=36)})
    assert [s.key for s in late.statuses] == ["overdue", "steady"]
    assert late.priority == 3
