"""Messages are part of the client's complete record (HTML and FHIR Communication), and
erasing the client's key erases their text everywhere it was stored."""

from __future__ import annotations

import io
import json
import zipfile

from django.urls import reverse

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.lifecycle import archive
from reverie.lifecycle.record import Audience, gather
from reverie.messaging import actions
from reverie.messaging.models import Message
from reverie.outbox.models import Message as OutboxMessage
from reverie.vault import envelope


def _exchange(world) -> tuple[Message, Message]:
    asked = actions.send(
        trail.Context(user=world.client_user), world.client, "Is the room upstairs free?"
    )
    actions.read_thread(trail.Context(user=world.therapist), world.client)
    answered = actions.send(
        trail.Context(user=world.therapist), world.client, "It is, see you at 3."
    )
    return asked, answered


def test_every_copy_of_the_record_carries_the_messages(on) -> None:
    world = on
    asked, answered = _exchange(world)
    for audience in Audience:
        record = gather(world.client, audience)
        assert [m.pk for m in record.messages] == [asked.pk, answered.pk]
        assert record.counts()["messages"] == 2
        files = zipfile.ZipFile(io.BytesIO(archive.zip_bytes(record)))
        html = files.read("record.html").decode()
        assert "Is the room upstairs free?" in html and "It is, see you at 3." in html
        assert "from the client" in html and "from Theo Therapist" in html
        bundle = json.loads(files.read("fhir-bundle.json"))
        sent = [
            e["resource"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Communication"
        ]
        assert [c["payload"][0]["contentString"] for c in sent] == [
            "Is the room upstairs free?",
            "It is, see you at 3.",
        ]
        first, second = sent
        assert first["sender"]["reference"] == f"Patient/{world.client.pk}"
        assert "received" in first and "received" not in second  # read receipt
        assert second["recipient"] == [
            {"reference": f"Patient/{world.client.pk}", "display": "Cleo Client"}
        ]
        assert "secure messages" in files.read("README.txt").decode()


def test_erasing_the_clients_key_erases_every_message_and_nothing_else_held_the_text(
    on, as_user, django_capture_on_commit_callbacks
) -> None:
    world = on
    with django_capture_on_commit_callbacks(execute=True):
        _exchange(world)
    other = actions.send(
        trail.Context(user=world.other_client_user), world.other_client, "Olly's note"
    )
    envelope.destroy_client(world.client.pk)
    assert [m.body for m in Message.objects.filter(thread__client=world.client)] == [
        envelope.ERASED,
        envelope.ERASED,
    ]
    other.refresh_from_db()
    assert other.body == "Olly's note"
    # The notifications and the audit trail never held the words.
    assert OutboxMessage.objects.exists()
    for row in OutboxMessage.objects.all():
        assert "room upstairs" not in repr(row.__dict__)
    for entry in AuditEntry.objects.all():
        assert "room upstairs" not in repr(entry.detail)
    # The pages show the placeholder, no crash.
    page = as_user("therapist").get(reverse("messaging:thread", args=[world.client.pk]))
    assert page.status_code == 200 and envelope.ERASED in page.content.decode()
