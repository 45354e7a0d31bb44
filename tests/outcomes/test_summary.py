"""The per-episode summary table, its refresh job, expected curves and not-on-track alerts."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from outcomes.conftest import add_scores, ended_episode
from reverie.audit.models import AuditEntry
from reverie.care.models import Alert, Episode
from reverie.core import worker
from reverie.measures.models import Administration
from reverie.outcomes import summary
from reverie.outcomes.models import SCORE_COLUMNS, EpisodeOutcome, ExpectedCurves, RefreshState
from reverie.testing import World


def test_refresh_summarises_first_last_and_followup_scores(world: World) -> None:
    episode = ended_episode(
        world.practice,
        world.therapist,
        [18, 14, 9],
        [13, 10, 6],
        followups={"followup_1m": (7, 5), "followup_3m": (5, 4)},
    )
    result = summary.refresh(full=True)
    assert result is not None and result.full
    row = EpisodeOutcome.objects.get(episode=episode)
    assert (row.phq9_n, row.phq9_first, row.phq9_last) == (3, 18, 9)
    assert (row.gad7_n, row.gad7_first, row.gad7_last) == (3, 13, 6)
    assert (row.phq9_fu1, row.phq9_fu3, row.phq9_fu6, row.gad7_fu3) == (7, 5, None, 4)
    assert row.sessions_attended == 3 and row.status == "ended"
    assert row.days_treated == (episode.end_date - episode.start_date).days
    # Every episode gets a row, even one without scores.
    assert EpisodeOutcome.objects.count() == Episode.objects.count()


def test_incremental_refresh_picks_up_new_scores_and_changed_episodes(world: World) -> None:
    summary.refresh(full=True)
    assert EpisodeOutcome.objects.get(episode=world.episode).phq9_last == 11
    add_scores(
        world.episode, [8], start=timezone.now() - datetime.timedelta(days=1), first_is_intake=False
    )
    Episode.objects.filter(pk=world.other_episode.pk).update(status="paused")
    stale = summary.stale_episode_ids(summary.state().watermark)
    assert {world.episode.pk, world.other_episode.pk} <= stale
    result = summary.refresh()
    assert result is not None and not result.full
    assert EpisodeOutcome.objects.get(episode=world.episode).phq9_last == 8
    assert EpisodeOutcome.objects.get(episode=world.other_episode).status == "paused"


def test_a_second_process_cannot_claim_a_running_refresh(world: World) -> None:
    summary.state()
    RefreshState.objects.filter(pk=1).update(
        locked_by="other:1", locked_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert summary.refresh(me="me:2") is None
    # An expired lock (a crashed worker) can be taken over.
    RefreshState.objects.filter(pk=1).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert summary.refresh(me="me:2") is not None
    assert RefreshState.objects.get(pk=1).locked_by == ""


def test_progress_is_reported_per_chunk(world: World) -> None:
    for i in range(5):
        ended_episode(world.practice, world.therapist, [15, 10], [10, 6], name=f"P{i}")
    seen: list[tuple[int, int]] = []
    summary.refresh(full=True, chunk=3, progress=lambda done, total: seen.append((done, total)))
    total = Episode.objects.count()
    assert seen[0] == (0, total) and seen[-1] == (total, total) and len(seen) == 1 + -(-total // 3)
    state = RefreshState.objects.get(pk=1)
    assert (state.done, state.total, state.full_requested) == (total, total, False)


def test_recompute_command_prints_progress_and_is_audited(world: World, capsys) -> None:
    call_command("outcomes", "recompute")
    out = capsys.readouterr()
    assert "summarised 3 of 3 episodes (100.0%)" in out.err
    assert "summarised 3 episodes and refitted the expected curves" in out.out
    entry = AuditEntry.objects.filter(object_type="outcomes.refreshstate").get()
    assert (entry.actor_label, entry.action, entry.detail) == (
        "system:outcomes",
        "update",
        {"episodes": 3, "full": True},
    )


def test_the_refit_stores_only_the_dose_curves_and_counts_the_episodes_read(
    world: World,
) -> None:
    for i in range(31):
        ended_episode(
            world.practice, world.therapist, [17, 15, 12, 10], [12, 10, 9, 8], name=f"C{i}"
        )
    # A row fitted before the band curves were retired keeps them until the next refit.
    ExpectedCurves.objects.create(
        practice=world.practice, instrument="phq-9", curves={"bands": [], "percentiles": [50]}
    )
    summary.refresh(full=True)
    row = ExpectedCurves.objects.get(practice=world.practice, instrument="phq-9")
    assert list(row.curves) == ["dose"]
    assert sum(row.curves["dose"]["n_episodes"]) == 31 == row.n_episodes


def _worsening_client(world: World) -> Administration:
    """The world's client scores far above the expected band at the latest measurement."""
    return add_scores(
        world.episode,
        [26],
        start=timezone.now() - datetime.timedelta(hours=2),
        first_is_intake=False,
    )[0]


