"""Django's PostgreSQL backend with a health check that skips connections in active use,
and timestamps read by psycopg's C loader.

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

Timestamps: Django reads every ``timestamptz`` value through a Python subclass of
psycopg's Python loader, which parses the text with a regular expression and then sets
the value's zone to the connection's (``psycopg_any.BaseTzLoader``), because psycopg's C
loader cannot be subclassed. That cost 6.3–8.0 µs a value against 0.7 µs with the C
loader and 0.3 µs for an integer (50,000 values read in one query, three rounds), paid for
every timestamp of every row read: a FHIR submission's lookup reads four or five (about
1 % of its CPU), a caseload page or a bulk export thousands. When the
connection's zone is UTC, which is what Django sets on every connection with ``USE_TZ``
and no ``TIME_ZONE`` of the database's own (Reverie's configuration), the C loader gives
exactly the same values, with ``datetime.timezone.utc`` as their zone, so this backend
has it read them (:class:`UtcTimestamptzLoader`). Any other zone keeps Django's loader.
"""

from __future__ import annotations

import datetime
import functools
import time
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapters as global_adapters
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

#: psycopg's own loader for text ``timestamptz``: its C one (its Python one where psycopg
#: runs without the C extension).
_C_TIMESTAMPTZ: Any = global_adapters.get_loader(
    global_adapters.types["timestamptz"].oid, Format.TEXT
)


class UtcTimestamptzLoader(Loader):
    """Stands in for Django's ``timestamptz`` loader on a UTC connection: creating one
    creates psycopg's C loader instead, whose values are Django's own there.

    It keeps Django's ``timezone`` attribute: Django's ``create_cursor`` compares it with
    the connection's zone and registers its own loader on the cursor when they differ.
    The C loader reads the session's zone when it is created, so if the session is not
    in UTC after all (someone ran ``SET TIME ZONE``), Django's loader is created instead
    and the values are what they always were.
    """

    timezone = datetime.UTC
    format = Format.TEXT

    def __new__(cls, oid: int, context: Any = None) -> Any:
        connection = getattr(context, "connection", None)
        if connection is not None and connection.info.timezone is not datetime.UTC:
            return _DjangoUtcLoader(oid, context)
        return _C_TIMESTAMPTZ(oid, context)


class _DjangoUtcLoader(BaseTzLoader):  # type: ignore[misc]  # Django's is untyped
    """Django's own loader for UTC (what ``register_tzloader(datetime.UTC, …)`` makes)."""

    timezone = datetime.UTC


@functools.cache
def _adapters_with_c_timestamps(template: AdaptersMap) -> AdaptersMap:
    """Django's adapters for the connection, with :class:`UtcTimestamptzLoader`."""
    adapters = AdaptersMap(template)
    # Never instantiated itself (see __new__), so its abstract ``load`` is never missed.
    adapters.register_loader("timestamptz", UtcTimestamptzLoader)  # type: ignore[type-abstract]
    return adapters


#: A connection idle for longer than this is probed before a request uses it.
PROBE_AFTER_IDLE_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _last_cursor_at = float("-inf")

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        template = params.get("context")
        if settings.USE_TZ and self.timezone is datetime.UTC and template is not None:
            params["context"] = _adapters_with_c_timestamps(template)
        return params

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
