"""A client's complete record as one ZIP: what each copy holds and leaves out, and that
every download is audited."""

from __future__ import annotations

import csv
import html
import io
import json

import pytest
from django.urls import reverse

from lifecycle_data import (
    ADDENDUM_TEXT,
    BREAK_REASON_TEXT,
    CANCEL_REASON_TEXT,
    CONSULTATION_TEXT,
    GROUP_LABEL,
    NARRATIVE_TEXT,
    NOTE_TEXT,
    PRIVATE_ENTRY_TEXT,
    PRIVATE_THEME_LABEL,
    PROCESS_NOTE_TEXT,
    REFLECTION_TEXT,
    SHARED_ENTRY_TEXT,
    SUGGESTED_THEME_LABEL,
    SUPPORT_NOTE_TEXT,
    THEME_EVIDENCE_TEXT,
    THEME_LABEL,
    FullRecord,
    unzip,
)
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.actions import notes
from reverie.fhir import resources
from reverie.lifecycle import archive
from reverie.lifecycle.models import ExportStatus, RecordExport
from reverie.lifecycle.record import THEME_STATEMENT, accepted_themes
from reverie.measures.models import Administration
from reverie.process.models import RecurringTheme, ThemeEvidence

pytestmark = pytest.mark.django_db


def _download(as_user, persona: str, full: FullRecord) -> dict[str, str]:
    if persona in ("client", "other_client"):
        url = reverse("lifecycle:my_export")
    else:
        url = reverse("lifecycle:client_export", args=[full.world.client.pk])
    http = as_user(persona)
    response = http.post(url)
    assert response.status_code == 302
    export = RecordExport.objects.latest("pk")
    assert response["Location"] == reverse("lifecycle:export", args=[export.pk])
    assert export.status == ExportStatus.DONE  # a small record is prepared at once
    page = http.get(response["Location"])
    download = reverse("lifecycle:export_download", args=[export.pk])
    assert download in page.content.decode()
    response = http.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="record-')
    files = unzip(b"".join(response.streaming_content))
    # Text in the HTML is escaped; compare what a reader sees.
    files["record.html"] = html.unescape(files["record.html"])
    return files


def test_the_client_copy_holds_the_whole_record_and_their_whole_journal(
    full_record: FullRecord, as_user
) -> None:
    files = _download(as_user, "client", full_record)
    assert list(files) == list(archive.MEMBERS)
    page = files["record.html"]
    for text in (
        NOTE_TEXT,
        ADDENDUM_TEXT,
        NARRATIVE_TEXT,
        REFLECTION_TEXT,
        CONSULTATION_TEXT,
        SHARED_ENTRY_TEXT,
        PRIVATE_ENTRY_TEXT,
        BREAK_REASON_TEXT,
        CANCEL_REASON_TEXT,
        "cover in August",
        GROUP_LABEL,
        full_record.world.alert.summary,
        SUPPORT_NOTE_TEXT,
        "Areas reviewed: Support outside therapy, Recent life events.",
    ):
        assert text in page, text
    # The consultation the client booked through the directory, with its time and therapist.
    booked = html.unescape(page)
    assert "Consultation booked" in booked
    assert f"50 minutes, with {full_record.world.therapist.display_name}" in booked
    assert "(became the client's first session)" in booked
    assert SHARED_ENTRY_TEXT in files["journal.txt"]
    assert PRIVATE_ENTRY_TEXT in files["journal.txt"]


def test_no_copy_holds_a_process_note_and_every_copy_says_why(
    full_record: FullRecord, as_user
) -> None:
    for persona in ("client", "therapist", "admin"):
        files = _download(as_user, persona, full_record)
        everything = "".join(files.values())
        assert PROCESS_NOTE_TEXT not in everything
        assert "164.524(a)(1)(i)" in files["README.txt"]
        assert "164.524(a)(1)(i)" in files["record.html"]


def test_the_practice_copy_holds_only_the_journal_entries_the_client_shared(
    full_record: FullRecord, as_user
) -> None:
    for persona in ("therapist", "admin"):
        files = _download(as_user, persona, full_record)
        for name in ("journal.txt", "record.html"):
            assert SHARED_ENTRY_TEXT in files[name]
            assert PRIVATE_ENTRY_TEXT not in files[name]
        assert NOTE_TEXT in files["record.html"]


def test_every_copy_holds_the_accepted_theme_and_no_unconfirmed_or_process_note_theme(
    full_record: FullRecord, as_user
) -> None:
    for persona in ("client", "therapist", "admin"):
        files = _download(as_user, persona, full_record)
        page = files["record.html"]
        themes = page[page.index('<h2 id="themes">') : page.index('<h2 id="journal">')]
        assert THEME_LABEL in themes
        assert "Journal entry, " in themes and f"“{THEME_EVIDENCE_TEXT}”" in themes
        assert f"Accepted by {full_record.world.therapist.display_name}" in themes
        assert "1 sentence in this record" in themes  # the process note's span is not shown
        everything = "".join(files.values())
        for text in (SUGGESTED_THEME_LABEL, PRIVATE_THEME_LABEL, PROCESS_NOTE_TEXT):
            assert text not in everything, (persona, text)
        assert THEME_STATEMENT in files["README.txt"]
        assert THEME_STATEMENT in page
        # HTML only: no FHIR resource carries a theme.
        assert THEME_LABEL not in files["fhir-bundle.json"]


