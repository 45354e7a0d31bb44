"""Sending what is in the outbox: the only code in Reverie that talks to a mail server.

Two paths deliver, and either may reach a message first:

* **After commit, by the request itself.** :func:`after_commit` runs when the transaction
  that queued a message commits. Inside a web request it waits for the end of the request
  (Django's ``request_finished``, sent once the response has been written), so the page is
  never held up by mail and no database lock — the audit chain's, SQLite's write lock — is
  held while the mail server is slow. Outside a request (a worker job, a command) it sends
  at once. This path is best effort: it stops at the first failure and leaves the rest.
* **By the worker.** The ``outbox.deliver`` job (``jobs.py``) sends every message that is
  due, retrying failures with exponential backoff and jitter, until ``MAX_ATTEMPTS``; then
  the message is ``failed`` and shows on the practice admin's outgoing-mail page.

Each message is claimed with a conditional UPDATE (pending and due, or a ``sending`` claim
whose lease ran out) before it is sent, so two workers — or a worker and a request — never
send the same message. A process that dies mid-send leaves a claim that expires, and the
message is sent again: delivery is at least once, never silently dropped.

Every connection gets ``settings.EMAIL_TIMEOUT`` (``REVERIE_EMAIL_TIMEOUT``). Delivery
refuses to run inside a database transaction (:class:`InTransaction`).
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import random
import smtplib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reverie.outbox import sealing
from reverie.outbox.models import Message, Status

log = logging.getLogger("reverie.outbox")

#: Attempts before a message is marked ``failed`` (about three hours of retries).
MAX_ATTEMPTS = 10
#: Backoff before retry n is ``min(CAP, BASE * 2**(n-1))``, drawn with "full jitter".
BACKOFF_BASE = datetime.timedelta(seconds=30)
BACKOFF_CAP = datetime.timedelta(hours=1)
#: How many messages one worker pass sends at most.
BATCH = 200


class InTransaction(RuntimeError):
    """Delivery was called inside a database transaction. Talking to a mail server there
    would hold the transaction's locks for as long as the server takes."""


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def in_transaction() -> bool:
    """True inside an atomic block. The blocks Django's ``TestCase`` opens around each test
    (marked ``_from_testcase``) do not count: they stand in for autocommit, so tests can
    deliver after a captured commit exactly as production does."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks)


def backoff(attempts: int, rng: random.Random | None = None) -> datetime.timedelta:
    """The wait after the ``attempts``-th failed try: exponential, capped, full jitter, so
    workers that failed together do not all retry together (never less than a second)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    seconds = (rng or random).uniform(1.0, max(1.0, ceiling.total_seconds()))
    return datetime.timedelta(seconds=seconds)


def _lease() -> datetime.timedelta:
    # Long enough that a send in progress never looks abandoned: a connection and a
    # message each get up to EMAIL_TIMEOUT.
    return datetime.timedelta(seconds=max(300, 6 * float(settings.EMAIL_TIMEOUT or 10)))


def claim(pk: int, now: datetime.datetime | None = None) -> bool:
    """Take message ``pk`` for sending. True means this process must send it now."""
    now = now or timezone.now()
    return bool(
        Message.objects.filter(pk=pk)
        .filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, locked_until__lt=now)
        )
        .update(
            status=Status.SENDING,
            locked_until=now + _lease(),
            attempts=F("attempts") + 1,
        )
    )


def _email(row: Message) -> EmailMultiAlternatives:
    parts = json.loads(sealing.unseal(bytes(row.body), row.encrypted))
    message = EmailMultiAlternatives(
        parts["subject"], parts["text"], settings.DEFAULT_FROM_EMAIL, [row.recipient]
    )
    message.attach_alternative(parts["html"], "text/html")
    for name, content, mimetype in parts.get("attachments", ()):
        message.attach(name, base64.b64decode(content), mimetype)
    return message


