"""Writing a client's complete record as one ZIP archive.

The archive holds, for a record gathered by :func:`reverie.lifecycle.record.gather`:

- ``README.txt`` — what the archive is, for whom, what it leaves out and why;
- ``record.html`` — the whole record for a person to read (no scripts, no external
  files: it opens offline in any browser and prints);
- ``fhir-bundle.json`` — an HL7 FHIR R4 ``collection`` Bundle of everything FHIR carries
  (Patient, EpisodeOfCare, Encounter, Questionnaire, QuestionnaireResponse, Observation,
  DocumentReference; Communication for secure messages), built by the same code as
  ``Patient/$everything`` and validated;
- ``scores.csv`` — every score of every questionnaire, one row per score;
- ``journal.txt`` — the client's journal (all of it in the client's copy, the shared
  entries in the practice's copy).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

from django.template.loader import render_to_string
from django.utils.html import format_html_join

from reverie.fhir import everything, resources
from reverie.lib import dates
from reverie.lifecycle.record import (
    PROCESS_NOTE_STATEMENT,
    THEME_STATEMENT,
    Audience,
    ClientRecord,
)
from reverie.measures.models import Administration
from reverie.measures.registry import definition_for
from reverie.messaging import exports as messaging_exports
from reverie.paperwork import exports as paperwork_exports

#: The members of every archive, in order.
MEMBERS = ("README.txt", "record.html", "fhir-bundle.json", "scores.csv", "journal.txt")

Progress = Callable[[str], None]

SCORE_COLUMNS = (
    "administration_id",
    "completed_at",
    "instrument",
    "instrument_name",
    "timepoint",
    "source",
    "score",
    "value",
    "band",
    "episode_id",
)


def fhir_bundle(record: ClientRecord) -> dict[str, Any]:
    """The FHIR R4 Bundle (type ``collection``) of the client's record, validated.

    Each resource is validated with its own R4B model (``resources.validated``, which
    remembers questionnaire-response items already found valid), then the Bundle's own
    elements (type, timestamp, link, each entry's ``fullUrl``) with the Bundle model. That
    is what validating the whole Bundle at once checks, entry by entry, at a third of the
    cost for a long record (bench/bench_export.py); the tests validate whole Bundles.
    """
    client = record.client
    entries = everything.collect(client) + [
        messaging_exports.communication(m, client) for m in record.messages
    ]
    for resource in entries:
        resources.validated(resource)
    bundle = resources.bundle(
        entries,
        kind="collection",
        self_link=f"{resources.base_url()}/Patient/{client.pk}/$everything",
    )
    shell = [{k: v for k, v in entry.items() if k != "resource"} for entry in bundle["entry"]]
    resources.validated({**bundle, "entry": shell})
    return bundle


def score_rows(administrations: list[Administration]) -> list[dict[str, Any]]:
    """One row per score: each administration's total, then each of its subscales."""
    rows: list[dict[str, Any]] = []
    for row in administrations:
        common = {
            "administration_id": row.pk,
            "completed_at": row.completed_at.isoformat(),
            "instrument": row.instrument.code,
            "instrument_name": row.instrument.name,
            "timepoint": row.timepoint,
            "source": row.source,
            "episode_id": row.episode_id or "",
        }
        rows.append({**common, "score": "total", "value": row.total, "band": row.band})
        subscales = row.result.get("subscales", {}) if isinstance(row.result, Mapping) else {}
        for key, value in subscales.items():
            rows.append({**common, "score": key, "value": value, "band": ""})
    return rows


def scores_csv(record: ClientRecord) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SCORE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(score_rows(record.administrations))
    return out.getvalue()


def journal_text(record: ClientRecord) -> str:
    lines = [
        f"Journal of {record.client.display_name}",
        f"This file holds {record.journal_scope}.",
        "",
    ]
    if not record.journal:
        lines.append("There are no entries.")
    for entry in record.journal:
        lines.append("=" * 72)
        heading = f"{dates.format_date(entry.entry_date)} — {entry.get_kind_display()}"
        if entry.title:
            heading += f": {entry.title}"
        lines.append(heading)
        facts = []
        if entry.mood:
            facts.append(f"mood: {entry.get_mood_display()}")
        if entry.tags:
            facts.append("tags: " + ", ".join(str(t) for t in entry.tags))
        facts.append(
            f"shared with clinicians on {entry.shared_at:%Y-%m-%d}"
            if entry.shared_at
            else "not shared"
        )
        lines.append("(" + "; ".join(facts) + ")")
        lines.append("")
        lines.append(entry.text)
        lines.append("")
    return "\n".join(lines) + "\n"


def _answers(row: Administration) -> list[tuple[str, str]]:
    """(question, chosen answer) pairs of one questionnaire, in the instrument's order."""
    definition = definition_for(row.instrument)
    pairs = []
    for item in definition.items:
        value = row.answers.get(item.id)
        option = item.option_by_value.get(value) if value is not None else None
        pairs.append((item.text, option.display if option else "not answered"))
    return pairs


def record_html(record: ClientRecord) -> str:
    questionnaires = [
        {
            "row": row,
            # Rendered here rather than in a template loop: 300 questionnaires of nine
            # answers are most of the page, and format_html_join is several times faster.
            "answer_rows": format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", _answers(row)),
            "subscales": sorted(
                (row.result.get("subscales", {}) if isinstance(row.result, Mapping) else {}).items()
            ),
        }
        for row in record.administrations
    ]
    notes_by_appointment = {n.appointment_id: n for n in record.progress_notes}
    return render_to_string(
        "lifecycle/record.html",
        {
            "r": record,
            "client": record.client,
            "questionnaires": questionnaires,
            "notes_by_appointment": notes_by_appointment,
            "process_note_statement": PROCESS_NOTE_STATEMENT,
            "theme_statement": THEME_STATEMENT,
        },
    )


def readme(record: ClientRecord) -> str:
    client = record.client
    who = {
        "client": "the client's own copy (their right of access)",
        "clinician": "the practice's copy, asked for by a treating clinician",
        "admin": "the practice's copy, asked for by the practice administrator",
    }[record.audience.value]
    return (
        f"The complete record of {client.display_name} at {client.practice.name}\n"
        f"Made by Reverie on {dates.format_datetime(record.generated_at, zone=datetime.UTC)} UTC. "
        f"This is {who}.\n"
        + ("This is a synthetic demo record.\n" if client.is_synthetic else "")
        + "\n"
        "record.html       the whole record to read or print: episodes, sessions and\n"
        "                  attendance, progress notes and addenda, session reflections,\n"
        "                  relationship episodes, recurring themes the therapist accepted,\n"
        "                  journal, secure messages, alerts, the consultation request,\n"
        "                  questionnaires with answers and scores\n"
        "fhir-bundle.json  the same record as far as HL7 FHIR R4 carries it, for another\n"
        "                  system to import (a Bundle of type collection)\n"
        "scores.csv        every questionnaire score, one row per score\n"
        f"journal.txt       {record.journal_scope}\n"
        "paperwork/        signed intake forms as signed PDF copies, and uploaded\n"
        "                  documents (referral letters, reports) as they were uploaded\n"
        "\n"
        f"{PROCESS_NOTE_STATEMENT}\n"
        "\n"
        f"{THEME_STATEMENT}\n"
        "\n"
        "Progress notes that were not yet signed are drafts and not part of the record;\n"
        "they are not included. This archive contains health information: keep it safe.\n"
    )


def write_zip(record: ClientRecord, target: IO[bytes], progress: Progress | None = None) -> None:
    """Write the archive of ``record`` to ``target`` (a file opened for binary writing).
    ``progress`` is told the name of each member before it is made."""
    makers: dict[str, Callable[[], str]] = {
        "README.txt": lambda: readme(record),
        "record.html": lambda: record_html(record),
        "fhir-bundle.json": lambda: json.dumps(fhir_bundle(record), indent=1, ensure_ascii=False),
        "scores.csv": lambda: scores_csv(record),
        "journal.txt": lambda: journal_text(record),
    }
    # Made in the worker, outside any request: write dates as the practice reads them.
    with (
        dates.using_locale(record.client.practice.date_locale),
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for name in MEMBERS:
            if progress is not None:
                progress(name)
            archive.writestr(name, makers[name]().encode("utf-8"))
        # Signed intake forms (as their signed PDFs) and uploaded documents, byte for byte.
        files = paperwork_exports.client_files(
            record.client, include_history=record.audience is not Audience.ADMIN
        )
        for item in files:
            archive.writestr(f"paperwork/{item.name}", item.data)


def zip_bytes(record: ClientRecord) -> bytes:
    buffer = io.BytesIO()
    write_zip(record, buffer)
    return buffer.getvalue()
