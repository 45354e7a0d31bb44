"""The staff side of the front door: a therapist's own profile, and the practice admin's
intake queue, directory profiles and psychoeducation pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.decorators import role_required, signed_in_user
from reverie.directory import actions, content, photos, selfcheck
from reverie.directory.forms import (
    CONCERN_CHOICES,
    MODALITY_LABELS,
    TIME_CHOICES,
    ConvertForm,
    EducationPageForm,
    TherapistProfileForm,
    TriageForm,
)
from reverie.directory.models import ConsultationRequest, RequestStatus, TherapistProfile
from reverie.directory.profiles import (
    WEEKDAYS,
    directory_entries,
    profile_problems,
    slot_label,
)
from reverie.vault.fields import unread

OPEN_STATUSES = (RequestStatus.NEW, RequestStatus.CONTACTED, RequestStatus.BOOKED)


# --- a therapist's own profile ---------------------------------------------------------------


@role_required(Role.THERAPIST)
def profile_edit(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    profile = TherapistProfile.objects.filter(user=user).first()
    initial = TherapistProfileForm.initial_from(profile) if profile else {"accepting_new": True}
    form = TherapistProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            photo = None
            upload = data.get("photo")
            try:
                if upload:
                    photo = photos.prepare(upload.read())
            except photos.PhotoError as exc:
                form.add_error("photo", str(exc))
            else:
                fields = {name: data[name] for name in actions.PROFILE_FIELDS}
                _, changed = actions.save_profile(
                    trail.context(request),
                    user,
                    fields,
                    photo=photo,
                    remove_photo=bool(data.get("remove_photo")),
                )
                messages.success(
                    request, "Your profile is saved." if changed else "Nothing changed."
                )
                return redirect("directory:profile_edit")
        status = 400
    else:
        status = 200
    entry = None
    if profile is not None and profile.published:
        found = directory_entries(user.practice, pk=profile.pk)
        entry = found[0] if found else None
    return render(
        request,
        "directory/profile_form.html",
        {
            "form": form,
            "profile": profile,
            "problems": profile_problems(profile) if profile else [],
            "entry": entry,
            "open_times": [slot_label(s) for s in entry.openings.slots] if entry else [],
        },
        status=status,
    )


# --- practice admin: directory profiles ------------------------------------------------------


@role_required(Role.ADMIN)
def profiles_admin(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    rows = list(
        TherapistProfile.objects.filter(user__practice_id=user.practice_id)
        .select_related("user")
        .defer("photo")
        .order_by("user__full_name", "pk")
    )
    entries = {e.pk: e for e in directory_entries(user.practice)}
    return render(
        request,
        "directory/admin_profiles.html",
        {
            "rows": [
                {"profile": p, "entry": entries.get(p.pk), "problems": profile_problems(p)}
                for p in rows
            ]
        },
    )


@role_required(Role.ADMIN)
@require_POST
def profile_publish(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    profile = get_object_or_404(
        TherapistProfile.objects.select_related("user"), pk=pk, user__practice_id=user.practice_id
    )
    published = request.POST.get("published") == "1"
    actions.set_profile_published(trail.context(request), profile, published)
    name = profile.user.display_name
    messages.success(request, f"{name}'s profile is {'shown' if published else 'hidden'}.")
    return redirect("directory:profiles_admin")


# --- practice admin: psychoeducation pages ---------------------------------------------------


@role_required(Role.ADMIN)
def pages_admin(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return render(
        request, "directory/admin_pages.html", {"pages": content.all_pages(user.practice)}
    )


@role_required(Role.ADMIN)
def page_edit(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in content.PAGES:
        raise Http404("No such page")
    user = signed_in_user(request)
    page = content.page_for(user.practice, slug)
    form = EducationPageForm(
        request.POST or None,
        initial={"title": page.title, "summary": page.summary, "body": page.body},
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.save_education_page(
                    trail.context(request), user.practice, slug, **form.cleaned_data
                )
            except actions.DirectoryActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"“{form.cleaned_data['title']}” is saved and public.")
                return redirect("directory:pages_admin")
        return render(
            request, "directory/admin_page_edit.html", {"form": form, "page": page}, status=400
        )
    return render(request, "directory/admin_page_edit.html", {"form": form, "page": page})


@role_required(Role.ADMIN)
@require_POST
def page_reset(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in content.PAGES:
        raise Http404("No such page")
    user = signed_in_user(request)
    if actions.reset_education_page(trail.context(request), user.practice, slug):
        messages.success(request, "The page shows Reverie's text again.")
    else:
        messages.success(request, "The page already shows Reverie's text.")
    return redirect("directory:pages_admin")


# --- practice admin: intake ------------------------------------------------------------------


def _request(request: HttpRequest, pk: int) -> ConsultationRequest:
    user = signed_in_user(request)
    return get_object_or_404(
        ConsultationRequest.objects.select_related("assigned_therapist", "client").prefetch_related(
            "preferred_therapists"
        ),
        pk=pk,
        practice_id=user.practice_id,
    )


def _risk(answers: object) -> bool:
    return isinstance(answers, dict) and answers.get("wellbeing") in selfcheck.CRISIS_ANSWERS


@role_required(Role.ADMIN)
def intake(request: HttpRequest) -> HttpResponse:
    """The intake queue: open requests first by default, newest first."""
    user = signed_in_user(request)
    show = request.GET.get("show", "open")
    rows = ConsultationRequest.objects.filter(practice_id=user.practice_id)
    if show == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif show in RequestStatus.values:
        rows = rows.filter(status=show)
    else:
        show = "all"
    requests = list(
        rows.select_related("assigned_therapist")
        .prefetch_related("preferred_therapists")
        # The list shows no message, availability or triage text: none of it is decrypted.
        .defer(*unread(ConsultationRequest))[:300]
    )
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="directory.consultationrequest",
        detail={"view": "intake", "requests": [r.pk for r in requests]},
    )
    waiting = ConsultationRequest.objects.filter(
        practice_id=user.practice_id,
        status=RequestStatus.NEW,
        created_at__lte=timezone.now() - actions.REPLY_REMINDER_AFTER,
    ).count()
    return render(
        request,
        "directory/intake_list.html",
        {
            "rows": [{"request": r, "risk": _risk(r.selfcheck)} for r in requests],
            "show": show,
            "statuses": RequestStatus.choices,
            "waiting": waiting,
        },
    )


def _option_label(key: str, value: str | None) -> str:
    if value is None:
        return ""
    return selfcheck.ITEMS_BY_KEY[key].option(value).label


def _request_context(req: ConsultationRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "req": req,
        "risk": _risk(req.selfcheck),
        "days": [WEEKDAYS[d] for d in req.availability_days if isinstance(d, int) and 0 <= d <= 6],
        "times": [dict(TIME_CHOICES).get(t, t) for t in req.availability_times],
    }
    if isinstance(req.selfcheck, dict):
        try:
            result = selfcheck.evaluate(req.selfcheck)
        except ValueError:
            result = None
        if result is not None:
            prefs = result.preferences
            concern_labels = dict(CONCERN_CHOICES)
            context["selfcheck"] = {
                "result": result,
                "headline": selfcheck.HEADLINES[result.leaning],
                "concerns": [concern_labels[c] for c in prefs.concerns],
                "leaning_modality": MODALITY_LABELS.get(prefs.modality_leaning or "", ""),
                "prefs": prefs,
                "setting": _option_label("setting", prefs.setting),
                "frequency": _option_label("frequency", prefs.frequency),
                "support": _option_label("support_challenge", prefs.support_or_challenge),
                "wellbeing": req.selfcheck.get("wellbeing"),
            }
    return context


@role_required(Role.ADMIN)
def intake_request(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: what the person told us, and the triage form."""
    user = signed_in_user(request)
    req = _request(request, pk)
    ctx = trail.context(request)
    initial = {
        "status": req.status,
        "assigned_therapist": req.assigned_therapist,
        "triage_notes": req.triage_notes,
    }
    form = TriageForm(request.POST or None, initial=initial, practice=user.practice)
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = actions.triage(ctx, req, **form.cleaned_data)
            except actions.DirectoryActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Saved." if changed else "Nothing changed.")
                return redirect("directory:intake_request", req.pk)
        return render(
            request,
            "directory/intake_detail.html",
            {**_request_context(req), "form": form},
            status=400,
        )
    trail.record(ctx, Action.VIEW, req, client_id=req.client_id, detail={"view": "intake_request"})
    return render(request, "directory/intake_detail.html", {**_request_context(req), "form": form})


