"""Sign-in hardening (issue #13): no open redirects, forwarded addresses only from trusted
proxies, back-off that neither locks out everyone nor lets anyone lock out an owner, the same
answer for every email, and an emailed unlock link."""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client as HttpClient
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts import browsers
from reverie.accounts.models import LoginAttempt, UnlockLink, hash_token
from reverie.audit.models import AuditEntry
from reverie.care.models import Appointment
from reverie.core.proxies import client_ip
from reverie.core.redirects import safe_next
from reverie.testing import PASSWORD, World

LOGIN = "/accounts/login/"
HOME = "/home/"

HOSTILE_NEXT = [
    "//evil.example",
    "//evil.example/caseload/",
    "https://evil.example",
    "https://testserver.evil.example/",
    "http://testserver/caseload/",  # absolute, even to this host: only paths are accepted
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "///evil.example",
    "evil.example",
    "%2F%2Fevil.example",  # encoded: arrives decoded once, still not a path
    "%252F%252Fevil.example",
    "/%5C/evil.example/\\",
    "https:evil.example",
]


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """POST, then run what was queued for after commit (the outbox sends mail then)."""

    def post(http: HttpClient, url: str, data: dict[str, str]):
        with django_capture_on_commit_callbacks(execute=True):
            return http.post(url, data)

    return post


def _login(http: HttpClient, email: str, password: str, **extra: Any):
    return http.post(LOGIN, {"username": email, "password": password}, **extra)


def _as_if_earlier(seconds: float) -> None:
    """Move every recorded attempt back in time, as if the clock had run on."""
    for attempt in LoginAttempt.objects.all():
        attempt.at -= datetime.timedelta(seconds=seconds)
        attempt.save(update_fields=["at"])


# --- open redirects -------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_safe_next_refuses_everything_but_a_local_path(value: str) -> None:
    request = RequestFactory().get("/")
    assert safe_next(request, value) is None


@pytest.mark.parametrize("value", ["/caseload/", "/clients/12/?tab=notes#plan", "/a/b%2Fc/"])
def test_safe_next_keeps_local_paths(value: str) -> None:
    assert safe_next(RequestFactory().get("/"), value) == value


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_sign_in_ignores_a_hostile_next(world: World, value: str) -> None:
    http = HttpClient()
    response = http.post(
        LOGIN, {"username": world.client_user.email, "password": PASSWORD, "next": value}
    )
    assert response.status_code == 302
    assert response["Location"] == HOME
    # The login page does not carry it into its form either.
    page = HttpClient().get(LOGIN, {"next": value})
    assert "evil" not in page.content.decode()


def test_sign_in_follows_a_local_next(world: World) -> None:
    http = HttpClient()
    response = http.post(
        f"{LOGIN}?next=/my/progress/", {"username": world.client_user.email, "password": PASSWORD}
    )
    assert response["Location"] == "/my/progress/"


def _staff_with_device(world: World) -> tuple[HttpClient, TOTPDevice]:
    device = TOTPDevice.objects.create(user=world.therapist, name="phone", confirmed=True)
    http = HttpClient()
    _login(http, world.therapist.email, PASSWORD)
    return http, device


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_second_factor_ignores_a_hostile_next(world: World, value: str) -> None:
    http, device = _staff_with_device(world)
    response = http.post(
        reverse("accounts:two_factor") + "?" + _query(value), {"token": _code(device)}
    )
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert http.get(HOME)["Location"] == reverse("care:caseload")


