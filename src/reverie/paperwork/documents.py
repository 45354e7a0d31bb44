"""Intake forms as documents: the kinds a practice uses, the text Reverie ships for each,
the fingerprint that ties a signature to the exact words signed, and a form's status.

No Django here: the rules are tested on their own (doctests below, tests/paperwork/).

The fingerprint is SHA-256 over the title, a blank line and the Markdown body, UTF-8
encoded, with line endings normalised to ``\\n`` (a browser posts ``\\r\\n``; the same
words must give the same fingerprint however they were typed in).

>>> fingerprint("Consent", "Body\\r\\n") == fingerprint("Consent", "Body\\n")
True
>>> fingerprint("Consent", "Body")[:12]
'ce4c13447349'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Final

#: Every kind of form, in the order a new client reads them.
KINDS: Final[tuple[str, ...]] = (
    "consent_to_treatment",
    "privacy_notice",
    "telehealth_consent",
    "cancellation_policy",
    "release_of_information",
    "history_questionnaire",
)

#: The forms every new client is sent. A release of information is sent when one is needed
#: (the client's Forms page), because it names someone the client chooses.
SENT_TO_EVERY_CLIENT: Final[tuple[str, ...]] = tuple(
    k for k in KINDS if k != "release_of_information"
)

#: The history questionnaire's questions (key, question). Answers are optional.
HISTORY_QUESTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("reason", "What brings you to therapy now?"),
    ("previous_therapy", "Have you had therapy or counselling before? What helped, what did not?"),
    ("health", "Any physical health matters or medication your therapist should know about?"),
    ("family", "Who are the important people in your life, now and when you were growing up?"),
    ("hopes", "What would you like to be different when therapy has helped?"),
)

#: The longest a release of information may run when the client gives no shorter period.
RELEASE_MAX_DAYS: Final = 365


class Status(StrEnum):
    NOT_SENT = "not_sent"
    SENT = "sent"
    SIGNED = "signed"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return {
            "not_sent": "Not sent",
            "sent": "Waiting for signature",
            "signed": "Signed",
            "expired": "Expired",
        }[self.value]


@dataclass(frozen=True)
class ShippedForm:
    kind: str
    title: str
    body: str


def fingerprint(title: str, body: str) -> str:
    """SHA-256 (hex) of the exact document a client reads and signs."""
    text = f"{title.strip()}\n\n{body.strip()}\n".replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def shipped(kind: str) -> ShippedForm:
    """The default text of ``kind``, written for Reverie (``paperwork/defaults/<kind>.md``,
    a ``title:`` line, a blank line, the Markdown body). KeyError for an unknown kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    source = resources.files("reverie.paperwork").joinpath("defaults", f"{kind}.md")
    head, _, body = source.read_text(encoding="utf-8").partition("\n\n")
    key, _, title = head.partition(":")
    if key.strip() != "title" or not title.strip() or not body.strip():
        raise ValueError(f"{kind}: a shipped form needs a title: line, a blank line, a body")
    return ShippedForm(kind, title.strip(), body.strip() + "\n")


def status(*, sent: bool, signed: bool, expires_on: dt.date | None, today: dt.date) -> Status:
    """The status of one form for one client, from its latest version sent.

    A signature runs out on its expiry date's end (a release of information names one);
    other forms stay signed until a new version that must be signed again is sent, which
    makes the latest version unsigned again.

    >>> day = dt.date(2026, 5, 1)
    >>> status(sent=False, signed=False, expires_on=None, today=day).value
    'not_sent'
    >>> status(sent=True, signed=True, expires_on=day, today=day).value
    'signed'
    >>> status(sent=True, signed=True, expires_on=day, today=day + dt.timedelta(1)).value
    'expired'
    """
    if not sent:
        return Status.NOT_SENT
    if not signed:
        return Status.SENT
    if expires_on is not None and expires_on < today:
        return Status.EXPIRED
    return Status.SIGNED


def release_expiry_problem(expires_on: dt.date, today: dt.date) -> str | None:
    """Why a release's end date cannot be accepted, or None.

    >>> release_expiry_problem(dt.date(2026, 1, 1), dt.date(2026, 1, 2))
    'The end date has passed: choose a date from today on.'
    >>> release_expiry_problem(dt.date(2026, 1, 2), dt.date(2026, 1, 2)) is None
    True
    """
    if expires_on < today:
        return "The end date has passed: choose a date from today on."
    if expires_on > today + dt.timedelta(days=RELEASE_MAX_DAYS):
        return f"A release may run for {RELEASE_MAX_DAYS} days at most: choose an earlier date."
    return None
