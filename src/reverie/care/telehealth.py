"""Video sessions: which links are accepted, and when the portal offers "Join".

No Django here. A link is the practice's own video service, whatever it is: any ``https``
address with a host name, no user name or password inside it (those would end up in
calendar feeds and reminder emails), at most 500 characters. Reverie never fetches it.

>>> check_video_link("https://meet.example.org/room/ada-therapist") is None
True
>>> check_video_link("http://meet.example.org/x")
'A video link must start with https://.'
>>> check_video_link("https://user:secret@meet.example.org/x")
'A video link must not carry a user name or password.'
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from urllib.parse import urlsplit

#: The portal offers "Join" from this long before a session starts until it ends.
JOIN_EARLY: Final = dt.timedelta(minutes=10)
MAX_LENGTH: Final = 500


def check_video_link(url: str) -> str | None:
    """Why ``url`` cannot be a session's video link, or None when it can."""
    if len(url) > MAX_LENGTH:
        return f"A video link may be at most {MAX_LENGTH} characters long."
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "A video link must not contain spaces."
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "This is not a web address."
    if parts.scheme.lower() != "https":
        return "A video link must start with https://."
    if not host or "." not in host.strip("."):
        return "A video link needs a host name, such as meet.example.org."
    if parts.username or parts.password:
        return "A video link must not carry a user name or password."
    return None


def can_join(starts_at: dt.datetime, duration_minutes: int, now: dt.datetime) -> bool:
    """Whether the portal shows "Join" now: from 10 minutes before the start to the end.

    >>> start = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
    >>> [can_join(start, 50, start + dt.timedelta(minutes=m)) for m in (-11, -10, 49, 50, 51)]
    [False, True, True, True, False]
    """
    end = starts_at + dt.timedelta(minutes=duration_minutes)
    return starts_at - JOIN_EARLY <= now <= end
