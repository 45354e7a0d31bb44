"""FHIR Bulk Data ``$export`` (HL7 FHIR Bulk Data Access IG v2.0.0), prepared by the worker.

A kick-off (``lifecycle/bulk_views.py``) checks the parameters and writes a
:class:`~reverie.lifecycle.models.BulkExport`; the worker job ``lifecycle.build_bulk_exports``
claims it (``exports.claim_next``, the conditional UPDATE the record exports use) and writes
one NDJSON file per resource type into ``DATA_DIR/bulk/<random name>/`` (folder 0700, files
0600). Progress is reported every :data:`CHUNK` resources; a DELETE (cancel) or a stale
declaration turns the row from ``running``, and the next report stops the worker, which
removes what it wrote. Files expire after ``exports.LIFETIME`` like every other export.

Who gets what (docs/fhir.md, "Bulk export"), following ``care/access.py``:

- therapists and clients export the clients whose clinical record they may read
  (``clinical_clients``), every type;
- the practice admin sees the administrative record of every client but no clinical
  content, so an identified export by the admin carries Patient, EpisodeOfCare and
  Encounter only; with ``_deidentify=true`` it also carries the scores
  (QuestionnaireResponse, Observation), as the practice-wide figures reach admins
  de-identified;
- a de-identified export never carries DocumentReference (progress notes are free text).

The hot path builds each resource with the same builders the rest of the FHIR API uses
(``fhir/resources.py``), reads rows in chunks with ``iterator()`` and no per-row query, and
writes them with ``json.dumps``. It does not validate with ``fhir.resources`` (pydantic
costs more than everything else together); the tests parse and validate every line the
export writes, and the builders are validated on every other route.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import shutil
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import administrative_clients, clinical_clients
from reverie.care.models import Appointment, Client, Episode, ProgressNote
from reverie.fhir import resources
from reverie.lib.files import PRIVATE_FILE, make_private_dir
from reverie.lifecycle import exports
from reverie.lifecycle.models import BulkExport, BulkLevel, ExportStatus
from reverie.measures.models import Administration, Instrument
from reverie.vault.fields import unread

log = logging.getLogger("reverie.lifecycle.bulk")

#: Every type Reverie exports, in the order the files are written.
TYPES: Final = (
    "Patient",
    "EpisodeOfCare",
    "Encounter",
    "QuestionnaireResponse",
    "Observation",
    "DocumentReference",
)
ADMINISTRATIVE: Final = frozenset({"Patient", "EpisodeOfCare", "Encounter"})
#: Free text: never in a de-identified export.
FREE_TEXT: Final = frozenset({"DocumentReference"})
#: ``_outputFormat`` values meaning NDJSON (Bulk Data IG v2.0.0, "Query Parameters").
NDJSON_FORMATS: Final = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
NDJSON_TYPE: Final = "application/fhir+ndjson"
#: Rows read per query and resources between two progress reports.
CHUNK: Final = 2000
#: Dates of a de-identified client move by a whole number of days in [-MAX_SHIFT, MAX_SHIFT]
#: (never 0), the same for every date of that client, in every export.
MAX_SHIFT_DAYS: Final = 180


class ExportRefused(Exception):
    """A kick-off that cannot be accepted: (status, OperationOutcome issue code, reason)."""

    def __init__(self, status: int, code: str, reason: str, expression: str | None = None):
        super().__init__(reason)
        self.status = status
        self.code = code
        self.expression = expression


def allowed_types(user: User, deidentify: bool) -> tuple[str, ...]:
    if deidentify:
        return tuple(t for t in TYPES if t not in FREE_TEXT)
    if user.role == Role.ADMIN:
        return tuple(t for t in TYPES if t in ADMINISTRATIVE)
    return TYPES


def visible_clients(user: User, deidentify: bool) -> QuerySet[Client]:
    """The clients an export by ``user`` may carry (see the module's docstring)."""
    if user.role == Role.ADMIN:
        return administrative_clients(user)
    return clinical_clients(user)


def group_members(therapist: User) -> QuerySet[Client]:
    """A Group is a therapist's caseload: the clients they treat or were granted."""
    return clinical_clients(therapist)


def group_therapist(user: User, group_id: int) -> User | None:
    """The therapist whose caseload is Group ``group_id``, if ``user`` may export it: the
    therapist themselves, or the admin of their practice."""
    therapist = User.objects.filter(
        pk=group_id, role=Role.THERAPIST, practice_id=user.practice_id
    ).first()
    if therapist is None:
        return None
    if user.role == Role.ADMIN or user.pk == therapist.pk:
        return therapist
    return None


# --- the kick-off's parameters ---------------------------------------------------------------

_KNOWN_PARAMS: Final = frozenset({"_outputFormat", "_type", "_since", "_deidentify"})
#: Parameters of the IG this server does not implement: refused, never silently ignored.
_UNSUPPORTED: Final = frozenset(
    {"_elements", "patient", "includeAssociatedData", "_typeFilter", "organizeOutputBy"}
)
_INSTANT = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


@dataclass(frozen=True)
class Parameters:
    types: tuple[str, ...]
    since: datetime.datetime | None
    deidentify: bool


def parse_parameters(user: User, query: Any) -> Parameters:
    """``query`` is the request's QueryDict. Raises :class:`ExportRefused`."""
    for key in query:
        if key in _UNSUPPORTED:
            raise ExportRefused(400, "not-supported", f"{key} is not supported by this server.")
        if key not in _KNOWN_PARAMS:
            raise ExportRefused(400, "not-supported", f"Unknown $export parameter {key!r}.")
        if len(query.getlist(key)) > 1:
            raise ExportRefused(400, "structure", f"{key} may be given once.")
    fmt = query.get("_outputFormat")
    if fmt is not None and fmt not in NDJSON_FORMATS:
        raise ExportRefused(
            400,
            "not-supported",
            f"_outputFormat {fmt!r} is not supported; use application/fhir+ndjson.",
            "_outputFormat",
        )
    raw_deid = query.get("_deidentify", "false")
    if raw_deid not in ("true", "false"):
        raise ExportRefused(400, "value", "_deidentify is true or false.", "_deidentify")
    deidentify = raw_deid == "true"
    allowed = allowed_types(user, deidentify)
    types: tuple[str, ...] = allowed
    raw_types = query.get("_type")
    if raw_types is not None:
        wanted = [t.strip() for t in raw_types.split(",")]
        unknown = [t for t in wanted if t not in TYPES]
        if unknown or not wanted:
            raise ExportRefused(
                400,
                "not-supported",
                f"_type names resource types this server does not export: "
                f"{', '.join(unknown) or '(none)'}. Supported: {', '.join(TYPES)}.",
                "_type",
            )
        refused = [t for t in wanted if t not in allowed]
        if refused:
            raise ExportRefused(
                403,
                "forbidden",
                f"Not open to you{' de-identified' if deidentify else ''}: {', '.join(refused)}.",
                "_type",
            )
        types = tuple(t for t in TYPES if t in wanted)
    since = None
    raw_since = query.get("_since")
    if raw_since is not None:
        if not _INSTANT.fullmatch(raw_since):
            raise ExportRefused(
                400,
                "value",
                "_since is a FHIR instant with a time zone, e.g. 2026-01-01T00:00:00Z.",
                "_since",
            )
        try:
            since = datetime.datetime.fromisoformat(raw_since.replace("Z", "+00:00"))
        except ValueError:
            raise ExportRefused(400, "value", "_since is not a time that exists.") from None
        if since > timezone.now():
            raise ExportRefused(400, "value", "_since lies in the future.", "_since")
    return Parameters(types=types, since=since, deidentify=deidentify)


def kick_off(
    ctx: trail.Context,
    *,
    level: str,
    params: Parameters,
    request_url: str,
    group: User | None = None,
) -> BulkExport:
    """Queue an export; the caller has checked access to the level and the Group."""
    user = ctx.user
    if user is None:
        raise PermissionError("an export is asked for by a person")
    with transaction.atomic():
        export = BulkExport.objects.create(
            requested_by=user,
            level=level,
            group=group,
            types=list(params.types),
            since=params.since,
            deidentify=params.deidentify,
            request_url=request_url[:2000],
            stage="Waiting for the worker",
        )
        trail.record(
            ctx,
            Action.CREATE,
            export,
            detail={
                "level": level,
                "group": group.pk if group else None,
                "types": list(params.types),
                "deidentify": params.deidentify,
            },
        )
    result: BulkExport = export
    return result


def cancel(ctx: trail.Context, export: BulkExport) -> None:
    """Cancel (queued or running) or delete (done) the export; its files go at once."""
    with transaction.atomic():
        taken = BulkExport.objects.filter(
            pk=export.pk,
            status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING, ExportStatus.DONE),
        ).update(status=ExportStatus.CANCELLED, stage="Cancelled", finished_at=timezone.now())
        if not taken:
            return
        trail.record(ctx, Action.DELETE, export, detail={"status": "cancelled"})
    # A running worker sees the cancellation at its next report and removes its folder
    # too; removing it here as well frees the disk for a finished export at once.
    if export.file_name:
        exports.delete_files(BulkExport, export.file_name)


