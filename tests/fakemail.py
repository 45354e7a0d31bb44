"""Mail servers that misbehave, as Django email backends, for the outbox's fault tests.

Select one with ``settings.EMAIL_BACKEND = "fakemail.Refusing"`` (``tests/`` is on the
import path). Each behaves like the failure it is named after, as Django's SMTP backend
would surface it; none touches the network.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class Refusing(BaseEmailBackend):
    """Nothing listens on the SMTP port."""

    def open(self) -> bool:
        raise ConnectionRefusedError(111, "Connection refused")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.open()
        return 0


class TimingOut(BaseEmailBackend):
    """The server accepted the connection and then never answered."""

    def open(self) -> bool:
        raise TimeoutError("timed out")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.open()
        return 0


class Slow(BaseEmailBackend):
    """A server that takes ten seconds to answer. Like a real socket with a timeout, it
    gives up after ``timeout`` seconds if that is shorter; the timeouts it was given are
    kept in :data:`Slow.timeouts`, so a test can show the configured one was honoured."""

    SERVER_SECONDS = 10.0
    timeouts: list[float | None] = []

    def __init__(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout = timeout

    def open(self) -> bool:
        Slow.timeouts.append(self.timeout)
        wait = self.SERVER_SECONDS if self.timeout is None else min(self.timeout, 10.0)
        time.sleep(wait)
        if self.timeout is not None and self.timeout < self.SERVER_SECONDS:
            raise TimeoutError("timed out")
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        return 0


class Blocking(BaseEmailBackend):
    """Delivers (to Django's test outbox) only once :data:`Blocking.release` is set, and
    sets :data:`Blocking.entered` while it waits: a mail server that hangs mid-send."""

    entered = threading.Event()
    release = threading.Event()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        Blocking.entered.set()
        if not Blocking.release.wait(timeout=60):
            raise TimeoutError("the test never released the blocked mail server")
        mail.outbox.extend(email_messages)
        return len(email_messages)


class SilentServer:
    """A real TCP listener on 127.0.0.1 that accepts connections and never says a word —
    an SMTP server that hangs before its greeting. For Django's real SMTP backend."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
