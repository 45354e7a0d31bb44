"""Exports decrypt the client text they carry, not the text of every row they join in.

A progress note or a session joins its episode in for the client's and therapist's ids; an
episode's goals are the client's words, encrypted with their data key. Joined in with every
column, the goals were decrypted once per session and per note: 493 times for one demo
client's FHIR ``$everything``, which carries no goals at all, and 213 times for their record,
which shows them once per episode.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from reverie.audit import trail
from reverie.care import actions
from reverie.care.models import Appointment, Client
from reverie.fhir import everything
from reverie.lifecycle import bulk, record
from reverie.testing import World


def _history(world: World, sessions: int = 4) -> None:
    ctx = trail.Context(user=world.therapist)
    world.episode.goals = "to stop disappearing in relationships"
    world.episode.save()
    for week in range(sessions):
        day = timezone.localdate() - datetime.timedelta(weeks=week + 1)
        Appointment.objects.create(
            episode=world.episode,
            starts_at=timezone.now() - datetime.timedelta(weeks=week + 1),
            attendance="attended",
        )
        note = actions.save_progress_note(
            ctx,
            episode=world.episode,
            fields={"session_date": day, "content": f"week {week}: spoke of her sister"},
        )
        actions.sign_progress_note(ctx, note)


def test_fhir_everything_decrypts_the_notes_and_no_goals(world: World, decryptions) -> None:
    _history(world)
    decryptions.clear()
    resources = everything.collect(world.client)
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("DocumentReference") >= 4 and kinds.count("Encounter") >= 4
    assert decryptions["ProgressNote.content"] >= 4
    assert decryptions["Episode.goals"] == 0


def test_the_record_decrypts_each_episodes_goals_once(world: World, decryptions) -> None:
    _history(world)
    decryptions.clear()
    gathered = record.gather(world.client, record.Audience.CLINICIAN)
    episodes = Client.objects.get(pk=world.client.pk).episodes.count()
    assert decryptions["Episode.goals"] <= episodes
    assert "to stop disappearing in relationships" in [e.goals for e in gathered.episodes]
    assert decryptions["ProgressNote.content"] >= 4


def test_the_bulk_export_of_notes_decrypts_no_goals(world: World, decryptions) -> None:
    _history(world)
    decryptions.clear()
    clients = Client.objects.filter(pk=world.client.pk)
    documents = list(bulk._READERS["DocumentReference"](clients, None))
    assert len(documents) >= 4
    assert decryptions["ProgressNote.content"] >= 4
    assert decryptions["Episode.goals"] == 0