# --- de-identification -----------------------------------------------------------------------


class Deidentifier:
    """Pseudonyms and date shifts, stable for a given secret.

    The secret is derived from ``SECRET_KEY`` (never written anywhere an export goes), so
    the same client gets the same pseudonym and the same date shift in every file of an
    export and in every later export, and a researcher can follow a pseudonym over time
    without anyone outside the server being able to compute it back.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        base = secret or settings.SECRET_KEY.encode()
        self._ids = hmac.new(base, b"reverie.bulk.pseudonym", hashlib.sha256).digest()
        self._shift = hmac.new(base, b"reverie.bulk.dateshift", hashlib.sha256).digest()
        self._pseudonyms: dict[str, str] = {}
        self._shifts: dict[str, datetime.timedelta] = {}

    def pseudonym(self, kind: str, pk: str) -> str:
        key = f"{kind}/{pk}"
        found = self._pseudonyms.get(key)
        if found is None:
            # One-shot HMAC (the same value as hmac.new(...).hexdigest(), at a fraction of
            # the cost). It stays HMAC-SHA256: a faster keyed hash would change every
            # pseudonym, and they are promised stable across exports.
            found = hmac.digest(self._ids, key.encode(), "sha256").hex()[:32]
            # Only what is referred to again is remembered (clients, episodes): a cache of
            # every response and observation would hold millions of entries.
            if kind in _REFERRED:
                self._pseudonyms[key] = found
        return found

    def reference(self, ref: dict[str, Any]) -> dict[str, Any]:
        kind, _, pk = ref["reference"].partition("/")
        return {"reference": f"{kind}/{self.pseudonym(kind, pk)}"}

    def shift_of(self, patient_ref: str) -> datetime.timedelta:
        found = self._shifts.get(patient_ref)
        if found is None:
            digest = hmac.digest(self._shift, patient_ref.encode(), "sha256")
            days = int.from_bytes(digest[:4], "big") % (2 * MAX_SHIFT_DAYS) - MAX_SHIFT_DAYS
            found = datetime.timedelta(days=days or MAX_SHIFT_DAYS)
            self._shifts[patient_ref] = found
        return found

    @staticmethod
    def _date(value: str, shift: datetime.timedelta) -> str:
        if len(value) == 10:
            return (datetime.date.fromisoformat(value) + shift).isoformat()
        if len(value) == 20 and value[-1] == "Z":
            # What ``resources.instant`` writes (UTC, whole seconds): shifted by whole days
            # as a naive UTC time, which is the same and skips the time-zone round trip.
            moved = datetime.datetime.fromisoformat(value[:-1]) + shift
            return moved.isoformat() + "Z"
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return resources.instant(moment + shift)

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """A de-identified copy of one resource built by ``fhir/resources.py``."""
        kind = resource["resourceType"]
        if kind == "Patient":
            patient_ref = f"Patient/{resource['id']}"
        else:
            subject: dict[str, str] = resource.get("subject") or resource["patient"]
            patient_ref = subject["reference"]
        shift = self.shift_of(patient_ref)
        out: dict[str, Any] = {
            "resourceType": kind,
            "id": self.pseudonym(kind, resource["id"]),
            "meta": {"security": [_PSEUDED]},
        }
        if kind == "Patient":
            out["active"] = resource["active"]
            if "birthDate" in resource:
                out["birthDate"] = self._date(resource["birthDate"], shift)
        elif kind == "EpisodeOfCare":
            out["status"] = resource["status"]
            out["type"] = resource["type"]
            out["patient"] = self.reference(resource["patient"])
            out["period"] = {k: self._date(v, shift) for k, v in resource["period"].items()}
        elif kind == "Encounter":
            out["status"] = resource["status"]
            out["class"] = resource["class"]
            out["type"] = resource["type"]
            out["subject"] = self.reference(resource["subject"])
            out["episodeOfCare"] = [self.reference(r) for r in resource["episodeOfCare"]]
            out["period"] = {k: self._date(v, shift) for k, v in resource["period"].items()}
        elif kind == "QuestionnaireResponse":
            out["meta"]["lastUpdated"] = self._date(resource["meta"]["lastUpdated"], shift)
            out["questionnaire"] = resource["questionnaire"]
            out["status"] = resource["status"]
            out["subject"] = self.reference(resource["subject"])
            out["authored"] = self._date(resource["authored"], shift)
            # linkIds and coded answers only: no question wording, no staff names, no
            # identifier the client's app chose.
            out["item"] = [
                {"linkId": item["linkId"], "answer": item["answer"]}
                if "answer" in item
                else {"linkId": item["linkId"]}
                for item in resource["item"]
            ]
        elif kind == "Observation":
            out.update(
                {
                    "status": resource["status"],
                    "category": resource["category"],
                    "code": resource["code"],
                    "subject": self.reference(resource["subject"]),
                    "effectiveDateTime": self._date(resource["effectiveDateTime"], shift),
                    "issued": self._date(resource["issued"], shift),
                    "derivedFrom": [self.reference(r) for r in resource["derivedFrom"]],
                }
            )
            for key in ("valueInteger", "valueQuantity", "interpretation"):
                if key in resource:
                    out[key] = resource[key]
        else:
            raise ValueError(f"{kind} is never exported de-identified")
        return out


#: Types whose pseudonyms are looked up again (references), so worth remembering.
_REFERRED: Final = frozenset({"Patient", "EpisodeOfCare"})

#: HL7 security label "pseudonymized" (http://terminology.hl7.org/CodeSystem/v3-ObservationValue).
_PSEUDED: Final = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}


# --- reading the rows ------------------------------------------------------------------------


# Rows are read as tuples (``values_list``) and handed to the builders as named tuples with
# the attributes they read: building a model instance per row cost about a third of the
# export. The builders are the same ones the rest of the FHIR API uses, so the resources
# are the same (tests/lifecycle compares them with the builders' output from models). The
# rows are typed Any: they stand in for the models the builders are annotated with.


def _row_type(name: str, fields: str) -> Any:
    return namedtuple(name, fields)


_PatientRow = _row_type(
    "_PatientRow",
    "pk given_name family_name preferred_name email phone date_of_birth",
)
_EpisodeRow = _row_type(
    "_EpisodeRow", "pk client_id modality status start_date end_date therapist_id therapist"
)
_EncounterRow = _row_type(
    "_EncounterRow", "pk starts_at duration_minutes attendance episode_id client_id episode"
)
_EpisodeRef = _row_type("_EpisodeRef", "client_id")
_AdministrationRow = _row_type(
    "_AdministrationRow",
    "pk client_id instrument_id completed_at source answers total band instrument_version "
    "result identifier received_at entered_by_id instrument entered_by",
)


def _values(model_row: type[Any], rows: QuerySet[Any], extra: int) -> Iterator[tuple[Any, ...]]:
    """Tuples of the named tuple's leading fields (``pk`` is ``id``), in primary-key order;
    the last ``extra`` fields are the caller's to add."""
    names = ["id" if f == "pk" else f for f in model_row._fields[: len(model_row._fields) - extra]]
    return rows.order_by("pk").values_list(*names).iterator(chunk_size=CHUNK)


