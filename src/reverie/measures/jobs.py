"""Periodic jobs of measurement. Each claims its rows with a conditional UPDATE (see
``actions.requests._claim_and_send``) or relies on unique constraints, so several workers can run
them at once without sending anything twice."""

from __future__ import annotations

import datetime

from reverie.core.worker import job
from reverie.measures import actions, scheduling


@job("measures.open_session_requests", every=datetime.timedelta(minutes=15))
def open_session_requests() -> None:
    """Ask for the scheduled questionnaires before each session in the next 48 hours, and
    for those about the session (the SPARQ) after each session that has just ended."""
    scheduling.open_session_requests()
    scheduling.open_after_session_requests()


@job("measures.send_links", every=datetime.timedelta(minutes=5))
def send_links() -> None:
    """Email a one-time link for each request that has opened."""
    actions.send_due_links()


@job("measures.send_reminders", every=datetime.timedelta(minutes=5))
def send_reminders() -> None:
    """Send the one reminder before a request closes."""
    actions.send_due_reminders()


@job("measures.close_lapsed_requests", every=datetime.timedelta(minutes=15))
def close_lapsed_requests() -> None:
    scheduling.close_lapsed_requests()
