"""Periodic jobs of the clinical record."""

from __future__ import annotations

import datetime

from reverie.care import actions
from reverie.core.worker import job


@job("care.escalate_alerts", every=datetime.timedelta(minutes=1))
def escalate_alerts() -> None:
    actions.escalate_unacknowledged()
