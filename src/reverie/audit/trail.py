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
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

from reverie.audit import checkpoints
from reverie.audit.models import Action, AuditEntry, TrailCheck
from reverie.core import rowsql
from reverie.core.errors import TryAgain
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
    read the chain's newest entry, then insert the next one. Values are still prepared by
    the model's own fields, so what is stored is exactly what ``save`` would store, and
    the append-only triggers guard the table as before. On PostgreSQL no lock is taken
    before the insert (:func:`_append_late`), so the one thing every audited transaction
    must claim (the next ``seq``) is claimed from there to the commit, not while the
    application computes.
    """
    ring = keyring()
    entry = _entry(ctx, action, obj, object_type, object_id, client_id, detail, ring.signing_id)
    # No savepoint: the entry belongs to the caller's transaction, and if this fails the
    # whole change must roll back with it anyway.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        head = _read_head(cursor)
        if connection.vendor == "postgresql":
            _append_late(cursor, entry, head, ring.signing_key)
        else:
            # SQLite has no row locks and needs none: Reverie's IMMEDIATE transactions
            # hold its single write lock from their first statement.
            _append(cursor, entry, head, ring.signing_key)
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
        # the row comes back even when the trail is still empty.
        cursor.execute(
            f"WITH head AS ({_HEAD_SQL}), created AS ({insert_sql}) "  # noqa: S608
            "SELECT created.*, (SELECT seq FROM head), (SELECT hash FROM head) FROM created",
            rowsql.insert_values(obj, fields),
        )
        pk, seq, digest = cursor.fetchone()
        rowsql.inserted(obj, pk)
        entry = _entry(ctx, Action.CREATE, obj, "", "", client_id, detail, ring.signing_id)
        _append_late(cursor, entry, _head(seq, digest), ring.signing_key)
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
    one statement reserves ``obj``'s primary key from its sequence and reads the chain's
    newest entry, then one statement inserts the entry as the next link (claiming its
    ``seq``, as in :func:`_append_late`), inserts ``obj`` only if it did, and commits,
    because a statement outside a transaction is its own transaction. Both rows or
    neither are stored, exactly as in a transaction; the answer comes back only after
    the commit is flushed, so a caller that acknowledges after this returns never
    acknowledges a lost row. A lost race stores nothing, and the entry is signed again
    on the new head; after ``LATE_ATTEMPTS`` lost races, or anywhere else, it falls back
    to :func:`create` in a transaction.
    """
    ring = keyring()  # before any write, so a missing key changes nothing
    if can_create_alone():
        model = type(obj)
        with connection.cursor() as cursor:
            cursor.execute(_reserve_sql(model))
            pk, seq, digest = cursor.fetchone()
            head = _head(seq, digest)
            obj.pk = pk
            entry = _entry(ctx, Action.CREATE, obj, "", "", client_id, detail, ring.signing_id)
            sql, obj_fields, entry_fields = _create_committed_statement(model)
            obj_values = [pk, *rowsql.insert_values(obj, obj_fields)]
            for _ in range(LATE_ATTEMPTS):
                _link(entry, head, ring.signing_key)
                params = [*rowsql.insert_values(entry, entry_fields), *obj_values]
                # One path for the write, with or without work to do meanwhile (a portal
                # submission, a FHIR one that asked for no body): sent this way it cost
                # the same application CPU as through psycopg's cursor, 0.647 against
                # 0.660 ms a call (bench/RESULTS.md, 2026-12-07).
                row = overlap.fetch_one_while(sql, params, meanwhile or _nothing)
                meanwhile = None  # done once, whatever happens to the write
                if row is not None and row[0] is not None:
                    rowsql.inserted(obj, pk)
                    rowsql.inserted(entry, row[0])
                    return obj
                head = _head_after_lost_race(cursor, entry, row)
        obj.pk = None  # the reserved key goes unused, like a rolled-back insert's
    with transaction.atomic():
        return create(ctx, obj, client_id=client_id, detail=detail)


def _nothing() -> None:
    """Nothing to do while the write runs."""


@functools.cache
def _reserve_sql(model: type[models.Model]) -> str:
    meta = model._meta
    return (
        f"SELECT nextval(pg_get_serial_sequence('{meta.db_table}', '{meta.pk.column}')), "  # noqa: S608
        f"head.seq, head.hash FROM (VALUES (1)) AS one LEFT JOIN ({_HEAD_SQL}) AS head ON TRUE"
    )


