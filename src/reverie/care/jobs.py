"""Periodic jobs of the clinical record."""

from __future__ import annotations

import datetime

from reverie.care import actions
from reverie.core.worker import job


@job("care.escalate_alerts", every=datetime.timedelta(minutes=1))
def escalate_alerts() -> None:
    actions.escalate_unacknowledged()


@job("care.send_reminders", every=datetime.timedelta(minutes=5))
def send_reminders() -> None:
    actions.send_due_reminders()


@job("care.extend_series", every=datetime.timedelta(hours=12))
def extend_series() -> None:
    """Keep twelve weeks of sessions bookable ahead of every running series."""
    actions.extend_running_series()
