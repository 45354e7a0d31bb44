"""FHIR Bulk Data ``$export`` routes under ``/fhir/`` (see ``lifecycle/bulk.py``).

Kick-off (``GET`` with ``Prefer: respond-async``) answers 202 with ``Content-Location``
naming the status URL. The status URL answers 202 with ``X-Progress`` while the worker
writes, 200 with the manifest when done, 410 once the files have expired, and takes
``DELETE`` to cancel. Each file is served, as ``application/fhir+ndjson``, to the person
who asked, with their bearer token. Everyone else gets 404 for somebody else's export.
Errors are OperationOutcomes, as on every FHIR route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.http import preferences
from reverie.fhir import resources
from reverie.fhir.views import _methods, fhir_response, fhir_view, outcome
from reverie.lifecycle import bulk
from reverie.lifecycle.models import BulkExport, BulkLevel, ExportStatus

ANYONE = (Role.ADMIN, Role.THERAPIST, Role.CLIENT)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionError("fhir_view authenticates every caller")
    return user


def _ctx(request: HttpRequest) -> trail.Context:
    return trail.Context(user=_user(request), ip=trail.client_ip(request))


def _absolute(path: str) -> str:
    from django.conf import settings

    return settings.BASE_URL + path


def _kick_off(request: HttpRequest, level: str, group: User | None = None) -> HttpResponse:
    if "respond-async" not in preferences(request):
        return outcome(400, "required", "Send 'Prefer: respond-async': $export is asynchronous.")
    user = _user(request)
    try:
        params = bulk.parse_parameters(user, request.GET)
    except bulk.ExportRefused as refused:
        return outcome(refused.status, refused.code, str(refused), refused.expression)
    export = bulk.kick_off(
        _ctx(request),
        level=level,
        params=params,
        request_url=_absolute(request.get_full_path()),
        group=group,
    )
    response = HttpResponse(status=202)
    response["Content-Location"] = _absolute(reverse("bulk:status", args=[export.pk]))
    return response


@_methods("GET")
@fhir_view(Role.ADMIN)
def system_export(request: HttpRequest) -> HttpResponse:
    """Every client of the practice, as the admin may see them (bulk.allowed_types)."""
    return _kick_off(request, BulkLevel.SYSTEM)


@_methods("GET")
@fhir_view(*ANYONE)
def patient_export(request: HttpRequest) -> HttpResponse:
    """Every patient the caller may see."""
    return _kick_off(request, BulkLevel.PATIENT)


@_methods("GET")
@fhir_view(Role.ADMIN, Role.THERAPIST)
def group_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Group/{therapist id}: that therapist's caseload (their own, or any in the admin's
    practice); anyone else's Group is not known (404)."""
    therapist = bulk.group_therapist(_user(request), pk)
    if therapist is None:
        return outcome(404, "not-found", f"Group/{pk} is not known.")
    return _kick_off(request, BulkLevel.GROUP, group=therapist)


def _own(request: HttpRequest, pk: int) -> BulkExport | None:
    return BulkExport.objects.filter(pk=pk, requested_by=_user(request)).first()


def _file_url(export: BulkExport) -> Callable[[str], str]:
    def url(kind: str) -> str:
        return _absolute(reverse("bulk:file", args=[export.pk, kind]))

    return url


def _expired(export: BulkExport) -> bool:
    return export.status == ExportStatus.EXPIRED or (
        export.status == ExportStatus.DONE
        and export.expires_at is not None
        and export.expires_at <= timezone.now()
    )


@_methods("GET", "DELETE")
@fhir_view(*ANYONE)
def status(request: HttpRequest, pk: int) -> HttpResponse:
    export = _own(request, pk)
    if export is None or export.status == ExportStatus.CANCELLED:
        return outcome(404, "not-found", f"Bulk export {pk} is not known.")
    if request.method == "DELETE":
        bulk.cancel(_ctx(request), export)
        return fhir_response(
            resources.operation_outcome(
                [("informational", f"Bulk export {pk} was cancelled.", None)],
                severity="information",
            ),
            202,
        )
    if _expired(export):
        return outcome(410, "expired", "The files of this export have expired and are deleted.")
    if export.status == ExportStatus.FAILED:
        return outcome(500, "exception", export.message or "The export failed.")
    if export.status != ExportStatus.DONE:
        response = HttpResponse(status=202)
        response["X-Progress"] = (
            f"{export.stage} ({export.progress_done} resources written)"
            if export.status == ExportStatus.RUNNING
            else "Waiting for the worker"
        )[:100]
        response["Retry-After"] = "5"
        return response
    response = fhir_response(bulk.manifest(export, _file_url(export)))
    response["Content-Type"] = "application/json"
    if export.expires_at is not None:
        response["Expires"] = export.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


@_methods("GET")
@fhir_view(*ANYONE)
def export_file(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    export = _own(request, pk)
    if export is None or export.status in (ExportStatus.CANCELLED,):
        return outcome(404, "not-found", "No such file.")
    if _expired(export):
        return outcome(410, "expired", "This file has expired and is deleted.")
    path = bulk.file_path(export, kind) if export.status == ExportStatus.DONE else None
    if path is None or not path.is_file():
        return outcome(404, "not-found", "No such file.")
    count = next((o["count"] for o in export.output if o["type"] == kind), 0)
    trail.record(
        _ctx(request),
        Action.EXPORT,
        export,
        detail={"view": "fhir.bulk_file", "type": kind, "count": count},
    )
    # Streamed from disk (a file may be gigabytes); the FHIR decorators are typed for
    # HttpResponse, which a streaming response is not a subclass of.
    return cast(HttpResponse, FileResponse(path.open("rb"), content_type=bulk.NDJSON_TYPE))
