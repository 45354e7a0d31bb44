"""The audit trail's hash chain, free of Django so it can be reasoned about alone.

Each entry's digest covers its own fields and the digest of the entry before it, in
the manner of a linked timestamping scheme (Haber & Stornetta 1991, "How to time-stamp a
digital document", Journal of Cryptology 3(2):99–111). Changing any stored field, or
deleting or reordering an entry, breaks every later link; the walk names the first entry
where that shows.

Two chain versions exist:

- ``LEGACY`` (1): the digest is SHA-256 over the previous digest and the entry. Anyone who
  can write the table can recompute it, so it shows accidents, not a determined intruder.
  Entries written before Reverie 0.2 are of this kind; they are kept, never rewritten.
- ``KEYED`` (2): the digest is HMAC-SHA256 (RFC 2104; NIST FIPS 198-1) over the same
  message under a key kept outside the database (``REVERIE_AUDIT_KEYS``). The entry names
  the key by a fingerprint, so keys can be rotated: a new key signs, old keys still verify.
  Without the key, no one can forge an entry that verifies.

Legacy entries are accepted only as a prefix: once a keyed entry has appeared, an unkeyed
one after it is a forgery (a downgrade). The first keyed entry's MAC covers the digest of
the last legacy one, so the legacy prefix cannot be changed either once it is followed by
keyed entries.

Deleting the newest entries leaves a shorter chain that is still
intact. Checkpoints catch that: each records a (seq, digest) pair outside the database, in
an append-only file whose lines are themselves MACed and chained, and verification checks
that the chain still holds every checkpointed pair and reaches the latest one.

>>> keys = Keyring.from_secrets(["k" * 32])
>>> a_fields = {"seq": 1, "action": "view", "chain": KEYED, "key_id": keys.signing_id}
>>> a = entry_digest(a_fields, GENESIS, keys.signing_key)
>>> b_fields = {"seq": 2, "action": "create", "chain": KEYED, "key_id": keys.signing_id}
>>> b = entry_digest(b_fields, a, keys.signing_key)
>>> rows = [(a_fields, GENESIS, a), (b_fields, a, b)]
>>> verify_chain(rows, keys.keys)
[]
>>> tampered = [({**a_fields, "action": "edit"}, GENESIS, a), rows[1]]
>>> verify_chain(tampered, keys.keys)[0].seq
1
>>> forged = [({**a_fields, "action": "edit"}, GENESIS,
...            entry_digest({**a_fields, "action": "edit"}, GENESIS)), rows[1]]
>>> [p.reason for p in verify_chain(forged, keys.keys)][0]
'entry content does not match its digest'
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
LEGACY = 1
KEYED = 2
MIN_KEY_LENGTH = 32
# Domain separation: a checkpoint line's MAC can never be mistaken for an entry's.
_CHECKPOINT_DOMAIN = b"reverie-audit-checkpoint\n"
_KEY_ID_DOMAIN = b"reverie-audit-key-id\n"


#: ``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False,
#: default=str)``, built once: ``json.dumps`` with any option builds a new encoder per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def canonical(fields: Mapping[str, Any]) -> bytes:
    """A stable byte encoding: sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return _CANONICAL.encode(fields).encode("utf-8")


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_BLOCK = 64  # SHA-256's block size in bytes


class Mac:
    """HMAC-SHA256 (RFC 2104) under one key, with the two padded key blocks hashed once.

    RFC 2104, section 4, suggests exactly this: the states after ``K XOR ipad`` and
    ``K XOR opad`` are computed when the key is loaded and copied for each message. A MAC
    then costs a couple of microseconds more than a plain SHA-256 of the message, where
    :func:`hmac.digest`, which sets the key up again on every call, cost about twice as
    much again on OpenSSL 3 (bench/bench_audit_chain.py). The audit trail computes one on
    every clinical read and write.

    >>> Mac(b"Jefe").hexdigest(b"what do ya want for nothing?")  # RFC 4231, test case 2
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
    >>> long_key = bytes(range(100))  # longer than a block: hashed first, as RFC 2104 says
    >>> Mac(long_key).hexdigest(b"m") == hmac.digest(long_key, b"m", "sha256").hex()
    True
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def entry_digest(fields: Mapping[str, Any], prev_hash: str, key: Mac | bytes | None = None) -> str:
    """The digest over the previous digest and the entry's canonical encoding: SHA-256
    without a key (legacy entries), HMAC-SHA256 with one."""
    message = prev_hash.encode("ascii") + b"\n" + canonical(fields)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    mac = key if isinstance(key, Mac) else Mac(key)
    return mac.hexdigest(message)


def key_id(secret: str) -> str:
    """A short public name for a key: enough to pick the right one of a few, and no help
    in guessing it (a hash of a secret of at least 32 characters).

    >>> key_id("k" * 32)
    '56e1bb2aa5d281e7'
    """
    return hashlib.sha256(_KEY_ID_DOMAIN + secret.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The configured audit keys: the first signs, every one verifies."""

    keys: Mapping[str, Mac]
    signing_id: str

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> Keyring:
        if not secrets:
            raise ValueError("at least one audit key is needed")
        for secret in secrets:
            if len(secret) < MIN_KEY_LENGTH:
                raise ValueError(f"audit keys must be at least {MIN_KEY_LENGTH} characters long")
        keys = {key_id(s): Mac(s.encode("utf-8")) for s in secrets}
        return cls(keys=keys, signing_id=key_id(secrets[0]))

    @property
    def signing_key(self) -> Mac:
        return self.keys[self.signing_id]


