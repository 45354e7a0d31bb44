"""Background work of the data lifecycle."""

from __future__ import annotations

import datetime

from reverie.core.worker import job, worker_id
from reverie.lifecycle import actions, bulk, exports, review


@job("lifecycle.build_exports", every=datetime.timedelta(seconds=5))
def build_exports() -> None:
    """Prepare queued exports of clients' records (each claimed by one worker only)."""
    exports.process_queued(me=worker_id())


@job("lifecycle.build_bulk_exports", every=datetime.timedelta(seconds=5))
def build_bulk_exports() -> None:
    """Write the NDJSON files of queued FHIR Bulk Data exports (one per pass)."""
    bulk.process_queued(me=worker_id())


@job("lifecycle.expire_exports", every=datetime.timedelta(minutes=15))
def expire_exports() -> None:
    """Delete prepared archives and bulk export files whose link has expired."""
    exports.expire()


@job("lifecycle.expire_erasure_requests", every=datetime.timedelta(hours=1))
def expire_erasure_requests() -> None:
    """Mark erasure requests that no second admin confirmed within their 7 days as expired
    (each audited as this job). Asking again and the Retention page also expire lapsed
    requests as they go; this makes the lapse show without anyone opening a page."""
    actions.expire_erasure_requests()


@job("lifecycle.retention_review", every=datetime.timedelta(hours=24))
def retention_review() -> None:
    """List the records past their practice's retention date for the admin to review."""
    review.review()
