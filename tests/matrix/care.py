"""Routes of the clinical record (issue: clients, episodes, sessions, notes, calendar)."""

from __future__ import annotations

import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from matrix import Route, everyone, only
from reverie.audit import trail
from reverie.care import actions
from reverie.care.models import Appointment
from reverie.process import actions as process_actions
from reverie.testing import World

THERAPISTS = {"therapist": 200, "colleague": 200, "stranger": 200}


def objects(w: World) -> dict[str, Any]:
    """Clinical objects of the therapist's client, made once per test world."""
    cached = getattr(w, "_care_objects", None)
    if cached is not None:
        return cached
    ctx = trail.Context(user=w.therapist)
    series = actions.create_series(
        ctx,
        w.episode,
        weekdays=[1, 4],
        every_weeks=1,
        start_time=datetime.time(9, 0),
        starts_on=timezone.localdate(),
    )
    past = Appointment.objects.filter(episode=w.episode, starts_at__lt=timezone.now()).first()
    note = actions.save_progress_note(
        ctx, episode=w.episode, fields={"session_date": timezone.localdate(), "plan": "continue"}
    )
    process = process_actions.save_process_note(ctx, episode=w.episode, text="private reflections")
    feed = actions.create_calendar_feed(ctx, w.therapist)
    cached = {"series": series, "past": past, "note": note, "process": process, "feed": feed}
    w._care_objects = cached  # type: ignore[attr-defined]
    return cached


def own(status: int, *, admin: int = 403) -> dict[str, int]:
    """Only the treating therapist; colleagues and strangers learn nothing (404)."""
    return only({"therapist": status, "colleague": 404, "stranger": 404, "admin": admin})


ROUTES = [
    Route("care:today", lambda w: reverse("care:today"), only(THERAPISTS)),
    Route("care:clients", lambda w: reverse("care:clients"), only({**THERAPISTS, "admin": 200})),
    Route("care:client_new", lambda w: reverse("care:client_new"), only(THERAPISTS)),
    Route("care:client", lambda w: reverse("care:client", args=[w.client.pk]), own(200, admin=200)),
    Route("care:client_edit", lambda w: reverse("care:client_edit", args=[w.client.pk]), own(200)),
    Route("care:episode_new", lambda w: reverse("care:episode_new", args=[w.client.pk]), own(200)),
    Route(
        "care:episode_status",
        lambda w: reverse("care:episode_status", args=[w.episode.pk]),
        own(302),
        method="post",
        data={"status": "paused"},
    ),
    Route("care:episode_end", lambda w: reverse("care:episode_end", args=[w.episode.pk]), own(200)),
    Route(
        "care:episode_frequency",
        lambda w: reverse("care:episode_frequency", args=[w.episode.pk]),
        own(200),
    ),
    Route("care:series_new", lambda w: reverse("care:series_new", args=[w.episode.pk]), own(200)),
    Route("care:break_new", lambda w: reverse("care:break_new", args=[w.episode.pk]), own(200)),
    Route(
        "care:progress_note_new",
        lambda w: reverse("care:progress_note_new", args=[w.episode.pk]),
        own(200),
    ),
    Route(
        "care:process_note_new",
        lambda w: reverse("care:process_note_new", args=[w.episode.pk]),
        own(200),
    ),
    Route(
        "care:series_change",
        lambda w: reverse("care:series_change", args=[objects(w)["series"].pk]),
        own(200),
    ),
    Route(
        "care:attendance",
        lambda w: reverse("care:attendance", args=[objects(w)["past"].pk]),
        own(302),
        method="post",
        data={"attendance": "attended"},
    ),
    Route(
        "care:session_video",
        lambda w: reverse("care:session_video", args=[objects(w)["past"].pk]),
        own(302),
        method="post",
        data={"video_link": "https://meet.example.org/harbour/theo"},
    ),
    Route(
        "care:progress_note",
        lambda w: reverse("care:progress_note", args=[objects(w)["note"].pk]),
        own(200),
    ),
    Route(
        "care:progress_note_save",
        lambda w: reverse("care:progress_note_save", args=[objects(w)["note"].pk]),
        own(400),
        method="post",
    ),
    Route(
        "care:progress_note_sign",
        lambda w: reverse("care:progress_note_sign", args=[objects(w)["note"].pk]),
        own(302),
        method="post",
    ),
    Route(  # the confirmation step, before anything is signed
        "care:progress_note_sign",
        lambda w: reverse("care:progress_note_sign", args=[objects(w)["note"].pk]),
        own(200),
    ),
    Route(
        "care:progress_note_addendum",
        lambda w: reverse("care:progress_note_addendum", args=[objects(w)["note"].pk]),
        own(302),
        method="post",
    ),
    # Authorship is the rule: the admin is refused by role, everyone else finds nothing.
    Route(
        "care:process_note",
        lambda w: reverse("care:process_note", args=[objects(w)["process"].pk]),
        own(200),
    ),
    Route(
        "care:process_note_save",
        lambda w: reverse("care:process_note_save", args=[objects(w)["process"].pk]),
        own(400),
        method="post",
    ),
    Route("care:calendar", lambda w: reverse("care:calendar"), only(THERAPISTS)),
    # The feed is read by calendar apps, which cannot sign in: the secret address is the key.
    Route(
        "care:calendar_feed",
        lambda w: reverse("care:calendar_feed", args=[objects(w)["feed"]]),
        everyone(200),
    ),
]
