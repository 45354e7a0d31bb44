"""Known browsers: a signed cookie that remembers which accounts signed in (or were unlocked
by their owner) in this browser, so that sign-in back-off aimed at an account does not keep
its owner out (OWASP's device cookies; see :mod:`reverie.accounts.backoff`).

The cookie holds, per account, its id, a random browser id and a fingerprint of the
account's password hash; changing the password therefore forgets every browser. It is
signed with the secret key, sent only to ``/accounts/`` pages, and never readable by script.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac

from reverie.accounts.models import User

COOKIE = "reverie_known"
_SALT = "reverie.accounts.known-browser"
MAX_AGE = datetime.timedelta(days=180)
# A shared family computer may sign in a few people; more is not worth a bigger cookie.
_KEEP = 5


def _fingerprint(user: User) -> str:
    return salted_hmac(_SALT, user.password or "", algorithm="sha256").hexdigest()[:24]


def _entries(request: HttpRequest) -> list[tuple[int, str, str]]:
    raw = request.COOKIES.get(COOKIE)
    if not raw:
        return []
    try:
        data: Any = signing.loads(raw, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return []
    entries: list[tuple[int, str, str]] = []
    if isinstance(data, list):
        for item in data[:_KEEP]:
            if (
                isinstance(item, list)
                and len(item) == 3
                and isinstance(item[0], int)
                and all(isinstance(part, str) for part in item[1:])
            ):
                entries.append((item[0], item[1], item[2]))
    return entries


def recognised(request: HttpRequest, email: str) -> str:
    """The browser id if this browser is known to the account with ``email``, else ``""``."""
    entries = _entries(request)
    if not entries:
        return ""
    user = (
        User.objects.filter(pk__in=[pk for pk, _, _ in entries], email=email, is_active=True)
        .only("pk", "password")
        .first()
    )
    if user is None:
        return ""
    expected = _fingerprint(user)
    for pk, browser, fingerprint in entries:
        if pk == user.pk and constant_time_compare(fingerprint, expected):
            return browser
    return ""


def remember(response: HttpResponse, request: HttpRequest, user: User) -> str:
    """Mark this browser as known to ``user`` (a fresh browser id); returns the id."""
    browser = secrets.token_hex(16)
    kept = [[pk, b, f] for pk, b, f in _entries(request) if pk != user.pk][: _KEEP - 1]
    value = signing.dumps([[user.pk, browser, _fingerprint(user)], *kept], salt=_SALT)
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(MAX_AGE.total_seconds()),
        path="/accounts/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return browser