@dataclass(frozen=True)
class ChainProblem:
    """One finding. ``about`` is ``entry`` for a problem with the entry ``seq``, or
    ``checkpoint`` for one with the checkpoint file or between it and the chain."""

    seq: int
    reason: str
    about: str = "entry"

    def __str__(self) -> str:
        return f"entry #{self.seq}: {self.reason}" if self.about == "entry" else self.reason


@dataclass
class ChainWalk:
    """Checks ``(fields, stored_prev_hash, stored_hash)`` rows given in sequence order.

    Every problem is reported, not just the first, so an operator sees the extent of a
    tampering; the first one is where the trail stops being trustworthy. ``watch`` names
    sequence numbers whose digest (and the count of entries up to them) the caller wants
    back, for comparison with checkpoints.
    """

    keys: Mapping[str, Mac] = field(default_factory=dict)
    prev: str = GENESIS
    expected_seq: int = 1
    watch: frozenset[int] = frozenset()
    problems: list[ChainProblem] = field(default_factory=list)
    checked: int = 0
    legacy: int = 0
    keyed_from: int | None = None
    last_seq: int = 0
    seen: dict[int, tuple[str, int]] = field(default_factory=dict)
    missing_keys: set[str] = field(default_factory=set)

    def add(self, fields: Mapping[str, Any], stored_prev: str, stored_hash: str) -> None:
        seq = int(fields["seq"])
        self.checked += 1
        if seq != self.expected_seq:
            self.problems.append(
                ChainProblem(seq, f"sequence jumps from {self.expected_seq - 1} to {seq}")
            )
        if stored_prev != self.prev:
            self.problems.append(ChainProblem(seq, "link to the previous entry does not match"))
        version = fields.get("chain", LEGACY)
        if version == LEGACY:
            self.legacy += 1
            if self.keyed_from is not None:
                self.problems.append(
                    ChainProblem(
                        seq,
                        f"unkeyed entry after keyed entries (keyed from #{self.keyed_from}): "
                        "forged by someone without the audit key",
                    )
                )
            key = None
        elif version == KEYED:
            if self.keyed_from is None:
                self.keyed_from = seq
            name = str(fields.get("key_id", ""))
            found = self.keys.get(name)
            if found is None and name not in self.missing_keys:
                # Once per key: every entry it signed would say the same.
                self.missing_keys.add(name)
                self.problems.append(
                    ChainProblem(
                        seq,
                        f"signed with audit key {name!r}, which is not configured "
                        "(REVERIE_AUDIT_KEYS must keep every key ever used); neither this "
                        "entry nor later ones signed with it can be checked",
                    )
                )
            key = found
        else:
            self.problems.append(ChainProblem(seq, f"unknown chain version {version!r}"))
            key = None
        if (version == LEGACY or key is not None) and not hmac.compare_digest(
            entry_digest(fields, stored_prev, key), stored_hash
        ):
            self.problems.append(ChainProblem(seq, "entry content does not match its digest"))
        if seq in self.watch:
            self.seen[seq] = (stored_hash, self.checked)
        self.prev = stored_hash
        self.last_seq = seq
        self.expected_seq = seq + 1


def verify_chain(
    rows: Iterable[tuple[Mapping[str, Any], str, str]],
    keys: Mapping[str, Mac] | None = None,
    *,
    expected_first_prev: str = GENESIS,
    expected_first_seq: int = 1,
) -> list[ChainProblem]:
    """The problems in a run of rows; see :class:`ChainWalk`."""
    walk = ChainWalk(keys or {}, prev=expected_first_prev, expected_seq=expected_first_seq)
    for fields, stored_prev, stored_hash in rows:
        walk.add(fields, stored_prev, stored_hash)
    return walk.problems


# --- checkpoints ------------------------------------------------------------------------

CHECKPOINT = "checkpoint"
REWIND = "rewind"
CP = "checkpoint"  # what a ChainProblem is about


