"""Process migrations 0004-0005 seal theme text written before it (0006-0007 formulation-group
labels, care 0010-0011 break and cancellation reasons), and can be undone.

Rows are written through the model state of migration 0003 (label, terms and evidence
sentences in the clear, terms as a JSON column), then the real migration runs forward and
back on this database (SQLite or PostgreSQL, where the JSON column becomes a text column).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from reverie.audit import trail
from reverie.process import actions
from reverie.process.models import RecurringTheme, ThemeEvidence
from reverie.testing import World
from reverie.vault import envelope

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("process", "0003_encrypt_reflection_comments")
AFTER = ("process", "0005_seal_theme_text")
LABEL = "cellar, flood"
TERMS = ["cellar", "flood water"]
SENTENCE = "The cellar flooded again in the dream."


CARE_BEFORE = ("care", "0009_process_notes_on_client_keys")
CARE_AFTER = ("care", "0011_seal_break_and_cancel_reasons")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def _latest(app: str) -> tuple[str, str]:
    """The app's newest migration: where the rest of the suite expects the schema."""
    (leaf,) = MigrationExecutor(connection).loader.graph.leaf_nodes(app)
    return leaf


@pytest.fixture
def at_0003() -> Iterator[None]:
    _migrate(BEFORE)
    try:
        yield
    finally:
        _migrate(_latest("process"))  # the rest of the suite expects the latest schema


def _raw() -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT label, terms FROM process_recurringtheme")
        label, terms = cursor.fetchone()
        cursor.execute("SELECT sentence FROM process_themeevidence")
        (sentence,) = cursor.fetchone()
    # PostgreSQL hands a jsonb column over decoded.
    return label, terms if isinstance(terms, str) else json.dumps(terms), sentence


def test_existing_theme_rows_are_sealed_and_the_migration_undoes(world: World, at_0003) -> None:
    entry = actions.create_journal_entry(
        trail.Context(user=world.client_user),
        fields={"kind": "dream", "entry_date": timezone.localdate(), "text": SENTENCE},
        share=True,
    )
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    theme = old.get_model("process", "RecurringTheme").objects.create(
        client_id=world.client.pk,
        owner_id=world.therapist.pk,
        stable_key="k",
        label=LABEL,
        terms=TERMS,
        first_seen=timezone.localdate(),
        last_seen=timezone.localdate(),
    )
    old.get_model("process", "ThemeEvidence").objects.create(
        theme_id=theme.pk,
        kind="journal",
        journal_entry_id=entry.pk,
        date=timezone.localdate(),
        start=0,
        end=len(SENTENCE),
        sentence=SENTENCE,
    )
    assert _raw()[0] == LABEL and json.loads(_raw()[1]) == TERMS

    _migrate(AFTER)
    label, terms, sentence = _raw()
    assert all(envelope.is_token(v) for v in (label, terms, sentence))
    assert "cellar" not in label + terms + sentence
    # Sealed with the client's key, so erasure's key destruction covers them.
    client_keys = {envelope.key_id_of(entry_token) for entry_token in (label, terms, sentence)}
    assert len(client_keys) == 1
    # Only the columns this migration knows: later ones (process 0008's origin, role and
    # score) are not in the table at this point of the history.
    row = RecurringTheme.objects.only("client", "label", "terms").get()
    assert (row.label, row.terms) == (LABEL, TERMS)
    assert ThemeEvidence.objects.only("theme", "sentence").get().sentence == SENTENCE

    _migrate(BEFORE)
    label, terms, sentence = _raw()
    assert (label, json.loads(terms), sentence) == (LABEL, TERMS, SENTENCE)


@pytest.fixture
def care_at_0009() -> Iterator[None]:
    _migrate(CARE_BEFORE)
    try:
        yield
    finally:
        _migrate(_latest("care"))


def _raw_reasons() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM care_break")
        (reason,) = cursor.fetchone()
        cursor.execute("SELECT cancel_reason FROM care_appointment WHERE cancel_reason <> ''")
        (cancel,) = cursor.fetchone()
    return reason, cancel


def test_existing_break_and_cancel_reasons_are_sealed_and_undone(
    world: World, care_at_0009
) -> None:
    old = MigrationExecutor(connection).loader.project_state(CARE_BEFORE).apps
    old.get_model("care", "Break").objects.create(
        episode_id=world.episode.pk,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
        reason="her mother's operation",
    )
    old.get_model("care", "Appointment").objects.create(
        episode_id=world.episode.pk,
        starts_at=timezone.now(),
        attendance="cancelled",
        cancel_reason="a panic attack on the train",
    )
    _migrate(CARE_AFTER)
    reason, cancel = _raw_reasons()
    assert envelope.is_token(reason) and envelope.is_token(cancel)
    assert "mother" not in reason and "panic" not in cancel
    from reverie.care.models import Appointment, Break

    assert Break.objects.get().reason == "her mother's operation"
    assert Appointment.objects.exclude(cancel_reason="").get().cancel_reason == (
        "a panic attack on the train"
    )
    _migrate(CARE_BEFORE)
    assert _raw_reasons() == ("her mother's operation", "a panic attack on the train")


GROUPS_BEFORE = ("process", "0005_seal_theme_text")
GROUPS_AFTER = ("process", "0007_seal_formulation_group_labels")
GROUP_LABEL = "wanting to be looked after"


@pytest.fixture
def groups_at_0005() -> Iterator[None]:
    _migrate(GROUPS_BEFORE)
    try:
        yield
    finally:
        _migrate(_latest("process"))


def _raw_group_labels() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT label FROM process_formulationgroup ORDER BY id")
        return [label for (label,) in cursor.fetchall()]


def test_existing_formulation_group_labels_are_sealed_and_undone(
    world: World, groups_at_0005
) -> None:
    old = MigrationExecutor(connection).loader.project_state(GROUPS_BEFORE).apps
    groups = old.get_model("process", "FormulationGroup")
    for client, label in ((world.client, GROUP_LABEL), (world.other_client, "to be left alone")):
        groups.objects.create(
            client_id=client.pk, component="wish", label=label, created_by_id=world.therapist.pk
        )
    assert _raw_group_labels() == [GROUP_LABEL, "to be left alone"]

    _migrate(GROUPS_AFTER)
    mine, theirs = _raw_group_labels()
    assert envelope.is_token(mine) and envelope.is_token(theirs)
    assert "looked after" not in mine and "alone" not in theirs
    # Each with its own client's key, so one client's erasure shreds only their labels.
    assert envelope.key_id_of(mine) != envelope.key_id_of(theirs)
    from reverie.process.models import FormulationGroup

    assert [g.label for g in FormulationGroup.objects.order_by("pk")] == [
        GROUP_LABEL,
        "to be left alone",
    ]

    _migrate(GROUPS_BEFORE)
    assert _raw_group_labels() == [GROUP_LABEL, "to be left alone"]
