"""The one-statement submission on PostgreSQL (``trail.create_committed``): the row, its
audit entry and the commit in one statement outside a transaction. Both rows or neither,
the chain unbroken under concurrency and lost races, nothing stored on a conflict."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from measures.conftest import phq9_answers
from reverie.accounts import actions as account_actions
from reverie.accounts.models import Practice
from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.lib.hashchain import GENESIS
from reverie.measures import actions
from reverie.measures.models import Administration, Instrument
from reverie.testing import World, bearer, phq9_response

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="one statement is its own transaction only on PostgreSQL; SQLite submits "
        "in a transaction as before",
    ),
    pytest.mark.django_db(transaction=True),
]


def _practice(slug: str) -> Practice:
    return Practice(slug=slug, name=f"Practice {slug}")


def _created(label: str, count: int, errors: list[BaseException]) -> None:
    from django.db import connection as thread_connection

    try:
        for n in range(count):
            trail.create_committed(trail.system(label), _practice(f"{label}-{n}"))
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)
    finally:
        thread_connection.close()


def _recorded(label: str, count: int, errors: list[BaseException]) -> None:
    from django.db import connection as thread_connection

    try:
        for n in range(count):
            with transaction.atomic():
                trail.record(trail.system(label), Action.VIEW, object_type="t", object_id=n)
    except BaseException as error:
        errors.append(error)
    finally:
        thread_connection.close()


def _submit_phq9(world: World, **extra: Any) -> actions.Submission:
    """A therapist's FHIR-style PHQ-9 for the world's client: no request, no crisis item,
    so it takes the one-statement write."""
    return actions.submit(
        trail.Context(user=world.therapist),
        client=world.client,
        instrument=Instrument.objects.get(code="phq-9"),
        answers=phq9_answers(1, 1, 1),
        source="fhir",
        **extra,
    )


def test_a_fhir_style_submission_is_two_statements_with_no_begin_or_commit(
    world: World,
) -> None:
    """Before: BEGIN, insert with the head read, append, COMMIT (four round trips); now
    the key and head are read, and one statement writes both rows and commits."""
    # A flushed test database may have no head row yet; the first entry creates it.
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    with CaptureQueriesContext(connection) as queries:
        result = _submit_phq9(
            world, key=actions.idempotency_key("fhir", world.therapist.pk, "urn:x|one")
        )
    sqls = [q["sql"].lstrip() for q in queries.captured_queries]
    first_words = [sql.split()[0].upper() for sql in sqls]
    assert not {"BEGIN", "COMMIT", "SAVEPOINT", "INSERT", "UPDATE"} & set(first_words)
    assert "nextval" in sqls[-2] and first_words[-1] == "WITH"
    assert first_words.count("WITH") == 1
    row = Administration.objects.get(pk=result.administration.pk)
    entry = AuditEntry.objects.get(object_type="measures.administration", object_id=str(row.pk))
    assert (entry.action, entry.client_id, entry.actor_id) == (
        "create",
        world.client.pk,
        world.therapist.pk,
    )
    assert trail.head() == (entry.seq, entry.hash)
    assert trail.verify(use_checkpoints=False).ok


def test_on_an_empty_trail_the_first_entry_chains_from_genesis_in_one_statement() -> None:
    assert not AuditEntry.objects.exists()
    with CaptureQueriesContext(connection) as queries:
        practice = trail.create_committed(trail.system("first"), _practice("first"))
    assert not {"BEGIN", "COMMIT"} & {q["sql"].split()[0].upper() for q in queries}
    entry = AuditEntry.objects.get(object_type="accounts.practice", object_id=str(practice.pk))
    assert (entry.seq, entry.prev_hash) == (1, GENESIS)
    assert trail.head() == (1, entry.hash)
    assert trail.verify(use_checkpoints=False).ok


def test_a_conflicting_row_stores_neither_row_and_leaves_the_head() -> None:
    trail.create_committed(trail.system("first"), _practice("same"))
    head = trail.head()
    entries = AuditEntry.objects.count()
    with pytest.raises(IntegrityError):
        trail.create_committed(trail.system("second"), _practice("same"))
    assert Practice.objects.filter(slug="same").count() == 1
    assert AuditEntry.objects.count() == entries
    assert trail.head() == head
    assert trail.verify(use_checkpoints=False).ok


def _race_once(monkeypatch) -> list[BaseException]:
    """Make the next entry's signing let a rival append first (once), so the write that
    follows loses its race; returns the list the rival reports its errors in."""
    real_digest = trail.entry_digest
    raced: list[bool] = []
    errors: list[BaseException] = []

    def digest_with_a_rival(*args: object) -> str:
        if not raced:
            raced.append(True)
            rival = threading.Thread(target=_recorded, args=("rival", 1, errors))
            rival.start()
            rival.join(timeout=30)
            assert not rival.is_alive(), "the rival append was blocked by a lock"
        return real_digest(*args)  # type: ignore[arg-type]

    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    monkeypatch.setattr(trail, "entry_digest", digest_with_a_rival)
    return errors


def test_a_lost_race_is_signed_again_on_the_new_head_and_stored_once(monkeypatch) -> None:
    errors = _race_once(monkeypatch)
    practice = trail.create_committed(trail.system("mine"), _practice("raced"))
    assert errors == []
    rival = AuditEntry.objects.get(actor_label="system:rival")
    mine = AuditEntry.objects.get(actor_label="system:mine")
    assert (rival.seq, mine.seq) == (2, 3)
    assert mine.prev_hash == rival.hash and mine.object_id == str(practice.pk)
    assert Practice.objects.filter(slug="raced").count() == 1
    assert trail.head()[0] == 3
    assert trail.verify(use_checkpoints=False).ok


def test_a_lost_race_needs_no_statement_of_its_own_to_read_the_head(monkeypatch) -> None:
    """The write that lost names the head it saw (the rival's entry, committed before the
    write began), so the second attempt follows it at once: reserve, lost write, write."""
    errors = _race_once(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        trail.create_committed(trail.system("mine"), _practice("one-read"))
    assert errors == []
    kinds = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert kinds == ["SELECT", "WITH", "WITH"], kinds
    mine = AuditEntry.objects.get(actor_label="system:mine")
    assert mine.seq == 3 and mine.prev_hash == AuditEntry.objects.get(seq=2).hash
    assert trail.verify(use_checkpoints=False).ok


def _wait_for_a_blocked_insert(errors: list[BaseException], ready: threading.Event) -> None:
    """A rival that appends in a transaction, signals, and commits only once another
    session is waiting for its uncommitted entry (the insert of the same ``seq``)."""
    from django.db import connection as thread_connection

    try:
        with transaction.atomic():
            trail.record(trail.system("slow-rival"), Action.VIEW, object_type="t", object_id=1)
            ready.set()
            with thread_connection.cursor() as cursor:
                for _ in range(600):
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid'"
                    )
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.05)
                else:
                    raise AssertionError("no session waited for the rival's entry")
    except BaseException as error:
        errors.append(error)
    finally:
        thread_connection.close()


def test_a_race_lost_to_a_commit_the_write_could_not_see_reads_the_head_afresh(
    monkeypatch,
) -> None:
    """The winner was still committing when the write began: the write waited for it,
    found the conflict, and names an older head than the one it lost to, since a
    statement sees only what committed before it began. The head is then read by a
    statement of its own, and the entry is chained after the winner's."""
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    errors: list[BaseException] = []
    ready = threading.Event()
    real_reserve = trail._reserve_sql
    rival = threading.Thread(target=_wait_for_a_blocked_insert, args=(errors, ready))

    def reserve_while_the_rival_holds_its_entry(model: Any) -> str:
        if not rival.is_alive() and not ready.is_set():
            rival.start()
            assert ready.wait(timeout=30)
        return real_reserve(model)

    monkeypatch.setattr(trail, "_reserve_sql", reserve_while_the_rival_holds_its_entry)
    with CaptureQueriesContext(connection) as queries:
        practice = trail.create_committed(trail.system("mine"), _practice("unseen"))
    rival.join(timeout=60)
    assert errors == []
    sqls = [" ".join(q["sql"].split()) for q in queries.captured_queries]
    assert [s.split()[0] for s in sqls] == ["SELECT", "WITH", "SELECT", "WITH"], sqls
    assert sqls[2] == trail._HEAD_SQL
    rival_entry = AuditEntry.objects.get(actor_label="system:slow-rival")
    mine = AuditEntry.objects.get(actor_label="system:mine")
    assert (rival_entry.seq, mine.seq) == (2, 3)
    assert mine.prev_hash == rival_entry.hash and mine.object_id == str(practice.pk)
    assert trail.verify(use_checkpoints=False).ok


