"""The practice admin's audit page and its CSV export: plain words, filters, paging, no
N+1, and the verification state at the top."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone

from reverie.accounts.models import Practice, Role
from reverie.audit import names, trail
from reverie.audit.models import Action, AuditEntry, TrailCheck
from reverie.care.models import Client
from reverie.testing import World, make_user, sign_in


def _page(http, **params: object) -> str:
    response = http.get(reverse("practice:audit"), params)
    assert response.status_code == 200
    return response.content.decode()


def _table(http, **params: object) -> str:
    """The entries' rows only (the filters above them name people and clients too)."""
    return _page(http, **params).split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def _csv(http, **params: object) -> list[list[str]]:
    response = http.get(reverse("practice:audit_csv"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def _view_note(world: World, *, who=None, client=None, ip: str = "192.0.2.5") -> AuditEntry:
    return trail.record(
        trail.Context(user=who or world.therapist, ip=ip),
        Action.VIEW,
        object_type="care.progressnote",
        object_id=41,
        client_id=(client or world.client).pk,
    )


def test_the_admin_reads_who_did_what_to_which_client_when_and_from_where(
    as_user, world: World
) -> None:
    Practice.objects.filter(pk=world.practice.pk).update(time_zone="Europe/Berlin")
    entry = _view_note(world)
    http = as_user("admin")
    page = _page(http)
    berlin = timezone.localtime(entry.at, zoneinfo.ZoneInfo("Europe/Berlin"))
    (row,) = [r for r in _table(http).split("<tr>") if f'<td class="muted">{entry.seq}<' in r]
    # the practice's date format (en-US here), to the second, in the practice's zone
    assert f"<td>{dateformat.format(berlin, 'M j, Y, g:i:s A')}</td>" in row
    assert "Theo Therapist" in row and '<span class="role">Therapist</span>' in row
    assert "viewed a progress note" in row
    assert "<td>Cleo Client</td>" in row
    assert "<td>192.0.2.5</td>" in row
    assert "Times are in Europe/Berlin" in page


@pytest.mark.parametrize(
    ("action", "kwargs", "words"),
    [
        (Action.LOGIN, {}, "signed in"),
        (Action.LOGOUT, {}, "signed out"),
        (
            Action.EXPORT,
            {"detail": {"report": "client_progress_pdf"}},
            "exported a progress report (PDF)",
        ),
        (Action.LIST, {"object_type": "care.client"}, "listed client records"),
        (
            Action.CREATE,
            {"object_type": "measures.administration"},
            "created a questionnaire response",
        ),
        (Action.UPDATE, {"object_type": "care.episode"}, "updated an episode"),
        (Action.UPDATE, {"object_type": "paperwork.formrequest"}, "updated an intake form"),
        (Action.CREATE, {"object_type": "paperwork.document"}, "created a stored document"),
    ],
)
def test_actions_read_as_plain_verbs_and_kinds(
    as_user, world: World, action: str, kwargs: dict, words: str
) -> None:
    trail.record(trail.Context(user=world.therapist), action, **kwargs)
    assert f"<td>{words}</td>" in _page(as_user("admin"))


def test_a_failed_sign_in_to_a_practice_account_shows_to_that_practice_admin(
    as_user, world: World
) -> None:
    from django.test import Client as HttpClient

    HttpClient().post(
        reverse("accounts:login"),
        {"username": world.colleague.email, "password": "wrong"},
        REMOTE_ADDR="198.51.100.9",
    )
    page = _page(as_user("admin"))
    assert "failed to sign in as Cora Colleague" in page
    assert "Not signed in" in page and "198.51.100.9" in page


def test_filters_by_person_client_action_and_dates(as_user, world: World) -> None:
    _view_note(world)
    _view_note(world, who=world.colleague, client=world.other_client)
    trail.record(trail.Context(user=world.colleague), Action.LOGIN, world.colleague)
    http = as_user("admin")

    by_person = _table(http, person=world.colleague.pk)
    assert "Cora Colleague" in by_person and "Theo Therapist" not in by_person
    by_client = _table(http, client=world.client.pk)
    assert "<td>Cleo Client</td>" in by_client and "<td>Olly Other</td>" not in by_client
    by_action = _table(http, action=Action.LOGIN)
    assert "<td>signed in</td>" in by_action and "viewed a progress note" not in by_action

    today = timezone.localdate(timezone=world.practice.zone)
    assert "viewed a progress note" in _page(http, since=today, until=today)
    tomorrow = today + datetime.timedelta(days=1)
    assert "No entries match" in _page(http, since=tomorrow)
    assert "No entries match" in _page(http, until=today - datetime.timedelta(days=1))


@pytest.mark.parametrize(
    "params",
    [
        {"client": "not-a-number"},
        {"person": "999999"},
        {"action": "dance"},
        {"since": "2026-02-30"},
        {"since": "2026-03-02", "until": "2026-03-01"},
    ],
)
def test_bad_filters_are_reported_and_show_nothing(as_user, world: World, params) -> None:
    _view_note(world)
    page = _page(as_user("admin"), **params)
    assert "field-error" in page
    assert "No entries match" in page
    assert "Correct the filters above" in page


def test_a_client_of_another_practice_cannot_be_chosen(as_user, world: World) -> None:
    page = _page(as_user("admin"), client=world.stranger_client.pk)
    assert "Select a valid choice" in page
    assert "Sid" not in page


def test_the_admin_of_another_practice_sees_none_of_these_entries(world: World) -> None:
    from django.test import Client as HttpClient

    _view_note(world)
    http = sign_in(HttpClient(), world.stranger_admin)
    page = _page(http)
    assert "Theo Therapist" not in page and "Cleo Client" not in page
    assert "viewed a progress note" not in page


def test_pages_of_fifty_keep_the_filters(as_user, world: World) -> None:
    for _ in range(120):
        _view_note(world)
    http = as_user("admin")
    first = _page(http, client=world.client.pk)
    assert first.count("viewed a progress note") == 50
    assert f"?client={world.client.pk}&amp;page=2" in first
    third = _page(http, client=world.client.pk, page=3)
    assert third.count("viewed a progress note") == 20
    assert "Page 3 of 3 (120 entries)" in third


def _queries(http, **params: object) -> int:
    url = reverse("practice:audit")
    http.get(url, params)  # the first request also writes the session's "last seen"
    with CaptureQueriesContext(connection) as captured:
        assert http.get(url, params).status_code == 200
    return len(captured.captured_queries)


def test_the_page_makes_a_fixed_number_of_queries_however_many_rows(as_user, world: World) -> None:
    http = as_user("admin")
    _view_note(world)
    few = _queries(http)
    # Many rows, each with its own actor and client: a lookup per row would show.
    for n in range(30):
        therapist = make_user(world.practice, Role.THERAPIST, f"t{n}@harbour.test", f"T {n}")
        client = Client.objects.create(practice=world.practice, given_name="C", family_name=f"{n}")
        _view_note(world, who=therapist, client=client)
        trail.record(trail.Context(user=therapist), Action.LOGIN, therapist)
    TrailCheck.objects.create(kind="verify", ok=True, by="test")
    many = _queries(http)
    assert many == few, (few, many)
    assert many <= 16, many
    assert _queries(http, client=world.client.pk, person=world.therapist.pk) == few


def test_the_csv_export_holds_the_filtered_rows_and_is_itself_audited(
    as_user, world: World
) -> None:
    _view_note(world)
    _view_note(world, who=world.colleague, client=world.other_client)
    http = as_user("admin")
    rows = _csv(http, client=world.client.pk)
    zone = world.practice.time_zone or "UTC"
    assert rows[0] == [
        "Entry",
        f"When ({zone})",
        "Who",
        "Role",
        "What",
        "Client",
        "From",
        "Object type",
        "Object id",
    ]
    assert [r[2:8] for r in rows[1:]] == [
        [
            "Theo Therapist",
            "Therapist",
            "viewed a progress note",
            "Cleo Client",
            "192.0.2.5",
            "care.progressnote",
        ]
    ]
    export = AuditEntry.objects.order_by("-seq").first()
    assert export is not None
    assert (export.action, export.actor_id, export.object_type) == (
        Action.EXPORT,
        world.admin.pk,
        "audit.auditentry",
    )
    assert export.detail == {
        "export": "audit_trail_csv",
        "rows": 1,
        "filters": {"client": str(world.client.pk)},
    }
    # The export names itself on the page in words.
    assert "exported the audit trail (CSV)" in _page(http)


def test_csv_cells_cannot_start_a_spreadsheet_formula(as_user, world: World) -> None:
    Client.objects.filter(pk=world.client.pk).update(given_name="=HYPERLINK(1)")
    _view_note(world)
    rows = _csv(as_user("admin"), client=world.client.pk)
    assert rows[1][5] == "'=HYPERLINK(1) Client"


def test_a_csv_export_with_bad_filters_is_refused_and_not_audited(as_user, world: World) -> None:
    http = as_user("admin")
    before = AuditEntry.objects.filter(action=Action.EXPORT).count()
    response = http.get(reverse("practice:audit_csv"), {"since": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
    assert AuditEntry.objects.filter(action=Action.EXPORT).count() == before


def test_without_the_care_app_clients_show_as_numbers(as_user, world: World, monkeypatch) -> None:
    monkeypatch.setattr(names, "_provider", None)
    _view_note(world)
    assert f"<td>client #{world.client.pk}</td>" in _page(as_user("admin"))


def test_the_page_says_whether_the_trail_last_verified(as_user, world: World) -> None:
    http = as_user("admin")
    assert "The trail has not been checked yet" in _page(http)
    assert "No checkpoint yet" in _page(http)
    trail.remember_verification(trail.verify(), "test")
    trail.checkpoint(by="test")
    page = _page(http)
    assert "intact — no entry was altered, removed or forged" in page
    assert "the trail's end was written down outside the database" in page
    TrailCheck.objects.create(
        kind="verify",
        ok=False,
        problems=2,
        first_problem="entry #7: entry content does not match its digest",
        by="worker",
    )
    page = _page(http)
    assert "the trail did not verify" in page
    assert "entry #7: entry content does not match its digest" in page


def test_an_old_verification_says_the_worker_may_have_stopped(as_user, world: World) -> None:
    TrailCheck.objects.create(
        kind="verify", ok=True, by="worker", at=timezone.now() - datetime.timedelta(days=3)
    )
    assert "whether the background worker is running" in _page(as_user("admin"))
