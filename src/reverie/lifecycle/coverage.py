"""Which models an export carries, and why the others are left out.

Every model with a chain of foreign keys to ``care.Client`` is about a client. Each must
be named here, either in :data:`EXPORTED` (with where it appears) or in :data:`EXCLUDED`
(with the reason). ``tests/lifecycle/test_coverage.py`` walks Django's app registry and
fails for a model that is in neither, so a new model cannot silently escape the export;
it also checks that every model in :data:`EXPORTED` is actually read by an export.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

#: ``app_label.ModelName`` → where in the archive the model appears.
EXPORTED: dict[str, str] = {
    "care.Client": "record.html (the client), fhir-bundle.json (Patient)",
    "care.Episode": "record.html (episodes), fhir-bundle.json (EpisodeOfCare)",
    "care.SessionSeries": "record.html (each episode's recurring sessions)",
    "care.Break": "record.html (each episode's breaks)",
    "care.FrequencyChange": "record.html (each episode's frequency history)",
    "care.Appointment": "record.html (sessions and attendance), fhir-bundle.json (Encounter)",
    "care.ProgressNote": "record.html, fhir-bundle.json (DocumentReference); signed notes only",
    "care.NoteAddendum": "with their progress note, in record.html and fhir-bundle.json",
    "care.Alert": "record.html (alerts)",
    "outcomes.SupportReview": (
        "record.html (with its not-on-track alert: the checklist areas reviewed and the note)"
    ),
    "care.CareGrant": "record.html (access given to other therapists)",
    "measures.Administration": (
        "record.html (answers and scores), scores.csv, "
        "fhir-bundle.json (QuestionnaireResponse, Observation)"
    ),
    "measures.MeasureRequest": "record.html (questionnaires asked for)",
    "measures.MeasureSchedule": "record.html (each episode's questionnaire plan)",
    "process.SessionReflection": "record.html (session reflections)",
    "process.RelationshipEpisode": "record.html (relationship episodes)",
    "process.FormulationGroup": "record.html (groups of formulations)",
    "process.FormulationAssignment": "record.html (with each relationship episode)",
    "process.RecurringTheme": (
        "record.html (recurring themes): accepted themes only, in every copy; not private "
        "ones (found only in process notes), not suggested or dismissed ones "
        "(record.THEME_STATEMENT says why). HTML only: FHIR R4 has no resource for a "
        "clinician's confirmed theme with quoted evidence, as for the formulation groups"
    ),
    "process.ThemeEvidence": (
        "record.html (with each accepted theme): sentences from shared journal entries, "
        "relationship episodes and signed progress notes; never a process note's span, "
        "never a withdrawn sentence"
    ),
    "process.JournalEntry": (
        "journal.txt and record.html: every entry in the client's copy, shared entries in "
        "the practice's copy"
    ),
    "directory.ConsultationRequest": "record.html (consultation request)",
    # The client's booked first consultation: their own appointment time and therapist.
    # HTML only: Reverie has no FHIR Appointment mapping (sessions are Encounters).
    "scheduling.Booking": "record.html (with the consultation request: the booked time)",
    "paperwork.FormRequest": (
        "paperwork/forms/*.pdf: each signed form as its signed copy (forms sent and not "
        "signed are not part of the record); the history questionnaire not in the admin's copy"
    ),
    "paperwork.Document": "paperwork/documents/: each uploaded document as uploaded",
    "messaging.Message": "record.html (messages), fhir-bundle.json (Communication)",
}

#: ``app_label.ModelName`` → why it is not in the export.
EXCLUDED: dict[str, str] = {
    "care.ProcessNote": (
        "psychotherapy notes: private to their author and never exported (HIPAA excludes "
        "them from the right of access, 45 CFR 164.524(a)(1)(i); definition in 164.501)"
    ),
    "measures.RequestLink": (
        "security material (digests of one-time link tokens), not information about the client"
    ),
    "measures.Draft": (
        "answers typed into a questionnaire not yet submitted; like an unsigned note, not "
        "part of the record (the submitted answers are exported)"
    ),
    "outcomes.EpisodeOutcome": (
        "a derived summary recomputed by the worker from the episodes and scores, which "
        "are exported"
    ),
    "lifecycle.RecordExport": (
        "the bookkeeping of an export itself (who asked, status, progress, file name)"
    ),
    "lifecycle.RetentionCandidate": (
        "the practice's own review list (the record's retention date), not part of the record"
    ),
    "lifecycle.ErasureRequest": (
        "the practice's two-admin erasure bookkeeping (who asked, who confirmed, when); the "
        "reason is the admins' own text, not part of the client's record"
    ),
    "scheduling.MoveRequest": (
        "a pending request to move a session (preferred days and times); the session itself "
        "is exported with its attendance"
    ),
    "scheduling.WaitlistOffer": (
        "a time offered from the waitlist, held for hours and then expired or booked; a "
        "booked offer becomes a session that is exported"
    ),
    "messaging.Thread": (
        "the conversation's container and its on/off switch; its messages are exported"
    ),
    "billing.ClientBilling": (
        "billing settings of the client (self-pay, session service, the clinician's ICD-10-CM "
        "codes): not yet in the record export; the codes are printed on the superbills the "
        "client downloads from the portal (issue 17)"
    ),
    "billing.AgreedFee": "financial record (an agreed fee), not yet in the record export",
    "billing.Charge": (
        "financial record: not yet in the record export; the client's statements and "
        "superbills list every charge and are downloadable in the portal"
    ),
    "billing.Payment": "financial record, on the client's statements; not yet in the export",
    "billing.Allocation": "bookkeeping of which payment paid which charge",
    "billing.Refund": "financial record, on the client's statements; not yet in the export",
    "billing.WriteOff": "financial record, on the client's statements; not yet in the export",
    "billing.Waiver": "financial record (a waived policy fee), not yet in the export",
    "billing.GoodFaithEstimate": (
        "a Good Faith Estimate (45 CFR 149.610); the client downloads each one in the portal; "
        "not yet in the record export"
    ),
    "process.ThemeRun": "worker bookkeeping of a theme search (status, progress, timings)",
}


def _reaches_client(model: type[models.Model], seen: frozenset[type[models.Model]]) -> bool:
    client = apps.get_model("care", "Client")
    if model is client:
        return True
    for field in model._meta.get_fields():
        if not (field.many_to_one or field.one_to_one) or field.auto_created:
            continue
        target = field.related_model
        if not isinstance(target, type) or target in seen:
            continue
        if _reaches_client(target, seen | {model}):
            return True
    return False


def models_about_a_client() -> set[str]:
    """Labels of every installed model with a foreign-key path to ``care.Client``."""
    return {model._meta.label for model in apps.get_models() if _reaches_client(model, frozenset())}