@functools.cache
def _create_committed_statement(
    model: type[models.Model],
) -> tuple[str, list[Any], list[Any]]:
    """``WITH linked AS (INSERT entry … ON CONFLICT (seq) DO NOTHING RETURNING id),
    created AS (INSERT obj … SELECT … FROM linked), head AS (the newest entry, read only
    when nothing was linked) SELECT (id), (head's seq), (head's hash)``: ``obj`` is
    inserted only when the entry claimed its ``seq`` (PostgreSQL runs every
    data-modifying part of a ``WITH`` once, whether or not the main statement reads it).
    One row always comes back: the entry's id when it was stored; otherwise no id and the
    head the statement saw, so a lost race is signed again without a statement of its own
    to read the head (see :func:`_head_after_lost_race`). The entry's values come first
    in the parameters, then ``obj``'s."""
    quote = connection.ops.quote_name
    meta = model._meta
    _, obj_fields = rowsql.insert_statement(model)
    link_sql, entry_fields = _link_statement()
    obj_names = ", ".join(quote(f.column) for f in [meta.pk, *obj_fields])
    obj_casts = ", ".join(f"%s::{f.db_type(connection)}" for f in [meta.pk, *obj_fields])
    sql = (
        f"WITH linked AS ({link_sql}), "  # noqa: S608
        f"created AS (INSERT INTO {quote(meta.db_table)} ({obj_names}) "
        f"SELECT {obj_casts} FROM linked RETURNING 1), "
        f"head AS (SELECT * FROM ({_HEAD_SQL}) AS newest "
        "WHERE NOT EXISTS (SELECT 1 FROM linked)) "
        "SELECT (SELECT id FROM linked), (SELECT seq FROM head), (SELECT hash FROM head)"
    )
    return sql, obj_fields, entry_fields


def _head_after_lost_race(
    cursor: Any, entry: AuditEntry, row: tuple[Any, ...] | None
) -> tuple[int, str]:
    """The head to sign ``entry`` again on, after the one-statement write stored nothing.

    The write's own ``row`` names the newest entry it saw. That is the entry that took
    ``entry.seq`` whenever it had committed before the write began, which is how most races
    are lost (it committed while this process signed), and it saves a round trip: at the
    submissions ceiling about one write in six lost its race (bench/RESULTS.md,
    2026-12-07). A statement sees only what had committed when it began, though, so when
    the winner was still committing (the insert waited for it, then found the conflict)
    the head it names is older than ``entry.seq``; the head is then read afresh.
    """
    if row is not None and row[1] is not None and row[1] >= entry.seq:
        return _head(row[1], row[2])
    return _read_head(cursor)


#: Attempts at the one-statement write of :func:`create_committed` before it falls back to
#: a transaction. Each failed attempt means another transaction appended in between.
LATE_ATTEMPTS = 3
#: Attempts at claiming the next ``seq`` in :func:`_append_late` before giving up. With
#: W writers racing, one append loses k times in a row with a chance of about
#: ((W - 1) / W) ** k: for 8 writers and 100 attempts, under 2e-6.
APPEND_ATTEMPTS = 100


class ChainBusy(OperationalError, TryAgain):
    """An append lost the race for the chain's next link :data:`APPEND_ATTEMPTS` times.
    Its transaction stored nothing; a request that met it is answered 503 (``TryAgain``)."""


