"""Django's PostgreSQL backend with a health check that skips connections in active use.

With ``CONN_HEALTH_CHECKS`` Django probes a reused connection with ``SELECT 1`` at the start
of every request, so that a connection the server dropped while it sat idle (a database
restart, an idle timeout, a firewall) is replaced before the request uses it. Under load
that probe is one extra round trip on every request, a tenth of a FHIR submission's
statements (``bench/bench_fhir_submissions.py``), spent on a connection that ran a query a
few milliseconds earlier.

This backend probes only a connection that has been idle for longer than
:data:`PROBE_AFTER_IDLE_SECONDS`. A connection used more recently than that is the one
that just served the previous request; Django has already closed it at that request's end
if any query on it failed (``errors_occurred`` makes Django test it and close it when it
is unusable). What is given up is protection against a server that goes away within that
one second, which the probe could not promise either: a connection can fail just after it
answered ``SELECT 1``.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base

#: A connection idle for longer than this is probed before a request uses it.
PROBE_AFTER_IDLE_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _last_cursor_at = float("-inf")

    def create_cursor(self, name: Any = None) -> Any:
        # Every query Django runs opens its cursor here (the probe itself does not).
        self._last_cursor_at = time.monotonic()
        return super().create_cursor(name)

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.settings_dict["CONN_HEALTH_CHECKS"]
            and not self.health_check_done  # type: ignore[has-type]
            and time.monotonic() - self._last_cursor_at < PROBE_AFTER_IDLE_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
