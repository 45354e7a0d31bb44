"""Benchmark: what signing the audit trail costs per entry, and how fast a chain verifies.

Run with ``.venv/bin/python bench/bench_audit_chain.py`` from the repository root.

Every clinical read and write appends one audit entry (``audit.trail.record``), so the
digest is on the hottest path Reverie has (bench/bench_fhir_submissions.py). This times,
on the same typical entry and in the same run:

- the floor: the unkeyed SHA-256 digest that Reverie 0.1 computed (chain version 1);
- the keyed digest as shipped: HMAC-SHA256 with the key's padded blocks hashed once
  (``hashchain.Mac``, RFC 2104 section 4);
- the keyed digest through ``hmac.digest``, which sets the key up on every call;

and then how many entries per second ``ChainWalk`` verifies (no database: the daily
``audit.verify`` job adds the cost of reading the rows).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import sys
import time
from collections.abc import Callable

from reverie.lib.hashchain import GENESIS, KEYED, ChainWalk, Keyring, canonical, entry_digest

ENTRY = {
    "seq": 123456,
    "at": "2026-12-05T10:00:00.123456+00:00",
    "actor": 12,
    "actor_label": "thera@harbour.test",
    "practice": 1,
    "action": "create",
    "object_type": "measures.administration",
    "object_id": "98765",
    "client_id": 321,
    "ip": "192.0.2.7",
    "detail": {},
}


def per_call_us(fn: Callable[[], object], number: int, repeats: int) -> float:
    """The median over ``repeats`` of the mean time of ``number`` calls, in µs."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()

    secret = "bench-audit-key-" + "k" * 32
    ring = Keyring.from_secrets([secret])
    keyed = {**ENTRY, "chain": KEYED, "key_id": ring.signing_id}
    raw_key = secret.encode()

    def via_hmac_digest() -> str:
        message = GENESIS.encode("ascii") + b"\n" + canonical(keyed)
        return hmac.digest(raw_key, message, "sha256").hex()

    assert via_hmac_digest() == entry_digest(keyed, GENESIS, ring.signing_key)
    message = GENESIS.encode("ascii") + b"\n" + canonical(keyed)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("unkeyed SHA-256 entry digest (0.1, floor)", lambda: entry_digest(ENTRY, GENESIS)),
        (
            "keyed entry digest, as shipped (Mac)",
            lambda: entry_digest(keyed, GENESIS, ring.signing_key),
        ),
        ("keyed entry digest via hmac.digest", via_hmac_digest),
        ("  of which: canonical JSON encoding", lambda: canonical(keyed)),
        ("  of which: SHA-256 of the message", lambda: hashlib.sha256(message).hexdigest()),
        ("  of which: Mac of the message", lambda: ring.signing_key.hexdigest(message)),
    ]
    python = sys.version.split()[0]
    print(f"Audit chain digest, {args.number} calls x {args.repeats} repeats (median), {python}")
    for label, fn in cases:
        print(f"{label:<45} {per_call_us(fn, args.number, args.repeats):7.2f} µs")

    rows = []
    prev = GENESIS
    for seq in range(1, args.entries + 1):
        fields = {**keyed, "seq": seq}
        digest = entry_digest(fields, prev, ring.signing_key)
        rows.append((fields, prev, digest))
        prev = digest
    start = time.perf_counter()
    walk = ChainWalk(ring.keys)
    for fields, stored_prev, stored in rows:
        walk.add(fields, stored_prev, stored)
    elapsed = time.perf_counter() - start
    assert not walk.problems and walk.checked == args.entries
    print(
        f"verify {args.entries:,} keyed entries in memory: {elapsed:.2f} s "
        f"({args.entries / elapsed:,.0f} entries/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
