"""Reverie's records as HL7 FHIR R4 resources.

Every builder returns a JSON-ready dict and every resource Reverie sends is checked with
the ``fhir.resources`` R4B models (:func:`validated`) before it leaves: R4B keeps R4's
Patient, Questionnaire, QuestionnaireResponse, Observation, EpisodeOfCare, Encounter,
DocumentReference, Bundle, OperationOutcome and CapabilityStatement.

Mappings (documented in docs/fhir.md):

- ``Patient/{client id}``; ``QuestionnaireResponse/{administration id}``;
  ``Observation/{administration id}-total`` and ``-{subscale id}``: observations are derived
  from the stored administration, so they can never disagree with it;
  ``Questionnaire/{instrument code}`` with canonical ``{base}/Questionnaire/{code}``.
- The total score observation carries the instrument's LOINC total code (PHQ-9 44261-6,
  GAD-7 70274-6), ``valueInteger``, category ``survey`` and ``derivedFrom`` the response.
"""

from __future__ import annotations

import base64
import datetime
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from django.conf import settings
from pydantic import ValidationError

from reverie.care.models import Appointment, Attendance, Client, Episode, Modality, ProgressNote
from reverie.measures.definitions import InstrumentDefinition, Number
from reverie.measures.fhir_questionnaire import TOTAL_SCORE_LINK_ID, definition_to_questionnaire
from reverie.measures.models import Administration, Instrument
from reverie.measures.registry import definition_for

LOINC: Final = "http://loinc.org"
SURVEY: Final = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
#: Codes for scores that have no LOINC code (imported instruments, unnamed subscales).
LOCAL_SCORE_SYSTEM: Final = "http://reverie.local/fhir/CodeSystem/score"
UCUM: Final = "http://unitsofmeasure.org"
FHIR_VERSION: Final = "4.0.1"
CONTENT_TYPE: Final = "application/fhir+json; charset=utf-8"


class InvalidResource(RuntimeError):
    """A resource Reverie built does not validate: a bug, never the caller's fault."""


def _models() -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement
    from fhir.resources.R4B.communication import Communication
    from fhir.resources.R4B.documentreference import DocumentReference
    from fhir.resources.R4B.encounter import Encounter
    from fhir.resources.R4B.episodeofcare import EpisodeOfCare
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.operationoutcome import OperationOutcome
    from fhir.resources.R4B.patient import Patient
    from fhir.resources.R4B.questionnaire import Questionnaire
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    return {
        m.__name__: m
        for m in (
            Bundle,
            CapabilityStatement,
            Communication,
            DocumentReference,
            Encounter,
            EpisodeOfCare,
            Observation,
            OperationOutcome,
            Patient,
            Questionnaire,
            QuestionnaireResponse,
        )
    }


_MODELS: dict[str, Any] = {}

#: Repeated elements checked entry by entry with their own R4B model, remembering entries
#: already found valid. A QuestionnaireResponse's items come from a short list (each
#: question with each of its options, and the total), yet validating them again on every
#: submission was a fifth of the API's CPU (bench/bench_fhir_submissions.py).
_ENTRY_MODELS: Final = {"QuestionnaireResponse": ("item", "QuestionnaireResponseItem")}
_VALID_ENTRIES: OrderedDict[str, None] = OrderedDict()
_VALID_ENTRIES_MAX: Final = 4096
#: Longer entries are validated every time, so the memory the cache holds stays bounded
#: (4096 keys of at most 4096 characters) whatever a caller sends.
_REMEMBERED_KEY_MAX: Final = 4096
_VALID_ENTRIES_LOCK = threading.Lock()


#: Elements of a resource that differ from one response to the next. Each is checked here
#: on its own (``identifier`` with its R4B model, the others against a pattern every value
#: of which their R4B type accepts) and replaced by a fixed stand-in before the rest of the
#: resource, the shell, is validated; the shell is then the same for every response to one
#: questionnaire and is validated once, like a repeated item. With the ids, times and
#: identifier in it, every shell was new, and validating it was a tenth of a submission's
#: CPU (bench/bench_fhir_cpu.py, 2026-12-06). A value that does not match its pattern is
#: left in place, so the model judges it as before.
_INSTANT_SHAPE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_STAND_IN_TIME: Final = "2000-01-01T00:00:00Z"


