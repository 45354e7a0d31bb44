"""The rules of sign-in back-off, as plain functions of recorded attempts (no ORM).

Four counts, each of failed password attempts since the email last signed in or was
unlocked (and within the last day):

* **pair** — one email from one address: after ``free`` failures, each further attempt
  waits ``base``, then twice as long after each failure, up to ``cap``. A person who
  mistypes is slowed a little; one machine guessing is slowed a lot.
* **account** — one email from every address together: after ``account_free`` failures
  the same doubling applies to everyone trying it, so guessing spread over many addresses
  is slowed too.
* **address** — one address over every email: ``address_limit`` failures within
  ``address_window`` and that address waits until the oldest ages out.
* **known browser** — a browser the account signed in from before (a signed cookie) is
  judged only by its own failures, with the pair allowance. Neither the account nor the
  address count touches it, so an attacker who hammers an account or shares an address
  with its owner cannot keep the owner out. A known browser that fails ``account_free``
  times loses the privilege until the next sign-in or unlock.

Nothing here is a lockout: every rule ends by itself, there is no count over all
accounts, and the owner can always lift the account's back-off for their browser with an
emailed link. Refused attempts are not counted (otherwise an attacker could keep a
back-off running forever at no cost). The email counts do not depend on whether an
account exists, so a stranger learns nothing from being slowed down.

The design follows OWASP's "Slow Down Online Guessing Attacks with Device Cookies"
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies)
and NIST SP 800-63B §5.2.2 (rate limiting that does not let an attacker deny the
subscriber, https://pages.nist.gov/800-63-3/sp800-63b.html#throttle).

>>> import datetime as dt
>>> now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
>>> policy = Policy(free=5, account_free=10, address_limit=30)
>>> fails = [Attempt(now - dt.timedelta(seconds=s), FAILED, "192.0.2.1", "") for s in range(5)]
>>> judge(fails, [], ip="192.0.2.1", browser="", now=now, policy=policy)
Verdict(wait=datetime.timedelta(seconds=30), scope='pair', failures=5)
>>> judge(fails, [], ip="198.51.100.9", browser="", now=now, policy=policy).allowed
True
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

FAILED = "failed"
SUCCEEDED = "succeeded"
UNLOCKED = "unlocked"
_CLEARS = (SUCCEEDED, UNLOCKED)
_ZERO = datetime.timedelta(0)


@dataclass(frozen=True)
class Attempt:
    at: datetime.datetime
    outcome: str
    ip: str | None
    browser: str


@dataclass(frozen=True)
class Policy:
    free: int
    account_free: int
    address_limit: int
    address_window: datetime.timedelta = datetime.timedelta(minutes=15)
    base: datetime.timedelta = datetime.timedelta(seconds=30)
    cap: datetime.timedelta = datetime.timedelta(minutes=15)
    memory: datetime.timedelta = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class Verdict:
    """``wait`` is zero when the attempt may go ahead; ``scope`` names the rule that binds."""

    wait: datetime.timedelta
    scope: str = ""
    failures: int = 0

    @property
    def allowed(self) -> bool:
        return self.wait <= _ZERO


ALLOWED = Verdict(_ZERO)


def delay(
    failures: int, free: int, base: datetime.timedelta, cap: datetime.timedelta
) -> datetime.timedelta:
    """The wait after ``failures`` counted failures: none within the allowance, then
    ``base`` doubling per failure, never more than ``cap``.

    >>> base, cap = datetime.timedelta(seconds=30), datetime.timedelta(minutes=15)
    >>> [int(delay(n, 5, base, cap).total_seconds()) for n in range(4, 12)]
    [0, 30, 60, 120, 240, 480, 900, 900]
    """
    if failures < free:
        return _ZERO
    # The exponent is bounded so a long run of failures cannot overflow the timedelta.
    factor: int = 2 ** min(failures - free, 32)
    return min(cap, base * factor)


def _wait(
    failures: Sequence[Attempt], free: int, policy: Policy, now: datetime.datetime, scope: str
) -> Verdict:
    if len(failures) < free:
        return ALLOWED
    last = max(a.at for a in failures)
    wait = last + delay(len(failures), free, policy.base, policy.cap) - now
    return Verdict(max(wait, _ZERO), scope, len(failures)) if wait > _ZERO else ALLOWED


def _counted(rows: Sequence[Attempt], now: datetime.datetime, policy: Policy) -> list[Attempt]:
    """Failures since the last success or unlock, within memory."""
    cleared = max((a.at for a in rows if a.outcome in _CLEARS), default=None)
    since = now - policy.memory
    return [
        a
        for a in rows
        if a.outcome == FAILED and a.at >= since and (cleared is None or a.at > cleared)
    ]


def judge(
    email_rows: Sequence[Attempt],
    address_failures: Sequence[datetime.datetime],
    *,
    ip: str | None,
    browser: str,
    now: datetime.datetime,
    policy: Policy,
) -> Verdict:
    """May an attempt on one email, from ``ip`` and ``browser`` (``""`` if not a known
    browser of that account), go ahead now?

    ``email_rows`` are that email's recorded attempts and unlocks (any order);
    ``address_failures`` the times of failures from ``ip`` by unknown browsers within
    ``policy.address_window``.

    >>> import datetime as dt
    >>> now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    >>> policy = Policy(free=5, account_free=10, address_limit=30)
    >>> botnet = [Attempt(now, FAILED, f"203.0.113.{i}", "") for i in range(12)]
    >>> judge(botnet, [], ip="203.0.113.99", browser="", now=now, policy=policy).scope
    'account'
    >>> judge(botnet, [], ip="203.0.113.99", browser="b1", now=now, policy=policy).allowed
    True
    """
    counted = _counted(email_rows, now, policy)
    if browser:
        own = [a for a in counted if a.browser == browser]
        if len(own) < policy.account_free:
            return _wait(own, policy.free, policy, now, "browser")
    unknown = [a for a in counted if not a.browser]
    verdicts = [
        _wait([a for a in unknown if a.ip == ip], policy.free, policy, now, "pair"),
        _wait(unknown, policy.account_free, policy, now, "account"),
    ]
    if ip is not None and len(address_failures) >= policy.address_limit:
        newest = sorted(address_failures, reverse=True)
        wait = newest[policy.address_limit - 1] + policy.address_window - now
        if wait > _ZERO:
            verdicts.append(Verdict(wait, "address", len(address_failures)))
    return max(verdicts, key=lambda v: v.wait)


def account_wait(email_rows: Sequence[Attempt], now: datetime.datetime, policy: Policy) -> Verdict:
    """The back-off every unknown browser faces on this email (the admin's people list
    shows it, with an Unlock button)."""
    counted = _counted(email_rows, now, policy)
    return _wait([a for a in counted if not a.browser], policy.account_free, policy, now, "account")
