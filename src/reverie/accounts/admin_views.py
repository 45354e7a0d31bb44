"""The practice admin's pages for people (list, invite, unlock, deactivate) and the
practice's date format."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts import actions, throttle
from reverie.accounts.forms import InviteForm
from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.core.decorators import role_required, signed_in_user
from reverie.lib import dates


def _practice_user(request: HttpRequest, pk: int) -> User:
    return get_object_or_404(User, pk=pk, practice_id=request.user.practice_id)  # type: ignore[union-attr]


@role_required(Role.ADMIN)
def users(request: HttpRequest) -> HttpResponse:
    people = (
        User.objects.filter(practice_id=request.user.practice_id)  # type: ignore[union-attr]
        .annotate(has_2fa=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("role", "full_name", "email")
    )
    role = request.GET.get("role", "")
    if role in Role.values:
        people = people.filter(role=role)
    return _page(request, people, InviteForm(), role)


def _page(
    request: HttpRequest, people: QuerySet[User], form: InviteForm, role: str, status: int = 200
) -> HttpResponse:
    people_list = list(people)
    # Whose sign-in is slowed for every browser not known to the account: the admin can
    # lift it (the owner can too, by emailed link).
    slowed = throttle.slowed(p.email for p in people_list)
    for person in people_list:
        person.slowed = slowed.get(person.email)  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/practice_users.html",
        {"people": people_list, "form": form, "roles": Role.choices, "role": role},
        status=status,
    )


@role_required(Role.ADMIN)
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        people = User.objects.filter(practice_id=request.user.practice_id)  # type: ignore[union-attr]
        return _page(request, people, form, "", status=400)
    ctx = trail.context(request)
    user = actions.create_user(
        ctx,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        full_name=form.cleaned_data["full_name"],
        practice=request.user.practice,  # type: ignore[union-attr]
    )
    actions.send_invitation(ctx, user, request.user.display_name)  # type: ignore[union-attr]
    messages.success(request, f"Invitation sent to {user.email}.")
    return redirect("practice:users")


@role_required(Role.ADMIN)
@require_POST
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    user = _practice_user(request, pk)
    actions.unlock_user(trail.context(request), user)
    messages.success(request, f"Sign-in back-off lifted for {user.email}.")
    return redirect("practice:users")


@role_required(Role.ADMIN)
@require_POST
def set_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = _practice_user(request, pk)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate your own account.")
        return redirect("practice:users")
    active = request.POST.get("active") == "1"
    actions.set_active(trail.context(request), user, active)
    messages.success(request, f"{user.email} is now {'active' if active else 'deactivated'}.")
    return redirect("practice:users")


@role_required(Role.ADMIN)
def date_format(request: HttpRequest) -> HttpResponse:
    """The practice admin chooses how every page and email writes dates (en-US or en-GB),
    with each choice shown on today's date so the difference is visible before saving."""
    user = signed_in_user(request)
    practice = user.practice
    error = ""
    status = 200
    if request.method == "POST":
        try:
            changed = actions.set_date_locale(
                trail.context(request), practice, request.POST.get("date_locale", "")
            )
        except actions.SettingRefused as exc:
            error, status = str(exc), 400
        else:
            if changed:
                messages.success(request, "Saved: dates are now written this way everywhere.")
            else:
                messages.info(request, "That is the date format already in use.")
            return redirect("practice:date_format")
    now = timezone.localtime(timezone.now(), practice.zone)
    choices = [
        {
            "value": code,
            "label": label.split(":")[0],
            "checked": code == practice.date_locale,
            "examples": [
                dates.format_date(now, "date", code),
                dates.format_datetime(now, "date", code),
                dates.format_date(now, "long", code),
            ],
        }
        for code, label in dates.LOCALE_CHOICES
    ]
    return render(
        request,
        "accounts/date_format.html",
        {"choices": choices, "error": error, "practice": practice},
        status=status,
    )
