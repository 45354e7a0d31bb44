"""Periodic jobs of the outcomes app (registered from ``OutcomesConfig.ready``)."""

from __future__ import annotations

import datetime

from reverie.core.worker import job
from reverie.outcomes import summary


@job("outcomes.refresh", every=datetime.timedelta(minutes=1), lock_for=datetime.timedelta(hours=2))
def refresh() -> None:
    """Fold new administrations and changed episodes into the summaries; raise not-on-track
    alerts for new scores outside the expected range."""
    summary.refresh()


@job("outcomes.daily", every=datetime.timedelta(hours=24), lock_for=datetime.timedelta(hours=2))
def daily() -> None:
    """Refit every practice's expected-recovery curves and re-summarise open episodes."""
    summary.refresh_open_episodes_and_curves()
