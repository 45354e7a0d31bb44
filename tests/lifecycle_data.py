"""A client record with a row in every model an export carries, written through the
actions where one exists, and sentinel texts to look for in the archive. Shared by
``tests/lifecycle/`` and the browser test."""

from __future__ import annotations

import datetime
import io
import zipfile
from dataclasses import dataclass

from django.utils import timezone

from reverie.audit import trail
from reverie.care import actions as care_actions
from reverie.care.actions import notes
from reverie.care.models import (
    Appointment,
    Break,
    CareGrant,
    FrequencyChange,
    ProcessNote,
    ProgressNote,
    SessionSeries,
)
from reverie.directory.models import ConsultationRequest
from reverie.measures.models import MeasureRequest, MeasureSchedule
from reverie.outcomes import actions as outcome_actions
from reverie.process import actions as process_actions
from reverie.process.models import (
    FormulationAssignment,
    FormulationGroup,
    JournalEntry,
    RecurringTheme,
    SessionReflection,
    ThemeEvidence,
)
from reverie.scheduling.models import Booking
from reverie.testing import World

PROCESS_NOTE_TEXT = "PRIVATE-PROCESS-NOTE countertransference sentinel"
SHARED_ENTRY_TEXT = "SHARED-ENTRY I dreamt of the sea at my grandmother's house."
PRIVATE_ENTRY_TEXT = "UNSHARED-ENTRY Something I have not told anyone yet."
NOTE_TEXT = "PROGRESS-NOTE She spoke about her father's silences."
ADDENDUM_TEXT = "ADDENDUM The date of the next session was agreed."
NARRATIVE_TEXT = "RE-NARRATIVE Her partner forgot the dinner and she said nothing."
REFLECTION_TEXT = "REFLECTION-COMMENT Much about the break."
CONSULTATION_TEXT = "CONSULTATION-MESSAGE I keep ending up in the same kind of relationship."
BREAK_REASON_TEXT = "BREAK-REASON summer break while her mother is in hospital"
CANCEL_REASON_TEXT = "CANCEL-REASON she rang in tears after the funeral"
SUPPORT_NOTE_TEXT = "SUPPORT-REVIEW Her sister moved abroad in the autumn; we named it together."
BOOKED_AT = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
THEME_LABEL = "THEME-LABEL grandmother's house by the sea"
GROUP_LABEL = "GROUP-LABEL To be held in mind"
THEME_TERMS = ["THEME-TERM-grandmother", "THEME-TERM-sea"]
# A theme's evidence quotes the client's text; this one a sentence of the shared entry.
THEME_EVIDENCE_TEXT = "I dreamt of the sea at my grandmother's house."
# Themes that no copy may hold: a suggestion the therapist never accepted, and an accepted
# theme found only in process notes (named by the therapist).
SUGGESTED_THEME_LABEL = "SUGGESTED-THEME-LABEL never confirmed"
PRIVATE_THEME_LABEL = "PRIVATE-THEME-LABEL countertransference boredom"


@dataclass
class FullRecord:
    world: World
    process_note: ProcessNote
    progress_note: ProgressNote


