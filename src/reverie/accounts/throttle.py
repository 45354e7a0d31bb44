"""Sign-in back-off read from the database: the recorded attempts for the rules in
:mod:`reverie.accounts.backoff`. Two indexed queries per sign-in, each bounded, so several
app servers sharing one database apply the same limits."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from reverie.accounts import backoff
from reverie.accounts.models import LoginAttempt

# An email under attack gathers at most about a hundred counted failures a day (the
# back-off allows one attempt per cap after the allowance); reading more rows than this
# cannot change a verdict except by finding an older success, and missing one only errs
# towards caution.
_EMAIL_ROWS = 1000


def policy() -> backoff.Policy:
    """Read per call, so tests can override the settings."""
    return backoff.Policy(
        free=settings.LOGIN_FREE_ATTEMPTS,
        account_free=settings.LOGIN_ACCOUNT_FREE_ATTEMPTS,
        address_limit=settings.LOGIN_IP_LIMIT,
        cap=datetime.timedelta(minutes=settings.LOGIN_BACKOFF_MAX_MINUTES),
    )


def _email_rows(
    emails: Iterable[str], since: datetime.datetime, limit: int | None = _EMAIL_ROWS
) -> dict[str, list[backoff.Attempt]]:
    rows: dict[str, list[backoff.Attempt]] = {}
    query = (
        LoginAttempt.objects.filter(email__in=list(emails), at__gte=since)
        .order_by("-at")
        .values_list("email", "at", "outcome", "ip", "browser")
    )
    for email, at, outcome, ip, browser in query[:limit]:
        rows.setdefault(email, []).append(backoff.Attempt(at, outcome, ip, browser))
    return rows


def verdict(email: str, ip: str | None, browser: str) -> backoff.Verdict:
    """May an attempt on ``email`` from ``ip`` (and known browser ``browser``) go ahead?"""
    rules = policy()
    now = timezone.now()
    rows = _email_rows([email], now - rules.memory).get(email, [])
    address: list[datetime.datetime] = []
    if ip is not None and not browser:
        address = list(
            LoginAttempt.objects.filter(
                ip=ip,
                outcome=LoginAttempt.Outcome.FAILED,
                browser="",
                at__gte=now - rules.address_window,
            )
            .order_by("-at")
            .values_list("at", flat=True)[: rules.address_limit]
        )
    return backoff.judge(rows, address, ip=ip, browser=browser, now=now, policy=rules)


def slowed(emails: Iterable[str]) -> dict[str, backoff.Verdict]:
    """The emails whose account-wide back-off is running now, for the admin's list."""
    rules = policy()
    now = timezone.now()
    found: dict[str, backoff.Verdict] = {}
    # No row limit: one busy email must not hide another's back-off, and back-off itself
    # bounds how many rows a day can hold.
    for email, rows in _email_rows(emails, now - rules.memory, limit=None).items():
        judged = backoff.account_wait(rows, now, rules)
        if not judged.allowed:
            found[email] = judged
    return found
