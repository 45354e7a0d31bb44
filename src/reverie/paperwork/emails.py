"""The paperwork email: a link to the portal's forms page and nothing else. It names
neither the forms nor the practice's reasons, because email is not a safe channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from reverie.outbox.queue import enqueue

if TYPE_CHECKING:
    from reverie.care.models import Client
    from reverie.paperwork.models import FormRequest


def forms_waiting(client: Client, requests: Sequence[FormRequest]) -> None:
    """Tell the client that forms wait for their signature in the portal."""
    user = client.user
    if user is None:
        return
    enqueue(
        "paperwork_waiting",
        user.email,
        {
            "name": client.preferred_name or client.given_name,
            "practice": client.practice,
            "count": len(requests),
            "link": settings.BASE_URL + reverse("paperwork:mine"),
        },
        practice_id=client.practice_id,
        dedupe_key=f"paperwork_waiting:{client.pk}:{min(r.pk for r in requests)}",
    )
