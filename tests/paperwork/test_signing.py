"""Intake paperwork: shipped forms, sending, electronic signatures, versions, signed copies."""

from __future__ import annotations

import datetime as dt
import hashlib

import pypdfium2 as pdfium
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.outbox.models import Message
from reverie.paperwork import actions, documents
from reverie.paperwork.models import FormRequest, FormVersion, IntakeForm
from reverie.testing import World


def sent(world: World, *kinds: str) -> dict[str, FormRequest]:
    ctx = trail.Context(user=world.therapist)
    if kinds:
        rows = actions.send_forms(ctx, world.client, kinds=kinds)
    else:
        rows = actions.send_forms(ctx, world.client)
    return {r.version.form.kind: r for r in rows}


EVERY = documents.SENT_TO_EVERY_CLIENT


def entries_since(before: int) -> list[tuple[str, str, int | None, dict]]:
    return [
        (e.action, e.object_type, e.client_id, e.detail)
        for e in AuditEntry.objects.order_by("seq")[before:]
    ]


def pdf_text(body: bytes) -> str:
    document = pdfium.PdfDocument(body)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def test_every_shipped_form_has_a_title_and_text_and_its_fingerprint_is_sha256() -> None:
    for kind in documents.KINDS:
        text = documents.shipped(kind)
        assert text.title and text.body.strip() and "title:" not in text.body
        expected = hashlib.sha256(f"{text.title}\n\n{text.body.strip()}\n".encode()).hexdigest()
        assert documents.fingerprint(text.title, text.body) == expected


