"""Paperwork pages: the client's forms in the portal, a client's forms for their
therapists and the practice admin, and the admin's forms with their versions.

Who sees what: a client sees and signs only their own forms. A therapist sees the forms of
the clients they may see clinically; the practice admin sees every client's forms
(paperwork is administrative) except what a client wrote in the history questionnaire,
which is clinical. Anything outside that answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.care.access import administrative_clients, own_client
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.directory.content import render as render_markdown
from reverie.paperwork import actions, exports, filetypes
from reverie.paperwork.forms import SignatureForm, UploadForm, VersionForm
from reverie.paperwork.models import Document, FormKind, FormRequest, IntakeForm

STAFF = (Role.THERAPIST, Role.ADMIN)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + "."


def _staff_client(user: User, pk: int) -> Client:
    """The client if ``user`` may see their paperwork (clinical for a therapist,
    administrative for the admin), else 404."""
    return get_object_or_404(administrative_clients(user).select_related("practice", "user"), pk=pk)


def _request_for(user: User, pk: int) -> FormRequest:
    """A form request the user may read, else 404. A practice admin never reads what a
    client wrote in the history questionnaire."""
    rows = FormRequest.objects.select_related("version__form", "client__practice", "signer")
    if user.role == Role.CLIENT:
        rows = rows.filter(client__user=user)
    else:
        rows = rows.filter(client__in=administrative_clients(user))
        if user.role == Role.ADMIN:
            rows = rows.exclude(version__form__kind=FormKind.HISTORY)
    return get_object_or_404(rows, pk=pk)


# --- the client's portal ---------------------------------------------------------------


@role_required(Role.CLIENT)
def mine(request: HttpRequest) -> HttpResponse:
    """The client's forms: what waits for a signature, what is signed."""
    client = own_client(signed_in_user(request))
    rows: list[actions.FormStatus] = []
    if client is not None:
        rows = [r for r in actions.statuses(client) if r.latest is not None]
        trail.record(
            trail.context(request),
            Action.LIST,
            object_type="paperwork.formrequest",
            client_id=client.pk,
            detail={"view": "my_forms", "requests": [r.latest.pk for r in rows if r.latest]},
        )
    return render(request, "paperwork/mine.html", {"client": client, "rows": rows})


@role_required(Role.CLIENT)
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Read one form and sign it: type your name, agree to electronic records, confirm."""
    user = signed_in_user(request)
    form_request = _request_for(user, pk)
    version = form_request.version
    kind = version.form.kind
    if form_request.is_signed:
        messages.info(request, "You have signed this form already.")
        return redirect("paperwork:mine")
    form = SignatureForm(
        request.POST or None, kind=kind, initial={"document_sha256": version.sha256}
    )
    context = {
        "req": form_request,
        "version": version,
        "html": render_markdown(version.body),
        "form": form,
        "practice": form_request.client.practice,
        "encryption_ready": crypto.available(),
    }
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.sign(
                    trail.context(request),
                    form_request,
                    typed_name=data["typed_name"],
                    esign_consent=data["esign_consent"],
                    document_sha256=data["document_sha256"],
                    answers=form.answers(),
                    recipient=data.get("recipient", ""),
                    scope=data.get("scope", ""),
                    expires_on=data.get("expires_on"),
                )
            except actions.PaperworkError as exc:
                form.add_error(None, _sentence(exc))
            else:
                messages.success(request, f"Signed: {version.title}. Thank you.")
                return redirect("paperwork:mine")
        return render(request, "paperwork/sign.html", context, status=400)
    trail.record(
        trail.context(request),
        Action.VIEW,
        form_request,
        client_id=form_request.client_id,
        detail={"view": "sign"},
    )
    return render(request, "paperwork/sign.html", context)


@role_required(Role.CLIENT, Role.THERAPIST, Role.ADMIN)
def signed_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The signed copy, for the client, their therapists and the practice admin."""
    user = signed_in_user(request)
    form_request = _request_for(user, pk)
    if not form_request.is_signed:
        raise Http404("This form is not signed")
    try:
        body = exports.signed_copy_pdf(form_request)
    except crypto.EncryptionUnavailable as exc:
        messages.error(request, _sentence(exc))
        return redirect("core:home")
    client = form_request.client
    trail.record(
        trail.context(request),
        Action.EXPORT,
        form_request,
        client_id=client.pk,
        detail={"format": "pdf"},
    )
    response = HttpResponse(body, content_type="application/pdf")
    name = exports.signed_copy_name(form_request)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- a client's forms, for staff -------------------------------------------------------