def build_full_record(w: World) -> FullRecord:
    therapist_ctx = trail.Context(user=w.therapist)
    client_ctx = trail.Context(user=w.client_user)
    session = Appointment.objects.filter(episode=w.episode).order_by("starts_at").first()
    assert session is not None
    today = timezone.localdate()
    SessionSeries.objects.create(
        episode=w.episode,
        weekdays=[1],
        start_time=datetime.time(10, 0),
        starts_on=w.episode.start_date,
        created_by=w.therapist,
    )
    Break.objects.create(
        episode=w.episode,
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today - datetime.timedelta(days=23),
        reason=BREAK_REASON_TEXT,
    )
    FrequencyChange.objects.create(
        episode=w.episode,
        effective_from=w.episode.start_date,
        sessions_per_week=2,
        changed_by=w.therapist,
    )
    MeasureSchedule.objects.create(episode=w.episode, instrument=w.phq9, followup_months=[1, 3])
    MeasureRequest.objects.create(
        client=w.client,
        episode=w.episode,
        instrument=w.phq9,
        opens_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    CareGrant.objects.create(
        client=w.client,
        therapist=w.colleague,
        granted_by=w.admin,
        reason="cover in August",
        # Revoked, so the colleague keeps no access: the grant is history in the record.
        revoked_at=timezone.now(),
    )
    cancelled = Appointment.objects.create(
        episode=w.episode, starts_at=timezone.now() + datetime.timedelta(days=2)
    )
    care_actions.record_attendance(therapist_ctx, cancelled, "cancelled", reason=CANCEL_REASON_TEXT)
    note = notes.save_progress_note(
        therapist_ctx,
        episode=w.episode,
        appointment=session,
        fields={"session_date": session.starts_at.date(), "content": NOTE_TEXT, "plan": ""},
    )
    notes.sign_progress_note(therapist_ctx, note)
    notes.add_addendum(therapist_ctx, note, ADDENDUM_TEXT)
    process_note = process_actions.save_process_note(
        therapist_ctx, episode=w.episode, text=PROCESS_NOTE_TEXT, appointment=session
    )
    process_actions.save_reflection(
        therapist_ctx,
        appointment=session,
        scores=dict.fromkeys(("affect", "avoidance", "patterns", "past", "relationships"), 4)
        | {"therapy_relationship": 2, "fantasy": 5},
        comment=REFLECTION_TEXT,
    )
    episode = process_actions.save_relationship_episode(
        therapist_ctx,
        client=w.client,
        fields={
            "occurred_on": today,
            "source": "session",
            "appointment": None,
            "journal_entry": None,
            "other_person": "partner",
            "other_person_note": "",
            "narrative": NARRATIVE_TEXT,
            "wish": "to be remembered",
            "response_of_other": "forgets her",
            "ro_valence": "negative",
            "response_of_self": "swallows her hurt",
            "rs_valence": "negative",
        },
    )
    group = FormulationGroup.objects.create(
        client=w.client, component="wish", label=GROUP_LABEL, created_by=w.therapist
    )
    FormulationAssignment.objects.create(
        relationship_episode=episode,
        component="wish",
        group=group,
        status="confirmed",
        method="by hand",
        updated_by=w.therapist,
    )
    for text, share in ((SHARED_ENTRY_TEXT, True), (PRIVATE_ENTRY_TEXT, False)):
        process_actions.create_journal_entry(
            client_ctx,
            fields={
                "kind": "dream",
                "title": "",
                "text": text,
                "mood": 3,
                "tags": ["sea"],
                "entry_date": today,
            },
            share=share,
        )
    # A theme the therapist's search found (the worker writes these rows the same way,
    # theme_runs.save_results), quoting the shared entry.
    shared = JournalEntry.objects.get(client=w.client, shared_at__isnull=False)
    theme = RecurringTheme.objects.create(
        client=w.client,
        owner=w.therapist,
        stable_key="full-record-theme",
        label=THEME_LABEL,
        terms=THEME_TERMS,
        status="accepted",
        first_seen=today,
        last_seen=today,
    )
    start = shared.text.index(THEME_EVIDENCE_TEXT)
    ThemeEvidence.objects.create(
        theme=theme,
        kind="journal",
        journal_entry=shared,
        date=today,
        start=start,
        end=start + len(THEME_EVIDENCE_TEXT),
        sentence=THEME_EVIDENCE_TEXT,
        position=0,
    )
    # The same theme also rests on a span of the process note: kept as a span only, and
    # never in an export.
    ThemeEvidence.objects.create(
        theme=theme,
        kind="process_note",
        process_note=process_note,
        date=today - datetime.timedelta(days=40),
        start=0,
        end=len(PROCESS_NOTE_TEXT),
        position=1,
    )
    suggested = RecurringTheme.objects.create(
        client=w.client,
        owner=w.therapist,
        stable_key="full-record-suggested",
        label=SUGGESTED_THEME_LABEL,
        first_seen=today,
        last_seen=today,
    )
    private = RecurringTheme.objects.create(
        client=w.client,
        owner=w.therapist,
        stable_key="full-record-private",
        label=PRIVATE_THEME_LABEL,
        renamed=True,
        private=True,
        status="accepted",
        first_seen=today,
        last_seen=today,
    )
    ThemeEvidence.objects.create(
        theme=suggested,
        kind="journal",
        journal_entry=shared,
        date=today,
        start=start,
        end=start + len(THEME_EVIDENCE_TEXT),
        sentence=THEME_EVIDENCE_TEXT,
    )
    ThemeEvidence.objects.create(
        theme=private,
        kind="process_note",
        process_note=process_note,
        date=today,
        start=0,
        end=len(PROCESS_NOTE_TEXT),
    )
    consultation = ConsultationRequest.objects.create(
        practice=w.practice,
        name="Cleo Client",
        email=w.client.email,
        message=CONSULTATION_TEXT,
        client=w.client,
        status="converted",
    )
    # The first consultation they booked through the directory, which became a session.
    Booking.objects.create(
        practice=w.practice,
        therapist=w.therapist,
        starts_at=BOOKED_AT,
        request=consultation,
        status="session",
    )
    # The clinical-support checklist after the world's not-on-track alert.
    outcome_actions.record_support_review(
        therapist_ctx, w.alert, reviewed=["support", "events"], note=SUPPORT_NOTE_TEXT
    )
    assert SessionReflection.objects.filter(appointment=session).exists()
    return FullRecord(world=w, process_note=process_note, progress_note=note)


def unzip(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