def _is_instant(value: Any) -> bool:
    """A UTC time to the second as :func:`instant` writes it, and a time that exists
    (the R4B model refuses 2026-02-30 or 24:00:00, which the pattern alone allows)."""
    if not isinstance(value, str) or not _INSTANT_SHAPE.fullmatch(value):
        return False
    try:
        # The shape is fixed above, so this only checks the calendar and the clock, as
        # strptime did, without strptime's regular expressions and locale.
        datetime.datetime.fromisoformat(value[:-1])
    except ValueError:
        return False
    return True


def _is_digits(value: Any) -> bool:
    # str(pk): a FHIR id ([A-Za-z0-9\-.]{1,64}) the R4B model accepts.
    return isinstance(value, str) and 0 < len(value) <= 18 and value.isascii() and value.isdigit()


def _is_patient_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("Patient/") and _is_digits(value[8:])


_STAND_INS: Final[dict[str, tuple[tuple[tuple[str, ...], Any, str], ...]]] = {
    "QuestionnaireResponse": (
        (("id",), _is_digits, "1"),
        (("meta", "lastUpdated"), _is_instant, _STAND_IN_TIME),
        (("authored",), _is_instant, _STAND_IN_TIME),
        (("subject", "reference"), _is_patient_reference, "Patient/1"),
        (("source", "reference"), _is_patient_reference, "Patient/1"),
    )
}
#: Elements validated on their own with their R4B model (remembered like an entry, so an
#: identifier checked on the way in is not validated again in the answer).
_OWN_MODELS: Final = {"QuestionnaireResponse": (("identifier", "Identifier"),)}


def _models_by_name() -> dict[str, Any]:
    if not _MODELS:
        from fhir.resources.R4B.identifier import Identifier
        from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponseItem

        _MODELS.update(_models())
        _MODELS["QuestionnaireResponseItem"] = QuestionnaireResponseItem
        _MODELS["Identifier"] = Identifier
    return _MODELS


def _shell(kind: str, resource: dict[str, Any], field: str) -> dict[str, Any] | None:
    """``resource`` without ``field`` and with its per-response elements checked and
    replaced by stand-ins, or ``None`` when it has none (then it is validated whole)."""
    stand_ins = _STAND_INS.get(kind)
    if not stand_ins:
        return None
    shell = {k: v for k, v in resource.items() if k != field}
    for name, _ in _OWN_MODELS.get(kind, ()):
        value = shell.get(name)
        if isinstance(value, dict):
            shell[name] = {"value": "1"}  # validated on its own; a valid stand-in here
    for path, check, stand_in in stand_ins:
        parent = shell
        for step in path[:-1]:
            child = parent.get(step)
            if not isinstance(child, dict):
                break
            parent[step] = child = dict(child)  # a copy: the resource itself is not changed
            parent = child
        else:
            if check(parent.get(path[-1])):
                parent[path[-1]] = stand_in
    return shell


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Check ``resource`` against its R4B model and return it unchanged.

    Every element is validated by fhir.resources. For the repeated elements named in
    ``_ENTRY_MODELS`` the resource is validated without them and each entry with the
    entry's own model, which is what the resource's model does for each entry of that
    list; an entry identical to one already found valid (the same value) is not validated
    again. The rest of such a resource is remembered the same way once its per-response
    elements are checked and stood in for (``_STAND_INS``, ``_OWN_MODELS``).
    ``tests/fhir/test_resources.py`` checks that this accepts and refuses exactly what
    validating the whole resource at once does.
    """
    models = _models_by_name()
    kind = resource.get("resourceType", "")
    model = models.get(kind)
    if model is None:
        raise InvalidResource(f"no R4B model for {kind!r}")
    field, entry_model = _ENTRY_MODELS.get(kind, ("", ""))
    entries = resource.get(field) if field else None
    try:
        if isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries):
            shell = _shell(kind, resource, field)
            if shell is None:
                model.model_validate({k: v for k, v in resource.items() if k != field})
            else:
                for name, own_model in _OWN_MODELS.get(kind, ()):
                    value = resource.get(name)
                    if isinstance(value, dict):
                        # A submission's identifier was validated with the same model
                        # when it came in (identifier_problem), and is found here.
                        _validate_entry(models[own_model], value)
                _validate_entry(model, shell)
            for entry in entries:
                _validate_entry(models[entry_model], entry)
        else:
            model.model_validate(resource)
    except ValidationError as error:
        raise InvalidResource(f"{kind} does not validate: {error}") from error
    return resource


def _validate_entry(model: Any, entry: dict[str, Any]) -> None:
    # repr() names a parsed JSON value exactly (strings quoted and escaped, 1, 1.0 and True
    # told apart) at half the cost of a sorted JSON encoding; an entry with its keys in
    # another order is merely validated again.
    key = f"{model.__name__}:{entry!r}"
    with _VALID_ENTRIES_LOCK:
        if key in _VALID_ENTRIES:
            _VALID_ENTRIES.move_to_end(key)
            return
    model.model_validate(entry)  # raises ValidationError; nothing is remembered then
    if len(key) > _REMEMBERED_KEY_MAX:
        return  # a submission's identifier can be long: valid, but not kept in memory
    with _VALID_ENTRIES_LOCK:
        _VALID_ENTRIES[key] = None
        if len(_VALID_ENTRIES) > _VALID_ENTRIES_MAX:
            _VALID_ENTRIES.popitem(last=False)


# An absolute URI (RFC 3986 §4.3: a scheme, a colon, then the rest) without whitespace,
# which FHIR's uri type excludes (R4 §2.24.0.1, uri: regex ``\S*``). Identifier.system
# "establishes the namespace for the value" (R4 §2.24.0.12), so a relative reference, an
# empty string or a name with spaces cannot be one. The R4B model accepts all three.
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


def identifier_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid R4B Identifier, or ``None`` when it is.

    A submission's ``identifier`` is stored and sent back in every later read, so it is
    checked against the R4B model before anything is stored: a bad one must be refused
    with a 400, not discovered when the stored resource fails validation on the way out.
    """
    if not isinstance(value, dict):
        return "identifier must be an Identifier object"
    try:
        # Remembered when valid, so validating the 201 answer does not do it again.
        _validate_entry(_models_by_name()["Identifier"], value)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'identifier'}: {e['msg']}"
            for e in error.errors()
        )
        return f"identifier is not a valid Identifier ({details})"
    system = value.get("system")
    if system is not None and not (isinstance(system, str) and _ABSOLUTE_URI.fullmatch(system)):
        return "identifier.system must be an absolute URI without spaces, such as urn:uuid:…"
    return None