def _query(value: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": value})


def test_second_factor_returns_to_the_page_asked_for(world: World) -> None:
    http, device = _staff_with_device(world)
    bounced = http.get("/clients/")
    assert bounced["Location"] == reverse("accounts:two_factor") + "?next=%2Fclients%2F"
    response = http.post(bounced["Location"], {"token": _code(device)})
    assert response["Location"] == "/clients/"


@pytest.mark.parametrize("value", ["//evil.example", "https://evil.example", "javascript:x"])
def test_two_factor_setup_ignores_a_hostile_next(world: World, value: str) -> None:
    http = HttpClient()
    _login(http, world.admin.email, PASSWORD)
    url = reverse("accounts:two_factor_setup") + "?" + _query(value)
    http.get(url)
    device = TOTPDevice.objects.get(user=world.admin, confirmed=False)
    page = http.post(url, {"token": _code(device)})
    assert page.status_code == 200 and b"backup codes" in page.content
    assert b"evil" not in page.content and b"javascript" not in page.content
    assert f'href="{HOME}"'.encode() in page.content
    # Already enrolled: the set-up page sends them on, not away.
    assert http.get(url)["Location"] == HOME


@pytest.mark.parametrize("value", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_acknowledging_an_alert_ignores_a_hostile_next(world: World, as_user, value: str) -> None:
    response = as_user("therapist").post(
        reverse("care:acknowledge_alert", args=[world.alert.pk]), {"next": value}
    )
    assert response["Location"] == reverse("care:alerts")


@pytest.mark.parametrize("value", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_recording_attendance_ignores_a_hostile_next(world: World, as_user, value: str) -> None:
    appointment = Appointment.objects.filter(episode=world.episode).first()
    assert appointment is not None
    response = as_user("therapist").post(
        reverse("care:attendance", args=[appointment.pk]),
        {"attendance": "attended", "next": value},
    )
    assert response["Location"] == reverse("care:client", args=[world.client.pk])


# --- forwarded addresses --------------------------------------------------------------------


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(HTTPS=True, TRUSTED_PROXIES=[])
def test_forwarded_for_is_ignored_without_trusted_proxies_even_with_https() -> None:
    assert client_ip(_request("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8::/32"])
@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # The client forged the left entries; our proxies appended the real one.
        ("10.0.0.2", "1.1.1.1, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.9, 10.9.9.9", "203.0.113.9"),
        ("2001:db8::1", "[2001:db8::5]:443, 198.51.100.3:5000", "198.51.100.3"),
        # A peer that is not one of our proxies: its header means nothing.
        ("198.51.100.20", "203.0.113.9", "198.51.100.20"),
        # Garbage where the client's address should be: the nearest hop we trust.
        ("10.0.0.2", "<script>", "10.0.0.2"),
        ("10.0.0.2", "203.0.113.9, unknown", "10.0.0.2"),
        ("10.0.0.2", "", "10.0.0.2"),
        # Only proxies in the chain (a health check from inside): the farthest of them.
        ("10.0.0.2", "10.0.0.3", "10.0.0.3"),
        ("::ffff:10.0.0.2", "203.0.113.9", "203.0.113.9"),
    ],
)
def test_forwarded_for_is_walked_from_the_right_through_trusted_proxies(
    remote: str, forwarded: str, expected: str
) -> None:
    assert client_ip(_request(remote, forwarded)) == expected


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_peer_without_an_address_is_not_believed_unless_unix_is_trusted() -> None:
    assert client_ip(_request("", "203.0.113.9")) is None
    with override_settings(TRUSTED_PROXIES=["unix"]):
        assert client_ip(_request("", "203.0.113.9")) == "203.0.113.9"


@override_settings(HTTPS=True, TRUSTED_PROXIES=[], LOGIN_IP_LIMIT=5)
def test_forged_forwarded_for_neither_dodges_throttling_nor_reaches_the_trail(
    world: World,
) -> None:
    http = HttpClient()
    for i in range(5):
        _login(http, f"nobody{i}@example.org", "x", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    response = _login(http, world.client_user.email, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429
    ips = set(AuditEntry.objects.filter(action="login_failed").values_list("ip", flat=True))
    assert ips == {"127.0.0.1"}
    assert set(LoginAttempt.objects.values_list("ip", flat=True)) == {"127.0.0.1"}


@override_settings(TRUSTED_PROXIES=["127.0.0.1"], LOGIN_IP_LIMIT=5)
def test_behind_a_configured_proxy_one_address_failing_blocks_no_one_else(world: World) -> None:
    http = HttpClient()
    for i in range(8):
        _login(http, f"nobody{i}@example.org", "x", HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert (
        _login(http, "nobody9@example.org", "x", HTTP_X_FORWARDED_FOR="203.0.113.66").status_code
        == 429
    )
    other = HttpClient()
    response = _login(other, world.client_user.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.5")
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(action="login").latest("seq")
    assert entry.ip == "198.51.100.5"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_a_forged_string_in_forwarded_for_never_reaches_the_database(world: World) -> None:
    _login(HttpClient(), world.client_user.email, "wrong", HTTP_X_FORWARDED_FOR="'; DROP--")
    assert LoginAttempt.objects.get().ip == "127.0.0.1"
    assert AuditEntry.objects.get(action="login_failed").ip == "127.0.0.1"


# --- back-off -------------------------------------------------------------------------------


def test_back_off_ends_by_itself(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        _login(http, world.client_user.email, "wrong")
    refused = _login(http, world.client_user.email, PASSWORD)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    _as_if_earlier(31)
    assert _login(http, world.client_user.email, PASSWORD).status_code == 302


def test_refused_attempts_do_not_extend_the_back_off(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        _login(http, world.client_user.email, "wrong")
    for _ in range(10):
        assert _login(http, world.client_user.email, "wrong").status_code == 429
    assert LoginAttempt.objects.count() == settings.LOGIN_FREE_ATTEMPTS
    # Only the failures that were checked are audited, plus the back-off they started.
    assert AuditEntry.objects.filter(action="login_failed").count() == settings.LOGIN_FREE_ATTEMPTS
    assert AuditEntry.objects.filter(action="locked").count() == 1


def test_waits_double_after_each_failure_past_the_allowance(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        _login(http, world.client_user.email, "wrong")
    waits = []
    for _ in range(3):
        waits.append(int(_login(http, world.client_user.email, "wrong")["Retry-After"]))
        _as_if_earlier(waits[-1] + 1)
        assert _login(http, world.client_user.email, "wrong").status_code == 200
    assert int(_login(http, world.client_user.email, "wrong")["Retry-After"]) == 240
    assert waits == [30, 60, 120]


def test_five_wrong_passwords_from_a_stranger_do_not_lock_out_the_owner(world: World) -> None:
    owner = HttpClient()
    assert (
        _login(owner, world.client_user.email, PASSWORD, REMOTE_ADDR="198.51.100.1").status_code
        == 302
    )
    stranger = HttpClient()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS + 3):
        _login(stranger, world.client_user.email, "guess", REMOTE_ADDR="203.0.113.9")
    # The owner, from their own address, signs in at once.
    owner = HttpClient()
    assert (
        _login(owner, world.client_user.email, PASSWORD, REMOTE_ADDR="198.51.100.1").status_code
        == 302
    )


def test_guessing_from_many_addresses_slows_new_browsers_but_not_the_owners(world: World) -> None:
    owner = HttpClient()
    assert _login(owner, world.client_user.email, PASSWORD).status_code == 302
    owner.post(reverse("accounts:logout"))
    for i in range(settings.LOGIN_ACCOUNT_FREE_ATTEMPTS + 2):
        _login(HttpClient(), world.client_user.email, "guess", REMOTE_ADDR=f"203.0.113.{i}")
    # A new browser at a new address is slowed: the guesses were spread across addresses.
    fresh = _login(HttpClient(), world.client_user.email, PASSWORD, REMOTE_ADDR="192.0.2.77")
    assert fresh.status_code == 429
    # The browser the owner signed in with before is judged by its own failures only.
    assert _login(owner, world.client_user.email, PASSWORD).status_code == 302
    # ...and the admin's list shows the account as slowed until a sign-in clears it.


def test_admin_list_shows_slowed_accounts_and_unlock_clears_them(world: World, as_user) -> None:
    for i in range(settings.LOGIN_ACCOUNT_FREE_ATTEMPTS):
        _login(HttpClient(), world.colleague.email, "guess", REMOTE_ADDR=f"203.0.113.{i}")
    admin = as_user("admin")
    page = admin.get(reverse("practice:users")).content.decode()
    assert "Sign-in slowed" in page
    assert reverse("practice:unlock", args=[world.colleague.pk]) in page
    admin.post(reverse("practice:unlock", args=[world.colleague.pk]))
    assert "Sign-in slowed" not in admin.get(reverse("practice:users")).content.decode()
    assert (
        _login(HttpClient(), world.colleague.email, PASSWORD, REMOTE_ADDR="192.0.2.1").status_code
        == 302
    )


@override_settings(LOGIN_IP_LIMIT=5)
def test_the_address_limit_spares_known_browsers_so_a_shared_address_locks_no_one_out(
    world: World,
) -> None:
    """Behind an unconfigured proxy every request shares one address; people who signed in
    before still get in while someone else fails there."""
    owner = HttpClient()
    assert _login(owner, world.client_user.email, PASSWORD).status_code == 302
    for i in range(6):
        _login(HttpClient(), f"nobody{i}@example.org", "x")
    assert _login(HttpClient(), world.other_client_user.email, PASSWORD).status_code == 429
    assert _login(owner, world.client_user.email, PASSWORD).status_code == 302


def test_a_known_browser_is_forgotten_when_the_password_changes(world: World) -> None:
    owner = HttpClient()
    _login(owner, world.client_user.email, PASSWORD)
    request = RequestFactory().get(
        "/", HTTP_COOKIE=f"{browsers.COOKIE}={owner.cookies[browsers.COOKIE].value}"
    )
    assert browsers.recognised(request, world.client_user.email)
    world.client_user.set_password("an-entirely-new-password-9")
    world.client_user.save()
    assert browsers.recognised(request, world.client_user.email) == ""
    assert browsers.recognised(request, world.other_client_user.email) == ""


def test_a_forged_known_browser_cookie_is_ignored(world: World) -> None:
    http = HttpClient()
    http.cookies[browsers.COOKIE] = f'[[{world.client_user.pk}, "x", "y"]]'
    request = RequestFactory().get("/", HTTP_COOKIE=f"{browsers.COOKIE}=garbage:value")
    assert browsers.recognised(request, world.client_user.email) == ""
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        _login(http, world.client_user.email, "wrong")
    assert _login(http, world.client_user.email, PASSWORD).status_code == 429


def test_failed_sign_ins_and_back_offs_are_audited_with_the_address(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        _login(http, world.colleague.email, "wrong", REMOTE_ADDR="203.0.113.5")
    failed = AuditEntry.objects.filter(action="login_failed", object_id=str(world.colleague.pk))
    assert failed.count() == settings.LOGIN_FREE_ATTEMPTS
    assert set(failed.values_list("ip", "practice_id")) == {("203.0.113.5", world.practice.pk)}
    locked = AuditEntry.objects.get(action="locked", object_id=str(world.colleague.pk))
    assert locked.ip == "203.0.113.5"
    assert locked.detail["backoff"] == "pair" and locked.detail["seconds"] == 30


# --- the same answer for every email --------------------------------------------------------


def _normalised(response, email: str) -> tuple[int, str | None, str, str | None]:
    body = response.content.decode()
    body = body.replace(email, "EMAIL")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    return response.status_code, response.get("Location"), body, response.get("Retry-After")


def test_a_wrong_password_reads_the_same_for_existing_and_unknown_emails(world: World) -> None:
    known = _login(HttpClient(), world.client_user.email, "wrong")
    unknown = _login(HttpClient(), "no-such-person@harbour.test", "wrong")
    assert _normalised(known, world.client_user.email) == _normalised(
        unknown, "no-such-person@harbour.test"
    )
    assert b"do not match" in known.content


def test_back_off_reads_the_same_for_existing_and_unknown_emails(world: World) -> None:
    answers = []
    for email in (world.client_user.email, "no-such-person@harbour.test"):
        http = HttpClient()
        for _ in range(settings.LOGIN_FREE_ATTEMPTS):
            _login(http, email, "wrong")
        answers.append(_normalised(_login(http, email, "wrong"), email))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


def test_an_inactive_account_reads_like_an_unknown_email(world: World) -> None:
    world.other_client_user.is_active = False
    world.other_client_user.save(update_fields=["is_active"])
    inactive = _login(HttpClient(), world.other_client_user.email, PASSWORD)
    unknown = _login(HttpClient(), "no-such-person@harbour.test", PASSWORD)
    assert _normalised(inactive, world.other_client_user.email) == _normalised(
        unknown, "no-such-person@harbour.test"
    )


def test_every_email_costs_one_password_hash_and_a_backed_off_one_none(
    world: World, monkeypatch
) -> None:
    calls: list[str] = []
    original = MD5PasswordHasher.encode

    def counting(self: MD5PasswordHasher, password: str, salt: str) -> str:
        calls.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    for email in (world.client_user.email, "no-such-person@harbour.test"):
        calls.clear()
        _login(HttpClient(), email, "wrong", REMOTE_ADDR="198.51.100.8")
        assert len(calls) == 1, email
    for email in (world.client_user.email, "no-such-person@harbour.test"):
        for _ in range(settings.LOGIN_FREE_ATTEMPTS):
            _login(HttpClient(), email, "wrong", REMOTE_ADDR="198.51.100.9")
        calls.clear()
        _login(HttpClient(), email, "wrong", REMOTE_ADDR="198.51.100.9")
        assert calls == [], email


def test_password_reset_answers_the_same_for_existing_and_unknown_emails(
    world: World, mailed
) -> None:
    url = reverse("accounts:password_reset")
    known = mailed(HttpClient(), url, {"email": world.client_user.email})
    unknown = mailed(HttpClient(), url, {"email": "no-such-person@harbour.test"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1
    done = HttpClient().get(known["Location"])
    assert b"If the address belongs to an account" in done.content


def test_unlock_request_answers_the_same_for_existing_and_unknown_emails(
    world: World, mailed
) -> None:
    url = reverse("accounts:unlock_request")
    known = mailed(HttpClient(), url, {"email": world.client_user.email})
    unknown = mailed(HttpClient(), url, {"email": "no-such-person@harbour.test"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == reverse("accounts:unlock_sent")
    assert [m.to for m in mail.outbox] == [[world.client_user.email]]


# --- unlocking by email ---------------------------------------------------------------------


def _unlock_link() -> str:
    found = re.search(r"https?://[^/]+(/accounts/unlock/[^/\s]+/)", mail.outbox[-1].body)
    assert found is not None
    return found.group(1)


def test_the_owner_unlocks_sign_in_by_email_while_an_attacker_keeps_trying(
    world: World, mailed
) -> None:
    email = world.colleague.email
    for i in range(settings.LOGIN_ACCOUNT_FREE_ATTEMPTS + 2):
        _login(HttpClient(), email, "guess", REMOTE_ADDR=f"203.0.113.{i}")
    owner = HttpClient()
    assert _login(owner, email, PASSWORD, REMOTE_ADDR="192.0.2.10").status_code == 429
    mailed(owner, reverse("accounts:unlock_request"), {"email": email})
    link = _unlock_link()
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert not UnlockLink.objects.filter(digest=token).exists()
    assert UnlockLink.objects.filter(digest=hash_token(token)).exists()
    # Opening the link (as a mail scanner would) spends nothing.
    page = owner.get(link)
    assert b"Unlock sign-in in this browser" in page.content
    assert UnlockLink.objects.get().used_at is None
    response = owner.post(link, REMOTE_ADDR="192.0.2.10")
    assert response["Location"] == LOGIN
    unlock = AuditEntry.objects.get(action="unlock", object_id=str(world.colleague.pk))
    assert unlock.detail == {"via": "email link"} and unlock.ip == "192.0.2.10"
    # The attacker goes on; the owner's browser is not held up by it.
    for i in range(settings.LOGIN_ACCOUNT_FREE_ATTEMPTS + 2):
        _login(HttpClient(), email, "guess", REMOTE_ADDR=f"203.0.113.{i}")
    assert _login(owner, email, PASSWORD, REMOTE_ADDR="192.0.2.10").status_code == 302
    # Used once, never again.
    assert b"This link has expired" in HttpClient().post(link).content


def test_an_expired_unlock_link_does_nothing(world: World, mailed) -> None:
    mailed(HttpClient(), reverse("accounts:unlock_request"), {"email": world.client_user.email})
    link = _unlock_link()
    UnlockLink.objects.update(expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    response = HttpClient().post(link)
    assert response.status_code == 200 and b"This link has expired" in response.content
    assert not AuditEntry.objects.filter(action="unlock").exists()
    assert browsers.COOKIE not in response.cookies


def test_unlock_links_are_limited_per_hour_without_saying_so(world: World, mailed) -> None:
    for _ in range(5):
        response = mailed(
            HttpClient(), reverse("accounts:unlock_request"), {"email": world.client_user.email}
        )
        assert response["Location"] == reverse("accounts:unlock_sent")
    assert len(mail.outbox) == 3


def test_no_unlock_link_for_an_account_without_a_password(world: World, mailed) -> None:
    world.client_user.set_unusable_password()
    world.client_user.save()
    mailed(HttpClient(), reverse("accounts:unlock_request"), {"email": world.client_user.email})
    assert not mail.outbox


def test_choosing_a_new_password_by_email_lifts_the_back_off(world: World, mailed) -> None:
    email = world.client_user.email
    for i in range(settings.LOGIN_ACCOUNT_FREE_ATTEMPTS):
        _login(HttpClient(), email, "guess", REMOTE_ADDR=f"203.0.113.{i}")
    http = HttpClient()
    mailed(http, reverse("accounts:password_reset"), {"email": email})
    link = re.search(r"https?://[^/]+(/accounts/set-password/\S+/)", mail.outbox[0].body)
    assert link is not None
    form_page = http.get(link.group(1), follow=True)
    new = "another-long-password-77"
    http.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert AuditEntry.objects.filter(
        action="password_reset", object_id=str(world.client_user.pk)
    ).exists()
    assert _login(HttpClient(), email, new, REMOTE_ADDR="192.0.2.3").status_code == 302


def test_the_cli_lifts_back_off_and_says_so_in_the_trail(world: World) -> None:
    import io

    from django.core.management import call_command

    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        _login(HttpClient(), world.client_user.email, "wrong")
    call_command("user", "unlock", "--email", world.client_user.email, stdout=io.StringIO())
    assert AuditEntry.objects.get(action="unlock").detail == {"via": "cli"}
    assert _login(HttpClient(), world.client_user.email, PASSWORD).status_code == 302


# --- configuration --------------------------------------------------------------------------


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "unix"])
def test_gunicorn_believes_forwarded_headers_from_the_same_proxies(monkeypatch) -> None:
    from gunicorn.app.base import BaseApplication

    from reverie.core.management.commands import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(
        BaseApplication, "run", lambda self: seen.update(allow=self.cfg.forwarded_allow_ips)
    )
    serve.run_gunicorn("127.0.0.1:0", 1, 1)
    assert seen["allow"] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REVERIE_TRUSTED_PROXIES", "10.0.0.1/8", "REVERIE_TRUSTED_PROXIES"),
        ("REVERIE_TRUSTED_PROXIES", "proxy.internal", "REVERIE_TRUSTED_PROXIES"),
        ("REVERIE_LOGIN_LOCKOUT_THRESHOLD", "5", "no longer locks accounts"),
        ("REVERIE_LOGIN_LOCKOUT_MINUTES", "15", "no longer locks accounts"),
    ],
)
def test_bad_or_removed_sign_in_settings_stop_start_up(
    tmp_path, variable: str, value: str, message: str
) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "REVERIE_DATA_DIR": str(tmp_path), variable: value}
    env.pop("REVERIE_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import reverie.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr


# --- forwarded scheme ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "status"),
    [([], 301), (["10.0.0.0/8"], 301), (["127.0.0.1"], 200)],
)
def test_forwarded_proto_counts_only_from_a_trusted_proxy(proxies: list[str], status: int) -> None:
    """A forged ``X-Forwarded-Proto: https`` on plain HTTP from a peer that is not a
    trusted proxy is dropped, so the redirect to HTTPS still happens (the test client's
    peer is 127.0.0.1)."""
    with override_settings(
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
        SECURE_SSL_REDIRECT=True,
        TRUSTED_PROXIES=proxies,
    ):
        response = HttpClient().get(LOGIN, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == status
    if status == 301:
        assert response["Location"].startswith("https://")
