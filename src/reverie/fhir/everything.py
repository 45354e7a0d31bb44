"""``Patient/$everything``: all of one client's record that may leave the practice.

The collector is an allow-list. :data:`SECTIONS` names, in order, each kind of record that
is exported and the function that reads it; nothing else is read. Process
(psychotherapy) notes are not in the list and no function here touches their model, so
they cannot appear in an export however the rest of the record changes; a test keeps this
true. Draft (unsigned) progress notes are not exported either: they are not yet part of the
record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reverie.care.models import Appointment, Client, Episode, ProgressNote
from reverie.fhir import resources
from reverie.measures.models import Administration, Instrument
from reverie.vault.fields import unread

Section = Callable[[Client], list[dict[str, Any]]]


def _patient(client: Client) -> list[dict[str, Any]]:
    return [resources.patient(client)]


def _episodes(client: Client) -> list[dict[str, Any]]:
    return [
        resources.episode_of_care(e)
        # Goals are not part of an EpisodeOfCare: left encrypted and unread, here and
        # wherever a row joins its episode in.
        for e in client.episodes.select_related("therapist")
        .defer(*unread(Episode))
        .order_by("start_date")
    ]


def _encounters(client: Client) -> list[dict[str, Any]]:
    rows = (
        Appointment.objects.filter(episode__client=client)
        .select_related("episode")
        .defer(*unread(Episode, "episode"))
    )
    return [resources.encounter(a) for a in rows.order_by("starts_at")]


def _administrations(client: Client) -> list[Administration]:
    # The instrument is prefetched, not joined: a join would decode its whole definition
    # (a large JSON document) once per administration; a prefetch reads each instrument
    # once and shares it (bench/bench_export.py).
    return list(
        Administration.objects.filter(client=client)
        .select_related("entered_by")
        .prefetch_related("instrument")
        .order_by("completed_at")
    )


def _questionnaires(client: Client) -> list[dict[str, Any]]:
    used = Administration.objects.filter(client=client).values("instrument_id").distinct()
    return [resources.questionnaire(i) for i in Instrument.objects.filter(pk__in=used)]


def _responses(client: Client) -> list[dict[str, Any]]:
    return [resources.questionnaire_response(a) for a in _administrations(client)]


def _observations(client: Client) -> list[dict[str, Any]]:
    return [obs for a in _administrations(client) for obs in resources.observations(a)]


def _progress_notes(client: Client) -> list[dict[str, Any]]:
    notes = (
        ProgressNote.objects.filter(episode__client=client, signed_at__isnull=False)
        .select_related("episode", "author")
        .defer(*unread(Episode, "episode"))
        .prefetch_related("addenda")
        .order_by("session_date")
    )
    return [resources.progress_note_document(n) for n in notes]


#: What leaves the practice, in Bundle order. Process notes are deliberately absent.
SECTIONS: tuple[tuple[str, Section], ...] = (
    ("Patient", _patient),
    ("EpisodeOfCare", _episodes),
    ("Encounter", _encounters),
    ("Questionnaire", _questionnaires),
    ("QuestionnaireResponse", _responses),
    ("Observation", _observations),
    ("DocumentReference", _progress_notes),
)


def collect(client: Client) -> list[dict[str, Any]]:
    """Every exported resource of ``client``, section by section."""
    return [resource for _, section in SECTIONS for resource in section(client)]
