"""Writing, verifying and checkpointing the audit trail.

``record`` is the one way an audit entry comes into being. Actions call it inside the
same transaction as the change they make, so a change and its audit entry commit or
roll back together. Every entry is signed with the audit key (HMAC-SHA256, see
:mod:`reverie.lib.hashchain`); ``verify`` recomputes the chain and compares it with the
checkpoints written outside the database (:mod:`reverie.audit.checkpoints`).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from reverie.audit import checkpoints
from reverie.audit.models import Action, AuditEntry, AuditHead, TrailCheck
from reverie.core import rowsql
from reverie.core.postgresql import overlap
from reverie.core.worker import current_job
from reverie.lib.env import ConfigError
from reverie.lib.hashchain import (
    CHECKPOINT,
    CP,
    GENESIS,
    KEYED,
    REWIND,
    ChainProblem,
    ChainWalk,
    Checkpoint,
    Keyring,
    Mac,
    checkpoint_line,
    entry_digest,
    expected,
    read_checkpoints,
)

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
            # A client's address is personal data that erasure must be able to remove, and
            # the chain forbids rewriting an entry: clients are named by account id only
            # (``actor`` links the row while the account exists). Staff keep their email.
            if self.user.role == "client":
                return f"client account {self.user.pk}"
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
    """The client's address: ``X-Forwarded-For`` counts only from ``REVERIE_TRUSTED_PROXIES``
    (:func:`reverie.core.proxies.client_ip`, shared with sign-in throttling)."""
    from reverie.core.proxies import client_ip as proxied_client_ip

    return proxied_client_ip(request)


def context(request: HttpRequest) -> Context:
    user = request.user if request.user.is_authenticated else None
    return Context(user=user, ip=client_ip(request))


def system(label: str, practice: Practice | None = None) -> Context:
    """A context for commands and workers, named so the trail says which process acted.

    Inside a background job the job names itself, whatever ``label`` the code it runs
    chose: ``system:worker.<job name>``. Code shared by a job and a command (the outcome
    refresh, say) is thus told apart in the trail without passing a label down."""
    job = current_job()
    name = f"worker.{job}" if job is not None else label
    return Context(user=None, label=f"system:{name}", practice=practice)


def _describe(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


@functools.lru_cache(maxsize=4)
def _keyring(secrets: tuple[str, ...]) -> Keyring:
    return Keyring.from_secrets(secrets)


def keyring() -> Keyring:
    """The configured audit keys. Without one no entry can be written: an unkeyed entry
    would be forgeable, and a throw-away key would make the trail unverifiable."""
    secrets = tuple(settings.AUDIT_KEYS)
    if not secrets:
        raise ConfigError(
            "REVERIE_AUDIT_KEYS (or REVERIE_AUDIT_KEYS_FILE) is not set, so the audit trail "
            "cannot be signed. Generate a key with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"` '
            "and keep it outside the database (docs/operations.md, Audit trail)."
        )
    return _keyring(secrets)


def _entry(
    ctx: Context,
    action: str,
    obj: models.Model | None,
    object_type: str,
    object_id: str | int,
    client_id: int | None,
    detail: dict[str, Any] | None,
    key_id: str,
) -> AuditEntry:
    otype, oid = _describe(obj)
    practice_id = ctx.practice_id
    if practice_id is None:
        # A context without a practice (a failed sign-in, a command) takes the practice
        # of the object, so that practice's admin sees the entry.
        practice_id = getattr(obj, "practice_id", None)
    return AuditEntry(
        chain_version=KEYED,
        key_id=key_id,
        at=timezone.now(),
        actor=ctx.user,
        actor_label=ctx.actor_label,
        practice_id=practice_id,
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
    read the head, then insert the entry and move the head (one statement on PostgreSQL,
    two on SQLite). Values are still prepared by the model's own fields, so what is stored
    is exactly what ``save`` would store, and the append-only triggers guard the table as
    before. On PostgreSQL the head is locked only by that last statement
    (:func:`_append_late`), so the lock every audited transaction must take is held from
    there to the commit, not while the application computes.
    """
    ring = keyring()
    entry = _entry(ctx, action, obj, object_type, object_id, client_id, detail, ring.signing_id)
    # No savepoint: the entry belongs to the caller's transaction, and if this fails the
    # whole change must roll back with it anyway.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        row = cursor.fetchone()
        if connection.vendor == "postgresql":
            _append_late(cursor, entry, row, ring.signing_key)
        else:
            # SQLite has no row locks and needs none: Reverie's IMMEDIATE transactions
            # hold its single write lock from their first statement.
            _append(cursor, entry, row, ring.signing_key)
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
    ring = keyring()  # before any write, so a missing key changes nothing
    if connection.vendor != "postgresql":
        rowsql.insert(obj)
        record(ctx, Action.CREATE, obj, client_id=client_id, detail=detail)
        return obj
    insert_sql, fields = rowsql.insert_statement(type(obj))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The head is read (not locked: see _append_late) in a scalar subquery so that
        # the row comes back even when a flushed database has no head yet.
        cursor.execute(
            f"WITH head AS ({_HEAD_SQL}), created AS ({insert_sql}) "  # noqa: S608
            "SELECT created.*, (SELECT seq FROM head), (SELECT hash FROM head) FROM created",
            rowsql.insert_values(obj, fields),
        )
        pk, seq, digest = cursor.fetchone()
        rowsql.inserted(obj, pk)
        entry = _entry(ctx, Action.CREATE, obj, "", "", client_id, detail, ring.signing_id)
        _append_late(cursor, entry, None if seq is None else (seq, digest), ring.signing_key)
    return obj


