"""Every change to paperwork, each writing its audit entry in the same transaction.

Views call these; they never save paperwork models themselves. Errors are
:class:`PaperworkError` with a message that is safe to show and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.care.access import administrative_clients
from reverie.care.models import Client
from reverie.paperwork import documents, emails, filetypes, storage
from reverie.paperwork.documents import HISTORY_QUESTIONS, SENT_TO_EVERY_CLIENT, Status
from reverie.paperwork.models import (
    Document,
    DocumentKind,
    FormKind,
    FormRequest,
    FormVersion,
    IntakeForm,
)


class PaperworkError(ValueError):
    """The change cannot be made; the message says why and is safe to show."""


# --- the practice's forms ---------------------------------------------------------------


def ensure_forms(ctx: trail.Context, practice: Practice) -> list[IntakeForm]:
    """The practice's forms, creating any kind it lacks with Reverie's shipped text as
    version 1. Idempotent; called before forms are listed or sent."""
    existing = {f.kind: f for f in IntakeForm.objects.filter(practice=practice)}
    if len(existing) == len(documents.KINDS):
        return [existing[k] for k in documents.KINDS]
    with transaction.atomic():
        for kind in documents.KINDS:
            if kind in existing:
                continue
            form, created = IntakeForm.objects.get_or_create(practice=practice, kind=kind)
            existing[kind] = form
            if not created:
                continue
            text = documents.shipped(kind)
            version = FormVersion.objects.create(
                form=form,
                number=1,
                title=text.title,
                body=text.body,
                sha256=documents.fingerprint(text.title, text.body),
            )
            trail.record(ctx, Action.CREATE, version, detail={"form": form.pk, "shipped": True})
    return [existing[k] for k in documents.KINDS]


def current_versions(practice: Practice) -> dict[int, FormVersion]:
    """``{form id: newest version}`` of the practice's forms, in one query."""
    newest: dict[int, FormVersion] = {}
    for version in FormVersion.objects.filter(form__practice=practice).select_related("form"):
        if version.form_id not in newest or version.number > newest[version.form_id].number:
            newest[version.form_id] = version
    return newest


def resign_thresholds(practice: Practice) -> dict[int, int]:
    """``{form id: lowest version number whose signature still counts}``: a signature of a
    version older than the newest one marked "must be signed again" no longer counts."""
    rows = (
        FormVersion.objects.filter(form__practice=practice, requires_resigning=True)
        .values("form_id")
        .annotate(n=Max("number"))
    )
    return {row["form_id"]: row["n"] for row in rows}


def publish_version(
    ctx: trail.Context,
    form: IntakeForm,
    *,
    title: str,
    body: str,
    requires_resigning: bool,
) -> FormVersion:
    """Save the practice admin's new words as the next version. With
    ``requires_resigning``, every client who was sent an earlier version is sent this one
    and asked to sign it (an email with a link)."""
    user = ctx.user
    if user is None or user.role != Role.ADMIN or user.practice_id != form.practice_id:
        raise PaperworkError("only the practice's admin may change its forms")
    title, body = title.strip(), body.strip() + "\n"
    if not title or not body.strip():
        raise PaperworkError("a form needs a title and a text")
    digest = documents.fingerprint(title, body)
    with transaction.atomic():
        current = form.versions.order_by("-number").first()
        if current is not None and current.sha256 == digest:
            raise PaperworkError("nothing changed: the text is the same as the current version")
        version = FormVersion.objects.create(
            form=form,
            number=(current.number + 1) if current else 1,
            title=title,
            body=body,
            sha256=digest,
            requires_resigning=requires_resigning,
            created_by=user,
        )
        trail.record(
            ctx,
            Action.CREATE,
            version,
            detail={"form": form.pk, "number": version.number, "resign": requires_resigning},
        )
        if requires_resigning:
            earlier = (
                FormRequest.objects.filter(version__form=form)
                .values_list("client_id", flat=True)
                .distinct()
            )
            for client in Client.objects.filter(pk__in=list(earlier)).select_related("user"):
                _send(ctx, client, [version], sent_by=user)
    return version


# --- sending ---------------------------------------------------------------------------


def _send(
    ctx: trail.Context,
    client: Client,
    versions: Iterable[FormVersion],
    *,
    sent_by: User | None,
    notify: bool = True,
) -> list[FormRequest]:
    made = []
    for version in versions:
        request, created = FormRequest.objects.get_or_create(
            client=client, version=version, defaults={"sent_by": sent_by}
        )
        if created:
            trail.record(
                ctx,
                Action.CREATE,
                request,
                client_id=client.pk,
                detail={"version": version.pk, "form": version.form_id},
            )
            made.append(request)
    if notify and made and client.user is not None and client.user.email:
        emails.forms_waiting(client, made)
    return made


