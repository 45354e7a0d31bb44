"""The client downloads their own complete record from the portal, in a real browser."""

from __future__ import annotations

import html
import zipfile

import pytest
from axe_playwright_python.sync_playwright import Axe

from lifecycle_data import PRIVATE_ENTRY_TEXT, PROCESS_NOTE_TEXT, build_full_record
from reverie.audit.models import AuditEntry
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_downloads_their_own_record_from_the_portal(phone, shot, tmp_path) -> None:
    full = build_full_record(build_world())
    world = full.world
    phone.goto(phone.base + "/accounts/login/")
    phone.get_by_label("Email").fill(world.client_user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url("**/me/")

    phone.get_by_role("button", name="Prepare my record").click()
    phone.wait_for_url("**/records/exports/*/")
    link = phone.get_by_role("link", name="Download the record")
    link.wait_for()
    shot(phone, "export-ready-phone")
    results = Axe().run(phone, context={"exclude": [[".messages"]]})
    assert results.violations_count == 0, results.generate_report()

    with phone.expect_download() as info:
        link.click()
    saved = tmp_path / "record.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
        journal = archive.read("journal.txt").decode()
        page = html.unescape(archive.read("record.html").decode())
    assert names == ["README.txt", "record.html", "fhir-bundle.json", "scores.csv", "journal.txt"]
    assert PRIVATE_ENTRY_TEXT in journal  # their own copy: the whole journal
    assert PROCESS_NOTE_TEXT not in page
    assert "Process (psychotherapy) notes are not part of this export" in page
    assert AuditEntry.objects.filter(
        action="export", actor=world.client_user, detail__view="lifecycle.download"
    ).exists()
