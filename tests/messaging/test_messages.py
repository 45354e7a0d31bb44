"""Secure messages through the real pages: who may read and write, read receipts, the
content-free notification once per unread batch, the switches, bad input refused with a
clear message and nothing changed, and the not-for-emergencies notice on every thread."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import CareGrant, Episode, EpisodeStatus
from reverie.messaging import actions, queries
from reverie.messaging.models import MAX_LENGTH, Message, PracticeMessaging, Thread
from reverie.outbox.models import Message as OutboxMessage
from reverie.testing import World

MINE = reverse("messaging:mine")


def _thread_url(world: World) -> str:
    return reverse("messaging:thread", args=[world.client.pk])


def _emergency_notice(html: str) -> None:
    assert "Messages are not for emergencies." in html
    assert 'id="crisis-h"' in html and "988" in html  # the practice's crisis card
    assert 'href="#crisis"' in html


def test_a_new_practice_has_messages_off_and_a_send_changes_nothing(world, as_user) -> None:
    assert not queries.practice_enabled(world.practice.pk)
    client = as_user("client")
    page = client.get(MINE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "does not use messages" in html
    _emergency_notice(html)
    # No Messages entry in the nav while the practice does not use them.
    assert f'href="{MINE}"' not in html
    response = client.post(MINE, {"body": "Hello?"})
    assert response.status_code == 400
    assert "This practice does not use secure messages." in response.content.decode()
    assert not Message.objects.exists()
    therapist = as_user("therapist").post(_thread_url(world), {"body": "Hello"})
    assert therapist.status_code == 400
    assert not Message.objects.exists() and not OutboxMessage.objects.exists()


def test_client_writes_therapist_reads_and_replies_with_receipts(on, as_user, mailed) -> None:
    world = on
    client, therapist = as_user("client"), as_user("therapist")
    response = mailed(client, MINE, {"body": "Could we move Thursday to 4pm?"})
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.from_client and message.sender == world.client_user
    assert message.read_at is None

    # Unread counts in the nav on the therapist's side, and on Today/caseload.
    assert queries.unread_for(world.therapist) == 1
    assert queries.unread_for(world.colleague) == 0
    inbox = therapist.get(reverse("messaging:inbox")).content.decode()
    assert 'aria-label="1 unread"' in inbox and "Cleo Client" in inbox
    caseload = therapist.get(reverse("care:caseload")).content.decode()
    assert "1 unread message" in caseload

    page = therapist.get(_thread_url(world))
    html = page.content.decode()
    assert "Could we move Thursday to 4pm?" in html
    _emergency_notice(html)
    message.refresh_from_db()
    assert message.read_at is not None and message.read_by == world.therapist
    assert queries.unread_for(world.therapist) == 0

    assert mailed(therapist, _thread_url(world), {"body": "Yes, 4pm works."}).status_code == 302
    assert queries.unread_for(world.client_user) == 1
    nav = client.get(reverse("care:client_home")).content.decode()
    assert f'href="{MINE}"' in nav and 'aria-label="1 unread"' in nav
    mine = client.get(MINE).content.decode()
    assert "Yes, 4pm works." in mine and "Theo Therapist" in mine
    # The client's own message shows it was read.
    assert "Read " in mine
    _emergency_notice(mine)
    reply = Message.objects.get(from_client=False)
    assert reply.read_at is not None and reply.read_by == world.client_user


def test_one_content_free_email_per_unread_batch(on, as_user, mailed) -> None:
    world = on
    client, therapist = as_user("client"), as_user("therapist")
    texts = ["First worry about the invoice", "Second thought on it", "And a third"]
    for text in texts:
        assert mailed(client, MINE, {"body": text}).status_code == 302
    # One email for the batch, to the therapist in current care only.
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    email = mail.outbox[0]
    assert email.subject == "You have a new message in Reverie"
    bodies = email.body + "".join(str(a[0]) for a in getattr(email, "alternatives", []))
    assert _thread_url(world) in bodies
    for text in texts:
        assert text not in bodies and text not in email.subject
    assert "Cleo" not in bodies  # not even who wrote

    # Once read, the next message starts a new batch.
    therapist.get(_thread_url(world))
    mailed(client, MINE, {"body": "One more"})
    assert len(mail.outbox) == 2
    # The therapist's reply tells the client, once, with their portal page.
    mailed(therapist, _thread_url(world), {"body": "Reply one"})
    mailed(therapist, _thread_url(world), {"body": "Reply two"})
    assert [m.to for m in mail.outbox[2:]] == [[world.client_user.email]]
    assert MINE in mail.outbox[2].body and "Reply one" not in mail.outbox[2].body


def test_bad_input_gets_a_clear_message_and_changes_nothing(on, as_user) -> None:
    world = on
    client, therapist = as_user("client"), as_user("therapist")
    for body, words in (
        ("", "Write a message before sending it."),
        ("   \n  ", "Write a message before sending it."),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH:,} characters"),
    ):
        for http, url in ((client, MINE), (therapist, _thread_url(world))):
            response = http.post(url, {"body": body})
            assert response.status_code == 400, (url, body[:5])
            html = response.content.decode()
            assert words in html
            _emergency_notice(html)
    # Exactly the limit is accepted.
    assert client.post(MINE, {"body": "y" * MAX_LENGTH}).status_code == 302
    assert Message.objects.count() == 1
    # A missing field is the same as an empty one.
    assert client.post(MINE, {}).status_code == 400
    # A bad switch choice.
    response = therapist.post(
        reverse("messaging:switch", args=[world.client.pk]), {"enabled": "maybe"}
    )
    assert response.status_code == 400
    assert "Choose whether messages are on or off" in response.content.decode()
    assert Thread.objects.get().enabled
    admin = as_user("admin")
    response = admin.post(reverse("messaging:settings"), {"enabled": "sideways"})
    assert response.status_code == 400
    assert PracticeMessaging.objects.get().enabled
    assert Message.objects.count() == 1


def test_someone_elses_or_a_forged_thread_is_not_found_and_nothing_changes(on, as_user) -> None:
    world = on
    before = Message.objects.count()
    forged = max(world.client.pk, world.other_client.pk, world.stranger_client.pk) + 1000
    for persona, pk in (
        ("therapist", world.other_client.pk),  # the colleague's client
        ("therapist", world.stranger_client.pk),  # another practice's client
        ("therapist", forged),  # no such client
        ("colleague", world.client.pk),
        ("stranger", world.client.pk),
    ):
        http = as_user(persona)
        url = reverse("messaging:thread", args=[pk])
        assert http.get(url).status_code == 404
        assert http.post(url, {"body": "Hello"}).status_code == 404
        switch = reverse("messaging:switch", args=[pk])
        assert http.post(switch, {"enabled": "off"}).status_code == 404
    # Clients have no thread ids to forge: their page is their own thread, and the staff
    # pages refuse them.
    assert as_user("other_client").post(_thread_url(world), {"body": "x"}).status_code == 403
    assert Message.objects.count() == before
    assert not Thread.objects.filter(enabled=False).exists()


def test_a_former_therapist_and_the_admin_read_nothing(on, as_user, mailed) -> None:
    world = on
    mailed(as_user("client"), MINE, {"body": "Before the change"})
    Episode.objects.filter(pk=world.episode.pk).update(status=EpisodeStatus.ENDED)
    # The former therapist keeps the record they wrote, but not the messages.
    therapist = as_user("therapist")
    assert therapist.get(reverse("care:client", args=[world.client.pk])).status_code == 200
    assert therapist.get(_thread_url(world)).status_code == 404
    assert "Cleo" not in therapist.get(reverse("messaging:inbox")).content.decode()
    assert queries.unread_for(world.therapist) == 0
    # With nobody in current care, the client is told there is no one to write to.
    response = as_user("client").post(MINE, {"body": "Anyone there?"})
    assert response.status_code == 400
    assert "No therapist is caring for you" in response.content.decode()
    # A colleague given access by the admin is in current care: reads and is notified.
    CareGrant.objects.create(
        client=world.client, therapist=world.colleague, granted_by=world.admin, reason="cover"
    )
    colleague = as_user("colleague")
    assert "Before the change" in colleague.get(_thread_url(world)).content.decode()
    mail.outbox.clear()
    mailed(as_user("client"), MINE, {"body": "Thank you"})
    assert [m.to for m in mail.outbox] == [[world.colleague.email]]
    # The admin sees no thread and no content.
    admin = as_user("admin")
    assert admin.get(_thread_url(world)).status_code == 403
    assert admin.get(MINE).status_code == 403
    assert "Before the change" not in admin.get(reverse("messaging:settings")).content.decode()


def test_therapist_turns_messages_off_for_one_client_audited(on, as_user, mailed) -> None:
    world = on
    client, therapist = as_user("client"), as_user("therapist")
    mailed(client, MINE, {"body": "Earlier message"})
    response = therapist.post(
        reverse("messaging:switch", args=[world.client.pk]), {"enabled": "off"}
    )
    assert response.status_code == 302
    thread = Thread.objects.get()
    assert not thread.enabled and thread.changed_by == world.therapist
    entry = AuditEntry.objects.filter(object_type="messaging.thread", action="update").get()
    assert entry.client_id == world.client.pk and entry.detail == {"enabled": False}

    page = client.get(MINE).content.decode()
    assert "turned messages off" in page and "Earlier message" in page
    assert "Send message" not in page
    _emergency_notice(page)
    response = client.post(MINE, {"body": "Are you there?"})
    assert response.status_code == 400
    assert "Messages are turned off for this client." in response.content.decode()
    assert therapist.post(_thread_url(world), {"body": "x"}).status_code == 400
    assert Message.objects.count() == 1
    # The other client is not affected.
    assert as_user("other_client").post(MINE, {"body": "Mine still works"}).status_code == 302
    # And back on.
    therapist.post(reverse("messaging:switch", args=[world.client.pk]), {"enabled": "on"})
    assert client.post(MINE, {"body": "Thanks"}).status_code == 302


def test_reads_and_writes_are_audited_with_identifiers_only(on, as_user, mailed) -> None:
    world = on
    text = "Audit-canary sentence about my sister"
    mailed(as_user("client"), MINE, {"body": text})
    as_user("therapist").get(_thread_url(world))
    message = Message.objects.get()
    created = AuditEntry.objects.get(object_type="messaging.message", action="create")
    assert created.object_id == str(message.pk) and created.client_id == world.client.pk
    viewed = AuditEntry.objects.filter(object_type="messaging.thread", action="view")
    assert viewed.filter(actor=world.therapist).get().detail == {
        "messages": [message.pk],
        "marked_read": [message.pk],
    }
    for entry in AuditEntry.objects.all():
        assert "canary" not in repr(entry.detail)


def test_practice_setting_is_the_admins_and_audited(world, as_user) -> None:
    admin = as_user("admin")
    page = admin.get(reverse("messaging:settings")).content.decode()
    assert "Secure messages are <strong>off</strong>" in page
    assert admin.post(reverse("messaging:settings"), {"enabled": "on"}).status_code == 302
    assert queries.practice_enabled(world.practice.pk)
    assert not queries.practice_enabled(world.other_practice.pk)
    entry = AuditEntry.objects.get(object_type="messaging.practicemessaging")
    assert entry.detail == {"enabled": True} and entry.actor == world.admin
    assert (
        as_user("therapist").post(reverse("messaging:settings"), {"enabled": "off"}).status_code
        == 403
    )
    with pytest.raises(actions.MessagingError, match="Only an admin of this practice"):
        actions.set_practice_messaging(
            trail.Context(user=world.stranger_admin), world.practice, enabled=False
        )
    assert queries.practice_enabled(world.practice.pk)