def test_a_theme_is_exported_only_with_sentences_from_documents_the_record_holds(
    full_record: FullRecord,
) -> None:
    world = full_record.world
    client = world.client
    (shown,) = accepted_themes(client)
    assert shown.label == THEME_LABEL
    assert [e.kind for e in shown.evidence] == ["journal"]
    # Its dates are those of the exported sentence, not of the process note's span.
    assert shown.first_seen == shown.last_seen == shown.evidence[0].date

    draft = notes.save_progress_note(
        trail.Context(user=world.therapist),
        episode=world.episode,
        appointment=None,
        fields={"session_date": shown.first_seen, "content": "DRAFT words", "plan": ""},
    )
    unsigned = RecurringTheme.objects.create(
        client=client,
        owner=world.therapist,
        stable_key="unsigned-only",
        label="UNSIGNED-ONLY",
        status="accepted",
        first_seen=shown.first_seen,
        last_seen=shown.first_seen,
    )
    ThemeEvidence.objects.create(
        theme=unsigned,
        kind="progress_note",
        progress_note=draft,
        date=shown.first_seen,
        start=0,
        end=5,
        sentence="DRAFT",
    )
    withdrawn = RecurringTheme.objects.create(
        client=client,
        owner=world.therapist,
        stable_key="withdrawn-only",
        label="WITHDRAWN-ONLY",
        status="accepted",
        first_seen=shown.first_seen,
        last_seen=shown.first_seen,
    )
    ThemeEvidence.objects.create(
        theme=withdrawn,
        kind="journal",
        journal_entry=shown.evidence[0].journal_entry,
        date=shown.first_seen,
        start=0,
        end=5,
        sentence="",
        withdrawn=True,
    )
    dismissed = RecurringTheme.objects.get(stable_key="full-record-suggested")
    dismissed.status = "dismissed"
    dismissed.save(update_fields=["status"])
    # A theme resting only on an unsigned note or a withdrawn sentence is not shown; nor
    # is a dismissed one.
    assert [t.label for t in accepted_themes(client)] == [THEME_LABEL]
    # Nor another client's.
    assert accepted_themes(world.other_client) == []


def test_the_bundle_is_a_valid_fhir_collection_of_the_record(
    full_record: FullRecord, as_user
) -> None:
    bundle = json.loads(_download(as_user, "client", full_record)["fhir-bundle.json"])
    assert resources.validated(bundle) == bundle
    assert bundle["type"] == "collection"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds >= {
        "Patient",
        "EpisodeOfCare",
        "Encounter",
        "QuestionnaireResponse",
        "Observation",
        "DocumentReference",
    }
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert patient["id"] == str(full_record.world.client.pk)


def test_scores_csv_has_every_total_score(full_record: FullRecord, as_user) -> None:
    text = _download(as_user, "therapist", full_record)["scores.csv"]
    rows = list(csv.DictReader(io.StringIO(text)))
    stored = Administration.objects.filter(client=full_record.world.client).order_by(
        "completed_at", "pk"
    )
    totals = [
        (r["administration_id"], r["value"], r["band"]) for r in rows if r["score"] == "total"
    ]
    assert totals == [(str(a.pk), str(a.total), a.band) for a in stored]
    assert {r["instrument"] for r in rows} == {"phq-9"}


def test_making_and_downloading_an_archive_are_both_audited(
    full_record: FullRecord, as_user
) -> None:
    for persona, audience in (("client", "client"), ("therapist", "clinician"), ("admin", "admin")):
        _download(as_user, persona, full_record)
        export = RecordExport.objects.latest("pk")
        made, downloaded = AuditEntry.objects.filter(action="export").order_by("-seq")[:2][::-1]
        for entry in (made, downloaded):
            assert entry.client_id == full_record.world.client.pk
            assert entry.actor == full_record.world.user(persona)
            assert entry.detail["export"] == export.pk
            # Identifiers and counts only: no clinical text in the trail.
            assert NOTE_TEXT not in json.dumps(entry.detail)
        assert made.detail["audience"] == audience
        assert made.detail["counts"]["journal_entries"] == (2 if audience == "client" else 1)
        assert made.detail["counts"]["progress_notes"] == 1
        assert downloaded.detail["view"] == "lifecycle.download"
        requested = AuditEntry.objects.get(
            action="create", object_type="lifecycle.recordexport", object_id=str(export.pk)
        )
        assert requested.actor == full_record.world.user(persona)


def test_a_colleague_gets_nothing_and_leaves_no_export_in_the_trail(
    full_record: FullRecord, as_user
) -> None:
    url = reverse("lifecycle:client_export", args=[full_record.world.client.pk])
    assert as_user("colleague").post(url).status_code == 404
    assert as_user("therapist").get(url).status_code == 405
    assert not AuditEntry.objects.filter(action="export").exists()
    assert not RecordExport.objects.exists()


def test_the_buttons_are_on_the_client_page_and_in_the_portal(world, as_user) -> None:
    page = as_user("therapist").get(reverse("care:client", args=[world.client.pk]))
    assert reverse("lifecycle:client_export", args=[world.client.pk]) in page.content.decode()
    page = as_user("admin").get(reverse("care:client", args=[world.client.pk]))
    assert reverse("lifecycle:client_export", args=[world.client.pk]) in page.content.decode()
    portal = as_user("client").get(reverse("care:client_home"))
    assert reverse("lifecycle:my_export") in portal.content.decode()
