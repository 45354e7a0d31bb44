"""The audit trail's hash chain, free of Django so it can be reasoned about alone.

Each entry's digest covers its own fields and the digest of the entry before it, in
the manner of a linked timestamping scheme (Haber & Stornetta 1991, "How to time-stamp a
digital document", Journal of Cryptology 3(2):99–111). Changing any stored field, or
deleting or reordering an entry, breaks every later link; ``verify_chain`` names the
first entry where that shows. Entries carry a gapless sequence number so that deleting
the newest entries is caught by comparing with the separately stored head.

>>> genesis = GENESIS
>>> a = entry_digest({"seq": 1, "action": "view"}, genesis)
>>> b = entry_digest({"seq": 2, "action": "create"}, a)
>>> rows = [({"seq": 1, "action": "view"}, genesis, a), ({"seq": 2, "action": "create"}, a, b)]
>>> verify_chain(rows)
[]
>>> tampered = [({"seq": 1, "action": "edit"}, genesis, a), rows[1]]
>>> verify_chain(tampered)[0].seq
1
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(fields: Mapping[str, Any]) -> bytes:
    """A stable byte encoding: sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def entry_digest(fields: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the previous digest and the entry's canonical encoding."""
    h = hashlib.sha256()
    h.update(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical(fields))
    return h.hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def verify_chain(
    rows: Iterable[tuple[Mapping[str, Any], str, str]],
    *,
    expected_first_prev: str = GENESIS,
    expected_first_seq: int = 1,
) -> list[ChainProblem]:
    """Check ``(fields, stored_prev_hash, stored_hash)`` rows given in sequence order.

    Every problem is reported, not just the first, so an operator sees the extent of a
    tampering; the first one is where the trail stops being trustworthy.
    """
    problems: list[ChainProblem] = []
    prev = expected_first_prev
    expected_seq = expected_first_seq
    for fields, stored_prev, stored_hash in rows:
        seq = int(fields["seq"])
        if seq != expected_seq:
            problems.append(ChainProblem(seq, f"sequence jumps from {expected_seq - 1} to {seq}"))
        if stored_prev != prev:
            problems.append(ChainProblem(seq, "link to the previous entry does not match"))
        if entry_digest(fields, stored_prev) != stored_hash:
            problems.append(ChainProblem(seq, "entry content does not match its digest"))
        prev = stored_hash
        expected_seq = seq + 1
    return problems