@dataclass(frozen=True)
class Checkpoint:
    """One line of the checkpoint file: the chain's head at a moment.

    ``kind`` is ``checkpoint``, or ``rewind`` when an operator accepted that the trail
    went back to this point (a restored backup): checkpoints above a rewind's ``seq``
    written before it are then no longer expected.
    """

    line: int
    kind: str
    at: str
    seq: int
    digest: str
    count: int
    note: str
    key_id: str
    prev: str
    mac: str


def _line_fields(**values: Any) -> dict[str, Any]:
    return {
        k: values[k] for k in ("kind", "at", "seq", "digest", "count", "note", "key_id", "prev")
    }


def _line_mac(fields: Mapping[str, Any], key: Mac) -> str:
    return key.hexdigest(_CHECKPOINT_DOMAIN + canonical(fields))


def checkpoint_line(
    keyring: Keyring,
    *,
    kind: str,
    at: str,
    seq: int,
    digest: str,
    count: int,
    prev: str,
    note: str = "",
) -> str:
    """One JSON line (without its newline), MACed with the signing key and chained to
    the previous line's MAC so that a line removed from the middle shows.

    >>> keys = Keyring.from_secrets(["k" * 32])
    >>> line = checkpoint_line(keys, kind="checkpoint", at="2026-01-01T00:00:00+00:00",
    ...                        seq=3, digest="ab" * 32, count=3, prev="")
    >>> [cp.seq for cp in read_checkpoints([line], keys.keys)[0]]
    [3]
    >>> read_checkpoints([line.replace('"seq":3', '"seq":2')], keys.keys)[1][0].reason
    'checkpoint file line 1: its MAC does not match (the line was altered)'
    """
    fields = _line_fields(
        kind=kind,
        at=at,
        seq=seq,
        digest=digest,
        count=count,
        note=note,
        key_id=keyring.signing_id,
        prev=prev,
    )
    return json.dumps(
        {**fields, "mac": _line_mac(fields, keyring.signing_key)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def read_checkpoints(
    lines: Iterable[str], keys: Mapping[str, Mac]
) -> tuple[list[Checkpoint], list[ChainProblem]]:
    """Parse and authenticate checkpoint lines. A line that fails is reported and not
    trusted; the lines after it are still read, so one bad line does not hide the rest."""
    checkpoints: list[Checkpoint] = []
    problems: list[ChainProblem] = []
    missing: set[str] = set()
    prev = ""
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        where = f"checkpoint file line {number}"
        try:
            data = json.loads(text)
            fields = _line_fields(**data)
            mac = str(data["mac"])
            cp = Checkpoint(
                line=number,
                kind=str(fields["kind"]),
                at=str(fields["at"]),
                seq=int(fields["seq"]),
                digest=str(fields["digest"]),
                count=int(fields["count"]),
                note=str(fields["note"]),
                key_id=str(fields["key_id"]),
                prev=str(fields["prev"]),
                mac=mac,
            )
        except (ValueError, KeyError, TypeError):
            problems.append(ChainProblem(0, f"{where}: not a checkpoint line", CP))
            prev = ""
            continue
        key = keys.get(cp.key_id)
        if key is None:
            if cp.key_id not in missing:
                missing.add(cp.key_id)
                problems.append(
                    ChainProblem(
                        cp.seq,
                        f"{where} and later lines signed with audit key {cp.key_id!r} cannot "
                        "be checked: that key is not configured",
                        CP,
                    )
                )
        elif not hmac.compare_digest(_line_mac(fields, key), mac):
            problems.append(
                ChainProblem(cp.seq, f"{where}: its MAC does not match (the line was altered)", CP)
            )
            prev = mac
            continue
        if cp.prev != prev:
            problems.append(
                ChainProblem(
                    cp.seq, f"{where}: does not follow the line before it (a line was removed)", CP
                )
            )
        if cp.kind not in (CHECKPOINT, REWIND):
            problems.append(ChainProblem(cp.seq, f"{where}: unknown kind {cp.kind!r}", CP))
        elif key is not None:
            checkpoints.append(cp)
        prev = mac
    return checkpoints, problems


def expected(checkpoints: Sequence[Checkpoint]) -> list[Checkpoint]:
    """The checkpoints the chain must still agree with: all of them, except those a later
    rewind line gave up (above its seq, written before it).

    >>> def cp(kind, seq, line):
    ...     return Checkpoint(line, kind, "", seq, "", seq, "", "", "", "")
    >>> [c.seq for c in expected([cp("checkpoint", 5, 1), cp("checkpoint", 9, 2),
    ...                           cp("rewind", 6, 3), cp("checkpoint", 8, 4)])]
    [5, 6, 8]
    """
    kept: list[Checkpoint] = []
    for cp in checkpoints:
        if cp.kind == REWIND:
            kept = [k for k in kept if k.seq <= cp.seq]
        kept.append(cp)
    return kept
