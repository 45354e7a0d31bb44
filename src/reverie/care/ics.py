"""iCalendar (RFC 5545) files: the therapist's feed and the invitations sent by email.

One place builds events, so the feed and an emailed invitation say the same things the same
way: times in UTC, a stable UID per session or booking (calendar apps update an event with
the same UID rather than adding a second one), the video link as the event's location, and
``STATUS:CANCELLED`` for a cancellation.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from icalendar import Calendar, Event


def event(
    *,
    uid: str,
    summary: str,
    start: datetime.datetime,
    minutes: int,
    stamp: datetime.datetime,
    location: str = "",
    description: str = "",
    cancelled: bool = False,
) -> Event:
    item = Event()
    item.add("uid", uid)
    item.add("summary", summary)
    item.add("dtstart", start)
    item.add("dtend", start + datetime.timedelta(minutes=minutes))
    item.add("dtstamp", stamp)
    if location:
        # The video link (or address) is where the session happens; calendar apps offer
        # to open it.
        item.add("location", location)
    if description:
        item.add("description", description)
    if cancelled:
        item.add("status", "CANCELLED")
    return item


def calendar(events: Iterable[Event], *, name: str = "", method: str = "") -> bytes:
    """The calendar file. ``method`` is ``PUBLISH`` for a one-off invitation attached to an
    email (RFC 5546 §3.2.1: no reply is expected), empty for a subscribed feed."""
    cal = Calendar()
    cal.add("prodid", "-//Reverie//Therapist sessions//EN")
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    for item in events:
        cal.add_component(item)
    return bytes(cal.to_ical())