def _patients(clients: QuerySet[Client], since: datetime.datetime | None) -> Iterator[Any]:
    # A client row keeps no time of change, so ``_since`` cannot tell an edited record
    # from an old one: every Patient in scope is exported (a superset is allowed).
    rows = Client.objects.filter(pk__in=clients.values("pk"))
    make = _PatientRow._make
    for row in _values(_PatientRow, rows, 0):
        yield resources.patient(make(row))


def _episodes(clients: QuerySet[Client], since: datetime.datetime | None) -> Iterator[Any]:
    therapists = {u.pk: u for u in User.objects.filter(episodes__client__in=clients).distinct()}
    rows = Episode.objects.filter(client__in=clients.values("pk"))
    for row in _values(_EpisodeRow, rows, 1):
        yield resources.episode_of_care(_EpisodeRow(*row, therapists[row[-1]]))


def _encounters(clients: QuerySet[Client], since: datetime.datetime | None) -> Iterator[Any]:
    rows = Appointment.objects.filter(episode__client__in=clients.values("pk"))
    fields = ["id", "starts_at", "duration_minutes", "attendance", "episode_id", "episode__client"]
    refs: dict[int, Any] = {}
    for row in rows.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK):
        ref = refs.get(row[5])
        if ref is None:
            ref = refs[row[5]] = _EpisodeRef(row[5])
        yield resources.encounter(_EncounterRow(*row, ref))