def test_after_losing_every_race_it_falls_back_to_a_transaction(monkeypatch) -> None:
    monkeypatch.setattr(trail, "LATE_ATTEMPTS", 0)
    made = [trail.create_committed(trail.system("locked"), _practice(f"l{n}")) for n in range(3)]
    seqs = [
        AuditEntry.objects.get(object_type="accounts.practice", object_id=str(p.pk)).seq
        for p in made
    ]
    assert seqs == [1, 2, 3]
    assert trail.verify(use_checkpoints=False).ok


def test_inside_a_transaction_it_writes_in_the_callers_transaction() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        trail.create_committed(trail.system("inner"), _practice("rolled-back"))
        raise RuntimeError("the caller fails after the write")
    assert not Practice.objects.filter(slug="rolled-back").exists()
    assert not AuditEntry.objects.filter(actor_label="system:inner").exists()


def test_concurrent_one_statement_creates_and_appends_form_one_unbroken_chain() -> None:
    errors: list[BaseException] = []
    per_thread = 12
    threads = [
        threading.Thread(target=_created, args=(f"c{i}", per_thread, errors)) for i in range(4)
    ] + [threading.Thread(target=_recorded, args=(f"r{i}", per_thread, errors)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    total = len(threads) * per_thread
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    created = AuditEntry.objects.filter(object_type="accounts.practice")
    assert created.count() == 4 * per_thread
    assert set(created.values_list("object_id", flat=True)) == {
        str(pk) for pk in Practice.objects.filter(slug__startswith="c").values_list("pk", flat=True)
    }
    assert trail.head()[0] == total
    assert trail.verify(use_checkpoints=False).ok


# --- the write sent while the application works (core.postgresql.overlap) ---------------------


def test_a_submission_built_its_answer_while_the_write_was_in_flight(world: World) -> None:
    """``meanwhile`` runs after the statement was sent and before its result was read, on
    an administration that already has its key; the write is then stored as without it."""
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    seen: list[tuple[int | None, bool, bool]] = []

    def meanwhile(row: Administration) -> None:
        pgconn = connection.connection.pgconn
        seen.append((row.pk, pgconn.is_busy(), row._state.adding))

    result = _submit_phq9(world, meanwhile=meanwhile)
    row = result.administration
    assert seen == [(row.pk, True, True)]  # sent, not yet answered, not yet marked stored
    assert not row._state.adding
    assert Administration.objects.filter(pk=row.pk).exists()
    entry = AuditEntry.objects.get(object_type="measures.administration", object_id=str(row.pk))
    assert trail.head() == (entry.seq, entry.hash)
    assert trail.verify(use_checkpoints=False).ok


def test_the_overlapped_write_is_logged_like_any_other_statement(world: World) -> None:
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    with CaptureQueriesContext(connection) as queries:
        trail.create_committed(trail.system("logged"), _practice("logged"), meanwhile=lambda: None)
    assert queries.captured_queries[-1]["sql"].lstrip().startswith("WITH linked AS")


def test_a_conflict_in_the_overlapped_write_is_djangos_integrity_error() -> None:
    trail.create_committed(trail.system("first"), _practice("twice"))
    ran: list[bool] = []
    with pytest.raises(IntegrityError):
        trail.create_committed(
            trail.system("second"), _practice("twice"), meanwhile=lambda: ran.append(True)
        )
    assert ran == [True]
    assert Practice.objects.filter(slug="twice").count() == 1  # the connection still works
    assert trail.verify(use_checkpoints=False).ok


def test_an_error_in_the_work_done_meanwhile_is_raised_after_the_write_is_answered() -> None:
    """The statement was sent before the work failed: it is read to the end, so the
    connection is usable, and whether it stored is what PostgreSQL said (here: stored)."""
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)

    def fails() -> None:
        raise ValueError("building the answer failed")

    with pytest.raises(ValueError, match="building the answer failed"):
        trail.create_committed(trail.system("w"), _practice("meanwhile-failed"), meanwhile=fails)
    assert Practice.objects.filter(slug="meanwhile-failed").count() == 1
    assert trail.verify(use_checkpoints=False).ok


def test_a_query_made_meanwhile_fails_and_leaves_the_connection_usable() -> None:
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)

    def queries() -> None:
        Practice.objects.count()

    with pytest.raises(Exception, match="another command is already in progress"):
        trail.create_committed(trail.system("q"), _practice("queried"), meanwhile=queries)
    assert Practice.objects.filter(slug="queried").count() == 1
    assert trail.verify(use_checkpoints=False).ok


