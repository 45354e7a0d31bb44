"""The keyed chain and its checkpoints: attacks by someone who can write the database
(triggers dropped, rows deleted, digests recomputed) but holds neither the audit key nor
the checkpoint file."""

from __future__ import annotations

import datetime
import io
import json
import socket

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from reverie.audit import checkpoints, protection, trail
from reverie.audit.models import Action, AuditEntry, TrailCheck
from reverie.lib.env import ConfigError
from reverie.lib.hashchain import GENESIS, KEYED, LEGACY, entry_digest, key_id

KEY_A = "audit-key-a-" + "a" * 32
KEY_B = "audit-key-b-" + "b" * 32


def _audit(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _record(n: int) -> list[AuditEntry]:
    ctx = trail.system("test")
    return [
        trail.record(ctx, Action.VIEW, object_type="care.client", object_id=i) for i in range(n)
    ]


def _sql(statement: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _drop_triggers() -> None:
    """What an intruder with database-owner rights does first (conftest puts the triggers
    back before the next test)."""
    with connection.cursor() as cursor:
        protection.remove(cursor, connection.vendor)


def _cut_back_to(seq: int) -> None:
    """Delete every entry after ``seq``, so the chain that is left is intact."""
    _drop_triggers()
    _sql("DELETE FROM audit_auditentry WHERE seq > %s", [seq])


def _forge_after(seq: int, count: int, *, version: int, key: bytes | None) -> None:
    """Replace everything after ``seq`` with ``count`` invented entries whose digests are
    recomputed as an intruder can: plain SHA-256, or HMAC under a key of their own."""
    _cut_back_to(seq)
    prev = AuditEntry.objects.get(seq=seq).hash
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for n in range(seq + 1, seq + 1 + count):
        entry = AuditEntry(
            seq=n,
            at=at,
            actor_label="system:test",
            action=Action.VIEW,
            object_type="care.client",
            object_id="forged",
            chain_version=version,
            key_id=trail.keyring().signing_id if version == KEYED else "",
            prev_hash=prev,
        )
        entry.hash = entry_digest(entry.chain_fields(), prev, key)
        entry.save()
        prev = entry.hash


def test_legacy_digests_are_computed_exactly_as_before() -> None:
    # Values computed with the unkeyed chain of Reverie 0.1 (before this change) for the
    # same two entries: existing trails must keep verifying.
    first = AuditEntry(
        seq=1,
        chain_version=LEGACY,
        at=datetime.datetime(2025, 1, 2, 3, 4, 5, 678900, tzinfo=datetime.UTC),
        actor_id=7,
        actor_label="thera@harbour.test",
        practice_id=3,
        action="view",
        object_type="care.client",
        object_id="12",
        client_id=12,
        ip="192.0.2.1",
        detail={"page": 2, "ids": [1, 2]},
    )
    second = AuditEntry(
        seq=2,
        chain_version=LEGACY,
        at=datetime.datetime(2025, 1, 2, 3, 4, 6, tzinfo=datetime.UTC),
        actor_label="system:demo",
        action="import",
    )
    d1 = entry_digest(first.chain_fields(), GENESIS)
    assert d1 == "6fe2717d27982b9b8734d86107e852a42548cd9d6a3cd0015bbad82f7cbff1e1"
    assert (
        entry_digest(second.chain_fields(), d1)
        == "b8a0d123dfa131b9e82e19249f87d2a5cb0738c93786417b3ec725af947d0e62"
    )


def test_new_entries_are_signed_with_the_first_configured_key(db) -> None:
    (entry,) = _record(1)
    assert (entry.chain_version, entry.key_id) == (KEYED, trail.keyring().signing_id)
    unkeyed = entry_digest(entry.chain_fields(), entry.prev_hash)
    assert entry.hash != unkeyed
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.chain_version, stored.key_id, stored.hash) == (KEYED, entry.key_id, entry.hash)


def test_verify_passes_on_a_clean_trail_with_checkpoints(db) -> None:
    _record(3)
    assert _audit("checkpoint")[0] == 0
    _record(2)
    assert _audit("checkpoint")[0] == 0
    _record(1)
    code, out, err = _audit("verify")
    assert (code, err) == (0, "")
    assert "OK: 6 audit entries verified, ending at #6" in out
    assert "agrees with 2 checkpoint(s)" in out
    assert TrailCheck.objects.filter(kind="verify", ok=True, head_seq=6).exists()


def test_without_a_checkpoint_verify_passes_and_says_none_was_taken(db) -> None:
    _record(2)
    code, out, _ = _audit("verify")
    assert code == 0
    assert "no checkpoint yet" in out


@pytest.mark.django_db(transaction=True)
def test_deleting_the_newest_entries_and_rewinding_the_head_fails_against_a_checkpoint() -> None:
    _record(5)
    assert _audit("checkpoint")[0] == 0
    _cut_back_to(3)
    # The chain left behind is intact: only the checkpoint shows it.
    assert trail.verify(use_checkpoints=False).ok
    code, _, err = _audit("verify")
    assert code == 1
    assert "the trail ends at #3 but the checkpoint of" in err
    assert "recorded #5: newest entries were removed" in err


@pytest.mark.django_db(transaction=True)
def test_entries_forged_with_recomputed_sha256_digests_fail_verification() -> None:
    _record(4)
    _forge_after(2, 3, version=KEYED, key=None)
    code, _, err = _audit("verify")
    assert code == 1
    for seq in (3, 4, 5):
        assert f"entry #{seq}: entry content does not match its digest" in err


@pytest.mark.django_db(transaction=True)
def test_entries_forged_under_another_key_fail_verification() -> None:
    _record(4)
    _forge_after(2, 2, version=KEYED, key=b"the intruder's own key, 32+ bytes long")
    code, _, err = _audit("verify")
    assert code == 1
    assert "entry #3: entry content does not match its digest" in err


@pytest.mark.django_db(transaction=True)
def test_forged_unkeyed_entries_after_keyed_ones_are_a_downgrade() -> None:
    _record(4)
    _forge_after(2, 2, version=LEGACY, key=None)
    code, _, err = _audit("verify")
    assert code == 1
    assert "entry #3: unkeyed entry after keyed entries (keyed from #1)" in err


def _insert_legacy(n: int) -> str:
    """Entries as Reverie 0.1 wrote them: unkeyed SHA-256, chain version 1."""
    prev = GENESIS
    at = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)
    for seq in range(1, n + 1):
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor_label="system:old",
            action=Action.VIEW,
            chain_version=LEGACY,
            prev_hash=prev,
        )
        entry.hash = entry_digest(entry.chain_fields(), prev)
        entry.save()
        prev = entry.hash
    return prev