def test_sending_creates_the_practice_forms_and_one_email_with_only_a_link(
    world: World, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        requests = sent(world)
    # A release of information names someone, so it is sent only when needed.
    assert sorted(requests) == sorted(EVERY) and "release_of_information" not in requests
    assert IntakeForm.objects.filter(practice=world.practice).count() == len(documents.KINDS)
    [message] = mail.outbox
    assert message.to == [world.client_user.email]
    assert reverse("paperwork:mine") in message.body
    # Nothing of the forms themselves travels by email.
    assert "Consent" not in message.body and "privacy" not in message.body.lower()
    # Sending again sends nothing new.
    assert actions.send_forms(trail.Context(user=world.therapist), world.client) == []


def test_a_client_without_a_portal_account_is_not_sent_forms(world: World) -> None:
    world.stranger_client.user = None
    with pytest.raises(actions.PaperworkError, match="no portal account"):
        actions.send_forms(trail.Context(user=world.stranger), world.stranger_client)
    assert not FormRequest.objects.exists()


def test_the_client_signs_in_the_portal_and_the_evidence_is_kept(world: World, as_user) -> None:
    consent = sent(world)["consent_to_treatment"]
    http = as_user("client")
    page = http.get(reverse("paperwork:sign", args=[consent.pk])).content.decode()
    assert consent.version.sha256 in page and "<h2>What you are agreeing to</h2>" in page
    before = AuditEntry.objects.count()
    response = http.post(
        reverse("paperwork:sign", args=[consent.pk]),
        {
            "document_sha256": consent.version.sha256,
            "typed_name": "  Cleo   Client ",
            "esign_consent": "on",
        },
        REMOTE_ADDR="198.51.100.23",
    )
    assert response.status_code == 302 and response["Location"] == reverse("paperwork:mine")
    consent.refresh_from_db()
    assert consent.signer == world.client_user
    assert consent.signed_from == "198.51.100.23"
    assert consent.document_sha256 == consent.version.sha256
    assert consent.esign_consent_at == consent.signed_at
    # The typed name is stored encrypted, not as text.
    assert b"Cleo" not in bytes(consent.ciphertext)
    content = actions.signed_content(consent)
    assert content is not None and content.typed_name == "Cleo Client"
    assert entries_since(before) == [
        (
            "update",
            "paperwork.formrequest",
            world.client.pk,
            {"signed": True, "version": consent.version.pk, "sha256": consent.version.sha256},
        )
    ]
    rows = {r.form.kind: r.status for r in actions.statuses(world.client)}
    assert rows["consent_to_treatment"] == documents.Status.SIGNED
    assert rows["privacy_notice"] == documents.Status.SENT


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"document_sha256": "0" * 64}, "not the one on record"),
        ({"esign_consent": ""}, "agree to use electronic records"),
        ({"typed_name": "   "}, "Type your full name"),
    ],
)
def test_a_bad_signature_is_refused_with_a_clear_message_and_changes_nothing(
    world: World, as_user, change: dict[str, str], message: str
) -> None:
    consent = sent(world)["consent_to_treatment"]
    data = {
        "document_sha256": consent.version.sha256,
        "typed_name": "Cleo Client",
        "esign_consent": "on",
        **change,
    }
    http = as_user("client")
    before = AuditEntry.objects.count()
    response = http.post(reverse("paperwork:sign", args=[consent.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    consent.refresh_from_db()
    assert not consent.is_signed and consent.ciphertext is None
    assert AuditEntry.objects.count() == before


def test_another_client_cannot_sign_or_read_the_form(world: World, as_user) -> None:
    consent = sent(world)["consent_to_treatment"]
    other = as_user("other_client")
    data = {"document_sha256": consent.version.sha256, "typed_name": "X", "esign_consent": "on"}
    assert other.post(reverse("paperwork:sign", args=[consent.pk]), data).status_code == 404
    assert other.get(reverse("paperwork:sign", args=[987654]), data).status_code == 404
    consent.refresh_from_db()
    assert not consent.is_signed


def test_a_form_cannot_be_signed_twice(world: World) -> None:
    consent = sent(world)["consent_to_treatment"]
    ctx = trail.Context(user=world.client_user)
    kwargs = {
        "typed_name": "Cleo Client",
        "esign_consent": True,
        "document_sha256": consent.version.sha256,
    }
    actions.sign(ctx, consent, **kwargs)  # type: ignore[arg-type]
    stale = FormRequest.objects.get(pk=consent.pk)
    stale.signed_at = None  # a second tab that loaded the form before the first signed
    with pytest.raises(actions.PaperworkError, match="already signed"):
        actions.sign(ctx, stale, **kwargs)  # type: ignore[arg-type]


def test_a_release_needs_a_recipient_scope_and_an_end_date_and_expires(world: World) -> None:
    release = sent(world, "release_of_information")["release_of_information"]
    ctx = trail.Context(user=world.client_user)
    base = {
        "typed_name": "Cleo Client",
        "esign_consent": True,
        "document_sha256": release.version.sha256,
    }
    today = timezone.localdate()
    with pytest.raises(actions.PaperworkError, match="name the person"):
        actions.sign(ctx, release, **base, expires_on=today)  # type: ignore[arg-type]
    with pytest.raises(actions.PaperworkError, match="end date has passed"):
        actions.sign(
            ctx,
            release,
            **base,  # type: ignore[arg-type]
            recipient="Dr Rivera, GP",
            scope="Dates of attendance",
            expires_on=today - dt.timedelta(days=1),
        )
    release.refresh_from_db()
    assert not release.is_signed
    actions.sign(
        ctx,
        release,
        **base,  # type: ignore[arg-type]
        recipient="Dr Rivera, GP",
        scope="Dates of attendance",
        expires_on=today + dt.timedelta(days=30),
    )
    later = today + dt.timedelta(days=31)
    rows = {r.form.kind: r.status for r in actions.statuses(world.client, today=later)}
    assert rows["release_of_information"] == documents.Status.EXPIRED
    rows = {r.form.kind: r.status for r in actions.statuses(world.client, today=today)}
    assert rows["release_of_information"] == documents.Status.SIGNED


def test_a_new_version_that_must_be_signed_again_is_sent_and_the_old_request_closes(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    requests = sent(world)
    consent = requests["consent_to_treatment"]
    actions.sign(
        trail.Context(user=world.client_user),
        consent,
        typed_name="Cleo Client",
        esign_consent=True,
        document_sha256=consent.version.sha256,
    )
    cancellation = requests["cancellation_policy"]
    mail.outbox.clear()
    admin = as_user("admin")
    form_url = reverse("paperwork:form_edit", args=[consent.version.form_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            form_url,
            {
                "title": consent.version.title,
                "body": consent.version.body + "\nA new paragraph.\n",
                "requires_resigning": "on",
            },
        )
    assert response.status_code == 302
    newest = FormVersion.objects.get(form=consent.version.form, number=2)
    assert newest.requires_resigning and newest.created_by == world.admin
    [message] = mail.outbox
    assert message.to == [world.client_user.email]
    rows = {r.form.kind: r for r in actions.statuses(world.client)}
    assert rows["consent_to_treatment"].status == documents.Status.SENT
    assert rows["consent_to_treatment"].latest.version == newest
    # Saving the same words again is refused and makes no version.
    same = admin.post(
        form_url, {"title": newest.title, "body": newest.body, "requires_resigning": "on"}
    )
    assert same.status_code == 400 and "Nothing changed" in same.content.decode()
    assert consent.version.form.versions.count() == 2
    # A version that need not be signed again leaves signatures alone.
    actions.publish_version(
        trail.Context(user=world.admin),
        cancellation.version.form,
        title="Cancellation policy",
        body="Tell us 24 hours before.",
        requires_resigning=False,
    )
    assert FormRequest.objects.filter(client=world.client).count() == len(EVERY) + 1
    # The superseded consent cannot be signed any more.
    with pytest.raises(actions.PaperworkError, match="newer version"):
        actions.sign(
            trail.Context(user=world.client_user),
            cancellation.__class__.objects.get(pk=consent.pk),
            typed_name="Cleo",
            esign_consent=True,
            document_sha256=consent.version.sha256,
        )


def test_only_the_admin_of_the_practice_publishes_versions(world: World) -> None:
    form = actions.ensure_forms(trail.system("test"), world.practice)[0]
    for user in (world.therapist, world.client_user, world.stranger_admin):
        with pytest.raises(actions.PaperworkError, match="only the practice's admin"):
            actions.publish_version(
                trail.Context(user=user), form, title="X", body="Y", requires_resigning=True
            )
    assert form.versions.count() == 1


def test_the_signed_copy_shows_the_words_the_name_the_time_the_address_and_the_hash(
    world: World, as_user
) -> None:
    history = sent(world)["history_questionnaire"]
    actions.sign(
        trail.Context(user=world.client_user, ip="203.0.113.9"),
        history,
        typed_name="Cleo Client",
        esign_consent=True,
        document_sha256=history.version.sha256,
        answers={"reason": "Sleeping badly since the move.", "nonsense": "dropped"},
    )
    therapist = as_user("therapist")
    before = AuditEntry.objects.count()
    response = therapist.get(reverse("paperwork:pdf", args=[history.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        "Personal history questionnaire",
        "Cleo Client",
        "203.0.113.9",
        history.version.sha256,
        "Sleeping badly since the move.",
        "client@harbour.test",
    ):
        assert expected in text.replace("\r", "").replace("\n", " ") or expected in text
    assert "dropped" not in text
    assert entries_since(before) == [
        ("export", "paperwork.formrequest", world.client.pk, {"format": "pdf"})
    ]
    # The practice admin sees that it is signed but never reads the answers.
    assert as_user("admin").get(reverse("paperwork:pdf", args=[history.pk])).status_code == 404


def test_the_portal_lists_the_forms_and_today_shows_who_has_not_signed(
    world: World, as_user
) -> None:
    sent(world)
    page = as_user("client").get(reverse("paperwork:mine")).content.decode()
    assert page.count("Read and sign") == len(EVERY)
    from reverie.care.models import Appointment

    Appointment.objects.create(episode=world.episode, starts_at=timezone.now())
    today = as_user("therapist").get(reverse("care:today")).content.decode()
    assert f"{len(EVERY)} forms unsigned" in today
    caseload = as_user("therapist").get(reverse("care:caseload")).content.decode()
    assert f"{len(EVERY)} forms unsigned" in caseload
    staff = as_user("admin").get(reverse("paperwork:client", args=[world.client.pk]))
    text = staff.content.decode()
    assert text.count("Waiting for signature") == len(EVERY) and text.count("Not sent") == 1


def test_staff_send_a_release_when_needed_and_a_forged_kind_changes_nothing(
    world: World, as_user
) -> None:
    admin = as_user("admin")
    url = reverse("paperwork:send", args=[world.client.pk])
    before = FormRequest.objects.count()
    response = admin.post(url, {"kind": "no_such_form"}, follow=True)
    assert "There is no such form." in response.content.decode()
    assert FormRequest.objects.count() == before
    admin.post(url, {"kind": "release_of_information"})
    [release] = FormRequest.objects.filter(client=world.client)
    assert release.version.form.kind == "release_of_information"
    assert release.sent_by == world.admin


def test_an_outbox_message_is_queued_in_the_sending_transaction(world: World) -> None:
    before = Message.objects.count()
    sent(world)
    assert Message.objects.count() == before + 1