def can_create_alone() -> bool:
    """Whether :func:`create_committed` can write in one statement here: on PostgreSQL,
    outside any transaction (inside one, the caller's commit is not this function's)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def create_committed(
    ctx: Context,
    obj: M,
    *,
    client_id: int | None = None,
    detail: dict[str, Any] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> M:
    """Insert the new ``obj``, record its creation and commit both, when they are the
    whole transaction.

    On PostgreSQL outside a transaction (:func:`can_create_alone`) this takes two round
    trips instead of four (``BEGIN``, insert with the head read, append, ``COMMIT``):
    one statement reserves ``obj``'s primary key from its sequence and reads the head,
    then one statement moves the head (compare and swap, as in :func:`_append_late`),
    inserts ``obj`` and the entry, and commits, because a statement outside a
    transaction is its own transaction. Both rows or neither are stored, exactly as
    in a transaction; the answer comes back only after the commit is flushed, so a
    caller that acknowledges after this returns never acknowledges a lost row. The
    head's row lock is held from the update to the end of that flush, as before, but
    no longer across a round trip to the application between the append and
    ``COMMIT``. A lost race stores nothing, and the entry is signed again on the new
    head; after ``LATE_ATTEMPTS`` lost races, or anywhere else, it falls back to
    :func:`create` in a transaction.
    """
    ring = keyring()  # before any write, so a missing key changes nothing
    if can_create_alone():
        model = type(obj)
        with connection.cursor() as cursor:
            cursor.execute(_reserve_sql(model))
            pk, seq, digest = cursor.fetchone()
            obj.pk = pk
            entry = _entry(ctx, Action.CREATE, obj, "", "", client_id, detail, ring.signing_id)
            sql, obj_fields, entry_fields = _create_committed_statement(model)
            obj_values = [pk, *rowsql.insert_values(obj, obj_fields)]
            for _ in range(LATE_ATTEMPTS):
                if seq is None:
                    break  # no head row yet: create() makes it under a lock
                entry.seq = seq + 1
                entry.prev_hash = digest
                entry.hash = entry_digest(entry.chain_fields(), digest, ring.signing_key)
                params = [
                    entry.seq,
                    entry.hash,
                    seq,
                    digest,
                    *obj_values,
                    *rowsql.insert_values(entry, entry_fields),
                ]
                if meanwhile is not None:
                    row = overlap.fetch_one_while(sql, params, meanwhile)
                    meanwhile = None  # done once, whatever happens to the write
                else:
                    cursor.execute(sql, params)
                    row = cursor.fetchone()
                if row is not None:
                    rowsql.inserted(obj, pk)
                    rowsql.inserted(entry, row[0])
                    return obj
                cursor.execute(_HEAD_SQL)
                seq, digest = cursor.fetchone() or (None, None)
        obj.pk = None  # the reserved key goes unused, like a rolled-back insert's
    with transaction.atomic():
        return create(ctx, obj, client_id=client_id, detail=detail)


@functools.cache
def _reserve_sql(model: type[models.Model]) -> str:
    meta = model._meta
    return (
        f"SELECT nextval(pg_get_serial_sequence('{meta.db_table}', '{meta.pk.column}')), "  # noqa: S608
        f"(SELECT seq FROM {_HEAD} WHERE id = 1), (SELECT hash FROM {_HEAD} WHERE id = 1)"
    )


@functools.cache
def _create_committed_statement(
    model: type[models.Model],
) -> tuple[str, list[Any], list[Any]]:
    """``WITH moved AS (UPDATE head … WHERE it is still the head read), created AS
    (INSERT obj … SELECT … FROM moved) INSERT entry … SELECT … FROM moved``: both rows
    are inserted only when the head moved (PostgreSQL runs every data-modifying part of
    a ``WITH`` once, whether or not the main statement reads it)."""
    quote = connection.ops.quote_name
    meta = model._meta
    _, obj_fields = rowsql.insert_statement(model)
    _, entry_fields = rowsql.insert_statement(AuditEntry)
    obj_names = ", ".join(quote(f.column) for f in [meta.pk, *obj_fields])
    obj_casts = ", ".join(f"%s::{f.db_type(connection)}" for f in [meta.pk, *obj_fields])
    entry_names = ", ".join(quote(f.column) for f in entry_fields)
    entry_casts = ", ".join(f"%s::{f.db_type(connection)}" for f in entry_fields)
    sql = (
        f"WITH moved AS ({_MOVE_HEAD_SQL} AND seq = %s AND hash = %s RETURNING 1), "  # noqa: S608
        f"created AS (INSERT INTO {quote(meta.db_table)} ({obj_names}) "
        f"SELECT {obj_casts} FROM moved RETURNING 1) "
        f"INSERT INTO {quote(AuditEntry._meta.db_table)} ({entry_names}) "
        f"SELECT {entry_casts} FROM moved RETURNING {quote(AuditEntry._meta.pk.column)}"
    )
    return sql, obj_fields, entry_fields


#: Attempts at appending after an unlocked read of the head before falling back to
#: locking it first. Each failed attempt means another transaction appended in between.
LATE_ATTEMPTS = 3


def _append_late(cursor: Any, entry: AuditEntry, head: tuple[int, str] | None, key: Mac) -> None:
    """Chain ``entry`` after ``head``, read without a lock, locking the head only in the
    statement that moves it (PostgreSQL).

    Every audited transaction must move the one head row, so whoever holds its lock holds
    up every other writer until it commits. Locking it with ``SELECT … FOR UPDATE`` first
    kept it locked while the application built and signed the entry, sent the next
    statement and, on a busy machine, waited for a CPU; sampling ``pg_stat_activity``
    during bench/bench_fhir_submissions.py showed the holder mostly "idle in transaction"
    then, with the other writers queued behind it (bench/RESULTS.md, 2026-12-05).

    Here the entry is signed against the head as read, and one statement moves the head
    only if it is still that head (compare and swap) and inserts the entry only if the
    head moved. Under READ COMMITTED, a writer that finds the head locked waits for the
    holder's commit and then re-checks the condition against the committed row, which no
    longer matches, so nothing is written and the entry is signed again on the new head.
    A chain link can therefore never be skipped or duplicated; the unique ``seq`` stays
    as a second guard. After ``LATE_ATTEMPTS`` lost races the head is locked first, so
    an append always finishes.
    """
    for _ in range(LATE_ATTEMPTS):
        if head is None:
            break  # no head row yet: _append creates it under a lock
        entry.seq = head[0] + 1
        entry.prev_hash = head[1]
        entry.hash = entry_digest(entry.chain_fields(), entry.prev_hash, key)
        sql, fields = _late_insert_statement()
        cursor.execute(
            sql,
            [entry.seq, entry.hash, head[0], head[1], *rowsql.insert_values(entry, fields)],
        )
        row = cursor.fetchone()
        if row is not None:
            rowsql.inserted(entry, row[0])
            return
        cursor.execute(_HEAD_SQL)
        head = cursor.fetchone()
    cursor.execute(_HEAD_SQL + " FOR UPDATE")
    _append(cursor, entry, cursor.fetchone(), key)


@functools.cache
def _late_insert_statement() -> tuple[str, list[Any]]:
    """``WITH moved AS (UPDATE head … WHERE it is still the head read) INSERT … SELECT
    … FROM moved``: the entry is inserted only when the head moved. The values are cast
    to their columns' types because, unlike in ``VALUES``, PostgreSQL cannot infer a
    parameter's type from the target column in a ``SELECT`` list."""
    _, fields = rowsql.insert_statement(AuditEntry)
    meta = AuditEntry._meta
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    casts = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    sql = (
        f"WITH moved AS ({_MOVE_HEAD_SQL} AND seq = %s AND hash = %s RETURNING 1) "  # noqa: S608
        f"INSERT INTO {quote(meta.db_table)} ({names}) "
        f"SELECT {casts} FROM moved RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def _append(cursor: Any, entry: AuditEntry, head: tuple[int, str] | None, key: Mac) -> None:
    """Chain ``entry`` after the locked ``head`` (seq, hash), insert it and move the head."""
    if head is None:
        # A flushed or brand-new database may lack the head row; creating it at seq 0
        # is safe because a trail with entries but no head fails on the unique seq.
        row, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        head = (row.seq, row.hash)
    entry.seq = head[0] + 1
    entry.prev_hash = head[1]
    entry.hash = entry_digest(entry.chain_fields(), entry.prev_hash, key)
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
    """What a verification found. ``ok`` when ``problems`` is empty; ``notes`` say what
    an operator should know although nothing is wrong (unkeyed old entries, no
    checkpoint yet)."""

    checked: int
    problems: list[ChainProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    legacy: int = 0
    keyed_from: int | None = None
    head_seq: int = 0
    head_digest: str = GENESIS
    checkpoints: int = 0
    latest_checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _configured_keys() -> dict[str, Mac]:
    """Every configured key, for verifying; none configured verifies what it can and
    reports the keyed entries as unverifiable rather than stopping."""
    return dict(keyring().keys) if settings.AUDIT_KEYS else {}


def _read_checkpoints(keys: dict[str, Mac]) -> tuple[list[Checkpoint], list[ChainProblem]]:
    try:
        lines = checkpoints.read_lines()
    except OSError as exc:
        return [], [ChainProblem(0, f"the checkpoint file cannot be read: {exc}", CP)]
    return read_checkpoints(lines, keys)


def _walk(walk: ChainWalk, after: int = 0) -> tuple[int, str]:
    """Feed the entries after ``after`` to ``walk``; the last entry's (seq, digest)."""
    last = (walk.expected_seq - 1, walk.prev)
    entries = AuditEntry.objects.filter(seq__gt=after).order_by("seq")
    for entry in entries.iterator(chunk_size=2000):
        walk.add(entry.chain_fields(), entry.prev_hash, entry.hash)
        last = (entry.seq, entry.hash)
    return last


def _compare(walk: ChainWalk, last_seq: int, required: list[Checkpoint]) -> list[ChainProblem]:
    """The chain against the checkpoints it must still agree with."""
    problems = []
    for cp in required:
        when = f"the checkpoint of {cp.at} (file line {cp.line})"
        if cp.seq == 0:
            if cp.digest != GENESIS:
                problems.append(ChainProblem(0, f"{when} names a digest for an empty trail", CP))
        elif cp.seq > last_seq:
            problems.append(
                ChainProblem(
                    cp.seq,
                    f"the trail ends at #{last_seq} but {when} recorded #{cp.seq}: "
                    "newest entries were removed",
                    CP,
                )
            )
        elif cp.seq not in walk.seen:
            problems.append(
                ChainProblem(cp.seq, f"entry #{cp.seq}, recorded by {when}, is gone", CP)
            )
        else:
            digest, count = walk.seen[cp.seq]
            if digest != cp.digest:
                problems.append(
                    ChainProblem(
                        cp.seq,
                        f"entry #{cp.seq} differs from {when}: the trail was rewritten",
                        CP,
                    )
                )
            elif count != cp.count:
                problems.append(
                    ChainProblem(
                        cp.seq,
                        f"{count} entries up to #{cp.seq}, but {when} counted {cp.count}",
                        CP,
                    )
                )
    return problems


def _notes(result: Verification, latest: Checkpoint | None, use_checkpoints: bool) -> list[str]:
    notes = []
    if result.legacy:
        sealed = (
            f"sealed by the keyed entries from #{result.keyed_from} on"
            if result.keyed_from
            else "not yet sealed by a keyed entry"
        )
        notes.append(
            f"{result.legacy} entries at the start of the trail were written before audit "
            f"keys (unkeyed SHA-256); they are {sealed}."
        )
    if use_checkpoints and latest is not None:
        notes.append(f"latest checkpoint: #{latest.seq} at {latest.at}.")
    elif use_checkpoints and not result.problems:
        notes.append(
            "no checkpoint yet: removing the newest entries would not show. "
            "The worker takes one hourly; `reverie audit checkpoint` takes one now."
        )
    return notes


def verify(*, use_checkpoints: bool = True) -> Verification:
    """Recompute the whole chain, compare its end with the stored head and, unless told
    not to, with every checkpoint in the checkpoint file."""
    keys = _configured_keys()
    found, file_problems = _read_checkpoints(keys) if use_checkpoints else ([], [])
    required = expected(found)
    walk = ChainWalk(keys, watch=frozenset(cp.seq for cp in required))
    last_seq, last_hash = _walk(walk)
    problems = list(walk.problems)
    head, _ = AuditHead.objects.get_or_create(pk=1)
    if head.seq != last_seq or (walk.checked and head.hash != last_hash):
        problems.append(
            ChainProblem(
                head.seq,
                f"the trail ends at #{last_seq} but the head says #{head.seq}: "
                "newest entries were removed or the head was altered",
            )
        )
    problems += _compare(walk, last_seq, required) + file_problems
    latest = found[-1] if found else None
    result = Verification(
        checked=walk.checked,
        problems=problems,
        legacy=walk.legacy,
        keyed_from=walk.keyed_from,
        head_seq=last_seq,
        head_digest=last_hash,
        checkpoints=len(required),
        latest_checkpoint=latest,
    )
    result.notes = _notes(result, latest, use_checkpoints)
    return result


def checkpoint(*, by: str, rewind_note: str = "") -> tuple[Checkpoint | None, Verification]:
    """Verify what was added since the latest checkpoint and, if it holds, write the head
    as a new checkpoint line. Returns the new checkpoint (None when verification failed,
    and then nothing is written) and the verification.

    With ``rewind_note``, the whole chain is verified without the checkpoints, and the
    line written is a *rewind*: the operator accepts that the trail now ends earlier than
    checkpoints taken before (a restored backup), and says why in the note. Checkpoints
    at or below the new head must still match.
    """
    ring = keyring()
    with checkpoints.locked() as handle:
        lines = handle.read().splitlines()
        found, file_problems = read_checkpoints(lines, dict(ring.keys))
        latest = found[-1] if found else None
        if rewind_note:
            result = verify(use_checkpoints=False)
            result.problems += file_problems
        else:
            result = _verify_since(latest, dict(ring.keys))
            result.problems += file_problems
        result.latest_checkpoint = latest
        if not result.ok:
            _remember(TrailCheck.Kind.CHECKPOINT, result, by)
            return None, result
        line = checkpoint_line(
            ring,
            kind=REWIND if rewind_note else CHECKPOINT,
            at=timezone.now().astimezone(datetime.UTC).isoformat(timespec="seconds"),
            seq=result.head_seq,
            digest=result.head_digest,
            count=result.checked
            if rewind_note or latest is None
            else latest.count + result.checked,
            prev=checkpoints.last_mac(lines),
            note=rewind_note,
        )
        checkpoints.append(handle, line)
    new, _ = read_checkpoints([line], dict(ring.keys))
    result.latest_checkpoint = new[0]
    _remember(TrailCheck.Kind.CHECKPOINT, result, by)
    return new[0], result


def _verify_since(latest: Checkpoint | None, keys: dict[str, Mac]) -> Verification:
    """Verify only the entries after ``latest``, anchored on it: the entry it names must
    still have its digest, and each later entry must chain from it. Hourly checkpoints
    therefore cost as much as the hour's entries, not the whole trail."""
    if latest is None or latest.seq == 0:
        walk = ChainWalk(keys)
        last_seq, last_hash = _walk(walk)
        problems = list(walk.problems)
    else:
        anchor = AuditEntry.objects.filter(seq=latest.seq).first()
        walk = ChainWalk(keys, prev=latest.digest, expected_seq=latest.seq + 1)
        if anchor is not None and anchor.chain_version == KEYED:
            walk.keyed_from = latest.seq
        last_seq, last_hash = _walk(walk, after=latest.seq)
        problems = list(walk.problems)
        if anchor is None:
            problems.insert(
                0,
                ChainProblem(
                    latest.seq,
                    f"entry #{latest.seq}, recorded by the latest checkpoint ({latest.at}), "
                    "is gone: entries were removed",
                    CP,
                ),
            )
        elif anchor.hash != latest.digest:
            problems.insert(
                0,
                ChainProblem(
                    latest.seq,
                    f"entry #{latest.seq} differs from the latest checkpoint ({latest.at}): "
                    "the trail was rewritten",
                    CP,
                ),
            )
    return Verification(
        checked=walk.checked,
        problems=problems,
        legacy=walk.legacy,
        keyed_from=walk.keyed_from,
        head_seq=last_seq,
        head_digest=last_hash,
    )


def _remember(kind: str, result: Verification, by: str) -> None:
    TrailCheck.objects.create(
        kind=kind,
        ok=result.ok,
        head_seq=result.head_seq,
        checked=result.checked,
        problems=len(result.problems),
        first_problem=(str(result.problems[0])[:500] if result.problems else ""),
        by=by[:100],
    )


def remember_verification(result: Verification, by: str) -> None:
    """Keep the outcome of a full verification for the admin's audit page."""
    _remember(TrailCheck.Kind.VERIFY, result, by)