def test_an_unkeyed_prefix_from_before_the_upgrade_verifies_and_is_reported(db) -> None:
    _insert_legacy(3)
    _record(2)
    code, out, _ = _audit("verify")
    assert code == 0
    assert "3 entries at the start of the trail were written before audit keys" in out
    assert "sealed by the keyed entries from #4 on" in out
    assert [e.chain_version for e in AuditEntry.objects.order_by("seq")] == [1, 1, 1, 2, 2]


@pytest.mark.django_db(transaction=True)
def test_rewriting_the_unkeyed_prefix_breaks_the_first_keyed_entry() -> None:
    _insert_legacy(2)
    _record(1)
    _drop_triggers()
    first = AuditEntry.objects.get(seq=1)
    first.action = Action.DELETE
    forged = entry_digest(first.chain_fields(), GENESIS)
    _sql("UPDATE audit_auditentry SET action = 'delete', hash = %s WHERE seq = 1", [forged])
    second = AuditEntry.objects.get(seq=2)
    _sql(
        "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = 2",
        [forged, entry_digest(second.chain_fields(), forged)],
    )
    code, _, err = _audit("verify")
    assert code == 1
    assert "entry #3: link to the previous entry does not match" in err


def test_a_tampered_checkpoint_line_is_detected(db) -> None:
    _record(3)
    _audit("checkpoint")
    path = checkpoints.path()
    line = json.loads(path.read_text())
    line["seq"] = 2
    path.write_text(json.dumps(line) + "\n")
    code, _, err = _audit("verify")
    assert code == 1
    assert "checkpoint file line 1: its MAC does not match (the line was altered)" in err


def test_a_checkpoint_line_removed_from_the_middle_is_detected(db) -> None:
    for _ in range(3):
        _record(1)
        _audit("checkpoint")
    path = checkpoints.path()
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    code, _, err = _audit("verify")
    assert code == 1
    assert "checkpoint file line 2: does not follow the line before it" in err