@role_required(*STAFF)
def client_forms(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _staff_client(user, pk)
    actions.ensure_forms(trail.context(request), client.practice)
    rows = actions.statuses(client)
    return _client_page(request, user, client, rows, UploadForm())


def _client_page(
    request: HttpRequest,
    user: User,
    client: Client,
    rows: list[actions.FormStatus],
    upload_form: UploadForm,
    status: int = 200,
) -> HttpResponse:
    files = list(Document.objects.filter(client=client).select_related("uploaded_by"))
    names = {}
    if crypto.available():
        for d in files:
            try:
                names[d.pk] = actions.document_name(d)
            except crypto.EncryptionUnavailable:
                names[d.pk] = "(name unreadable: key missing)"
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={
            "view": "paperwork",
            "requests": [r.latest.pk for r in rows if r.latest],
            "documents": [d.pk for d in files],
        },
    )
    return render(
        request,
        "paperwork/client.html",
        {
            "client": client,
            "rows": rows,
            "files": [(d, names.get(d.pk, "")) for d in files],
            "upload_form": upload_form,
            "can_send": client.user_id is not None and bool(actions.forms_to_send(client)),
            "is_admin": user.role == Role.ADMIN,
        },
        status=status,
    )


@role_required(*STAFF)
@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    client = _staff_client(signed_in_user(request), pk)
    kind = request.POST.get("kind", "")
    try:
        if kind:
            sent = actions.send_forms(trail.context(request), client, kinds=[kind])
        else:
            sent = actions.send_forms(trail.context(request), client)
    except actions.PaperworkError as exc:
        messages.error(request, _sentence(exc))
    else:
        if sent:
            messages.success(
                request,
                f"Sent {len(sent)} form{'s' if len(sent) != 1 else ''}; "
                "the client has an email with a link to the portal.",
            )
        else:
            messages.info(request, "Nothing to send: every form is signed or waiting.")
    return redirect("paperwork:client", pk=client.pk)


# --- uploaded documents ----------------------------------------------------------------


@role_required(*STAFF)
@require_POST
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a file to the client's record; a refused file is explained on the page."""
    user = signed_in_user(request)
    client = _staff_client(user, pk)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            if upload_file.size > filetypes.MAX_BYTES:
                raise actions.PaperworkError(
                    f"the file is larger than {filetypes.MAX_BYTES // (1024 * 1024)} MB"
                )
            actions.upload_document(
                trail.context(request),
                client,
                kind=form.cleaned_data["kind"],
                name=upload_file.name or "",
                data=upload_file.read(),
            )
        except actions.PaperworkError as exc:
            form.add_error("file", _sentence(exc))
        else:
            messages.success(request, "The file was added to the record.")
            return redirect("paperwork:client", pk=client.pk)
    return _client_page(request, user, client, actions.statuses(client), form, status=400)


@role_required(*STAFF)
def document(request: HttpRequest, pk: int) -> HttpResponse:
    """One stored file, for the client's therapists and the practice admin, as a download
    (never shown inline, so a file cannot run as a page of this site)."""
    user = signed_in_user(request)
    doc = get_object_or_404(Document, pk=pk, client__in=administrative_clients(user))
    try:
        data = actions.document_bytes(doc)
    except (crypto.EncryptionUnavailable, actions.PaperworkError, OSError) as exc:
        messages.error(request, _sentence(exc))
        return redirect("paperwork:client", pk=doc.client_id)
    trail.record(
        trail.context(request),
        Action.VIEW,
        doc,
        client_id=doc.client_id,
        detail={"view": "document"},
    )
    response = HttpResponse(data, content_type=doc.content_type)
    ext = filetypes.extension(doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{doc.kind}-{doc.pk}.{ext}"'
    return response


# --- the practice's forms --------------------------------------------------------------


@role_required(Role.ADMIN)
def practice_forms(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    practice = user.practice
    forms = actions.ensure_forms(trail.context(request), practice)
    newest = actions.current_versions(practice)
    rows = [(f, newest[f.pk]) for f in forms if f.pk in newest]
    return render(request, "paperwork/forms.html", {"rows": rows})


@role_required(Role.ADMIN)
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    intake_form = get_object_or_404(IntakeForm, pk=pk, practice_id=user.practice_id)
    versions = list(intake_form.versions.select_related("created_by").order_by("-number"))
    current = versions[0] if versions else None
    initial = {"title": current.title, "body": current.body} if current else {}
    form = VersionForm(request.POST or None, initial=initial)
    context = {"intake_form": intake_form, "versions": versions, "form": form}
    if request.method == "POST":
        if form.is_valid():
            try:
                version = actions.publish_version(
                    trail.context(request),
                    intake_form,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    requires_resigning=form.cleaned_data["requires_resigning"],
                )
            except actions.PaperworkError as exc:
                form.add_error(None, _sentence(exc))
            else:
                messages.success(
                    request,
                    f"Saved as version {version.number}."
                    + (
                        " Clients who had an earlier version are asked to sign it again."
                        if version.requires_resigning
                        else ""
                    ),
                )
                return redirect("paperwork:forms")
        return render(request, "paperwork/form_edit.html", context, status=400)
    return render(request, "paperwork/form_edit.html", context)