def _permanent(error: BaseException) -> bool:
    """A refusal that retrying cannot fix: a 5xx about this message or its address, or a
    body that cannot be read."""
    if isinstance(error, sealing.SealError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def _about_this_message(error: BaseException) -> bool:
    """True when the server refused this message only; the connection is still good."""
    return isinstance(
        error,
        smtplib.SMTPRecipientsRefused
        | smtplib.SMTPSenderRefused
        | smtplib.SMTPDataError
        | sealing.SealError,
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _record_success(pk: int, now: datetime.datetime) -> None:
    Message.objects.filter(pk=pk).update(
        status=Status.SENT, sent_at=now, body=b"", locked_until=None, last_error=""
    )


def _record_failure(pk: int, error: BaseException, now: datetime.datetime) -> bool:
    """Schedule a retry or give up; True when the message is now ``failed``."""
    attempts = Message.objects.filter(pk=pk).values_list("attempts", flat=True).first() or 0
    final = _permanent(error) or attempts >= MAX_ATTEMPTS
    Message.objects.filter(pk=pk).update(
        status=Status.FAILED if final else Status.PENDING,
        last_error=_describe(error),
        locked_until=None,
        next_attempt_at=now if final else now + backoff(attempts),
    )
    return final


def deliver(
    pks: Iterable[int] | None = None,
    *,
    stop_on_failure: bool = False,
    budget: float | None = None,
) -> Outcome:
    """Send due messages: those in ``pks``, or (``None``) every due message, oldest first.

    One connection serves the pass. A failure that concerns the connection (refused,
    timed out, dropped, 4xx) ends the pass — the server is unwell, and every further
    message would wait out the same timeout; the worker comes back after backoff. With
    ``stop_on_failure`` any failure ends it, and ``budget`` (seconds) stops starting new
    messages once spent: both bound how long a request's own delivery can take.
    """
    if in_transaction():
        raise InTransaction("messages are sent after commit, never inside a transaction")
    now = timezone.now()
    if pks is None:
        candidates = list(
            Message.objects.filter(
                Q(status=Status.PENDING, next_attempt_at__lte=now)
                | Q(status=Status.SENDING, locked_until__lt=now)
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:BATCH]
        )
    else:
        candidates = list(pks)
    outcome = Outcome()
    started = time.monotonic()
    connection: Any = None
    try:
        for pk in candidates:
            if budget is not None and time.monotonic() - started > budget:
                break
            if not claim(pk):
                continue
            row = Message.objects.get(pk=pk)
            try:
                email = _email(row)
                if connection is None:
                    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
                    connection.open()
                connection.send_messages([email])
            except Exception as error:  # every failure is recorded; none escapes
                log.warning("outbox: message %s (%s) not sent: %s", pk, row.template, error)
                if _record_failure(pk, error, timezone.now()):
                    outcome.failed.append(pk)
                else:
                    outcome.retrying.append(pk)
                if stop_on_failure or not _about_this_message(error):
                    break
                continue
            _record_success(pk, timezone.now())
            outcome.sent.append(pk)
    finally:
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection may fail to close; nothing is lost
                log.debug("outbox: closing the mail connection failed", exc_info=True)
    return outcome


def retry_now(pk: int, practice_id: int) -> bool:
    """Make a pending or failed message of ``practice_id`` due at once (the admin's "retry
    now"). Callers audit it; False when there is no such message or nothing to send."""
    return bool(
        Message.objects.filter(
            pk=pk,
            practice_id=practice_id,
            status__in=(Status.PENDING, Status.FAILED),
        )
        .exclude(body=b"")
        .update(status=Status.PENDING, next_attempt_at=timezone.now(), locked_until=None)
    )


#: Shown on the admin's outgoing-mail page beside each message a restore held back.
HELD_AFTER_RESTORE = (
    "Held after a restore: it was waiting to be sent when the backup was taken, so it may "
    "have gone out already. Retry it if it did not."
)


def hold_after_restore() -> int:
    """Keep the messages a restored backup held as waiting from going out on their own.

    A backup is taken while mail is queued; by the time it is restored most of that mail
    has long been sent from the old database, and sending it again would repeat reminders,
    links and alerts days late. So every message still pending (or caught mid-send) in the
    restored database becomes ``failed`` with :data:`HELD_AFTER_RESTORE` as the reason: the
    practice admin sees each on the outgoing-mail page and retries those that never went.
    Messages queued after the restore are sent as usual. Returns how many were held.
    """
    return Message.objects.filter(status__in=(Status.PENDING, Status.SENDING)).update(
        status=Status.FAILED, last_error=HELD_AFTER_RESTORE, locked_until=None
    )


# --- delivery after commit ------------------------------------------------------------------

_request = threading.local()


def after_commit(pk: int) -> None:
    """Runs when the transaction that queued message ``pk`` commits (``on_commit``)."""
    waiting: list[int] | None = getattr(_request, "waiting", None)
    if waiting is not None:
        waiting.append(pk)
        return
    _deliver_quietly([pk])


def _deliver_quietly(pks: list[int]) -> None:
    """Best effort: one try each, stop at the first failure, never raise. What is not sent
    here stays pending for the worker."""
    try:
        deliver(pks, stop_on_failure=True, budget=float(settings.EMAIL_TIMEOUT))
    except Exception:
        log.exception("outbox: delivery after commit failed; the worker will retry")


def _on_request_started(**kwargs: Any) -> None:
    _request.waiting = []


def _on_request_finished(**kwargs: Any) -> None:
    waiting: list[int] | None = getattr(_request, "waiting", None)
    _request.waiting = None
    if waiting:
        _deliver_quietly(waiting)


def connect_request_signals() -> None:
    request_started.connect(_on_request_started, dispatch_uid="reverie.outbox.started")
    request_finished.connect(_on_request_finished, dispatch_uid="reverie.outbox.finished")