def test_a_checkpoint_is_not_written_over_a_broken_chain(db) -> None:
    _record(2)
    _audit("checkpoint")
    _record(2)
    _drop_triggers()
    _sql("UPDATE audit_auditentry SET object_id = 'x' WHERE seq = 4")
    code, _, err = _audit("checkpoint")
    assert code == 1
    assert "No checkpoint written" in err
    assert "entry #4: entry content does not match its digest" in err
    assert len(checkpoints.path().read_text().splitlines()) == 1
    failed = TrailCheck.objects.get(kind="checkpoint", ok=False)
    assert failed.first_problem == "entry #4: entry content does not match its digest"


def test_a_checkpoint_verifies_only_what_was_added_since_the_last(db) -> None:
    _record(5)
    made, first = trail.checkpoint(by="test")
    assert made is not None and first.checked == 5
    _record(2)
    made, second = trail.checkpoint(by="test")
    assert made is not None
    assert (second.checked, made.seq, made.count) == (2, 7, 7)
    assert made.digest == AuditEntry.objects.get(seq=7).hash


@pytest.mark.django_db(transaction=True)
def test_a_restore_is_accepted_by_a_rewind_line_and_verifies_again() -> None:
    _record(3)
    _audit("checkpoint")
    _record(3)
    _audit("checkpoint")
    _cut_back_to(4)  # as a restored backup taken at #4 would look
    assert _audit("verify")[0] == 1
    code, out, _ = _audit("checkpoint", "--accept-rewind", "restored the backup of 1 March")
    assert code == 0 and "Rewind accepted: #4" in out
    _record(2)
    code, out, _ = _audit("verify")
    assert code == 0, out
    # Checkpoints at or below the rewind still bind: a trail whose history differs there
    # (even one signed with the right key, as another database would be) fails.
    _forge_after(2, 4, version=KEYED, key=trail.keyring().signing_key)
    code, _, err = _audit("verify")
    assert code == 1
    assert "entry #3 differs from the checkpoint of" in err
    assert "entry #4 differs from the checkpoint of" in err


def test_without_an_audit_key_nothing_is_written(db) -> None:
    before = AuditEntry.objects.count()
    with override_settings(AUDIT_KEYS=[]), pytest.raises(ConfigError, match="REVERIE_AUDIT_KEYS"):
        _record(1)
    assert AuditEntry.objects.count() == before


def test_a_new_key_signs_and_the_old_one_still_verifies(db) -> None:
    with override_settings(AUDIT_KEYS=[KEY_A]):
        old = _record(2)
    with override_settings(AUDIT_KEYS=[KEY_B, KEY_A]):
        new = _record(2)
        assert trail.verify().ok
    assert {e.key_id for e in old} == {key_id(KEY_A)}
    assert {e.key_id for e in new} == {key_id(KEY_B)}
    with override_settings(AUDIT_KEYS=[KEY_B]):
        result = trail.verify()
    assert not result.ok
    assert f"signed with audit key {key_id(KEY_A)!r}, which is not configured" in str(
        result.problems[0]
    )


def test_serve_and_worker_refuse_to_start_without_an_audit_key(db) -> None:
    from reverie.core.management.commands.serve import check_safe_to_serve

    with override_settings(AUDIT_KEYS=[], SECRET_KEY_CONFIGURED=True, DEBUG=False):
        with pytest.raises(CommandError, match="REVERIE_AUDIT_KEYS"):
            check_safe_to_serve()
        with pytest.raises(CommandError, match="REVERIE_AUDIT_KEYS"):
            call_command("worker", "--once")


def test_the_worker_refuses_to_start_without_the_secret_key(db) -> None:
    # A waitlist offer the worker signed with a throw-away key would be refused by the web.
    with (
        override_settings(SECRET_KEY_CONFIGURED=False),
        pytest.raises(CommandError, match="REVERIE_SECRET_KEY"),
    ):
        call_command("worker", "--once")


def test_the_worker_takes_a_checkpoint_and_verifies(db) -> None:
    from reverie.core import worker

    _record(2)
    ran = worker.run_once("test-worker")
    assert {"audit.checkpoint", "audit.verify"} <= set(ran)
    (line,) = checkpoints.path().read_text().splitlines()
    assert json.loads(line)["seq"] == AuditEntry.objects.order_by("-seq")[0].seq
    assert set(TrailCheck.objects.values_list("kind", "ok")) == {
        ("checkpoint", True),
        ("verify", True),
    }


