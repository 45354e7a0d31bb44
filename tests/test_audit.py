from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from reverie.audit import protection, trail
from reverie.audit.models import AppendOnlyError, AuditEntry
from reverie.testing import World


def _verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def intruder():
    """Drops the append-only triggers, as an intruder with database-owner rights would.
    (conftest puts them back before the next test.)"""

    def drop() -> None:
        with connection.cursor() as cursor:
            protection.remove(cursor, connection.vendor)

    return drop


def test_reading_a_caseload_writes_one_audit_entry(as_user, world: World) -> None:
    http = as_user("therapist")
    before = AuditEntry.objects.count()
    http.get(reverse("care:caseload"))
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert [(e.action, e.object_type, e.actor_label) for e in entries] == [
        ("list", "care.client", world.therapist.email)
    ]
    assert entries[0].detail["clients"] == [world.client.pk]
    assert entries[0].ip == "127.0.0.1"


def test_client_reading_own_home_is_audited_with_client_id(as_user, world: World) -> None:
    as_user("client").get(reverse("care:client_home"))
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.client_id, entry.actor_id) == (
        "view",
        world.client.pk,
        world.client_user.pk,
    )


def test_verify_passes_on_an_intact_trail(world: World) -> None:
    for _ in range(5):
        trail.record(
            trail.Context(user=world.therapist), "view", world.client, client_id=world.client.pk
        )
    code, out, _ = _verify()
    assert code == 0
    assert "OK:" in out


@pytest.mark.django_db(transaction=True)
def test_verify_fails_after_one_row_is_edited_by_hand(intruder) -> None:
    from reverie.testing import build_world

    world = build_world()
    for _ in range(3):
        trail.record(
            trail.Context(user=world.therapist), "view", world.client, client_id=world.client.pk
        )
    target = AuditEntry.objects.order_by("seq")[1]
    intruder()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'list' WHERE id = %s", [target.pk])
    code, _, err = _verify()
    assert code == 1
    assert f"entry #{target.seq}: entry content does not match its digest" in err


@pytest.mark.django_db(transaction=True)
def test_verify_fails_after_a_row_is_deleted_by_hand(intruder) -> None:
    from reverie.testing import build_world

    world = build_world()
    for _ in range(3):
        trail.record(
            trail.Context(user=world.therapist), "view", world.client, client_id=world.client.pk
        )
    target = AuditEntry.objects.order_by("seq")[1]
    intruder()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [target.pk])
    code, _, err = _verify()
    assert code == 1
    assert f"entry #{target.seq + 1}: sequence jumps" in err


@pytest.mark.django_db(transaction=True)
def test_verify_fails_when_the_newest_rows_are_removed(intruder) -> None:
    from reverie.testing import build_world

    world = build_world()
    for _ in range(3):
        trail.record(
            trail.Context(user=world.therapist), "view", world.client, client_id=world.client.pk
        )
    # What is left still links up; only a checkpoint kept outside the database shows the
    # loss (tests/test_audit_chain.py covers a trail cut back with no checkpoint after it).
    trail.checkpoint(by="test")
    newest = AuditEntry.objects.order_by("-seq").first()
    assert newest is not None
    intruder()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [newest.pk])
    code, _, err = _verify()
    assert code == 1
    assert "newest entries were removed" in err


def test_model_layer_refuses_updates_and_deletes(world: World) -> None:
    entry = trail.record(trail.Context(user=world.therapist), "view", world.client)
    entry.action = "list"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="list")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_database_refuses_raw_updates_of_audit_rows() -> None:
    from django.db import DatabaseError

    from reverie.testing import build_world

    world = build_world()
    entry = trail.record(trail.Context(user=world.therapist), "view", world.client)
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'list' WHERE id = %s", [entry.pk])


def test_admin_can_filter_the_trail_by_client(as_user, world: World) -> None:
    trail.record(
        trail.Context(user=world.therapist), "view", world.client, client_id=world.client.pk
    )
    trail.record(
        trail.Context(user=world.colleague),
        "view",
        world.other_client,
        client_id=world.other_client.pk,
    )
    page = (
        as_user("admin")
        .get(reverse("practice:audit"), {"client": world.client.pk})
        .content.decode()
        .split("<tbody>", 1)[1]
    )
    assert world.therapist.full_name in page
    assert world.colleague.full_name not in page


def test_bad_audit_filter_input_is_reported_not_applied(as_user, world: World) -> None:
    response = as_user("admin").get(reverse("practice:audit"), {"client": "not-a-number"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "No entries match" in response.content.decode()