def _administrations(clients: QuerySet[Client], since: datetime.datetime | None) -> Iterator[Any]:
    instruments = {i.pk: i for i in Instrument.objects.all()}
    rows = Administration.objects.filter(client__in=clients.values("pk"))
    if since is not None:
        rows = rows.filter(received_at__gt=since)
    # Staff who typed in paper forms: few, read once instead of joined on every row.
    staff = {
        u.pk: u
        for u in User.objects.filter(
            pk__in=rows.order_by().filter(entered_by__isnull=False).values("entered_by")
        )
    }
    for row in _values(_AdministrationRow, rows, 2):
        entered_by_id = row[-1]
        yield _AdministrationRow(
            *row,
            instruments[row[2]],
            staff[entered_by_id] if entered_by_id is not None else None,
        )


def _notes(clients: QuerySet[Client], since: datetime.datetime | None) -> Iterator[Any]:
    rows = (
        ProgressNote.objects.filter(
            episode__client__in=clients.values("pk"), signed_at__isnull=False
        )
        .select_related("episode", "author")
        .defer(*unread(Episode, "episode"))  # not in a DocumentReference
        .prefetch_related("addenda")
    )
    if since is not None:
        rows = rows.filter(Q(updated_at__gt=since) | Q(addenda__created_at__gt=since)).distinct()
    for note in rows.order_by("pk").iterator(chunk_size=CHUNK):
        yield resources.progress_note_document(note)


