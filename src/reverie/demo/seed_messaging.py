"""Seeding secure messages: the demo practice uses them, and a few clients in care have a
short, ordinary conversation with their therapist (a time to move, a form, a holiday).

The conversations are synthetic, written for the demo like the rest of its texts; every
demo page says the data is synthetic. Everything goes through messaging's actions as the
person who would act (so the trail, the read receipts and the notifications are as in real
use), then the send and read times are moved back into the last fortnight.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from reverie.audit import trail
from reverie.messaging import actions, queries
from reverie.messaging.models import Message

#: (from the client?, text, hours before the seeding). The last of each thread is left
#: unread, so both sides see an unread count in the demo.
THREADS: tuple[tuple[tuple[bool, str, float], ...], ...] = (
    (
        (
            True,
            "Hi, I have a work trip on the 14th. Could we move that week's session to the Friday?",
            150,
        ),
        (False, "Friday at 10 works for me. I have moved it; you will see it under My space.", 140),
        (True, "Thank you, that's a relief.", 139),
        (
            False,
            "A reminder that the practice is closed on the 24th and 25th; "
            "we meet again on the 31st.",
            30,
        ),
    ),
    (
        (
            True,
            "I filled in the history form but I'm not sure I answered the medication "
            "question right. Can we look at it on Tuesday?",
            200,
        ),
        (
            False,
            "Of course, bring it up at the start of Tuesday's session and we will go "
            "through it together.",
            190,
        ),
        (
            True,
            "I might be 10 minutes late on Tuesday because of the school run, sorry in advance.",
            20,
        ),
    ),
    (
        (
            False,
            "I will be away from 2 to 9 January. The practice's on-call therapist covers "
            "anything urgent that week.",
            96,
        ),
        (True, "Thanks for letting me know. Have a good break.", 90),
    ),
)


def write_messaging(seeded: Any) -> None:
    """Turn messages on for the demo practice and seed a few conversations."""
    actions.set_practice_messaging(seeded.ctx(seeded.admin), seeded.practice, enabled=True)
    now = timezone.now()
    chosen = []
    for rows in [seeded.waiting, seeded.journal_client, *seeded.clients]:
        if rows is None or rows.portal is None or rows in chosen:
            continue
        if queries.current_therapists(rows.client):
            chosen.append(rows)
        if len(chosen) == len(THREADS):
            break
    for rows, thread in zip(chosen, THREADS, strict=False):
        client = rows.client
        therapist = queries.current_therapists(client)[0]
        for index, (from_client, text, hours_ago) in enumerate(thread):
            sender = rows.portal if from_client else therapist
            message = actions.send(trail.Context(user=sender), client, text)
            sent_at = now - datetime.timedelta(hours=hours_ago)
            Message.objects.filter(pk=message.pk).update(sent_at=sent_at)
            if index < len(thread) - 1:
                # The other side read it an hour later (the last one waits, unread).
                reader = therapist if from_client else rows.portal
                actions.read_thread(trail.Context(user=reader), client)
                Message.objects.filter(pk=message.pk).update(
                    read_at=sent_at + datetime.timedelta(hours=1)
                )