def test_a_lost_race_in_the_overlapped_write_runs_the_work_once(monkeypatch) -> None:
    errors = _race_once(monkeypatch)
    ran: list[bool] = []
    trail.create_committed(
        trail.system("mine"), _practice("raced"), meanwhile=lambda: ran.append(True)
    )
    assert errors == [] and ran == [True]
    mine = AuditEntry.objects.get(actor_label="system:mine")
    assert mine.seq == 3 and Practice.objects.filter(slug="raced").count() == 1
    assert trail.verify(use_checkpoints=False).ok


def test_a_fhir_submission_answers_with_the_resource_it_stored(client, world: World) -> None:
    """The 201's body is built while PostgreSQL commits, from the row in memory; it is the
    resource a later read of the stored row gives."""
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    _, raw = account_actions.create_token(trail.system("test"), world.therapist)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    body = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://127.0.0.1:8000/fhir/Questionnaire/phq-9",
        "subject": {"reference": f"Patient/{world.client.pk}"},
        "authored": "2026-11-20T09:30:00Z",
        "identifier": {"system": "urn:example:device", "value": "overlap-1"},
        "item": [
            {
                "linkId": f"phq9-{n}",
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": codes[n % 3]}}],
            }
            for n in range(1, 10)
        ],
    }
    with CaptureQueriesContext(connection) as queries:
        created = client.post(
            "/fhir/QuestionnaireResponse",
            json.dumps(body),
            content_type="application/fhir+json",
            **headers,
        )
    assert created.status_code == 201
    assert queries.captured_queries[-1]["sql"].lstrip().startswith("WITH linked AS")
    pk = created.json()["id"]
    read = client.get(f"/fhir/QuestionnaireResponse/{pk}", **headers)
    assert read.status_code == 200
    assert created.json() == read.json()