def _split_name(name: str) -> tuple[str, str]:
    parts = name.split()
    if len(parts) < 2:
        return name, ""
    return " ".join(parts[:-1]), parts[-1]


@role_required(Role.ADMIN)
def intake_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a request into a client with an intake episode and a portal invitation."""
    user = signed_in_user(request)
    req = _request(request, pk)
    if req.client_id is not None:
        messages.success(request, "This request has already become a client.")
        return redirect("directory:intake_request", req.pk)
    given, family = _split_name(req.name)
    therapist = req.assigned_therapist or next(iter(req.preferred_therapists.all()), None)
    initial = {
        "given_name": given,
        "family_name": family,
        "email": req.email,
        "phone": req.phone,
        "therapist": therapist,
        "modality": "psychodynamic",
        "start_date": timezone.localdate(),
        "invite": True,
        "sessions_per_week": "1",
    }
    form = ConvertForm(request.POST or None, initial=initial, practice=user.practice)
    ctx = trail.context(request)
    if request.method == "POST":
        if form.is_valid():
            try:
                done = actions.convert_to_client(ctx, req, **form.cleaned_data)
            except actions.DirectoryActionError as exc:
                form.add_error(None, str(exc))
            else:
                text = f"{done.client.display_name} is now a client, with an intake episode."
                if done.portal_user is not None and done.invitation_sent:
                    text += f" A portal invitation is on its way to {done.portal_user.email}."
                messages.success(request, text)
                return redirect("care:client", done.client.pk)
        return render(
            request,
            "directory/intake_convert.html",
            {**_request_context(req), "form": form},
            status=400,
        )
    trail.record(ctx, Action.VIEW, req, detail={"view": "intake_convert"})
    return render(request, "directory/intake_convert.html", {**_request_context(req), "form": form})
