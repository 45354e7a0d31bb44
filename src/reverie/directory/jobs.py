"""Periodic jobs of the front door."""

from __future__ import annotations

import datetime

from reverie.core.worker import job
from reverie.directory import actions


@job("directory.prune_attempts", every=datetime.timedelta(hours=1))
def prune_attempts() -> None:
    actions.prune_attempts()


@job("directory.remind_waiting", every=datetime.timedelta(hours=6))
def remind_waiting() -> None:
    actions.remind_waiting()
