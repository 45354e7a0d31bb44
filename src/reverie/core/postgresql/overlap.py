"""One statement sent to PostgreSQL, with the application's own work done while it runs.

A statement that commits (one run outside a transaction) is answered only once PostgreSQL
has flushed its write-ahead log to disk. A sync worker waits for that flush with its core
idle, and when every worker waits at once the machine idles too: at the submissions ceiling
about a tenth of both cores did (bench/RESULTS.md, 2026-12-07). :func:`fetch_one_while`
sends the statement, runs ``meanwhile`` (work that needs no database, such as building the
answer to the request) while PostgreSQL executes and flushes it, then waits for the result.
Nothing about what is stored or when changes: the caller gets the result, or the error,
only once PostgreSQL has answered, so nothing is acknowledged before its commit is on disk.

The statement is sent with libpq's asynchronous calls (``psycopg.pq``) because psycopg's
cursors send a query and wait for its result in one call, and its pipeline mode holds a
query back until its results are asked for (bench/RESULTS.md). Like psycopg's cursors with
``REVERIE_DB_PREPARED_STATEMENTS`` on, it prepares the statement once per connection, so
PostgreSQL does not parse and plan it on every call. The connection is busy until the
result is read, so ``meanwhile`` must not use the database: a query there fails, and
:func:`fetch_one_while` raises that error after reading the statement's own result, so the
connection stays usable.
"""

from __future__ import annotations

import select
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

#: Statement text -> the name it is prepared under on every connection.
_NAMES: dict[str, bytes] = {}
#: psycopg connection -> the names prepared on it (forgotten with the connection).
_PREPARED: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()


def fetch_one_while(
    sql: str, params: Sequence[Any], meanwhile: Callable[[], None]
) -> tuple[Any, ...] | None:
    """Run ``sql`` (one statement with ``%s`` placeholders and no other ``%``, on
    PostgreSQL, outside a transaction), calling ``meanwhile`` while it runs; return its
    first row, or ``None`` when it returned no row.

    Raises what Django raises for the statement's error (``IntegrityError`` for a unique
    violation, ...), and whatever ``meanwhile`` raised, after the statement's result has
    been read.
    """
    connection.ensure_connection()
    conn = connection.connection
    pgconn = conn.pgconn
    with connection.wrap_database_errors:
        if pgconn.is_busy() or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            raise RuntimeError("fetch_one_while needs an idle connection outside a transaction")
        transformer = Transformer.from_context(conn)
        values = transformer.dump_sequence(params, [PyFormat.TEXT] * len(params))
        started = time.monotonic()
        if connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None:
            name = _prepared(conn, sql)
            pgconn.send_query_prepared(name, values, param_formats=transformer.formats)
        else:  # REVERIE_DB_PREPARED_STATEMENTS off (e.g. behind a transaction pooler)
            pgconn.send_query_params(_numbered(sql), values, param_formats=transformer.formats)
        while pgconn.flush():
            _wait(pgconn.socket, select.POLLOUT)
        try:
            meanwhile()
        finally:
            results = _results(pgconn)
            if connection.queries_logged:
                # As Django's debug cursor does, so the statement is counted and shown
                # wherever queries are (tests, the debug toolbar).
                elapsed = time.monotonic() - started
                connection.queries_log.append({"sql": sql, "time": f"{elapsed:.3f}"})
        result = results[-1]
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _error(result)
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise errors.InterfaceError(f"unexpected result {result.status!r}")
        if not result.ntuples:
            return None
        transformer.set_pgresult(result)
        return tuple(transformer.load_row(0, tuple))


def _prepared(conn: Any, sql: str) -> bytes:
    """The name ``sql`` is prepared under on ``conn``, preparing it there first if this
    connection has not yet (a new connection after a restart starts with none)."""
    name = _NAMES.get(sql)
    if name is None:
        name = _NAMES.setdefault(sql, f"reverie_overlap_{len(_NAMES)}".encode())
    done = _PREPARED.setdefault(conn, set())
    if name not in done:
        result = conn.pgconn.prepare(name, _numbered(sql))
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _error(result)
        done.add(name)
    return name


def _numbered(sql: str) -> bytes:
    """``sql`` with PostgreSQL's ``$1, $2, ...`` for Django's ``%s`` placeholders."""
    if "%%" in sql:
        raise ValueError("fetch_one_while takes %s placeholders only")
    parts = sql.split("%s")
    return (parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))).encode()


def _results(pgconn: Any) -> list[Any]:
    """Every result of the statement sent, waiting on the socket while PostgreSQL works."""
    out: list[Any] = []
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return out
        out.append(result)


def _wait(fd: int, event: int) -> None:
    # poll, not select: select cannot watch a descriptor numbered 1024 or more.
    poller = select.poll()
    poller.register(fd, event)
    poller.poll()


def _error(result: Any) -> Exception:
    """psycopg's exception for a failed result (its class by SQLSTATE, as psycopg's own
    cursors raise), which Django's ``wrap_database_errors`` then turns into its own."""
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    try:
        kind = errors.lookup(sqlstate.decode()) if sqlstate else errors.DatabaseError
    except KeyError:  # a code psycopg does not know
        kind = errors.DatabaseError
    return kind(result.error_message.decode(errors="replace").strip())