Reader = Callable[[QuerySet[Client], datetime.datetime | None], Iterator[Any]]
_READERS: Final[dict[str, Reader]] = {
    "Patient": _patients,
    "EpisodeOfCare": _episodes,
    "Encounter": _encounters,
    "DocumentReference": _notes,
}


# --- writing the files -----------------------------------------------------------------------


class Cancelled(Exception):
    """The export stopped running (cancelled, or declared stale) while being written."""


def scope_of(export: BulkExport) -> QuerySet[Client] | None:
    """The clients of ``export``, read again with the requester's access today."""
    requester: User = export.requested_by
    clients = visible_clients(requester, export.deidentify)
    if export.level == BulkLevel.GROUP:
        if export.group_id is None:
            return None
        therapist = group_therapist(requester, export.group_id)
        if therapist is None:
            return None
        clients = clients.filter(pk__in=group_members(therapist).values("pk"))
    return clients


# The encoder json.dumps would build for these arguments on every call, built once.
_encode: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _Writer:
    def __init__(self, export: BulkExport, folder: Path) -> None:
        self.export = export
        self.folder = folder
        self.files: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.written = 0

    def write(self, kind: str, resource: dict[str, Any]) -> None:
        handle = self.files.get(kind)
        if handle is None:
            fd = os.open(
                self.folder / f"{kind}.ndjson", os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE
            )
            handle = self.files[kind] = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20)
            self.counts[kind] = 0
        handle.write(_encode(resource) + "\n")
        self.counts[kind] += 1
        self.written += 1
        if self.written % CHUNK == 0 and not exports.report(
            self.export, self.written, f"Writing {kind} ({self.counts[kind]} so far)"
        ):
            raise Cancelled

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def write_files(export: BulkExport, clients: QuerySet[Client], folder: Path) -> dict[str, int]:
    """Write the export's NDJSON files into ``folder``; returns the count per type."""
    deid = Deidentifier() if export.deidentify else None
    since = export.since
    types = [t for t in TYPES if t in export.types]
    writer = _Writer(export, folder)

    def emit(kind: str, resource: dict[str, Any]) -> None:
        writer.write(kind, deid.apply(resource) if deid else resource)

    try:
        for kind in types:
            if kind in _READERS:
                # Patient, EpisodeOfCare and Encounter rows keep no time of change, so
                # ``_since`` exports all of them (a superset is allowed by the IG).
                for resource in _READERS[kind](clients, since):
                    emit(kind, resource)
            elif kind == "QuestionnaireResponse" or (
                kind == "Observation" and "QuestionnaireResponse" not in types
            ):
                # Responses and their observations come from the same rows: read once.
                with_obs = "Observation" in types
                with_qr = "QuestionnaireResponse" in types
                for row in _administrations(clients, since):
                    if with_qr:
                        emit("QuestionnaireResponse", resources.questionnaire_response(row))
                    if with_obs:
                        for observation in resources.observations(row):
                            emit("Observation", observation)
    finally:
        writer.close()
    return writer.counts


