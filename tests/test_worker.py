from __future__ import annotations

import datetime

from django.utils import timezone

from reverie.accounts.models import LoginAttempt
from reverie.core import worker
from reverie.core.models import PeriodicJob


def test_a_due_job_is_claimed_by_exactly_one_of_two_workers(db) -> None:
    calls: list[str] = []
    job = worker.Job(
        "test.once",
        datetime.timedelta(hours=1),
        lambda: calls.append("x"),
        datetime.timedelta(minutes=5),
    )
    assert worker.claim(job, "worker-a") is True
    assert worker.claim(job, "worker-b") is False
    row = PeriodicJob.objects.get(name="test.once")
    assert row.locked_by == "worker-a"


def test_an_expired_lock_can_be_taken_over(db) -> None:
    job = worker.Job(
        "test.crash", datetime.timedelta(hours=1), lambda: None, datetime.timedelta(minutes=5)
    )
    assert worker.claim(job, "crashed-worker")
    later = timezone.now() + datetime.timedelta(minutes=6)
    assert worker.claim(job, "worker-b", now=later)


def test_run_once_runs_due_jobs_then_schedules_the_next_run(db, monkeypatch) -> None:
    calls: list[int] = []
    job = worker.Job(
        "test.tick",
        datetime.timedelta(hours=2),
        lambda: calls.append(1),
        datetime.timedelta(minutes=5),
    )
    monkeypatch.setattr(worker, "REGISTRY", {job.name: job})
    assert worker.run_once("w1") == ["test.tick"]
    assert worker.run_once("w2") == []
    assert calls == [1]
    row = PeriodicJob.objects.get(name="test.tick")
    assert row.next_run_at > timezone.now() + datetime.timedelta(hours=1)
    assert (row.runs, row.locked_by, row.last_error) == (1, "", "")


def test_a_failing_job_records_its_error_and_others_still_run(db, monkeypatch) -> None:
    def boom() -> None:
        raise RuntimeError("disk full")

    ran: list[str] = []
    jobs = {
        "a": worker.Job("a", datetime.timedelta(hours=1), boom, datetime.timedelta(minutes=5)),
        "b": worker.Job(
            "b", datetime.timedelta(hours=1), lambda: ran.append("b"), datetime.timedelta(minutes=5)
        ),
    }
    monkeypatch.setattr(worker, "REGISTRY", jobs)
    assert worker.run_once("w") == ["a", "b"]
    assert "disk full" in PeriodicJob.objects.get(name="a").last_error
    assert ran == ["b"]


def test_login_attempts_older_than_thirty_days_are_pruned(db) -> None:
    old = timezone.now() - datetime.timedelta(days=31)
    LoginAttempt.objects.create(email="a@b.c", ip="127.0.0.1", outcome="failed", at=old)
    LoginAttempt.objects.create(email="a@b.c", ip="127.0.0.1", outcome="failed")
    worker.REGISTRY["accounts.prune_login_attempts"].func()
    assert LoginAttempt.objects.count() == 1
