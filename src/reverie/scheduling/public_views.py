"""Booking a first consultation from the directory: public pages, no account needed.

Nothing is stored until the person books; then the booking, its consultation request and
their audit entries are written together (``actions.book_consultation``). The form is rate-
limited with the consultation form's counter (a keyed digest of the connection's address).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from reverie.accounts.models import Practice, User
from reverie.audit import trail
from reverie.directory import actions as directory_actions
from reverie.directory.models import TherapistProfile
from reverie.directory.profiles import published_profiles
from reverie.directory.public import page_context, require_public_practice
from reverie.lib import dates
from reverie.scheduling import actions, openings
from reverie.scheduling.forms import BookingForm, link_value, parse_start


def _profile(request: HttpRequest, pk: int) -> tuple[Practice, TherapistProfile]:
    practice = require_public_practice(request)
    profile = get_object_or_404(published_profiles(practice), pk=pk)
    return practice, profile


def _page(
    request: HttpRequest,
    practice: Practice,
    profile: TherapistProfile,
    *,
    form: BookingForm | None = None,
    start: dt.datetime | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        **page_context(practice),
        "profile": profile,
        "form": form,
        "when": timezone.localtime(start, practice.zone) if start else None,
        "time_zone": practice.zone.key,
        "problem": problem,
    }
    return render(request, "scheduling/book.html", context, status=status)


def _why_not(
    practice: Practice, profile: TherapistProfile, start: dt.datetime | None
) -> tuple[str, int]:
    """Why this start cannot be booked now ("" if it can), and the status to answer with."""
    if start is None:
        return "That time could not be read. Please choose one from the list.", 400
    now = timezone.now()
    try:
        actions.check_start(start, now)
    except actions.SchedulingError as exc:
        return str(exc), 400
    if not openings.bookable(profile, practice):
        return f"{profile.user.display_name} is not taking bookings right now.", 400
    if start in openings.consultation_times(profile, practice, now=now):
        return "", 200
    error = actions.taken_or_forged(profile, start, "")
    return str(error), 409 if isinstance(error, actions.SlotTaken) else 400


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form for the time chosen on the profile (``?at=``). POST: book it."""
    practice, profile = _profile(request, pk)
    if request.method == "GET":
        start = parse_start(request.GET.get("at"))
        problem, status = _why_not(practice, profile, start)
        if problem or start is None:
            return _page(request, practice, profile, problem=problem, status=status)
        form = BookingForm(initial={"start": link_value(start)})
        return _page(request, practice, profile, form=form, start=start)

    form = BookingForm(request.POST)
    start = parse_start(request.POST.get("start"))
    digest = directory_actions.ip_digest(trail.client_ip(request))
    if directory_actions.rate_limited(digest):
        return _page(
            request,
            practice,
            profile,
            form=form,
            start=start,
            problem="Several requests have already been sent from this connection in the last "
            "hour, so this one was not sent. Please try again in an hour.",
            status=429,
        )
    if form.is_spam:
        # Answer as if it worked, so that the software learns nothing; store nothing.
        directory_actions.note_attempt(digest)
        return redirect("scheduling:booked")
    if not form.is_valid():
        if "start" in form.errors:
            problem, status = _why_not(practice, profile, None)
            return _page(request, practice, profile, problem=problem, status=status)
        return _page(request, practice, profile, form=form, start=start, status=400)
    data = form.cleaned_data
    ctx = trail.Context(
        user=request.user if isinstance(request.user, User) else None,
        ip=trail.client_ip(request),
        label="public:consultation booking",
        practice=practice,
    )
    directory_actions.note_attempt(digest)
    try:
        booking = actions.book_consultation(
            ctx,
            practice,
            profile,
            start=data["start"],
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            message=data["message"],
        )
    except actions.AlreadyBooked as exc:
        messages.info(request, str(exc))
        return redirect("scheduling:booked")
    except actions.SchedulingError as exc:
        status = 409 if isinstance(exc, actions.SlotTaken) else 400
        return _page(request, practice, profile, problem=str(exc), status=status)
    zone = practice.zone
    messages.success(
        request,
        f"Your consultation with {profile.user.display_name} is booked for "
        f"{dates.format_date(booking.starts_at, 'day', zone=zone)} at "
        f"{dates.format_time(booking.starts_at, zone=zone)}. We have emailed you a "
        "confirmation with a calendar file.",
    )
    return redirect("scheduling:booked")


@require_GET
def booked(request: HttpRequest) -> HttpResponse:
    practice = require_public_practice(request)
    return render(request, "scheduling/booked.html", page_context(practice))