def build(export: BulkExport, writer_ctx: trail.Context) -> str:
    """Prepare one claimed export; returns its final status. Never raises."""
    requester: User = export.requested_by
    reader = trail.Context(user=requester, label="system:lifecycle.bulk")
    clients = scope_of(export)
    if clients is None:
        exports.fail(export, "You no longer have access to this Group.")
        return ExportStatus.FAILED
    root = exports.folder_of(BulkExport)
    make_private_dir(root)
    name = secrets.token_urlsafe(18)
    folder = root / name
    folder.mkdir(mode=0o700)
    # The folder's name is on the row while it is written, so the orphan sweep keeps it
    # and a cancellation can remove it.
    BulkExport.objects.filter(pk=export.pk).update(file_name=name)
    export.file_name = name
    try:
        patients = list(clients.order_by("pk").values_list("pk", flat=True))
        counts = write_files(export, clients, folder)
    except Cancelled:
        shutil.rmtree(folder, ignore_errors=True)
        return ExportStatus.CANCELLED
    except Exception:  # the reason goes to the log; the row says only that it failed
        log.exception("bulk export %s failed", export.pk)
        shutil.rmtree(folder, ignore_errors=True)
        exports.fail(export, "Preparing the export failed. The error is in the server log.")
        return ExportStatus.FAILED
    now = timezone.now()
    output: list[dict[str, Any]] = [
        {"type": t, "file": f"{t}.ndjson", "count": counts[t]} for t in TYPES if t in counts
    ]
    size = sum((folder / str(o["file"])).stat().st_size for o in output)
    with transaction.atomic():
        updated = BulkExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.DONE,
            output=output,
            size_bytes=size,
            progress_done=sum(counts.values()),
            progress_total=sum(counts.values()),
            stage="Ready",
            finished_at=now,
            expires_at=now + exports.LIFETIME,
        )
        if not updated:  # cancelled or declared stale meanwhile
            shutil.rmtree(folder, ignore_errors=True)
            return ExportStatus.FAILED
        # One entry names every client whose data left, by id (never by name).
        trail.record(
            reader,
            Action.EXPORT,
            object_type="care.client",
            detail={
                "bulk_export": export.pk,
                "level": export.level,
                "deidentified": export.deidentify,
                "counts": counts,
                "patients": patients,
            },
        )
        trail.record(
            writer_ctx,
            Action.UPDATE,
            export,
            detail={"status": ExportStatus.DONE.value, "bytes": size},
        )
    return ExportStatus.DONE


def process_queued(me: str, max_exports: int = 1) -> list[int]:
    """The worker job's body: fail silent exports, then prepare up to ``max_exports``."""
    exports.fail_stale()
    done: list[int] = []
    for _ in range(max_exports):
        export = exports.claim_next(me, BulkExport)
        if export is None:
            break
        build(export, trail.system("lifecycle.bulk"))
        done.append(export.pk)
    return done


def file_path(export: BulkExport, kind: str) -> Path | None:
    if kind not in export.types or not export.file_name:
        return None
    if not any(o["type"] == kind for o in export.output):
        return None
    return exports.folder_of(BulkExport) / export.file_name / f"{kind}.ndjson"


def manifest(export: BulkExport, file_url: Callable[[str], str]) -> dict[str, Any]:
    """The completion manifest (Bulk Data IG v2.0.0, "Response - Complete Status")."""
    started = export.started_at or export.created_at
    return {
        "transactionTime": resources.instant(started),
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": o["type"], "url": file_url(o["type"]), "count": o["count"]}
            for o in export.output
        ],
        "error": [],
        "extension": {
            "https://reverie.local/fhir/bulk/deidentified": export.deidentify,
            "https://reverie.local/fhir/bulk/expires": resources.instant(export.expires_at)
            if export.expires_at
            else None,
        },
    }
