"""The erasure pages: the first admin asks, the page refuses bad input with a clear
message and changes nothing, and only a second admin is offered (and allowed) to confirm."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from reverie.accounts.models import Role
from reverie.care.models import Client
from reverie.lifecycle import erasure
from reverie.lifecycle.models import ErasureRequest, ErasureStatus
from reverie.testing import World, make_user, sign_in

REASON = "The client asked in writing on 1 December for their record to be erased."


@pytest.fixture(autouse=True)
def _ledger(settings, tmp_path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "ledger")


def test_two_admins_erase_a_client_through_the_pages(world: World) -> None:
    first = sign_in(HttpClient(), world.admin)
    second_admin = make_user(world.practice, Role.ADMIN, "second@harbour.test", "Sam Second")
    second = sign_in(HttpClient(), second_admin)
    page = reverse("lifecycle:client_erasure", args=[world.client.pk])

    short = first.post(page, {"reason": "asked", "typed_name": "Cleo Client"})
    assert short.status_code == 400 and "at least 20 characters" in short.content.decode()
    wrong = first.post(page, {"reason": REASON, "typed_name": "Olly Other"})
    assert wrong.status_code == 400 and "full name exactly" in wrong.content.decode()
    assert not ErasureRequest.objects.exists()

    assert first.post(page, {"reason": REASON, "typed_name": "Cleo Client"}).status_code == 302
    row = ErasureRequest.objects.get()
    mine = first.get(page).content.decode()
    assert "another admin of the practice must confirm" in mine and "Confirm and erase" not in mine
    confirm = reverse("lifecycle:erasure_confirm", args=[row.pk])
    refused = first.post(confirm, {"typed_name": "Cleo Client"})
    assert refused.status_code == 400 and "cannot confirm your own" in refused.content.decode()

    theirs = second.get(page).content.decode()
    assert "Confirm and erase" in theirs and REASON in theirs
    assert second.post(confirm, {"typed_name": "Cleo Client"}).status_code == 302
    row.refresh_from_db()
    assert row.status == ErasureStatus.ERASED
    assert erasure.is_erased(Client.objects.get(pk=world.client.pk))
    client_page = second.get(reverse("care:client", args=[world.client.pk])).content.decode()
    assert "This record is erased." in client_page and "Cleo" not in client_page
    # Confirming twice is refused with a message, not an error.
    again = second.post(confirm, {"typed_name": "Erased client"})
    assert again.status_code == 400 and "no longer waiting" in again.content.decode()


def test_a_withdrawn_request_cannot_be_confirmed(world: World) -> None:
    first = sign_in(HttpClient(), world.admin)
    page = reverse("lifecycle:client_erasure", args=[world.client.pk])
    first.post(page, {"reason": REASON, "typed_name": "Cleo Client"})
    row = ErasureRequest.objects.get()
    assert first.post(reverse("lifecycle:erasure_withdraw", args=[row.pk])).status_code == 302
    second = sign_in(
        HttpClient(), make_user(world.practice, Role.ADMIN, "second@harbour.test", "Sam Second")
    )
    late = second.post(
        reverse("lifecycle:erasure_confirm", args=[row.pk]), {"typed_name": "Cleo Client"}
    )
    assert late.status_code == 400
    assert not erasure.is_erased(Client.objects.get(pk=world.client.pk))
    assert "Withdrawn" in second.get(page).content.decode()