def forms_to_send(client: Client, kinds: Iterable[str] = SENT_TO_EVERY_CLIENT) -> list[FormVersion]:
    """The newest version of each form of ``kinds`` the client has no valid signature for
    and has not been sent yet."""
    wanted = set(kinds)
    newest = current_versions(client.practice)
    thresholds = resign_thresholds(client.practice)
    requests = FormRequest.objects.filter(client=client).select_related("version")
    have = {r.version_id for r in requests}
    valid_signed = {
        r.version.form_id
        for r in requests
        if r.is_signed and r.version.number >= thresholds.get(r.version.form_id, 1)
    }
    return [
        v
        for form_id, v in sorted(newest.items())
        if v.form.kind in wanted and v.pk not in have and form_id not in valid_signed
    ]


def send_forms(
    ctx: trail.Context,
    client: Client,
    *,
    kinds: Iterable[str] = SENT_TO_EVERY_CLIENT,
    notify: bool = True,
) -> list[FormRequest]:
    """Send the client every form of ``kinds`` they still have to sign, with one email (a
    link, nothing else; ``notify=False`` only for the demo's history). Nothing to send is
    not an error: the result is empty."""
    kinds = tuple(kinds)
    unknown = set(kinds) - set(documents.KINDS)
    if unknown:
        raise PaperworkError("there is no such form")
    if client.user_id is None:
        raise PaperworkError(
            "this client has no portal account yet: invite them to the portal first"
        )
    ensure_forms(ctx, client.practice)
    with transaction.atomic():
        versions = forms_to_send(client, kinds)
        return _send(ctx, client, versions, sent_by=ctx.user, notify=notify)


# --- signing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedContent:
    """What the client wrote when signing; stored encrypted."""

    typed_name: str
    answers: dict[str, str]
    recipient: str = ""
    scope: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "typed_name": self.typed_name,
                "answers": self.answers,
                "recipient": self.recipient,
                "scope": self.scope,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SignedContent:
        data = json.loads(text)
        return cls(data["typed_name"], data["answers"], data["recipient"], data["scope"])


def signed_content(request: FormRequest) -> SignedContent | None:
    """Decrypt what was written with a signature (EncryptionUnavailable if the key is gone)."""
    if request.ciphertext is None:
        return None
    return SignedContent.from_json(crypto.decrypt(request.ciphertext))


def sign(
    ctx: trail.Context,
    request: FormRequest,
    *,
    typed_name: str,
    esign_consent: bool,
    document_sha256: str,
    answers: Mapping[str, str] | None = None,
    recipient: str = "",
    scope: str = "",
    expires_on: dt.date | None = None,
) -> FormRequest:
    """Record the client's electronic signature of one form version.

    The elements of an electronic signature under ESIGN (15 U.S.C. §7001) and UETA are each
    checked here: consent to electronic records (``esign_consent``), intent (the typed
    name), association with the record (the SHA-256 the page showed must equal the
    version's), and retention (the version is immutable and kept with the signature).
    """
    user = ctx.user
    client = request.client
    if user is None or user.role != Role.CLIENT or client.user_id != user.pk:
        raise PaperworkError("only the client may sign their own forms")
    typed_name = " ".join(typed_name.split())
    if not typed_name:
        raise PaperworkError("type your full name to sign")
    if len(typed_name) > 200:
        raise PaperworkError("the name is too long")
    if not esign_consent:
        raise PaperworkError(
            "to sign here, agree to use electronic records and signatures; "
            "otherwise ask the practice for a paper copy"
        )
    version = request.version
    if document_sha256 != version.sha256:
        raise PaperworkError(
            "the form you signed is not the one on record: reload the page and read it again"
        )
    kind = version.form.kind
    clean_answers: dict[str, str] = {}
    if kind == FormKind.HISTORY:
        allowed = {key for key, _ in HISTORY_QUESTIONS}
        clean_answers = {
            k: v.strip()[:4000] for k, v in (answers or {}).items() if k in allowed and v.strip()
        }
    if kind == FormKind.RELEASE:
        recipient, scope = recipient.strip(), scope.strip()
        if not recipient or not scope:
            raise PaperworkError("name the person or organisation and what may be shared")
        if expires_on is None:
            raise PaperworkError("give the date on which this release ends")
        problem = documents.release_expiry_problem(expires_on, timezone.localdate())
        if problem:
            raise PaperworkError(problem.rstrip(".").lower())
    else:
        recipient = scope = ""
        expires_on = None
    if not crypto.available():
        raise PaperworkError("signing is not available yet: the practice has not set up encryption")
    newer = FormRequest.objects.filter(
        client=client, version__form_id=version.form_id, version__number__gt=version.number
    ).exists()
    if newer:
        raise PaperworkError("a newer version of this form was sent to you: sign that one")
    content = SignedContent(typed_name, clean_answers, recipient[:300], scope[:2000])
    now = timezone.now()
    with transaction.atomic():
        # A conditional update: two tabs submitting at once sign once.
        done = FormRequest.objects.filter(pk=request.pk, signed_at__isnull=True).update(
            signed_at=now,
            signer=user,
            signed_from=ctx.ip,
            document_sha256=version.sha256,
            esign_consent_at=now,
            ciphertext=crypto.encrypt(content.to_json()),
            expires_on=expires_on,
        )
        if not done:
            raise PaperworkError("this form is already signed")
        request.refresh_from_db()
        trail.record(
            ctx,
            Action.UPDATE,
            request,
            client_id=client.pk,
            detail={"signed": True, "version": version.pk, "sha256": version.sha256},
        )
    return request


