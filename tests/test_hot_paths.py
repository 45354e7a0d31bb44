"""The hand-written statements on the API's hot path give what the ORM would give.

``core.rowsql``, ``core.http.bearer_user`` and ``audit.trail.record`` skip the ORM's query
building for speed (bench/bench_fhir_submissions.py). These tests hold them to the ORM's
answers on whichever database the suite runs against.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection, connections
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.utils import timezone

from reverie.accounts import actions as account_actions
from reverie.accounts.models import ApiToken, User
from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.care.models import Client, Episode
from reverie.core import rowsql
from reverie.core.http import bearer_user
from reverie.measures.models import Administration
from reverie.testing import World

pytestmark = pytest.mark.django_db


def _all_fields(obj: object) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", [User, Client, Episode])
def test_instance_equals_the_orm_row(world: World, model: type) -> None:
    for expected in model.objects.all():
        sql = f"SELECT {rowsql.columns(model, 'x')} FROM {model._meta.db_table} x WHERE x.id = %s"  # noqa: S608
        built = rowsql.instance(model, rowsql.fetch(sql, [expected.pk])[0])
        assert built is not None
        assert _all_fields(built) == _all_fields(expected)
        assert not built._state.adding and built._state.db == connection.alias


def test_instance_reads_from_an_offset_and_sees_a_missing_left_join(world: World) -> None:
    sql = (
        f"SELECT {rowsql.columns(Client, 'c')}, {rowsql.columns(Episode, 'e')} "  # noqa: S608
        f"FROM {Client._meta.db_table} c LEFT JOIN {Episode._meta.db_table} e "
        "ON e.client_id = c.id AND e.id = %s WHERE c.id = %s"
    )
    row = rowsql.fetch(sql, [world.episode.pk, world.client.pk])[0]
    episode = rowsql.instance(Episode, row, rowsql.width(Client))
    assert episode is not None and model_to_dict(episode) == model_to_dict(world.episode)
    row = rowsql.fetch(sql, [-1, world.client.pk])[0]
    assert rowsql.instance(Episode, row, rowsql.width(Client)) is None


def test_convert_gives_aware_datetimes(world: World) -> None:
    moment = timezone.now().replace(microsecond=123456)
    User.objects.filter(pk=world.therapist.pk).update(last_login=moment)
    sql = f"SELECT last_login FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608
    raw = rowsql.fetch(sql, [world.therapist.pk])[0][0]
    assert rowsql.convert(User, "last_login", raw) == moment


def _request(raw: str) -> object:
    return RequestFactory().get("/fhir/metadata", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_bearer_user_follows_revocation_and_deactivation_at_once(world: World) -> None:
    token, raw = account_actions.create_token(trail.system("test"), world.therapist, "t")
    user = bearer_user(_request(raw))  # type: ignore[arg-type]
    assert user is not None and _all_fields(user) == _all_fields(User.objects.get(pk=user.pk))
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert bearer_user(_request(raw + "x")) is None  # type: ignore[arg-type]
    User.objects.filter(pk=world.therapist.pk).update(is_active=False)
    assert bearer_user(_request(raw)) is None  # type: ignore[arg-type]
    User.objects.filter(pk=world.therapist.pk).update(is_active=True)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert bearer_user(_request(raw)) is None  # type: ignore[arg-type]


def test_bearer_user_records_use_at_most_once_a_minute(world: World) -> None:
    token, raw = account_actions.create_token(trail.system("test"), world.therapist, "t")
    recent = timezone.now() - datetime.timedelta(seconds=10)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    bearer_user(_request(raw))  # type: ignore[arg-type]
    token.refresh_from_db()
    assert token.last_used_at == recent
    stale = timezone.now() - datetime.timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    bearer_user(_request(raw))  # type: ignore[arg-type]
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > stale


def test_record_returns_exactly_the_stored_row_and_moves_the_head(world: World) -> None:
    ctx = trail.Context(user=world.therapist, ip="192.0.2.7")
    entry = trail.record(
        ctx, Action.VIEW, world.client, client_id=world.client.pk, detail={"page": "x", "n": 2}
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert _all_fields(stored) == _all_fields(entry)
    assert stored.detail == {"page": "x", "n": 2} and stored.ip == "192.0.2.7"
    assert trail.head() == (entry.seq, entry.hash)
    assert trail.verify().ok


def _new_administration(world: World, key: str) -> Administration:
    return Administration(
        client=world.client,
        episode=world.episode,
        instrument=world.phq9,
        source="fhir",
        answers={"phq9-1": 2},
        total=2,
        band="Minimal",
        result={"total": 2},
        idempotency_key=key,
        identifier={"system": "urn:x", "value": key},
    )


def test_insert_stores_what_save_would_and_leaves_the_object_saved(world: World) -> None:
    by_orm = _new_administration(world, "orm")
    by_orm.save()
    by_insert = rowsql.insert(_new_administration(world, "insert"))
    assert by_insert.pk is not None and by_insert.pk != by_orm.pk
    assert not by_insert._state.adding and by_insert._state.db == connection.alias
    stored = {
        row.idempotency_key: _all_fields(row)
        for row in Administration.objects.filter(pk__in=[by_orm.pk, by_insert.pk])
    }
    assert stored["insert"] == _all_fields(by_insert)
    ignore = {"id", "idempotency_key", "identifier", "completed_at", "received_at"}
    assert {k: v for k, v in stored["insert"].items() if k not in ignore} == {
        k: v for k, v in stored["orm"].items() if k not in ignore
    }


def _prepared_by_the_fields(obj: object, fields: list) -> list[object]:
    conn = connections["default"]
    return [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields]


def _comparable(values: list[object]) -> list[object]:
    # psycopg's Json wrapper has no equality; compare what it wraps.
    return [getattr(v, "obj", v) for v in values]


def test_insert_values_equal_the_fields_own_preparation(world: World) -> None:
    administration = _new_administration(world, "prep")
    entry = AuditEntry(
        chain_version=2,
        key_id="k",
        actor=world.therapist,
        actor_label="someone@example.org",
        practice_id=world.practice.pk,
        action=Action.CREATE,
        object_type="measures.administration",
        object_id="12",
        client_id=world.client.pk,
        ip="192.0.2.7",
        detail={"source": "fhir"},
        seq=5,
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    for obj in (administration, entry):
        _, fields = rowsql.insert_statement(type(obj))
        assert _comparable(rowsql.insert_values(obj, fields)) == _comparable(
            _prepared_by_the_fields(obj, fields)
        )
    # Values of other types than the plain ones still go through the field, which converts
    # them as save() would (a numeric string for an integer, a float for an integer).
    administration.total = "7"  # type: ignore[assignment]
    administration.has_critical = 1  # type: ignore[assignment]
    _, fields = rowsql.insert_statement(Administration)
    fast = rowsql.insert_values(administration, fields)
    assert _comparable(fast) == _comparable(_prepared_by_the_fields(administration, fields))
    assert 7 in fast


@pytest.mark.parametrize("model_label", ["measures.Administration", "audit.AuditEntry"])
def test_models_inserted_without_the_orm_have_no_save_signal_receivers(model_label: str) -> None:
    # rowsql.insert skips pre_save and post_save; a receiver added later would be silently
    # bypassed on the hot path, so adding one must fail here first.
    from django.apps import apps
    from django.db.models import signals

    model = apps.get_model(model_label)
    for signal in (signals.pre_save, signals.post_save):
        assert not signal.has_listeners(model), f"{signal} has a receiver for {model_label}"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the probing backend is PostgreSQL's")
def test_a_connection_in_use_is_not_probed_but_an_idle_one_is(monkeypatch) -> None:
    from reverie.core.postgresql import base

    probes: list[bool] = []
    monkeypatch.setattr(connections["default"], "is_usable", lambda: probes.append(True) or True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert probes == [] and connection.health_check_done
    # The same connection after more than the grace period without a query.
    connection._last_cursor_at -= base.PROBE_AFTER_IDLE_SECONDS + 0.5  # type: ignore[attr-defined]
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert probes == [True] and connection.health_check_done


def test_create_inserts_and_audits_like_insert_then_record(world: World) -> None:
    before = AuditEntry.objects.order_by("-seq").first()
    ctx = trail.Context(user=world.therapist, ip="192.0.2.8")
    created = trail.create(
        ctx, _new_administration(world, "create"), client_id=world.client.pk, detail={"k": 1}
    )
    assert created.pk is not None and not created._state.adding
    assert _all_fields(Administration.objects.get(pk=created.pk)) == _all_fields(created)
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry != before
    assert (entry.action, entry.object_type, entry.object_id, entry.client_id) == (
        Action.CREATE,
        "measures.administration",
        str(created.pk),
        world.client.pk,
    )
    assert (entry.actor_id, entry.ip, entry.detail) == (world.therapist.pk, "192.0.2.8", {"k": 1})
    assert trail.head() == (entry.seq, entry.hash)
    assert entry.seq == (before.seq if before else 0) + 1
    assert trail.verify().ok


def test_create_rolls_back_with_its_transaction(world: World) -> None:
    from django.db import IntegrityError, transaction

    ctx = trail.Context(user=world.therapist)
    trail.create(ctx, _new_administration(world, "dup"), client_id=world.client.pk)
    counts = (Administration.objects.count(), AuditEntry.objects.count())
    with pytest.raises(IntegrityError), transaction.atomic():
        trail.create(ctx, _new_administration(world, "dup"), client_id=world.client.pk)
    assert (Administration.objects.count(), AuditEntry.objects.count()) == counts
    assert trail.verify().ok


_TIMESTAMPS = [
    "2026-12-07 21:39:31.383815+00",
    "2026-03-29 01:59:59.999999+01",  # the hour before and after a European DST change
    "2026-03-29 03:00:00+02",
    "1900-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2024-02-29 12:00:00-09:30",
    "1970-01-01 00:00:00.5+05:45",
]


def _load(sql: str, params: list[Any], djangos: bool = False) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` read with this backend's loader, or with Django's own."""
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        if djangos:
            register_tzloader(datetime.UTC, cursor.cursor)  # what Django would have used
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _load_both(sql: str, params: list[Any]) -> tuple[Any, Any]:
    return _load(sql, params), _load(sql, params, djangos=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's timestamp loader")
def test_timestamps_are_read_by_the_c_loader_with_djangos_values() -> None:
    from psycopg import pq
    from psycopg.types.datetime import TimestamptzLoader

    from reverie.core.postgresql import base

    connection.ensure_connection()
    registered = connection.connection.adapters.get_loader(1184, pq.Format.TEXT)
    assert registered is base.UtcTimestamptzLoader
    # Django's create_cursor compares this with the connection's zone.
    assert registered.timezone == connection.timezone
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        loader = cursor.cursor._tx.get_loader(1184, pq.Format.TEXT)
    if pq.__impl__ != "python":
        assert type(loader).__module__.startswith("psycopg_binary") or (
            type(loader).__module__.startswith("psycopg_c")
        )
    assert not isinstance(loader, TimestamptzLoader) or pq.__impl__ == "python"

    sql = "SELECT v::timestamptz FROM unnest(%s::text[]) AS v"
    ours, django = _load_both(sql, [_TIMESTAMPS])
    assert ours == django
    assert all(row[0].tzinfo is datetime.UTC for row in ours)
    assert [row[0].isoformat() for row in ours] == [row[0].isoformat() for row in django]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's timestamp loader")
def test_timestamps_the_c_loader_cannot_read_fail_as_with_djangos() -> None:
    from django.db import DataError

    for value in ("infinity", "-infinity", "4713-01-01 00:00:00+00 BC"):
        for djangos in (False, True):
            with pytest.raises(DataError):
                _load("SELECT %s::timestamptz", [value], djangos)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's timestamp loader")
def test_a_session_moved_off_utc_keeps_djangos_loader() -> None:
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL TIME ZONE 'Europe/Berlin'")
        ours, django = _load_both("SELECT %s::timestamptz", ["2026-07-01 12:00:00+00"])
    # Django's loader reads the Berlin text and labels it UTC; kept as it always was.
    assert ours == django
    assert ours[0][0].tzinfo is datetime.UTC and ours[0][0].hour == 14
