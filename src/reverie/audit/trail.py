"""Writing and verifying the audit trail.

``record`` is the one way an audit entry comes into being. Actions call it inside the
same transaction as the change they make, so a change and its audit entry commit or
roll back together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

from reverie.audit.models import Action, AuditEntry, AuditHead
from reverie.core import rowsql
from reverie.lib.hashchain import ChainProblem, entry_digest, verify_chain

M = TypeVar("M", bound=models.Model)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from reverie.accounts.models import Practice, User


@dataclass(frozen=True)
class Context:
    """Who is acting, for which practice, and from where."""

    user: User | None
    ip: str | None = None
    label: str = ""
    practice: Practice | None = None

    @property
    def actor_label(self) -> str:
        if self.user is not None:
            return self.user.email
        return self.label or "anonymous"

    @property
    def practice_id(self) -> int | None:
        if self.practice is not None:
            return self.practice.pk
        if self.user is not None:
            return self.user.practice_id
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The peer address. ``X-Forwarded-For`` is trusted only when Reverie is told it sits
    behind a proxy, because otherwise any client could write any address into the trail."""
    from django.conf import settings

    if getattr(settings, "HTTPS", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def context(request: HttpRequest) -> Context:
    user = request.user if request.user.is_authenticated else None
    return Context(user=user, ip=client_ip(request))


def system(label: str, practice: Practice | None = None) -> Context:
    """A context for commands and workers, named so the trail says which process acted."""
    return Context(user=None, label=f"system:{label}", practice=practice)


def _describe(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def _entry(
    ctx: Context,
    action: str,
    obj: models.Model | None,
    object_type: str,
    object_id: str | int,
    client_id: int | None,
    detail: dict[str, Any] | None,
) -> AuditEntry:
    otype, oid = _describe(obj)
    return AuditEntry(
        at=timezone.now(),
        actor=ctx.user,
        actor_label=ctx.actor_label,
        practice_id=ctx.practice_id,
        action=action,
        object_type=object_type or otype,
        object_id=str(object_id or oid),
        client_id=client_id,
        ip=ctx.ip,
        detail=detail or {},
    )


def record(
    ctx: Context,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str = "",
    object_id: str | int = "",
    client_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Never put clinical text in ``detail``: identifiers only.

    Every clinical read and write calls this, so it is on the hottest path Reverie has
    (a FHIR submission spent a fifth of its time here when it went through the ORM's
    ``get_or_create`` and ``save``). It therefore speaks plain statements to the database:
    lock and read the head, then insert the entry and move the head (one statement on
    PostgreSQL, two on SQLite). Values are still prepared by the model's own fields, so
    what is stored is exactly what ``save`` would store, and the append-only triggers
    guard the table as before.
    """
    entry = _entry(ctx, action, obj, object_type, object_id, client_id, detail)
    # No savepoint: the entry belongs to the caller's transaction, and if this fails the
    # whole change must roll back with it anyway.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # FOR UPDATE serialises appends across PostgreSQL connections; SQLite has no row
        # locks and needs none, because Reverie's IMMEDIATE transactions hold its write lock.
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cursor.execute(_HEAD_SQL + lock)
        row = cursor.fetchone()
        _append(cursor, entry, row)
    return entry


def create(
    ctx: Context,
    obj: M,
    *,
    client_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> M:
    """Insert the new ``obj`` and record its creation, in the caller's transaction.

    The same as :func:`reverie.core.rowsql.insert` followed by ``record(ctx, "create",
    obj, ...)``, in one round trip fewer on PostgreSQL: the insert and the lock on the
    chain's head go in one statement. It is meant for the API's submission path, where
    each round trip is a measurable share of the request (bench/bench_fhir_submissions.py).
    """
    if connection.vendor != "postgresql":
        rowsql.insert(obj)
        record(ctx, Action.CREATE, obj, client_id=client_id, detail=detail)
        return obj
    insert_sql, fields = rowsql.insert_statement(type(obj))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The head is read in a scalar subquery so that the row comes back even when a
        # flushed database has no head yet (the INSERT runs either way).
        cursor.execute(
            f"WITH head AS ({_HEAD_SQL} FOR UPDATE), created AS ({insert_sql}) "  # noqa: S608
            "SELECT created.*, (SELECT seq FROM head), (SELECT hash FROM head) FROM created",
            rowsql.insert_values(obj, fields),
        )
        pk, seq, digest = cursor.fetchone()
        rowsql.inserted(obj, pk)
        entry = _entry(ctx, Action.CREATE, obj, "", "", client_id, detail)
        _append(cursor, entry, None if seq is None else (seq, digest))
    return obj


def _append(cursor: Any, entry: AuditEntry, head: tuple[int, str] | None) -> None:
    """Chain ``entry`` after the locked ``head`` (seq, hash), insert it and move the head."""
    if head is None:
        # A flushed or brand-new database may lack the head row; creating it at seq 0
        # is safe because a trail with entries but no head fails on the unique seq.
        row, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        head = (row.seq, row.hash)
    entry.seq = head[0] + 1
    entry.prev_hash = head[1]
    entry.hash = entry_digest(entry.chain_fields(), entry.prev_hash)
    insert_sql, fields = rowsql.insert_statement(AuditEntry)
    values = rowsql.insert_values(entry, fields)
    if connection.vendor == "postgresql":
        # One round trip: PostgreSQL runs a data-modifying WITH in the same statement.
        cursor.execute(
            f"WITH moved AS ({_MOVE_HEAD_SQL}) {insert_sql}", [entry.seq, entry.hash, *values]
        )
        rowsql.inserted(entry, cursor.fetchone()[0])
    else:
        cursor.execute(insert_sql, values)
        rowsql.inserted(entry, cursor.fetchone()[0])
        cursor.execute(_MOVE_HEAD_SQL, [entry.seq, entry.hash])


# Table and column names come from the models' metadata, never from input.
_HEAD = AuditHead._meta.db_table
_HEAD_SQL = f"SELECT seq, hash FROM {_HEAD} WHERE id = 1"  # noqa: S608
_MOVE_HEAD_SQL = f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608


@dataclass
class Verification:
    checked: int
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows() -> Iterator[tuple[dict[str, Any], str, str]]:
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        yield entry.chain_fields(), entry.prev_hash, entry.hash


def verify() -> Verification:
    """Recompute the whole chain and compare its end with the stored head."""
    checked = 0

    def counted() -> Iterator[tuple[dict[str, Any], str, str]]:
        nonlocal checked
        for row in _rows():
            checked += 1
            yield row

    problems = verify_chain(counted())
    head, _ = AuditHead.objects.get_or_create(pk=1)
    last = AuditEntry.objects.order_by("-seq").first()
    last_seq, last_hash = (last.seq, last.hash) if last else (0, head.hash if head.seq == 0 else "")
    if head.seq != last_seq or (last is not None and head.hash != last_hash):
        problems.append(
            ChainProblem(
                head.seq,
                f"the trail ends at #{last_seq} but the head says #{head.seq}: "
                "newest entries were removed or the head was altered",
            )
        )
    return Verification(checked=checked, problems=problems)
