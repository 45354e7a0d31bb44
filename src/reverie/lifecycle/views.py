"""A client's complete record as one download: for the client in the portal, for a
therapist with clinical access and for the practice admin on the client's page.

Asking prepares the archive (at once for a small record, in the worker for a large one)
and leads to its status page, which shows the progress and then a download link that
works for 24 hours, for the person who asked only."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import administrative_clients, own_client
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.core.models import PeriodicJob
from reverie.lifecycle import actions, erasure, exports, review
from reverie.lifecycle.access import exportable_clients
from reverie.lifecycle.forms import ErasureConfirmForm, ErasureRequestForm, RetentionPolicyForm
from reverie.lifecycle.models import (
    ERASURE_REQUEST_DAYS,
    ErasureRequest,
    ErasureStatus,
    RecordExport,
    RetentionCandidate,
)

ANYONE = (Role.ADMIN, Role.THERAPIST, Role.CLIENT)


def _start(request: HttpRequest, client: Client) -> HttpResponse:
    ctx = trail.context(request)
    export = exports.request_export(ctx, client)
    exports.prepare_now_if_small(ctx, export)
    return redirect("lifecycle:export", pk=export.pk)


@require_POST
@role_required(Role.THERAPIST, Role.ADMIN)
def client_export(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(exportable_clients(signed_in_user(request)), pk=pk)
    return _start(request, client)


@require_POST
@role_required(Role.CLIENT)
def my_export(request: HttpRequest) -> HttpResponse:
    client = own_client(signed_in_user(request))
    if client is None:
        raise Http404("There is no record for this account.")
    return _start(request, client)


def _own_export(request: HttpRequest, pk: int) -> RecordExport:
    """The export, if the signed-in person asked for it; 404 for anyone else."""
    export: RecordExport = get_object_or_404(
        RecordExport.objects.select_related("client"), pk=pk, requested_by=signed_in_user(request)
    )
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


@role_required(Role.ADMIN)
def retention(request: HttpRequest) -> HttpResponse:
    """The practice's retention policy, and the records past it for the admin to review."""
    user = signed_in_user(request)
    practice = user.practice
    policy = review.policy_for(practice)
    if request.method == "POST":
        form = RetentionPolicyForm(request.POST)
        if form.is_valid():
            actions.set_retention_policy(trail.context(request), **form.cleaned_data)
            messages.success(
                request, "Saved. The list below is brought up to date at the next daily review."
            )
            return redirect("lifecycle:retention")
        status = 400
    else:
        form = RetentionPolicyForm(
            initial={
                "years_after_last_episode": policy.years_after_last_episode,
                "years_after_majority": policy.years_after_majority,
            }
        )
        status = 200
    candidates = list(RetentionCandidate.objects.filter(practice=practice).select_related("client"))
    actions.expire_erasure_requests()
    erasures = list(
        ErasureRequest.objects.filter(
            practice=practice, status=ErasureStatus.PENDING
        ).select_related("client", "requested_by")
    )
    if erasures:
        trail.record(
            trail.context(request),
            Action.LIST,
            None,
            object_type="lifecycle.erasurerequest",
            detail={"view": "lifecycle.retention", "requests": [r.pk for r in erasures]},
        )
    trail.record(
        trail.context(request),
        Action.LIST,
        None,
        detail={"view": "lifecycle.retention", "clients": [c.client_id for c in candidates]},
    )
    last_run = PeriodicJob.objects.filter(name="lifecycle.retention_review").first()
    return render(
        request,
        "lifecycle/retention.html",
        {
            "form": form,
            "policy": policy,
            "candidates": candidates,
            "erasures": erasures,
            "last_review": last_run.last_finished_at if last_run else None,
        },
        status=status,
    )


# --- erasure (two admins; lifecycle/erasure.py, docs/data-lifecycle.md) ------------------


def _admin_client(request: HttpRequest, pk: int) -> Client:
    return get_object_or_404(administrative_clients(signed_in_user(request)), pk=pk)


def _erasure_page(
    request: HttpRequest,
    client: Client,
    *,
    form: ErasureRequestForm | None = None,
    confirm_form: ErasureConfirmForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = signed_in_user(request)
    actions.expire_erasure_requests()
    history = list(
        ErasureRequest.objects.filter(client=client).select_related("requested_by", "decided_by")
    )
    pending = next((r for r in history if r.status == ErasureStatus.PENDING), None)
    # Lists who asked and decided, and the reason: no clinical content.
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={"view": "lifecycle.erasure", "requests": [r.pk for r in history]},
    )
    return render(
        request,
        "lifecycle/erasure.html",
        {
            "client": client,
            "erased": erasure.is_erased(client),
            "pending": pending,
            "mine": pending is not None and pending.requested_by_id == user.pk,
            "history": history,
            "form": form or ErasureRequestForm(),
            "confirm_form": confirm_form or ErasureConfirmForm(),
            "error": error,
            "days": ERASURE_REQUEST_DAYS,
        },
        status=status,
    )


@role_required(Role.ADMIN)
def client_erasure(request: HttpRequest, pk: int) -> HttpResponse:
    """The client's erasure: ask for it (first admin), or see the waiting request."""
    client = _admin_client(request, pk)
    if request.method != "POST":
        return _erasure_page(request, client)
    form = ErasureRequestForm(request.POST)
    if not form.is_valid():
        return _erasure_page(request, client, form=form, status=400)
    try:
        actions.request_erasure(trail.context(request), client, **form.cleaned_data)
    except actions.LifecycleActionError as exc:
        return _erasure_page(request, client, form=form, error=str(exc), status=400)
    messages.success(request, "Asked. Another admin of the practice must now confirm.")
    return redirect("lifecycle:client_erasure", pk=client.pk)


def _request_of(request: HttpRequest, pk: int) -> ErasureRequest:
    return get_object_or_404(
        ErasureRequest.objects.select_related("client"),
        pk=pk,
        practice_id=signed_in_user(request).practice_id,
    )


@require_POST
@role_required(Role.ADMIN)
def erasure_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    row = _request_of(request, pk)
    form = ErasureConfirmForm(request.POST)
    if not form.is_valid():
        return _erasure_page(request, row.client, confirm_form=form, status=400)
    try:
        actions.confirm_erasure(trail.context(request), row.pk, **form.cleaned_data)
    except actions.LifecycleActionError as exc:
        return _erasure_page(request, row.client, confirm_form=form, error=str(exc), status=400)
    messages.success(request, "The client's record is erased.")
    return redirect("lifecycle:client_erasure", pk=row.client_id)


@require_POST
@role_required(Role.ADMIN)
def erasure_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    row = _request_of(request, pk)
    try:
        actions.withdraw_erasure(trail.context(request), row.pk)
    except actions.LifecycleActionError as exc:
        return _erasure_page(request, row.client, error=str(exc), status=400)
    messages.success(request, "The erasure request is withdrawn.")
    return redirect("lifecycle:client_erasure", pk=row.client_id)
