from __future__ import annotations

import io
import re
import time

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts.models import ApiToken, Role, User, hash_token
from reverie.audit.models import AuditEntry
from reverie.outbox.models import Message
from reverie.testing import PASSWORD, World


def _login(http: HttpClient, email: str, password: str):
    return http.post(reverse("accounts:login"), {"username": email, "password": password})


def test_production_hasher_is_argon2() -> None:
    production = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
    assert production[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_password_login_then_second_factor_for_therapist(world: World) -> None:
    http = HttpClient()
    response = _login(http, world.therapist.email, PASSWORD)
    assert response.status_code == 302
    # Password alone: every page sends the therapist to two-factor, then to enrolment, and
    # the page they asked for travels along.
    then = "?next=%2Fcaseload%2F"
    assert http.get(reverse("care:caseload"))["Location"] == reverse("accounts:two_factor") + then
    assert http.get(reverse("accounts:two_factor") + then)["Location"] == (
        reverse("accounts:two_factor_setup") + then
    )
    page = http.get(reverse("accounts:two_factor_setup") + then)
    assert page.status_code == 200 and b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user=world.therapist, confirmed=False)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    code.time = time.time()
    response = http.post(
        reverse("accounts:two_factor_setup") + then, {"token": f"{code.token():06d}"}
    )
    assert response.status_code == 200
    assert b"backup codes" in response.content
    assert b'href="/caseload/"' in response.content
    assert http.get(reverse("care:caseload")).status_code == 200
    assert AuditEntry.objects.filter(action="otp_enroll", actor=world.therapist).count() == 1


def test_wrong_second_factor_code_is_refused(world: World) -> None:
    TOTPDevice.objects.create(user=world.admin, name="phone", confirmed=True)
    http = HttpClient()
    _login(http, world.admin.email, PASSWORD)
    response = http.post(reverse("accounts:two_factor"), {"token": "000000"})
    assert response.status_code == 200
    assert b"not valid" in response.content
    assert http.get(reverse("practice:users"))["Location"].startswith(
        reverse("accounts:two_factor") + "?next="
    )


def test_clients_do_not_need_a_second_factor(world: World) -> None:
    http = HttpClient()
    _login(http, world.client_user.email, PASSWORD)
    assert http.get(reverse("care:client_home")).status_code == 200


def test_demo_practice_staff_skip_second_factor(world: World) -> None:
    world.practice.is_demo = True
    world.practice.save(update_fields=["is_demo"])
    http = HttpClient()
    _login(http, world.therapist.email, PASSWORD)
    assert http.get(reverse("care:caseload")).status_code == 200