def base_url() -> str:
    return settings.BASE_URL + "/fhir"


def instant(moment: datetime.datetime) -> str:
    if moment.tzinfo is not datetime.UTC:  # rows come back in UTC already
        moment = moment.astimezone(datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# Choice labels as ``get_FOO_display()`` gives them (the stored value when it is not a
# choice), read from a dict: the builders also take the plain rows of the bulk export.
_MODALITY_LABEL: Final = dict(Modality.choices)
_ATTENDANCE_LABEL: Final = dict(Attendance.choices)


def questionnaire_url(instrument: Instrument) -> str:
    return f"{base_url()}/Questionnaire/{instrument.code}"


# --- Questionnaire --------------------------------------------------------------------------


def questionnaire(instrument: Instrument) -> dict[str, Any]:
    """The instrument as an SDC-style Questionnaire (validated by the exporter)."""
    resource = definition_to_questionnaire(definition_for(instrument), base_url=base_url())
    resource["meta"] = {"lastUpdated": instant(instrument.created_at)}
    return resource


# --- Patient --------------------------------------------------------------------------------


def client_identifier_system() -> str:
    return f"{base_url()}/sid/client"


def patient(client: Client) -> dict[str, Any]:
    names: list[dict[str, Any]] = [
        {"use": "official", "family": client.family_name, "given": [client.given_name]}
    ]
    if client.preferred_name and client.preferred_name != client.given_name:
        names.append(
            {"use": "usual", "family": client.family_name, "given": [client.preferred_name]}
        )
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(client.pk),
        "identifier": [{"system": client_identifier_system(), "value": str(client.pk)}],
        "active": True,
        "name": names,
    }
    telecom = []
    if client.email:
        telecom.append({"system": "email", "value": client.email})
    if client.phone:
        telecom.append({"system": "phone", "value": client.phone})
    if telecom:
        resource["telecom"] = telecom
    if client.date_of_birth:
        resource["birthDate"] = client.date_of_birth.isoformat()
    return resource


# --- QuestionnaireResponse and Observations -------------------------------------------------


