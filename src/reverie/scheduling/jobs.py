"""Periodic jobs of scheduling: the waitlist's offers."""

from __future__ import annotations

import datetime

from reverie.core.worker import job
from reverie.scheduling import waitlist


@job("scheduling.expire", every=datetime.timedelta(minutes=5))
def expire_offers() -> None:
    waitlist.expire_offers()


@job("scheduling.offer", every=datetime.timedelta(minutes=15))
def offer_open_times() -> None:
    waitlist.offer_everywhere()