def test_repeated_failures_back_off_and_admin_can_unlock(world: World, as_user) -> None:
    http = HttpClient()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        assert _login(http, world.colleague.email, "wrong-password").status_code == 200
    response = _login(http, world.colleague.email, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in http.session
    assert AuditEntry.objects.filter(action="locked", object_id=str(world.colleague.pk)).exists()
    as_user("admin").post(reverse("practice:unlock", args=[world.colleague.pk]))
    assert AuditEntry.objects.filter(action="unlock", object_id=str(world.colleague.pk)).exists()
    assert _login(http, world.colleague.email, PASSWORD).status_code == 302


@override_settings(LOGIN_IP_LIMIT=5)
def test_one_address_is_throttled_across_accounts(world: World) -> None:
    http = HttpClient()
    for i in range(5):
        _login(http, f"nobody{i}@example.org", "x")
    response = _login(http, world.client_user.email, PASSWORD)
    assert b"Too many failed sign-ins" in response.content


def test_staff_session_expires_after_idle_limit(world: World, as_user) -> None:
    http = as_user("therapist")
    assert http.get(reverse("care:caseload")).status_code == 200
    session = http.session
    session["last_seen"] = time.time() - settings.STAFF_IDLE_TIMEOUT - 5
    session.save()
    response = http.get(reverse("care:caseload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert http.get(reverse("care:caseload")).status_code == 302


def test_client_session_survives_fifteen_idle_minutes(world: World, as_user) -> None:
    http = as_user("client")
    http.get(reverse("care:client_home"))
    session = http.session
    session["last_seen"] = time.time() - 16 * 60
    session.save()
    assert http.get(reverse("care:client_home")).status_code == 200


def test_password_reset_sends_a_working_link(
    world: World, django_capture_on_commit_callbacks
) -> None:
    http = HttpClient()
    with django_capture_on_commit_callbacks(execute=True):  # queued, then sent after commit
        http.post(reverse("accounts:password_reset"), {"email": world.client_user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/set-password/\S+/)", mail.outbox[0].body)
    assert link is not None
    form_page = http.get(link.group(1), follow=True)
    assert b"Choose a password" in form_page.content
    new = "another-long-password-77"
    http.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    world.client_user.refresh_from_db()
    assert world.client_user.check_password(new)


def test_admin_invites_a_therapist_by_email(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    http = as_user("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            reverse("practice:invite"),
            {"email": "New.Person@Harbour.test", "full_name": "Nina New", "role": Role.THERAPIST},
        )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@harbour.test")
    assert (user.role, user.practice_id, user.has_usable_password()) == (
        "therapist",
        world.practice.pk,
        False,
    )
    assert mail.outbox[0].to == ["new.person@harbour.test"]
    assert "/accounts/set-password/" in mail.outbox[0].body
    actions = list(
        AuditEntry.objects.filter(object_id=str(user.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["create", "invite"]


def test_invite_with_taken_email_changes_nothing(world: World, as_user) -> None:
    before = User.objects.count()
    response = as_user("admin").post(
        reverse("practice:invite"),
        {"email": world.colleague.email, "full_name": "X", "role": "therapist"},
    )
    assert response.status_code == 400
    assert b"already has an account" in response.content
    assert User.objects.count() == before and not Message.objects.exists()


def test_token_cli_prints_once_and_stores_only_a_hash(world: World) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "--email", world.therapist.email, stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("rvr_")
    token = ApiToken.objects.get(user=world.therapist)
    assert token.digest == hash_token(raw) and raw not in token.digest
    call_command("token", "revoke", "--email", world.therapist.email, stdout=io.StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_user_cli_reads_password_from_stdin(world: World, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-sufficiently-long-secret\n"))
    call_command(
        "user",
        "add",
        "--email",
        "x@harbour.test",
        "--role",
        "client",
        "--practice",
        "harbour",
        "--password-stdin",
        stdout=io.StringIO(),
    )
    assert User.objects.get(email="x@harbour.test").check_password("a-sufficiently-long-secret")


def test_user_cli_refuses_unknown_practice(world: World) -> None:
    with pytest.raises(CommandError, match="no practice"):
        call_command("user", "add", "--email", "y@x.test", "--role", "client", "--practice", "nope")


def test_user_cli_refuses_weak_password(world: World, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="too weak"):
        call_command(
            "user",
            "add",
            "--email",
            "z@harbour.test",
            "--role",
            "client",
            "--practice",
            "harbour",
            "--password-stdin",
        )
    assert not User.objects.filter(email="z@harbour.test").exists()


@override_settings(SECRET_KEY_CONFIGURED=False)
def test_serve_refuses_without_a_secret_key() -> None:
    with pytest.raises(CommandError, match="REVERIE_SECRET_KEY"):
        call_command("serve")


@override_settings(SECRET_KEY_CONFIGURED=True, DEBUG=True)
def test_serve_refuses_with_debug_on() -> None:
    with pytest.raises(CommandError, match="REVERIE_DEBUG"):
        call_command("serve")


def test_pages_carry_a_strict_content_security_policy(client) -> None:
    policy = client.get(reverse("core:landing"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