def questionnaire_response(row: Administration) -> dict[str, Any]:
    """A stored administration as the QuestionnaireResponse it is (or was sent as)."""
    definition = definition_for(row.instrument)
    items: list[dict[str, Any]] = []
    for item in definition.items:
        value = row.answers.get(item.id)
        entry: dict[str, Any] = {"linkId": item.id, "text": item.text}
        if value is not None:
            option = item.option_by_value[value]
            coding: dict[str, Any] = {"code": option.code, "display": option.display}
            if option.system:
                coding = {"system": option.system, **coding}
            entry["answer"] = [{"valueCoding": coding}]
        items.append(entry)
    items.append(
        {
            "linkId": TOTAL_SCORE_LINK_ID,
            "text": f"{definition.short_name} total score",
            "answer": [{"valueInteger": row.total}],
        }
    )
    version = row.instrument_version or definition.version
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(row.pk),
        "meta": {"lastUpdated": instant(row.received_at)},
        "questionnaire": f"{questionnaire_url(row.instrument)}|{version}",
        "status": "completed",
        "subject": {"reference": f"Patient/{row.client_id}"},
        "authored": instant(row.completed_at),
        "item": items,
    }
    if row.identifier:
        resource["identifier"] = dict(row.identifier)
    # ``source`` answered the questions; ``author`` recorded the answers.
    resource["source"] = {"reference": f"Patient/{row.client_id}"}
    if row.entered_by is not None:
        resource["author"] = {"display": f"{row.entered_by.display_name} (from a paper form)"}
    elif row.source in ("portal", "link"):
        resource["author"] = {"reference": f"Patient/{row.client_id}"}
    return resource


def _score_value(value: Number) -> dict[str, Any]:
    if isinstance(value, int) or float(value).is_integer():
        return {"valueInteger": int(value)}
    return {
        "valueQuantity": {
            "value": round(float(value), 4),
            "unit": "score",
            "system": UCUM,
            "code": "{score}",
        }
    }


def _coding(system: str, code: str, display: str | None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def score_codes(definition: InstrumentDefinition) -> dict[str, dict[str, Any]]:
    """Code of each score of an instrument: ``total`` and every subscale id."""
    codes: dict[str, dict[str, Any]] = {}
    total = definition.total_code
    codes["total"] = (
        _coding(total.system, total.code, total.display)
        if total is not None
        else _coding(LOCAL_SCORE_SYSTEM, f"{definition.id}-total", f"{definition.short_name} total")
    )
    for sub in definition.subscales:
        code = sub.codes[0] if sub.codes else None
        codes[sub.id] = (
            _coding(code.system, code.code, code.display)
            if code is not None
            else _coding(LOCAL_SCORE_SYSTEM, f"{definition.id}-{sub.id}", sub.name)
        )
    return codes


def observations(row: Administration) -> list[dict[str, Any]]:
    """The score observations of one administration: the total, then each subscale."""
    definition = definition_for(row.instrument)
    codes = score_codes(definition)
    common = {
        "resourceType": "Observation",
        "status": "final",
        "category": [SURVEY],
        "subject": {"reference": f"Patient/{row.client_id}"},
        "effectiveDateTime": instant(row.completed_at),
        "issued": instant(row.received_at),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{row.pk}"}],
    }
    total: dict[str, Any] = {
        **common,
        "id": f"{row.pk}-total",
        "code": {"coding": [codes["total"]], "text": f"{definition.short_name} total score"},
        "valueInteger": row.total,
    }
    if row.band:
        total["interpretation"] = [{"text": row.band}]
    out = [total]
    subscores = row.result.get("subscales", {}) if isinstance(row.result, Mapping) else {}
    for sub in definition.subscales:
        if sub.id not in subscores:
            continue
        out.append(
            {
                **common,
                "id": f"{row.pk}-{sub.id}",
                "code": {"coding": [codes[sub.id]], "text": sub.name},
                **_score_value(subscores[sub.id]),
            }
        )
    return out


# --- the rest of the record for $everything -------------------------------------------------

_EPISODE_STATUS = {"intake": "planned", "active": "active", "paused": "onhold", "ended": "finished"}
_ENCOUNTER_STATUS = {
    "scheduled": "planned",
    "attended": "finished",
    "cancelled": "cancelled",
    "late_cancel": "cancelled",
    "no_show": "cancelled",
}


def episode_of_care(episode: Episode) -> dict[str, Any]:
    period: dict[str, str] = {"start": episode.start_date.isoformat()}
    if episode.end_date:
        period["end"] = episode.end_date.isoformat()
    return {
        "resourceType": "EpisodeOfCare",
        "id": str(episode.pk),
        "status": _EPISODE_STATUS.get(episode.status, "active"),
        "type": [{"text": _MODALITY_LABEL.get(episode.modality, episode.modality)}],
        "patient": {"reference": f"Patient/{episode.client_id}"},
        "period": period,
        "careManager": {"display": episode.therapist.display_name},
    }


def encounter(appointment: Appointment) -> dict[str, Any]:
    start = appointment.starts_at
    end = start + datetime.timedelta(minutes=appointment.duration_minutes)
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(appointment.pk),
        "status": _ENCOUNTER_STATUS.get(appointment.attendance, "unknown"),
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [
            {
                "text": "Psychotherapy session "
                f"({_ATTENDANCE_LABEL.get(appointment.attendance, appointment.attendance).lower()})"
            }
        ],
        "subject": {"reference": f"Patient/{appointment.episode.client_id}"},
        "episodeOfCare": [{"reference": f"EpisodeOfCare/{appointment.episode_id}"}],
        "period": {"start": instant(start), "end": instant(end)},
    }
    return resource


