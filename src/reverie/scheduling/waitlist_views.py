"""The waitlist's pages: joining from a therapist's profile (public), answering an offer
(public, by the emailed link), and the practice admin's list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.decorators import role_required, signed_in_user
from reverie.directory import actions as directory_actions
from reverie.directory.public import page_context, require_public_practice
from reverie.scheduling import waitlist
from reverie.scheduling.actions import SchedulingError
from reverie.scheduling.forms import TIME_CHOICES, WaitlistForm
from reverie.scheduling.models import WaitlistEntry, WaitStatus
from reverie.scheduling.public_views import _profile


def _public_ctx(request: HttpRequest, label: str, practice: Any) -> trail.Context:
    return trail.Context(
        user=request.user if isinstance(request.user, User) else None,
        ip=trail.client_ip(request),
        label=label,
        practice=practice,
    )


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, pk: int) -> HttpResponse:
    practice, profile = _profile(request, pk)
    context: dict[str, Any] = {**page_context(practice), "profile": profile}
    if request.method == "GET":
        return render(request, "scheduling/waitlist_join.html", {**context, "form": WaitlistForm()})
    form = WaitlistForm(request.POST)
    digest = directory_actions.ip_digest(trail.client_ip(request))
    if directory_actions.rate_limited(digest):
        context["problem"] = (
            "Several requests have already been sent from this connection in the last hour, "
            "so this one was not sent. Please try again in an hour."
        )
        return render(
            request, "scheduling/waitlist_join.html", {**context, "form": form}, status=429
        )
    if form.is_spam:
        directory_actions.note_attempt(digest)
        return render(request, "scheduling/waitlist_joined.html", context)
    if not form.is_valid():
        return render(
            request, "scheduling/waitlist_join.html", {**context, "form": form}, status=400
        )
    directory_actions.note_attempt(digest)
    data = form.cleaned_data
    try:
        waitlist.join(
            _public_ctx(request, "public:waitlist", practice),
            practice,
            profile,
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            times=list(data["times"]),
        )
    except SchedulingError as exc:
        context["problem"] = str(exc)
        return render(
            request, "scheduling/waitlist_join.html", {**context, "form": form}, status=400
        )
    return render(request, "scheduling/waitlist_joined.html", context)


@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed offer: see the held time, then book it or let it go. A forged, expired,
    used or withdrawn link gets the same neutral page and changes nothing."""
    practice = require_public_practice(request)
    context: dict[str, Any] = page_context(practice)
    try:
        found = waitlist.offer_from_token(token)
        if found.entry.practice_id != practice.pk:
            raise waitlist.OfferUnavailable
    except waitlist.OfferUnavailable as exc:
        return render(
            request, "scheduling/offer.html", {**context, "problem": str(exc)}, status=404
        )
    zone = practice.zone
    context.update(
        offer=found,
        when=timezone.localtime(found.booking.starts_at, zone),
        expires=timezone.localtime(found.expires_at, zone),
        time_zone=zone.key,
    )
    if request.method == "GET":
        return render(request, "scheduling/offer.html", context)
    ctx = _public_ctx(request, "public:waitlist offer", practice)
    choice = request.POST.get("choice")
    try:
        if choice == "accept":
            waitlist.accept(ctx, token)
            return render(request, "scheduling/offer.html", {**context, "done": "accepted"})
        if choice == "decline":
            waitlist.decline(ctx, token)
            return render(request, "scheduling/offer.html", {**context, "done": "declined"})
    except waitlist.OfferUnavailable as exc:
        return render(
            request, "scheduling/offer.html", {**context, "problem": str(exc)}, status=404
        )
    context["problem"] = "Choose whether to book the time or let it go."
    return render(request, "scheduling/offer.html", context, status=400)


@role_required(Role.ADMIN)
def entries(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    rows = list(
        WaitlistEntry.objects.filter(
            practice=user.practice, status__in=(WaitStatus.WAITING, WaitStatus.OFFERED)
        )
        .select_related("therapist")
        .prefetch_related("offers")
    )
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="scheduling.waitlistentry",
        detail={"view": "waitlist", "entries": [e.pk for e in rows]},
    )
    labels = dict(TIME_CHOICES)
    return render(
        request,
        "scheduling/waitlist.html",
        {
            "rows": [
                {
                    "entry": e,
                    "times": [labels[t] for t in e.times if t in labels],
                    "offer": next((o for o in e.offers.all() if o.status == "open"), None),
                }
                for e in rows
            ],
            "zone": user.practice.zone.key,
        },
    )


@role_required(Role.ADMIN)
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    entry = get_object_or_404(WaitlistEntry, pk=pk, practice=user.practice)
    try:
        waitlist.remove(trail.context(request), entry)
    except SchedulingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{entry.name} is off the waitlist.")
    return redirect("scheduling:waitlist")
