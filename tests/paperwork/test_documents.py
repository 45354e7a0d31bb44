"""Uploaded documents: type from content, size limit, encrypted private files, access,
audit, and the client's files for the export."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.paperwork import actions, exports, filetypes, storage
from reverie.paperwork.models import Document
from reverie.testing import World

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Dr Rivera's referral\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [p for p in (root / "documents").rglob("*") if p.is_file()]


def test_a_pdf_is_kept_encrypted_in_a_private_file_and_downloaded_by_the_therapist(
    world: World, as_user, _data_dir: Path
) -> None:
    http = as_user("therapist")
    url = reverse("paperwork:upload", args=[world.client.pk])
    before = AuditEntry.objects.count()
    response = http.post(
        url, {"kind": "referral", "file": SimpleUploadedFile("referral.pdf", PDF, "text/plain")}
    )
    assert response.status_code == 302
    document = Document.objects.get(client=world.client)
    # The type is the content's, not the browser's claim.
    assert (document.content_type, document.size, document.kind) == (
        "application/pdf",
        len(PDF),
        "referral",
    )
    assert actions.document_name(document) == "referral.pdf"
    [path] = stored_files(_data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert b"Rivera" not in path.read_bytes() and b"referral.pdf" not in bytes(
        document.name_ciphertext
    )
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type, entry.client_id, entry.detail) == (
        "create",
        "paperwork.document",
        world.client.pk,
        {"kind": "referral", "type": "application/pdf", "size": len(PDF)},
    )
    page = http.get(reverse("paperwork:client", args=[world.client.pk])).content.decode()
    assert "referral.pdf" in page
    before = AuditEntry.objects.count()
    download = http.get(reverse("paperwork:document", args=[document.pk]))
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type) == ("view", "paperwork.document")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("letter.pdf", b"<html><script>alert(1)</script></html>", "Only PDF files"),
        ("photo.png", b"GIF89a\x01\x00", "Only PDF files"),
        ("empty.pdf", b"", "The submitted file is empty"),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_and_nothing_is_kept(
    world: World, as_user, _data_dir: Path, name: str, data: bytes, message: str
) -> None:
    http = as_user("therapist")
    before = AuditEntry.objects.count()
    response = http.post(
        reverse("paperwork:upload", args=[world.client.pk]),
        {"kind": "report", "file": SimpleUploadedFile(name, data, "application/pdf")},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Document.objects.exists() and not stored_files(_data_dir)
    assert AuditEntry.objects.count() == before + 1  # only the page view of the redisplay


def test_a_file_over_the_size_limit_is_refused(world: World, _data_dir: Path) -> None:
    big = PNG + b"\x00" * filetypes.MAX_BYTES
    with pytest.raises(actions.PaperworkError, match="larger than 10 MB"):
        actions.upload_document(
            trail.Context(user=world.therapist), world.client, kind="other", name="x", data=big
        )
    assert not Document.objects.exists() and not stored_files(_data_dir)


def test_nobody_outside_the_client_s_care_adds_or_reads_a_file(
    world: World, as_user, _data_dir: Path
) -> None:
    for user in (world.colleague, world.stranger, world.client_user):
        with pytest.raises(actions.PaperworkError):
            actions.upload_document(
                trail.Context(user=user), world.client, kind="other", name="x.pdf", data=PDF
            )
    document = actions.upload_document(
        trail.Context(user=world.admin), world.client, kind="report", name="r.png", data=PNG
    )
    for persona, status in (("colleague", 404), ("stranger", 404), ("client", 403)):
        url = reverse("paperwork:document", args=[document.pk])
        assert as_user(persona).get(url).status_code == status


def test_a_name_with_folders_keeps_only_the_file_name(world: World) -> None:
    document = actions.upload_document(
        trail.Context(user=world.therapist),
        world.client,
        kind="other",
        name="C:\\Users\\x\\..\\secret/../report.pdf",
        data=PDF,
    )
    assert actions.document_name(document) == "report.pdf"
    with pytest.raises(ValueError, match="outside the documents folder"):
        storage.read("../../etc/passwd")


def test_the_client_s_files_for_the_export_hold_signed_forms_and_documents(
    world: World,
) -> None:
    [consent, *_] = actions.send_forms(trail.Context(user=world.therapist), world.client)
    actions.sign(
        trail.Context(user=world.client_user),
        consent,
        typed_name="Cleo Client",
        esign_consent=True,
        document_sha256=consent.version.sha256,
    )
    actions.upload_document(
        trail.Context(user=world.therapist), world.client, kind="referral", name="a", data=PDF
    )
    files = exports.client_files(world.client)
    assert [f.content_type for f in files] == ["application/pdf", "application/pdf"]
    assert files[0].name.endswith("-signed.pdf") and files[0].data.startswith(b"%PDF-")
    assert files[1].name.endswith("-referral.pdf") and files[1].data == PDF
    assert exports.client_files(world.other_client) == []


def test_the_client_s_export_archive_carries_the_paperwork(world: World) -> None:
    import io
    import zipfile

    from reverie.lifecycle import archive
    from reverie.lifecycle.record import Audience, gather

    requests = actions.send_forms(trail.Context(user=world.therapist), world.client)
    history = next(r for r in requests if r.version.form.kind == "history_questionnaire")
    actions.sign(
        trail.Context(user=world.client_user),
        history,
        typed_name="Cleo Client",
        esign_consent=True,
        document_sha256=history.version.sha256,
    )
    actions.upload_document(
        trail.Context(user=world.therapist), world.client, kind="report", name="r", data=PNG
    )
    names = {}
    for audience in (Audience.CLIENT, Audience.ADMIN):
        data = archive.zip_bytes(gather(world.client, audience))
        names[audience] = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    paperwork = [n for n in names[Audience.CLIENT] if n.startswith("paperwork/")]
    assert len(paperwork) == 2 and paperwork[0].startswith("paperwork/documents/")
    assert paperwork[1].endswith("history_questionnaire-v1-signed.pdf")
    # The practice admin's copy has the document but not the history questionnaire.
    assert [n for n in names[Audience.ADMIN] if n.startswith("paperwork/")] == paperwork[:1]
