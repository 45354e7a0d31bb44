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
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.care.access import administrative_clients
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.directory.content import render as render_markdown
from reverie.paperwork import actions, pdf
from reverie.paperwork.documents import HISTORY_QUESTIONS
from reverie.paperwork.forms import SignatureForm, VersionForm
from reverie.paperwork.models import FormKind, FormRequest, IntakeForm

STAFF = (Role.THERAPIST, Role.ADMIN)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + "."


def _own_client(user: User) -> Client | None:
    return Client.objects.filter(user=user).select_related("practice").first()


def _staff_client(user: User, pk: int) -> Client:
    """The client if ``user`` may see their paperwork (clinical for a therapist,
    administrative for the admin), else 404."""
    try:
        return administrative_clients(user).select_related("practice", "user").get(pk=pk)
    except Client.DoesNotExist:
        raise Http404("No such client") from None


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
    try:
        return rows.get(pk=pk)
    except FormRequest.DoesNotExist:
        raise Http404("No such form") from None


# --- the client's portal ---------------------------------------------------------------


@role_required(Role.CLIENT)
def mine(request: HttpRequest) -> HttpResponse:
    """The client's forms: what waits for a signature, what is signed."""
    client = _own_client(signed_in_user(request))
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
        content = actions.signed_content(form_request)
    except crypto.EncryptionUnavailable as exc:
        messages.error(request, _sentence(exc))
        return redirect("core:home")
    version = form_request.version
    client = form_request.client
    questions = dict(HISTORY_QUESTIONS)
    tz = timezone.get_current_timezone()

    def when(value: object) -> str:
        return f"{timezone.localtime(value, tz):%Y-%m-%d %H:%M:%S %Z}" if value else "—"  # type: ignore[arg-type]

    copy = pdf.SignedCopy(
        practice=client.practice.name,
        title=version.title,
        version=version.number,
        body=version.body,
        sha256=form_request.document_sha256,
        client_name=f"{client.given_name} {client.family_name}",
        typed_name=content.typed_name if content else "",
        account=form_request.signer.email if form_request.signer else "",
        signed_at=when(form_request.signed_at),
        signed_from=form_request.signed_from or "",
        esign_consent_at=when(form_request.esign_consent_at),
        answers=(
            [(questions[k], content.answers.get(k, "")) for k in questions]
            if content and version.form.kind == FormKind.HISTORY
            else (
                [("Recipient", content.recipient), ("What may be shared", content.scope)]
                if content and content.recipient
                else []
            )
        ),
        expires_on=f"{form_request.expires_on:%Y-%m-%d}" if form_request.expires_on else "",
    )
    body = pdf.render(copy)
    trail.record(
        trail.context(request),
        Action.EXPORT,
        form_request,
        client_id=client.pk,
        detail={"format": "pdf"},
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{version.form.kind}-v{version.number}-signed.pdf"'
    )
    return response


# --- a client's forms, for staff -------------------------------------------------------


@role_required(*STAFF)
def client_forms(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _staff_client(user, pk)
    actions.ensure_forms(trail.context(request), client.practice)
    rows = actions.statuses(client)
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={"view": "paperwork", "requests": [r.latest.pk for r in rows if r.latest]},
    )
    return render(
        request,
        "paperwork/client.html",
        {
            "client": client,
            "rows": rows,
            "can_send": client.user_id is not None and bool(actions.forms_to_send(client)),
            "is_admin": user.role == Role.ADMIN,
        },
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
    try:
        intake_form = IntakeForm.objects.get(pk=pk, practice_id=user.practice_id)
    except IntakeForm.DoesNotExist:
        raise Http404("No such form") from None
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
