"""A client's complete record as one download: for the client in the portal, for a
therapist with clinical access and for the practice admin on the client's page.

Asking prepares the archive (at once for a small record, in the worker for a large one)
and leads to its status page, which shows the progress and then a download link that
works for 24 hours, for the person who asked only."""

from __future__ import annotations

from typing import cast

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.lifecycle import exports
from reverie.lifecycle.access import exportable_clients
from reverie.lifecycle.models import RecordExport

ANYONE = (Role.ADMIN, Role.THERAPIST, Role.CLIENT)


def _start(request: HttpRequest, client: Client) -> HttpResponse:
    ctx = trail.context(request)
    export = exports.request_export(ctx, client)
    exports.prepare_now_if_small(ctx, export)
    return redirect("lifecycle:export", pk=export.pk)


@require_POST
@role_required(Role.THERAPIST, Role.ADMIN)
def client_export(request: HttpRequest, pk: int) -> HttpResponse:
    client = exportable_clients(signed_in_user(request)).filter(pk=pk).first()
    if client is None:
        raise Http404("No such client")
    return _start(request, client)


@require_POST
@role_required(Role.CLIENT)
def my_export(request: HttpRequest) -> HttpResponse:
    client = Client.objects.filter(user=signed_in_user(request)).first()
    if client is None:
        raise Http404("There is no record for this account.")
    return _start(request, client)


def _own_export(request: HttpRequest, pk: int) -> RecordExport:
    """The export, if the signed-in person asked for it; 404 for anyone else."""
    export = (
        RecordExport.objects.filter(pk=pk, requested_by=signed_in_user(request))
        .select_related("client")
        .first()
    )
    if export is None:
        raise Http404("No such export")
    return export


@require_GET
@role_required(*ANYONE)
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    export = _own_export(request, pk)
    # The page names the client and the state of the export, no clinical content; the
    # read that matters (the archive) is audited when it is made and when downloaded.
    return render(
        request,
        "lifecycle/export.html",
        {"export": export, "client": export.client, "downloadable": export.is_downloadable()},
    )


@require_GET
@role_required(*ANYONE)
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = _own_export(request, pk)
    path = exports.path_of(export)
    if not export.is_downloadable() or not export.file_name or not path.is_file():
        raise Http404("This download has expired or is not ready. Ask for the record again.")
    trail.record(
        trail.context(request),
        Action.EXPORT,
        export.client,
        client_id=export.client_id,
        detail={"view": "lifecycle.download", "export": export.pk, "bytes": export.size_bytes},
    )
    name = f"record-{export.client_id}-{export.created_at:%Y%m%d}.zip"
    # Streamed from the file (an archive of years of notes need not sit in memory); the
    # role gates are typed for ``HttpResponse``, which a streaming answer is used as here.
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="application/zip"
    )
    return cast(HttpResponse, response)