def _append_late(cursor: Any, entry: AuditEntry, head: tuple[int, str], key: Mac) -> None:
    """Chain ``entry`` after ``head``, read without a lock, claiming the next ``seq`` only
    in the statement that inserts the entry (PostgreSQL).

    The chain's head is its newest entry, and ``seq`` is unique, so inserting entry
    ``head + 1`` is the compare and swap: it succeeds only if no one else has claimed
    that ``seq``. Under READ COMMITTED, an insert that meets another transaction's
    uncommitted entry with the same ``seq`` waits for it; if that one commits, ``ON
    CONFLICT DO NOTHING`` inserts nothing, and the entry is signed again on the new head.
    A chain link can therefore never be skipped or duplicated.

    Nothing is locked before the insert. Locking first (``SELECT … FOR UPDATE`` on a head
    row, as Reverie once did) kept the lock while the application built and signed the
    entry, with every other writer queued behind it (bench/RESULTS.md, 2026-12-05).
    Nothing is updated either: a head kept in a row of its own, updated by every append,
    left one dead row version per append behind whenever any transaction in the cluster
    stayed open (a backup's ``pg_dump`` does), and each read of the head then walked
    through all of them (bench/RESULTS.md, 2026-12-07: PostgreSQL's CPU per submission
    tripled within 20 s). Entries are only ever inserted, so the newest one is found
    through the ``seq`` index however old the oldest open snapshot is.

    Every lost race is another transaction's append, and a transaction that already
    holds an uncommitted entry never loses (no one else can see a head to chain after
    until it commits), so the trail as a whole always moves on. One append could still
    lose ``APPEND_ATTEMPTS`` times in a row under a flood of appends; it then gives up
    with :class:`ChainBusy` and its transaction stores nothing. No table lock is taken as
    a last resort: every insert attempt already holds the table's ``ROW EXCLUSIVE`` lock
    to the end of its transaction, so two transactions raising theirs would deadlock
    (measured: six connections appending at once did within seconds).
    """
    sql, fields = _link_statement()
    for _ in range(APPEND_ATTEMPTS):
        _link(entry, head, key)
        cursor.execute(sql, rowsql.insert_values(entry, fields))
        row = cursor.fetchone()
        if row is not None:
            rowsql.inserted(entry, row[0])
            return
        head = _read_head(cursor)
    raise ChainBusy(
        f"the audit trail's next entry was taken by another writer {APPEND_ATTEMPTS} times "
        "in a row; nothing was stored"
    )


@functools.cache
def _link_statement() -> tuple[str, list[Any]]:
    """``INSERT entry … ON CONFLICT (seq) DO NOTHING RETURNING id``: no row comes back
    when another transaction has claimed this ``seq``."""
    insert_sql, fields = rowsql.insert_statement(AuditEntry)
    head, _, returning = insert_sql.rpartition(" RETURNING ")
    return f"{head} ON CONFLICT (seq) DO NOTHING RETURNING {returning}", fields


def _link(entry: AuditEntry, head: tuple[int, str], key: Mac) -> None:
    """Make ``entry`` the link after ``head`` (seq, digest) and sign it."""
    entry.seq = head[0] + 1
    entry.prev_hash = head[1]
    entry.hash = entry_digest(entry.chain_fields(), entry.prev_hash, key)


def _append(cursor: Any, entry: AuditEntry, head: tuple[int, str], key: Mac) -> None:
    """Chain ``entry`` after ``head`` (seq, digest), read where no one else can append
    (SQLite's write lock, or the table lock of :func:`_append_late`), and insert it."""
    _link(entry, head, key)
    insert_sql, fields = rowsql.insert_statement(AuditEntry)
    cursor.execute(insert_sql, rowsql.insert_values(entry, fields))
    rowsql.inserted(entry, cursor.fetchone()[0])


def _head(seq: int | None, digest: str | None) -> tuple[int, str]:
    """The chain's head as read: an empty trail's is (0, the genesis digest)."""
    return (0, GENESIS) if seq is None else (seq, str(digest))


def head() -> tuple[int, str]:
    """The chain's head (seq, digest): its newest entry, or (0, the genesis digest)."""
    with connection.cursor() as cursor:
        return _read_head(cursor)


def _read_head(cursor: Any) -> tuple[int, str]:
    """The chain's newest entry (seq, digest), through the unique ``seq`` index."""
    cursor.execute(_HEAD_SQL)
    return _head(*(cursor.fetchone() or (None, None)))


# Table and column names come from the models' metadata, never from input.
_ENTRY = AuditEntry._meta.db_table
#: The chain's head: its newest entry, one step down the unique ``seq`` index.
_HEAD_SQL = f"SELECT seq, hash FROM {_ENTRY} ORDER BY seq DESC LIMIT 1"  # noqa: S608


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
    """Recompute the whole chain and, unless told not to, compare it with every checkpoint
    in the checkpoint file.

    The chain alone cannot show that its newest entries were removed: what is left still
    links up. Only a record kept where the database's users cannot rewrite it can, which
    is what checkpoints are (:mod:`reverie.audit.checkpoints`). A head kept in the
    database itself, as Reverie once had, was rewound by the same intruder in one more
    statement."""
    keys = _configured_keys()
    found, file_problems = _read_checkpoints(keys) if use_checkpoints else ([], [])
    required = expected(found)
    walk = ChainWalk(keys, watch=frozenset(cp.seq for cp in required))
    last_seq, last_hash = _walk(walk)
    problems = list(walk.problems)
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