def progress_note_document(note: ProgressNote) -> dict[str, Any]:
    """A signed progress note (part of the clinical record) as a DocumentReference. Process
    notes are a different model and are never passed here."""
    sections = [
        f"Session date: {note.session_date.isoformat()}",
        f"Attendance: {note.get_attendance_display()}",
        f"Duration: {note.duration_minutes} minutes",
    ]
    for label, text in (
        ("Risk assessment", note.risk_assessment),
        ("Interventions", note.interventions),
        ("Session", note.content),
        ("Plan", note.plan),
    ):
        if text:
            sections.append(f"{label}:\n{text}")
    for addendum in note.addenda.all():
        sections.append(f"Addendum ({addendum.created_at:%Y-%m-%d}):\n{addendum.text}")
    body = "\n\n".join(sections).encode("utf-8")
    signed = note.signed_at or note.updated_at
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": f"progress-note-{note.pk}",
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [_coding(LOINC, "11506-3", "Progress note")]},
        "subject": {"reference": f"Patient/{note.episode.client_id}"},
        "date": instant(signed),
        "author": [{"display": note.author.display_name}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(body).decode("ascii"),
                    "title": f"Progress note {note.session_date.isoformat()}",
                }
            }
        ],
        "context": {"encounter": [{"reference": f"Encounter/{note.appointment_id}"}]}
        if note.appointment_id
        else {"period": {"start": note.session_date.isoformat()}},
    }
    return resource


# --- errors and metadata --------------------------------------------------------------------


def operation_outcome(
    issues: list[tuple[str, str, str | None]], *, severity: str = "error"
) -> dict[str, Any]:
    """``issues`` is a list of (code, diagnostics, FHIRPath expression or None)."""
    out = []
    for code, diagnostics, expression in issues:
        issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
        if expression:
            issue["expression"] = [expression]
        out.append(issue)
    return validated({"resourceType": "OperationOutcome", "issue": out})


def bundle(
    entries: list[dict[str, Any]],
    *,
    kind: str = "searchset",
    self_link: str,
    include: set[str] | None = None,
    total: int | None = None,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Bundle of ``entries``; ``include`` names resource types that are not search matches.

    A paged search passes ``total`` (the matches on every page) and ``links`` (``first``,
    ``next``, ``previous`` …); otherwise the total is the matches in ``entries``.
    """
    include = include or set()
    items = []
    for resource in entries:
        entry: dict[str, Any] = {
            "fullUrl": f"{base_url()}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
        }
        if kind == "searchset":
            mode = "include" if resource["resourceType"] in include else "match"
            entry["search"] = {"mode": mode}
        items.append(entry)
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": kind,
        "timestamp": instant(datetime.datetime.now(datetime.UTC)),
        "link": [
            {"relation": "self", "url": self_link},
            *({"relation": rel, "url": url} for rel, url in (links or {}).items()),
        ],
        "entry": items,
    }
    if kind == "searchset":
        body["total"] = (
            total if total is not None else sum(1 for e in items if e["search"]["mode"] == "match")
        )
    return body
