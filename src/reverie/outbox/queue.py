"""Putting a message in the outbox: the one call every ``<app>/emails.py`` makes."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from reverie.lib import dates
from reverie.outbox import delivery, sealing
from reverie.outbox.models import Message, Status

log = logging.getLogger("reverie.outbox")


def render_email(template: str, context: Mapping[str, Any]) -> dict[str, str]:
    """Subject, text and HTML from ``templates/emails/<template>{_subject.txt,.txt,.html}``.

    Dates are written in the locale of the ``practice`` in the context (outbox sits below
    accounts, so the practice is read by attribute, not imported); a job queuing mail has
    no request whose locale would otherwise apply."""
    ctx = dict(context)
    locale = getattr(ctx.get("practice"), "date_locale", None)
    with dates.using_locale(locale if isinstance(locale, str) else None):
        return {
            "subject": " ".join(render_to_string(f"emails/{template}_subject.txt", ctx).split()),
            "text": render_to_string(f"emails/{template}.txt", ctx),
            "html": render_to_string(f"emails/{template}.html", ctx),
        }


def enqueue(
    template: str,
    to: str,
    context: Mapping[str, Any],
    *,
    practice_id: int | None,
    dedupe_key: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> Message:
    """Write an email to the outbox in the caller's transaction; it is sent after commit.

    ``dedupe_key`` (identifiers only, e.g. ``"alert_raised:17:4"``) makes the call
    idempotent: a retried action that queues the same key again gets the first message
    back and nothing is sent twice.

    ``attachments`` are ``(file name, content, MIME type)``, such as a calendar invitation.
    They are sealed with the body, inside the same payload, and wiped with it on delivery:
    an attachment is as private as the text beside it.

    Nothing about the message itself can fail the caller's action: if the body cannot be
    rendered or sealed, the row is stored as ``failed`` with the reason, for the practice
    admin's outgoing-mail page, and the error is logged. Only a database error (which
    dooms the caller's transaction anyway) propagates.
    """
    if not to:
        raise ValueError(f"an email ({template}) needs a recipient address")
    now = timezone.now()
    row = Message(
        template=template[:100],
        recipient=to[:254],
        practice_id=practice_id,
        dedupe_key=dedupe_key[:200] if dedupe_key else None,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        parts: dict[str, object] = dict(render_email(template, context))
        if attachments:
            parts["attachments"] = [
                [name, base64.b64encode(content).decode("ascii"), mimetype]
                for name, content, mimetype in attachments
            ]
        payload = json.dumps(parts).encode("utf-8")
        row.body, row.encrypted = sealing.seal(payload)
    except Exception as exc:  # the message is lost, the action must not be
        log.exception("could not prepare the %s email; stored as failed", template)
        row.status = Status.FAILED
        row.last_error = f"could not be prepared: {type(exc).__name__}: {exc}"[:500]
    if row.dedupe_key:
        existing = Message.objects.filter(dedupe_key=row.dedupe_key).first()
        if existing is not None:
            return existing
        try:
            # A savepoint, so losing a race to an identical key leaves the caller's
            # transaction usable.
            with transaction.atomic():
                row.save()
        except IntegrityError:
            return Message.objects.get(dedupe_key=row.dedupe_key)
    else:
        row.save()
    if row.status == Status.PENDING:
        transaction.on_commit(partial(delivery.after_commit, row.pk), robust=True)
    return row