def test_a_fhir_submission_decrypts_nothing_it_does_not_use(
    client, world: World, monkeypatch
) -> None:
    """The subject's episode holds the client's goals, encrypted with their data key. The
    submission never shows them, so its lookup leaves them unread: no key is looked up
    (the vault's key cache is emptied as each request starts, so reading them cost a
    statement more) and nothing is decrypted. They are read when asked for."""
    from reverie.vault import envelope
    from reverie.vault.models import DataKey

    world.episode.goals = "To understand why I leave before anyone can leave me."
    world.episode.save()
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    headers = bearer(world.therapist)
    body = json.dumps(phq9_response(world.client.pk))  # all "Not at all": no crisis

    def post() -> Any:
        return client.post(
            "/fhir/QuestionnaireResponse", body, content_type="application/fhir+json", **headers
        )

    assert post().status_code == 201  # the process's caches (instruments, ...) warmed
    unsealed: list[str] = []
    real_unseal = envelope.unseal
    monkeypatch.setattr(envelope, "unseal", lambda s: unsealed.append(s) or real_unseal(s))
    with CaptureQueriesContext(connection) as queries:
        created = post()
    assert created.status_code == 201
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sqls if DataKey._meta.db_table in sql]
    assert len(sqls) == 3, [sql[:80] for sql in sqls]
    assert unsealed == []
    row = Administration.objects.get(pk=created.json()["id"])
    assert row.episode_id == world.episode.pk
    # The same lookup's episode still reads its goals when asked.
    from reverie.fhir.lookup import submission_target

    target = submission_target(
        world.therapist, world.client.pk, Instrument.objects.get(code="phq-9"), timezone.now()
    )
    assert target is not None and target[1] is not None
    assert target[1].goals == "To understand why I leave before anyone can leave me."


def test_the_overlapped_write_works_without_prepared_statements(monkeypatch) -> None:
    """With REVERIE_DB_PREPARED_STATEMENTS off (a transaction pooler in front), nothing is
    prepared on the connection."""
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    options = {k: v for k, v in connection.settings_dict["OPTIONS"].items()}
    options.pop("prepare_threshold", None)
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    connection.close()  # a new connection, with nothing prepared on it
    trail.create_committed(trail.system("plain"), _practice("unprepared"), meanwhile=lambda: None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'reverie%%'")
        assert cursor.fetchone()[0] == 0
    assert Practice.objects.filter(slug="unprepared").count() == 1
    assert trail.verify(use_checkpoints=False).ok


def test_the_overlapped_write_is_prepared_once_per_connection() -> None:
    trail.record(trail.system("first"), Action.VIEW, object_type="t", object_id=0)
    for n in range(3):
        trail.create_committed(trail.system("p"), _practice(f"p{n}"), meanwhile=lambda: None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'reverie%%'")
        assert cursor.fetchone()[0] == 1
    assert Practice.objects.filter(slug__startswith="p").count() == 3
    assert trail.verify(use_checkpoints=False).ok
