"""The worker job that sends the outbox."""

from __future__ import annotations

import datetime

from reverie.core.worker import job
from reverie.outbox import delivery


# Every 20 seconds: a message the request could not send (the mail server was down) goes
# out within about half a minute of the server coming back, plus its backoff.
@job("outbox.deliver", every=datetime.timedelta(seconds=20))
def deliver() -> None:
    delivery.deliver()
