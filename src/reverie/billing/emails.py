"""Billing's emails, queued in the outbox in the caller's transaction."""

from __future__ import annotations

from reverie.billing import documents
from reverie.billing.models import GoodFaithEstimate
from reverie.outbox.queue import enqueue


def good_faith_estimate(estimate: GoodFaithEstimate) -> None:
    """The estimate, as a PDF attachment, to the person it is for."""
    if not estimate.email:
        return
    enqueue(
        "good_faith_estimate",
        estimate.email,
        {
            "name": estimate.name,
            "practice": estimate.practice,
            "therapist": estimate.therapist.display_name,
        },
        practice_id=estimate.practice_id,
        dedupe_key=f"good_faith_estimate:{estimate.pk}",
        attachments=[
            (
                f"good-faith-estimate-{estimate.pk}.pdf",
                documents.estimate_pdf(estimate),
                "application/pdf",
            )
        ],
    )
