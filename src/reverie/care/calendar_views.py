"""The therapist's private iCalendar feed: client initials only, never names or diagnoses."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from reverie.accounts.models import Role, hash_token
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import actions, hooks, ics
from reverie.care.models import Appointment, Attendance, CalendarFeed, VideoRoom
from reverie.core.decorators import role_required, signed_in_user


@role_required(Role.THERAPIST)
def calendar_settings(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    new_url = ""
    if request.method == "POST":
        if request.POST.get("action") == "room":
            try:
                actions.set_video_room(trail.context(request), request.POST.get("video_room", ""))
            except actions.CareActionError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "Your video room is saved; new series start with it.")
            return redirect("care:calendar")
        if request.POST.get("action") == "revoke":
            actions.revoke_calendar_feed(trail.context(request), user)
            messages.success(
                request, "The calendar feed is switched off; the old address no longer works."
            )
            return redirect("care:calendar")
        raw = actions.create_calendar_feed(trail.context(request), user)
        new_url = request.build_absolute_uri(reverse("care:calendar_feed", args=[raw]))
    active = CalendarFeed.objects.filter(therapist=user, revoked_at__isnull=True).first()
    room = VideoRoom.objects.filter(therapist=user).first()
    return render(
        request,
        "care/calendar.html",
        {"active": active, "new_url": new_url, "room": room},
    )


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone holding the secret address may read it, as calendar apps cannot sign in; it
    therefore shows only times and initials."""
    feed = get_object_or_404(
        CalendarFeed.objects.select_related("therapist"),
        digest=hash_token(token),  # unique
        revoked_at__isnull=True,
        therapist__is_active=True,
    )
    now = timezone.now()
    appointments = (
        Appointment.objects.filter(
            episode__therapist=feed.therapist,
            starts_at__gte=now - datetime.timedelta(days=30),
            starts_at__lte=now + datetime.timedelta(days=120),
        )
        .select_related("episode__client", "series")
        .order_by("starts_at")
    )
    events = [
        ics.event(
            uid=f"session-{a.pk}@reverie",
            summary=f"Session {a.episode.client.initials}",
            start=a.starts_at,
            minutes=a.duration_minutes,
            stamp=now,
            location=a.join_link,
            cancelled=a.attendance in (Attendance.CANCELLED, Attendance.LATE_CANCEL),
        )
        for a in appointments
    ]
    # First consultations (scheduling, through care.hooks): initials only, like sessions.
    others = hooks.agenda(
        feed.therapist, now - datetime.timedelta(days=30), now + datetime.timedelta(days=120)
    )
    events += [
        ics.event(
            uid=item.uid,
            summary=f"{item.kind} {item.initials}",
            start=item.starts_at,
            minutes=item.minutes,
            stamp=now,
            location=item.location,
        )
        for item in others
    ]
    trail.record(
        trail.Context(user=feed.therapist, ip=trail.client_ip(request), label="calendar-feed"),
        Action.LIST,
        object_type="care.appointment",
        detail={"view": "ics", "sessions": len(events)},
    )
    for object_type, ids in hooks.audit_detail(others).items():
        trail.record(
            trail.Context(user=feed.therapist, ip=trail.client_ip(request), label="calendar-feed"),
            Action.LIST,
            object_type=object_type,
            detail={"view": "ics", "ids": ids},
        )
    body = ics.calendar(events, name="Reverie sessions")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