def test_a_score_outside_the_expected_range_raises_one_not_on_track_alert(
    world: World, django_capture_on_commit_callbacks
) -> None:
    summary.refresh(full=True)
    mail.outbox.clear()
    Alert.objects.all().delete()
    admin = _worsening_client(world)
    with django_capture_on_commit_callbacks(execute=True):  # the alert's mail goes after commit
        result = summary.refresh()
    assert result is not None and result.alerts == 1
    alert = Alert.objects.get(kind="not_on_track")
    assert (alert.source_type, alert.source_id, alert.episode_id) == (
        "measures.administration",
        str(admin.pk),
        world.episode.pk,
    )
    assert "PHQ-9 26 after 3 sessions attended" in alert.summary
    assert EpisodeOutcome.objects.get(episode=world.episode).not_on_track
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    audit = AuditEntry.objects.filter(object_type="care.alert").get()
    assert (audit.actor_label, audit.action, audit.client_id) == (
        "system:outcomes.refresh",
        "create",
        world.client.pk,
    )
    # Re-running (or re-reading the overlap below the watermark) raises nothing new.
    summary.refresh()
    summary.check_new_administrations(0, summary._instrument_ids())
    assert Alert.objects.filter(kind="not_on_track").count() == 1


def test_old_scores_never_raise_alerts(world: World) -> None:
    Alert.objects.all().delete()
    add_scores(
        world.episode,
        [27],
        start=timezone.now() - datetime.timedelta(days=40),
        first_is_intake=False,
    )
    summary.refresh(full=True)
    assert not Alert.objects.filter(kind="not_on_track").exists()


def test_the_worker_job_runs_the_refresh(world: World) -> None:
    assert "outcomes.refresh" in worker.REGISTRY
    worker.REGISTRY["outcomes.refresh"].func()
    assert EpisodeOutcome.objects.filter(episode=world.episode).exists()


@pytest.mark.parametrize("job", ["outcomes.daily"])
def test_the_daily_job_refits_curves(world: World, job: str) -> None:
    worker.REGISTRY[job].func()
    assert ExpectedCurves.objects.filter(practice=world.practice).count() == 2


def test_score_columns_are_the_models_score_fields_in_order() -> None:
    """SCORE_COLUMNS (the one list the frame, the CSV and its query use) is the model's
    score fields, in the model's order, for the instruments and follow-ups summary fills."""
    fields = [
        f.name
        for f in EpisodeOutcome._meta.get_fields()
        if f.name.split("_")[0] in summary.SUMMARY_INSTRUMENTS.values()
    ]
    assert list(SCORE_COLUMNS) == fields
    parts = {"n", "first", "last", *summary.FOLLOWUP_COLUMNS.values()}
    assert {c.split("_", 1)[1] for c in SCORE_COLUMNS} == parts


def test_the_csv_header_did_not_change() -> None:
    from reverie.outcomes.reports import CSV_COLUMNS

    expected = (
        "client",
        "episode",
        "therapist",
        "modality",
        "status",
        "end_reason",
        "start_year",
        "days_treated",
        "sessions_attended",
        "phq9_n",
        "phq9_first",
        "phq9_last",
        "phq9_fu1",
        "phq9_fu3",
        "phq9_fu6",
        "phq9_fu12",
        "gad7_n",
        "gad7_first",
        "gad7_last",
        "gad7_fu1",
        "gad7_fu3",
        "gad7_fu6",
        "gad7_fu12",
        "phq9_reliable_change",
        "nhs_tt_recovery",
        "nhs_tt_reliable_improvement",
        "nhs_tt_reliable_deterioration",
        "nhs_tt_mixed",
    )
    assert expected == CSV_COLUMNS
