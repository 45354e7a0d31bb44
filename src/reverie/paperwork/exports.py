"""A client's paperwork as files, for the signed-copy download and the client's export.

:func:`client_files` lists everything paperwork keeps for one client as (file name,
content type, bytes): each signed form as its signed PDF and each uploaded document as
uploaded. The caller writes the audit entry for the export it makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from reverie.care.models import Client
from reverie.lib import dates
from reverie.paperwork import actions, filetypes, pdf
from reverie.paperwork.documents import HISTORY_QUESTIONS
from reverie.paperwork.models import Document, FormKind, FormRequest


@dataclass(frozen=True)
class ExportFile:
    name: str
    content_type: str
    data: bytes


def _when(value: object) -> str:
    if value is None:
        return "—"
    local = timezone.localtime(value)  # type: ignore[arg-type]
    # To the second and with the zone: this is the evidence of when the form was signed.
    return f"{dates.format_datetime(local, seconds=True, zone=local.tzinfo)} {local:%Z}"


def signed_copy_pdf(form_request: FormRequest) -> bytes:
    """The signed copy of one signed form (EncryptionUnavailable if the key is gone)."""
    content = actions.signed_content(form_request)
    version = form_request.version
    client = form_request.client
    answers: list[tuple[str, str]] = []
    if content is not None and version.form.kind == FormKind.HISTORY:
        answers = [(q, content.answers.get(k, "")) for k, q in HISTORY_QUESTIONS]
    elif content is not None and content.recipient:
        answers = [("Recipient", content.recipient), ("What may be shared", content.scope)]
    copy = pdf.SignedCopy(
        practice=client.practice.name,
        title=version.title,
        version=version.number,
        body=version.body,
        sha256=form_request.document_sha256,
        client_name=f"{client.given_name} {client.family_name}",
        typed_name=content.typed_name if content else "",
        account=form_request.signer.email if form_request.signer else "",
        signed_at=_when(form_request.signed_at),
        signed_from=form_request.signed_from or "",
        esign_consent_at=_when(form_request.esign_consent_at),
        answers=answers,
        expires_on=dates.format_date(form_request.expires_on),
    )
    return pdf.render(copy)


def signed_copy_name(form_request: FormRequest) -> str:
    version = form_request.version
    return f"{version.form.kind}-v{version.number}-signed.pdf"


def client_files(client: Client, *, include_history: bool = True) -> list[ExportFile]:
    """Every signed form (as its PDF) and every uploaded document of the client. Without
    ``include_history`` (the practice admin's copy) the history questionnaire is left out:
    its answers are clinical, and the admin's signed-copy download refuses it too."""
    files: list[ExportFile] = []
    signed = (
        FormRequest.objects.filter(client=client, signed_at__isnull=False)
        .select_related("version__form", "client__practice", "signer")
        .order_by("signed_at")
    )
    if not include_history:
        signed = signed.exclude(version__form__kind=FormKind.HISTORY)
    for form_request in signed:
        files.append(
            ExportFile(
                f"forms/{form_request.pk}-{signed_copy_name(form_request)}",
                "application/pdf",
                signed_copy_pdf(form_request),
            )
        )
    for document in Document.objects.filter(client=client).order_by("uploaded_at"):
        ext = filetypes.extension(document.content_type)
        files.append(
            ExportFile(
                f"documents/{document.pk}-{document.kind}.{ext}",
                document.content_type,
                actions.document_bytes(document),
            )
        )
    return files
