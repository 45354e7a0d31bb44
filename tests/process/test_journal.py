"""The client's journal: private until shared, sharing undone at will, audited, and never
visible to anyone outside the client's care."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Appointment
from reverie.process import actions
from reverie.process.models import JournalEntry, RecurringTheme, ThemeEvidence
from reverie.testing import World

DREAM = "I was in the kitchen of my grandmother and the door had no handle."


def _post(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "dream",
        "entry_date": timezone.localdate().isoformat(),
        "title": "Kitchen",
        "text": DREAM,
        "mood": "2",
        "tags": "Kitchen, grandmother,  kitchen ",
    }
    data.update(overrides)
    return data


def test_journal_page_says_it_is_no_crisis_channel_and_shows_the_crisis_card(
    world: World, as_user
) -> None:
    world.practice.crisis_info = "Call the Harbour crisis line on 0800 000 000."
    world.practice.save(update_fields=["crisis_info"])
    page = as_user("client").get(reverse("process:journal")).content.decode()
    assert "This journal is not a crisis service." in page
    assert "Call the Harbour crisis line on 0800 000 000." in page
    form = as_user("client").get(reverse("process:journal_new")).content.decode()
    assert "not a crisis service" in form and "0800 000 000" in form


def test_a_new_entry_is_private_and_the_therapist_cannot_see_it(
    world: World, as_user, audit_mark
) -> None:
    client = as_user("client")
    audit_mark()
    response = client.post(reverse("process:journal_new"), _post())
    assert response.status_code == 302
    entry = JournalEntry.objects.get()
    assert (entry.is_shared, entry.tags, entry.mood) == (False, ["kitchen", "grandmother"], 2)
    assert audit_mark() == [
        (
            f"client account {world.client_user.pk}",
            "create",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {"shared": False},
        )
    ]
    therapist = as_user("therapist")
    overview = therapist.get(reverse("process:client", args=[world.client.pk])).content.decode()
    assert DREAM not in overview and "Kitchen" not in overview
    assert therapist.get(reverse("process:shared_entry", args=[entry.pk])).status_code == 404
    assert (
        therapist.get(
            reverse("process:relationship_new", args=[world.client.pk]) + f"?journal={entry.pk}"
        ).status_code
        == 404
    )


def test_sharing_shows_the_entry_to_the_therapist_and_undoing_hides_it_again(
    world: World, as_user, proc, audit_mark
) -> None:
    entry = proc.entry(DREAM, share=False)
    client, therapist = as_user("client"), as_user("therapist")
    audit_mark()
    client.post(reverse("process:journal_share", args=[entry.pk]), {"share": "1"})
    overview = therapist.get(reverse("process:client", args=[world.client.pk])).content.decode()
    assert DREAM in overview
    page = therapist.get(reverse("process:shared_entry", args=[entry.pk]))
    assert page.status_code == 200 and DREAM in page.content.decode()
    client.post(reverse("process:journal_share", args=[entry.pk]), {"share": "0"})
    assert therapist.get(reverse("process:shared_entry", args=[entry.pk])).status_code == 404
    overview = therapist.get(reverse("process:client", args=[world.client.pk])).content.decode()
    assert DREAM not in overview
    rows = [r for r in audit_mark() if r[2] == "process.journalentry"]
    assert rows == [
        (
            f"client account {world.client_user.pk}",
            "update",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {"shared": True, "evidence_withdrawn": 0},
        ),
        (
            world.therapist.email,
            "view",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {},
        ),
        (
            f"client account {world.client_user.pk}",
            "update",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {"shared": False, "evidence_withdrawn": 0},
        ),
    ]


def test_a_colleague_sees_nothing_even_of_shared_entries(world: World, as_user, proc) -> None:
    entry = proc.entry(DREAM, share=True)
    colleague = as_user("colleague")
    assert colleague.get(reverse("process:shared_entry", args=[entry.pk])).status_code == 404
    assert colleague.get(reverse("process:client", args=[world.client.pk])).status_code == 404
    assert (
        colleague.post(reverse("process:shared_entry_link", args=[entry.pk]), {}).status_code == 404
    )
    assert (
        as_user("stranger").get(reverse("process:shared_entry", args=[entry.pk])).status_code == 404
    )
    assert as_user("admin").get(reverse("process:shared_entry", args=[entry.pk])).status_code == 403
    with pytest.raises(actions.ProcessActionError, match="not shared with you"):
        actions.link_journal_entry(trail.Context(user=world.colleague), entry, None)


def test_a_colleague_with_a_care_grant_sees_shared_entries_but_never_private_ones(
    world: World, as_user, proc
) -> None:
    care_actions.grant_access(
        trail.Context(user=world.admin), client=world.client, therapist=world.colleague, reason="x"
    )
    shared = proc.entry("Shared words about the sea.", share=True)
    private = proc.entry("Private words about the forest.", share=False)
    colleague = as_user("colleague")
    overview = colleague.get(reverse("process:client", args=[world.client.pk])).content.decode()
    assert "Shared words about the sea." in overview
    assert "Private words about the forest." not in overview
    assert colleague.get(reverse("process:shared_entry", args=[shared.pk])).status_code == 200
    assert colleague.get(reverse("process:shared_entry", args=[private.pk])).status_code == 404


def test_another_client_can_neither_read_nor_change_an_entry(world: World, as_user, proc) -> None:
    entry = proc.entry(DREAM, share=False)
    other = as_user("other_client")
    assert other.get(reverse("process:journal_entry", args=[entry.pk])).status_code == 404
    assert other.post(reverse("process:journal_entry", args=[entry.pk]), _post()).status_code == 404
    assert (
        other.post(reverse("process:journal_share", args=[entry.pk]), {"share": "1"}).status_code
        == 404
    )
    assert other.post(reverse("process:journal_delete", args=[entry.pk])).status_code == 404
    assert DREAM not in other.get(reverse("process:journal")).content.decode()
    entry.refresh_from_db()
    assert not entry.is_shared and entry.text == DREAM
    with pytest.raises(actions.ProcessActionError, match="not yours"):
        actions.set_journal_sharing(trail.Context(user=world.other_client_user), entry, True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": "   "}, "Write something before saving."),
        ({"kind": "nightmare"}, "Select a valid choice"),
        ({"entry_date": "2999-01-01"}, "The date is in the future."),
        ({"mood": "9"}, "Select a valid choice"),
        ({"tags": "a;b"}, "Tags may use letters, numbers, spaces, hyphens."),
        ({"tags": ",".join(f"t{i}" for i in range(11))}, "Use at most 10 tags."),
    ],
)
def test_bad_journal_input_is_refused_with_a_reason_and_nothing_is_saved(
    world: World, as_user, change: dict[str, str], message: str
) -> None:
    response = as_user("client").post(reverse("process:journal_new"), _post(**change))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not JournalEntry.objects.exists()


def test_the_client_edits_an_entry_and_the_change_is_audited(
    world: World, as_user, proc, audit_mark
) -> None:
    entry = proc.entry(DREAM, share=False)
    client = as_user("client")
    page = client.get(reverse("process:journal_entry", args=[entry.pk]))
    assert DREAM in page.content.decode()
    audit_mark()
    client.post(
        reverse("process:journal_entry", args=[entry.pk]),
        _post(text=DREAM + " Then I woke.", tags="", mood=""),
    )
    entry.refresh_from_db()
    assert entry.text.endswith("Then I woke.") and entry.mood is None
    assert audit_mark() == [
        (
            f"client account {world.client_user.pk}",
            "update",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {"fields": ["title", "text"]},
        )
    ]


def test_reading_the_journal_is_audited_without_any_text(
    world: World, as_user, proc, audit_mark
) -> None:
    first, second = proc.entry(DREAM), proc.entry("Another one.", share=False, days_ago=1)
    audit_mark()
    as_user("client").get(reverse("process:journal"))
    assert audit_mark() == [
        (
            f"client account {world.client_user.pk}",
            "list",
            "process.journalentry",
            "",
            world.client.pk,
            {"view": "journal", "entries": [first.pk, second.pk]},
        )
    ]
    assert not any(DREAM in str(e.detail) for e in AuditEntry.objects.all())


def test_unsharing_withdraws_theme_sentences_quoted_from_the_entry(
    world: World, as_user, proc
) -> None:
    entry = proc.entry(DREAM, share=True)
    theme = RecurringTheme.objects.create(
        client=world.client,
        owner=world.therapist,
        stable_key="th-1",
        label="kitchen, door",
        first_seen=entry.entry_date,
        last_seen=entry.entry_date,
    )
    ThemeEvidence.objects.create(
        theme=theme,
        kind="journal",
        journal_entry=entry,
        date=entry.entry_date,
        start=0,
        end=len(DREAM),
        sentence=DREAM,
    )
    as_user("client").post(reverse("process:journal_share", args=[entry.pk]), {"share": "0"})
    evidence = ThemeEvidence.objects.get()
    assert (evidence.sentence, evidence.withdrawn) == ("", True)
    page = as_user("therapist").get(reverse("process:theme", args=[theme.pk])).content.decode()
    assert DREAM not in page and "The client has stopped sharing this entry." in page
    row = AuditEntry.objects.filter(object_type="process.journalentry", action="update").get()
    assert row.detail == {"shared": False, "evidence_withdrawn": 1}


def test_deleting_an_entry_keeps_the_therapists_relationship_episode(
    world: World, as_user, proc, audit_mark
) -> None:
    entry = proc.entry(DREAM, share=True)
    episode = proc.episode(source="journal", journal_entry=entry, narrative=DREAM)
    client = as_user("client")
    assert (
        "cannot be undone"
        in client.get(reverse("process:journal_delete", args=[entry.pk])).content.decode()
    )
    audit_mark()
    response = client.post(reverse("process:journal_delete", args=[entry.pk]))
    assert response.status_code == 302
    assert not JournalEntry.objects.exists()
    episode.refresh_from_db()
    assert episode.journal_entry is None and episode.narrative == DREAM
    assert audit_mark() == [
        (
            f"client account {world.client_user.pk}",
            "delete",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {"was_shared": True},
        )
    ]


def test_the_therapist_links_a_shared_entry_to_a_session(
    world: World, as_user, proc, audit_mark
) -> None:
    entry = proc.entry(DREAM, share=True)
    session = proc.past_sessions()[-1]
    therapist = as_user("therapist")
    audit_mark()
    response = therapist.post(
        reverse("process:shared_entry_link", args=[entry.pk]), {"appointment": session.pk}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.appointment == session
    assert audit_mark() == [
        (
            world.therapist.email,
            "update",
            "process.journalentry",
            str(entry.pk),
            world.client.pk,
            {"appointment": session.pk},
        )
    ]
    foreign = Appointment.objects.create(
        episode=world.other_episode, starts_at=timezone.now() - datetime.timedelta(days=1)
    )
    therapist.post(
        reverse("process:shared_entry_link", args=[entry.pk]), {"appointment": foreign.pk}
    )
    entry.refresh_from_db()
    assert entry.appointment == session


def test_admins_and_staff_cannot_use_the_client_journal(as_user) -> None:
    for persona in ("therapist", "admin", "colleague"):
        assert as_user(persona).get(reverse("process:journal")).status_code == 403
        assert as_user(persona).post(reverse("process:journal_new"), _post()).status_code == 403
    assert not JournalEntry.objects.exists()
