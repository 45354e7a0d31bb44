"""Gathering one client's complete record for export.

:func:`gather` reads, with a fixed number of queries whatever the record's size, every
part of a client's record that an export carries, for one *audience*:

- ``client`` — the client's own copy (their right of access). Their whole journal,
  shared or not: it is theirs.
- ``clinician`` and ``admin`` — the practice's copy, asked for by a therapist with
  clinical access or by the practice admin (e.g. to answer a records request or to hand
  the record to the client's next clinician). The journal entries the client shared
  only: an unshared entry is private to the client, and the practice never sees it.

Process (psychotherapy) notes are in no copy. US HIPAA defines them (45 CFR §164.501)
as notes kept apart from the rest of the record and leaves them out of the client's right
of access (§164.524(a)(1)(i)); Reverie's brief goes further and keeps them out of every
export, so a note only its author can read never sits in a file on someone's disk. The
model is not read here at all; ``tests/lifecycle/test_coverage.py`` checks that.

Draft (unsigned) progress notes are not part of the record yet and are left out, as in
``Patient/$everything``. Text fields are read through the model attributes, so
encryption at rest (done in the models) stays invisible here.

Recurring themes are in every copy when the therapist accepted them, with only the
sentences that come from documents the record holds (:data:`THEME_STATEMENT`,
:func:`accepted_themes`); nothing a theme draws from process notes is read or shown.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, Q
from django.utils import timezone

from reverie.care.models import (
    Alert,
    Appointment,
    CareGrant,
    Client,
    Episode,
    NoteAddendum,
    ProgressNote,
)
from reverie.directory.models import ConsultationRequest
from reverie.measures.models import Administration, MeasureRequest, MeasureSchedule
from reverie.messaging import exports as messaging_exports
from reverie.messaging.models import Message
from reverie.process.models import (
    EvidenceKind,
    FormulationAssignment,
    FormulationGroup,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    SessionReflection,
    ThemeEvidence,
    ThemeStatus,
)
from reverie.vault.fields import unread


class Audience(StrEnum):
    CLIENT = "client"
    CLINICIAN = "clinician"
    ADMIN = "admin"

    @property
    def is_client(self) -> bool:
        return self is Audience.CLIENT


PROCESS_NOTE_STATEMENT = (
    "Process (psychotherapy) notes are not part of this export. They are a therapist's "
    "private notes, kept apart from the clinical record and readable only by their author. "
    "US HIPAA excludes psychotherapy notes, as defined in 45 CFR 164.501, from an "
    "individual's right of access (45 CFR 164.524(a)(1)(i)); Reverie leaves them out of "
    "every export, the client's and the practice's alike."
)

THEME_STATEMENT = (
    "Recurring themes: a theme that the therapist's theme search suggested and the therapist "
    "accepted is their confirmed reading of the record, like the groups of relationship-episode "
    "formulations, and is part of every copy, with the sentences it rests on from shared "
    "journal entries, relationship episodes and signed progress notes (all of which this "
    "record holds). Left out of every copy: sentences from process notes, themes found only "
    "in process notes (they are an analysis of those notes), and suggestions the therapist "
    "has not accepted or has dismissed (machine output that no clinician confirmed)."
)


@dataclass(frozen=True)
class ExportedTheme:
    """An accepted theme as the export shows it: only its exportable evidence, and the
    dates and count read from that evidence (the stored counts include process notes)."""

    theme: RecurringTheme
    evidence: list[ThemeEvidence]

    @property
    def label(self) -> str:
        return str(self.theme.label)

    @property
    def first_seen(self) -> datetime.date:
        return min(e.date for e in self.evidence)

    @property
    def last_seen(self) -> datetime.date:
        return max(e.date for e in self.evidence)


#: Evidence an export may show: never a process note's span, never a withdrawn sentence,
#: only from documents the practice's copy itself holds (shared entries, signed notes).
# A suggestion the therapist rejected for a seeded theme is not evidence of it.
EXPORTABLE_EVIDENCE = (
    Q(withdrawn=False, process_note__isnull=True)
    & ~Q(role="rejected")
    & (
        Q(kind=EvidenceKind.JOURNAL, journal_entry__shared_at__isnull=False)
        | Q(kind=EvidenceKind.EPISODE)
        | Q(kind=EvidenceKind.PROGRESS_NOTE, progress_note__signed_at__isnull=False)
    )
)


def accepted_themes(client: Client) -> list[ExportedTheme]:
    """The client's accepted, non-private themes that still rest on at least one
    exportable sentence, each with those sentences (two queries)."""
    themes = (
        RecurringTheme.objects.filter(client=client, status=ThemeStatus.ACCEPTED, private=False)
        .select_related("owner")
        .prefetch_related(
            Prefetch(
                "evidence",
                queryset=ThemeEvidence.objects.filter(EXPORTABLE_EVIDENCE).order_by(
                    "date", "position", "pk"
                ),
                to_attr="exportable",
            )
        )
        .order_by("pk")
    )
    found = [ExportedTheme(t, list(t.exportable)) for t in themes if t.exportable]
    return sorted(found, key=lambda t: (t.first_seen, t.theme.pk))


@dataclass
class ClientRecord:
    """Everything one export carries, already read from the database."""

    client: Client
    audience: Audience
    generated_at: datetime.datetime
    episodes: list[Episode]
    appointments: list[Appointment]
    progress_notes: list[ProgressNote]
    reflections: list[SessionReflection]
    relationship_episodes: list[RelationshipEpisode]
    formulation_groups: list[FormulationGroup]
    journal: list[JournalEntry]
    alerts: list[Alert]
    consultation: ConsultationRequest | None
    #: The first consultation booked through the directory for that request, if any (the
    #: client's own appointment time; it becomes their first session when they are taken on).
    booking: Any
    administrations: list[Administration]
    measure_requests: list[MeasureRequest]
    grants: list[CareGrant]
    #: Secure messages between the client and their therapists, in every copy: they were
    #: written to be read by the other side, so they are part of the record.
    messages: list[Message]
    #: Themes the therapist accepted, without process-note material (THEME_STATEMENT).
    themes: list[ExportedTheme]

    @property
    def journal_scope(self) -> str:
        if self.audience.is_client:
            return "every entry of the client's journal, shared or not"
        return "only the journal entries the client shared with their clinicians"

    def counts(self) -> dict[str, int]:
        """How many of each part the export holds (identifiers only, for the audit)."""
        return {
            "episodes": len(self.episodes),
            "sessions": len(self.appointments),
            "progress_notes": len(self.progress_notes),
            "reflections": len(self.reflections),
            "relationship_episodes": len(self.relationship_episodes),
            "journal_entries": len(self.journal),
            "alerts": len(self.alerts),
            "consultation_request": int(self.consultation is not None),
            "questionnaires": len(self.administrations),
            "messages": len(self.messages),
            "themes": len(self.themes),
        }


def gather(client: Client, audience: Audience) -> ClientRecord:
    """Read ``client``'s record for ``audience``. The caller has checked access."""
    episodes = list(
        Episode.objects.filter(client=client)
        .select_related("therapist")
        .prefetch_related(
            "series",
            "breaks",
            "frequency_changes",
            Prefetch(
                "measure_schedules",
                queryset=MeasureSchedule.objects.select_related("instrument"),
            ),
        )
        .order_by("start_date", "pk")
    )
    appointments = list(
        Appointment.objects.filter(episode__client=client).order_by("starts_at", "pk")
    )
    notes = list(
        ProgressNote.objects.filter(episode__client=client, signed_at__isnull=False)
        .select_related("author", "episode")
        .defer(*unread(Episode, "episode"))  # the goals are shown once, with the episode
        .prefetch_related(
            Prefetch("addenda", queryset=NoteAddendum.objects.select_related("author"))
        )
        .order_by("session_date", "pk")
    )
    reflections = list(
        SessionReflection.objects.filter(episode__client=client)
        .select_related("author")
        .order_by("session_date", "pk")
    )
    relationship_episodes = list(
        RelationshipEpisode.objects.filter(client=client)
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=FormulationAssignment.objects.select_related("group").order_by(
                    "component"
                ),
            )
        )
        .order_by("occurred_on", "pk")
    )
    groups = FormulationGroup.by_label(FormulationGroup.objects.filter(client=client))
    journal = JournalEntry.objects.filter(client=client)
    if not audience.is_client:
        journal = journal.filter(shared_at__isnull=False)
    alerts = list(
        Alert.objects.filter(client=client)
        # A not-on-track alert's clinical-support review (outcomes.SupportReview) is read
        # with it: it is the therapist's record of what they reviewed after the alert.
        .select_related("acknowledged_by", "support_review__author")
        .order_by("created_at", "pk")
    )
    consultation = (
        ConsultationRequest.objects.filter(client=client)
        .select_related("assigned_therapist", "booking__therapist")
        .prefetch_related("preferred_therapists")
        .first()
    )
    try:
        booking = consultation.booking if consultation is not None else None
    except ObjectDoesNotExist:  # a request with no booking (the reverse one-to-one)
        booking = None
    # Instruments are prefetched, not joined: a join decodes an instrument's whole
    # definition (a large JSON document) once per row; a prefetch once per instrument.
    administrations = list(
        Administration.objects.filter(client=client)
        .prefetch_related("instrument")
        .order_by("completed_at", "pk")
    )
    requests = list(
        MeasureRequest.objects.filter(client=client)
        .prefetch_related("instrument")
        .order_by("opens_at", "pk")
    )
    grants = list(
        CareGrant.objects.filter(client=client)
        .select_related("therapist", "granted_by")
        .order_by("created_at", "pk")
    )
    return ClientRecord(
        client=client,
        audience=audience,
        generated_at=timezone.now(),
        episodes=episodes,
        appointments=appointments,
        progress_notes=notes,
        reflections=reflections,
        relationship_episodes=relationship_episodes,
        formulation_groups=groups,
        journal=list(journal.order_by("entry_date", "created_at", "pk")),
        alerts=alerts,
        consultation=consultation,
        booking=booking,
        administrations=administrations,
        measure_requests=requests,
        grants=grants,
        messages=messaging_exports.client_messages(client),
        themes=accepted_themes(client),
    )