# --- status ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormStatus:
    form: IntakeForm
    current: FormVersion
    latest: FormRequest | None  # the newest version sent to this client
    status: Status

    @property
    def label(self) -> str:
        return self.status.label


def statuses(client: Client, today: dt.date | None = None) -> list[FormStatus]:
    """Each of the practice's forms with its status for this client (a few queries,
    whatever the number of forms)."""
    today = today or timezone.localdate()
    newest = current_versions(client.practice)
    thresholds = resign_thresholds(client.practice)
    latest: dict[int, FormRequest] = {}
    for r in FormRequest.objects.filter(client=client).select_related("version"):
        held = latest.get(r.version.form_id)
        if held is None or r.version.number > held.version.number:
            latest[r.version.form_id] = r
    rows = []
    order = {k: i for i, k in enumerate(documents.KINDS)}
    for form_id, version in sorted(newest.items(), key=lambda i: order[i[1].form.kind]):
        req = latest.get(form_id)
        if req is None:
            state = Status.NOT_SENT
        elif req.is_signed and req.version.number < thresholds.get(form_id, 1):
            state = Status.EXPIRED  # a newer version must be signed, and has not been sent
        else:
            state = documents.status(
                sent=True, signed=req.is_signed, expires_on=req.expires_on, today=today
            )
        rows.append(FormStatus(version.form, version, req, state))
    return rows


def unsigned_counts(client_ids: Iterable[int]) -> dict[int, int]:
    """``{client id: forms sent and not signed}`` for many clients in one query."""
    counts: dict[int, int] = {}
    rows = FormRequest.objects.filter(client_id__in=list(client_ids), signed_at__isnull=True)
    # Only the newest request per form counts: an older unsigned version was superseded.
    newest: dict[tuple[int, int], int] = {}
    for client_id, form_id, number in FormRequest.objects.filter(
        client_id__in=list(client_ids)
    ).values_list("client_id", "version__form_id", "version__number"):
        key = (client_id, form_id)
        newest[key] = max(newest.get(key, 0), number)
    for client_id, form_id, number in rows.values_list(
        "client_id", "version__form_id", "version__number"
    ):
        if newest.get((client_id, form_id)) == number:
            counts[client_id] = counts.get(client_id, 0) + 1
    return counts


# --- uploaded documents ----------------------------------------------------------------


def upload_document(
    ctx: trail.Context, client: Client, *, kind: str, name: str, data: bytes
) -> Document:
    """Keep a file with the client's record: PDF, PNG or JPEG as judged from its first
    bytes, at most ``filetypes.MAX_BYTES``, encrypted in a private file. A refused file
    leaves nothing behind."""
    user = ctx.user
    if user is None or user.role not in (Role.THERAPIST, Role.ADMIN):
        raise PaperworkError("only the client's therapist or the practice admin may add files")
    if not administrative_clients(user).filter(pk=client.pk).exists():
        raise PaperworkError("this client is not in your care")
    if kind not in DocumentKind.values:
        raise PaperworkError("choose what kind of document this is")
    if not data:
        raise PaperworkError("the file is empty")
    if len(data) > filetypes.MAX_BYTES:
        raise PaperworkError(f"the file is larger than {filetypes.MAX_BYTES // (1024 * 1024)} MB")
    content_type = filetypes.detect(data[:16])
    if content_type is None:
        raise PaperworkError(
            "only PDF files and PNG or JPEG images can be added (judged from the file's "
            "content, not its name)"
        )
    if not crypto.available():
        raise PaperworkError("files cannot be kept yet: the practice has not set up encryption")
    name = (name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "document")[:200]
    stored_name = storage.write(client.practice_id, client.pk, crypto.cipher().encrypt(data))
    try:
        with transaction.atomic():
            document = Document.objects.create(
                client=client,
                kind=kind,
                name_ciphertext=crypto.encrypt(name),
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                stored_name=stored_name,
                uploaded_by=user,
            )
            trail.record(
                ctx,
                Action.CREATE,
                document,
                client_id=client.pk,
                detail={"kind": kind, "type": content_type, "size": len(data)},
            )
    except BaseException:
        storage.remove(stored_name)  # the row was not written: the file must not stay
        raise
    return document


def document_name(document: Document) -> str:
    return crypto.decrypt(document.name_ciphertext)


def document_bytes(document: Document) -> bytes:
    """The plaintext of a stored document, checked against its SHA-256."""
    try:
        data = crypto.cipher().decrypt(storage.read(document.stored_name))
    except InvalidToken as exc:
        raise crypto.EncryptionUnavailable(
            "this file was encrypted with a key that is no longer configured"
        ) from exc
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise PaperworkError("the stored file does not match its fingerprint")
    return data
