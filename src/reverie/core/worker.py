"""A small background worker: periodic jobs claimed through the database.

Each job is a plain function registered with ``@job(name, every=...)``. A worker loop
(``reverie worker``) claims a due job by a conditional UPDATE — the row changes only if
no other worker holds an unexpired lock on it — runs it, and schedules its next run.
Several workers on one PostgreSQL (or one SQLite file) therefore never run the same job
twice for the same period, and a crashed worker's lock simply expires. This follows the
healthchecks ``sendalerts`` pattern; a broker is added only when measured load asks.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from reverie.core.models import PeriodicJob

log = logging.getLogger("reverie.worker")


@dataclass(frozen=True)
class Job:
    name: str
    every: datetime.timedelta
    func: Callable[[], object]
    lock_for: datetime.timedelta


REGISTRY: dict[str, Job] = {}

_running: ContextVar[str | None] = ContextVar("reverie_running_job", default=None)


def current_job() -> str | None:
    """The name of the job this code runs in, or None outside one. The audit trail uses
    it to say which job wrote a row (``audit.trail.system``)."""
    return _running.get()


def job(
    name: str, *, every: datetime.timedelta, lock_for: datetime.timedelta | None = None
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register ``func`` as the periodic job ``name``. Whatever it writes, it writes as
    the job: while it runs, :func:`current_job` names it."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        @functools.wraps(func)
        def run() -> object:
            token = _running.set(name)
            try:
                return func()
            finally:
                _running.reset(token)

        REGISTRY[name] = Job(
            name, every, run, lock_for or max(every, datetime.timedelta(minutes=5))
        )
        return run

    return register


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(job: Job, me: str, now: datetime.datetime | None = None) -> bool:
    """Take the job if it is due and unlocked. True means this worker must run it."""
    now = now or timezone.now()
    PeriodicJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
    claimed = (
        PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_by=me, locked_until=now + job.lock_for, last_started_at=now)
    )
    return claimed == 1


def run_once(me: str | None = None) -> list[str]:
    """One pass over every registered job; returns the names of the jobs this worker ran."""
    me = me or worker_id()
    ran: list[str] = []
    for job_ in REGISTRY.values():
        if not claim(job_, me):
            continue
        error = ""
        try:
            job_.func()
        except Exception:  # a failing job must not stop the others; the error is kept
            error = traceback.format_exc(limit=5)
            log.exception("job %s failed", job_.name)
        finished = timezone.now()
        row = PeriodicJob.objects.get(name=job_.name)
        row.locked_by = ""
        row.locked_until = None
        row.last_finished_at = finished
        row.next_run_at = finished + job_.every
        row.last_error = error
        row.runs += 1
        row.save(
            update_fields=[
                "locked_by",
                "locked_until",
                "last_finished_at",
                "next_run_at",
                "last_error",
                "runs",
            ]
        )
        ran.append(job_.name)
    return ran


def run_forever(poll_seconds: float = 5.0, stop: Callable[[], bool] = lambda: False) -> None:
    me = worker_id()
    log.info("worker %s started with jobs: %s", me, ", ".join(sorted(REGISTRY)))
    while not stop():
        run_once(me)
        time.sleep(poll_seconds)
