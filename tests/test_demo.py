from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse

from reverie.accounts.models import Practice, Role, User
from reverie.audit.models import AuditEntry
from reverie.care.models import Client, Episode
from reverie.demo.seed import SeedRefused, ensure_demo, logins_path
from reverie.measures.models import Administration

TODAY = datetime.date(2026, 11, 22)


@pytest.fixture
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    return tmp_path


def test_seed_builds_a_synthetic_practice_of_the_documented_size(db, data_dir) -> None:
    logins, summary = ensure_demo(TODAY)
    assert summary is not None
    practice = Practice.objects.get(slug="demo")
    assert practice.is_demo
    assert User.objects.filter(practice=practice, role=Role.THERAPIST).count() == 4
    assert Client.objects.filter(practice=practice, is_synthetic=True).count() == 60
    modalities = set(Episode.objects.values_list("modality", flat=True))
    assert {"psychodynamic", "psychoanalysis", "cbt"} <= modalities
    assert Episode.objects.filter(status="ended").exists()
    assert Administration.objects.filter(timepoint__startswith="followup").exists()
    assert not Administration.objects.filter(source__in=["portal", "fhir"]).exists()
    assert [login.role for login in logins] == ["admin", "therapist", "client"]


def test_seed_scores_match_the_item_answers(db, data_dir) -> None:
    ensure_demo(TODAY)
    for admin in Administration.objects.select_related("instrument")[:200]:
        assert admin.total == sum(admin.answers.values())
        assert admin.band


def test_demo_logins_work(db, data_dir) -> None:
    logins, _ = ensure_demo(TODAY)
    for login in logins:
        http = HttpClient()
        response = http.post(
            reverse("accounts:login"), {"username": login.email, "password": login.password}
        )
        assert response.status_code == 302, login.role
        home = http.get(reverse("core:home"), follow=True)
        assert home.status_code == 200
        assert b"Synthetic demo data" in home.content


def test_seeding_twice_keeps_the_data_and_the_passwords(db, data_dir) -> None:
    first, _ = ensure_demo(TODAY)
    counts = (Client.objects.count(), Administration.objects.count())
    second, summary = ensure_demo(TODAY)
    assert summary is None
    assert (Client.objects.count(), Administration.objects.count()) == counts
    assert first == second


def test_lost_logins_file_gets_new_passwords_that_work(db, data_dir) -> None:
    ensure_demo(TODAY)
    logins_path().unlink()
    logins, _ = ensure_demo(TODAY)
    stored = json.loads(logins_path().read_text())
    assert logins[0].password == stored["admin"]
    assert User.objects.get(email=logins[0].email).check_password(logins[0].password)


def test_seed_refuses_a_database_with_a_real_practice(db, data_dir) -> None:
    Practice.objects.create(slug="real", name="A real practice")
    with pytest.raises(SeedRefused):
        ensure_demo(TODAY)
    assert not Practice.objects.filter(is_demo=True).exists()


def test_seed_is_one_audited_import_and_the_chain_verifies(db, data_dir) -> None:
    ensure_demo(TODAY)
    entry = AuditEntry.objects.get(action="import")
    assert entry.detail["synthetic"] is True
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "OK" in out.getvalue()


@override_settings(DEMO=False)
def test_demo_command_only_runs_through_reverie_demo(db) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="reverie demo"):
        call_command("demo", "--no-serve")