def test_a_checkpoint_line_is_also_sent_to_syslog(db, settings, tmp_path) -> None:
    address = str(tmp_path / "log.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    receiver.settimeout(5)
    settings.AUDIT_SYSLOG = address
    try:
        _record(1)
        made, _ = trail.checkpoint(by="test")
        message = receiver.recv(65536).decode()
    finally:
        receiver.close()
    assert made is not None
    assert "reverie-audit: " in message and made.mac in message


@pytest.mark.parametrize("key_length", [1, 32, 63, 64, 65, 200])
def test_the_precomputed_mac_is_the_standard_librarys_hmac_sha256(key_length: int) -> None:
    import hashlib
    import hmac
    import random

    from reverie.lib.hashchain import Mac

    rng = random.Random(key_length)
    key = rng.randbytes(key_length)
    mac = Mac(key)
    for size in (0, 1, 55, 64, 1000):
        message = rng.randbytes(size)
        assert mac.hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


# --- concurrent appends --------------------------------------------------------------------
# Every audited transaction appends to the one chain. These tests commit for real, from
# several connections at once, and check that the chain stays one unbroken line.

only_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the late head lock is PostgreSQL's; SQLite's write lock serialises appends",
)


def _append_in_own_transaction(label: str, count: int, errors: list[BaseException]) -> None:
    from django.db import connection as thread_connection
    from django.db import transaction

    try:
        for n in range(count):
            with transaction.atomic():
                trail.record(trail.system(label), Action.VIEW, object_type="t", object_id=n)
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)
    finally:
        thread_connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_many_connections_form_one_unbroken_chain() -> None:
    import threading

    threads_, per_thread = 6, 15
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_append_in_own_transaction, args=(f"t{i}", per_thread, errors))
        for i in range(threads_)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads_ * per_thread + 1))
    labels = AuditEntry.objects.values_list("actor_label", flat=True)
    assert {label: list(labels).count(label) for label in set(labels)} == {
        f"system:t{i}": per_thread for i in range(threads_)
    }
    assert trail.head()[0] == threads_ * per_thread
    assert trail.verify(use_checkpoints=False).ok


@only_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_append_that_loses_the_race_is_signed_again_on_the_new_head(monkeypatch) -> None:
    """Between reading the head and moving it, another connection appends and commits:
    the first append must not overwrite the head or fork the chain, but chain after the
    other entry."""
    import threading

    from django.db import transaction

    real_digest = trail.entry_digest
    raced: list[bool] = []
    errors: list[BaseException] = []

    def digest_with_a_rival(*args: object) -> str:
        if not raced:
            raced.append(True)
            rival = threading.Thread(target=_append_in_own_transaction, args=("rival", 1, errors))
            rival.start()
            rival.join(timeout=30)
            assert not rival.is_alive(), "the rival append was blocked by a lock"
        return real_digest(*args)  # type: ignore[arg-type]

    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    monkeypatch.setattr(trail, "entry_digest", digest_with_a_rival)
    with transaction.atomic():
        mine = trail.record(trail.system("mine"), Action.VIEW, object_type="t", object_id=1)
    assert errors == []
    rival = AuditEntry.objects.get(actor_label="system:rival")
    assert (rival.seq, mine.seq) == (2, 3)
    assert AuditEntry.objects.get(pk=mine.pk).prev_hash == rival.hash
    assert trail.head()[0] == 3
    assert trail.verify(use_checkpoints=False).ok


@only_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_append_that_loses_every_race_stores_nothing_and_says_so(monkeypatch) -> None:
    from django.db import transaction

    from reverie.accounts.models import Practice

    first = trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    monkeypatch.setattr(trail, "APPEND_ATTEMPTS", 0)
    with pytest.raises(trail.ChainBusy, match="nothing was stored"), transaction.atomic():
        Practice.objects.create(name="Lost", slug="lost")
        trail.record(trail.system("lost"), Action.CREATE, object_type="t", object_id=1)
    assert not Practice.objects.filter(slug="lost").exists()
    assert trail.head() == (first.seq, first.hash)
    assert trail.verify(use_checkpoints=False).ok
