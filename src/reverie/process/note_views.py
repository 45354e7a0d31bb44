"""Process notes: the therapist's private notes on a session or an episode.

A process note is readable by its author alone (``process/access.py``), sealed with the
client's key (``care/crypto.py``) and audited on every read and write
(``process.actions.save_process_note`` and ``read_process_note``). The model stays
``care.ProcessNote`` (see docs/architecture.md). The routes keep their names in care's
namespace (``care:process_note``, ``care:process_note_new``, ``care:process_note_save``):
``reverie/urls.py`` adds ``process/note_urls.py`` there, so addresses do not change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.care import crypto
from reverie.core.decorators import role_required, signed_in_user
from reverie.lib import dates
from reverie.process import access, actions
from reverie.process.forms import ProcessNoteForm

THERAPIST = (Role.THERAPIST,)


def _autosave_body(pk: int) -> dict[str, Any]:
    """What the editor's autosave reads back: where the note now lives and when it was saved."""
    return {
        "id": pk,
        "edit_url": reverse("care:process_note", args=[pk]),
        "save_url": reverse("care:process_note_save", args=[pk]),
        "saved_at": dates.format_time(timezone.now(), seconds=True),
    }


def _fail(request: HttpRequest, error: Exception, client_id: int) -> HttpResponse:
    messages.error(request, str(error))
    return redirect(reverse("care:client", args=[client_id]))


@role_required(*THERAPIST)
def process_note_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = access.episode_for(user, pk)
    if not crypto.available():
        messages.error(
            request,
            "Process notes need an encryption key (REVERIE_ENCRYPTION_KEYS). "
            "Ask your administrator.",
        )
        return redirect("care:client", episode.client_id)
    appointment = None
    if request.GET.get("appointment") or request.POST.get("appointment"):
        appointment = access.clinical_session(
            user, int(request.GET.get("appointment") or request.POST["appointment"])
        )
    form = ProcessNoteForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            note = actions.save_process_note(
                trail.context(request),
                episode=episode,
                text=form.cleaned_data["text"],
                appointment=appointment,
            )
            if request.headers.get("X-Autosave"):
                return JsonResponse(_autosave_body(note.pk))
            messages.success(request, "Saved.")
            return redirect("care:process_note", note.pk)
        if request.headers.get("X-Autosave"):
            return JsonResponse({"errors": form.errors}, status=400)
        return render(
            request,
            "process/process_note.html",
            {"form": form, "episode": episode, "appointment": appointment},
            status=400,
        )
    return render(
        request,
        "process/process_note.html",
        {"form": form, "episode": episode, "appointment": appointment},
    )


@role_required(*THERAPIST)
def process_note(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    note = access.process_note_for(user, pk)
    try:
        text = actions.read_process_note(trail.context(request), note)
    except crypto.EncryptionUnavailable as exc:
        return _fail(request, exc, note.episode.client_id)
    form = ProcessNoteForm(initial={"text": text})
    return render(
        request, "process/process_note.html", {"form": form, "episode": note.episode, "note": note}
    )


@role_required(*THERAPIST)
@require_POST
def process_note_save(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    note = access.process_note_for(user, pk)
    form = ProcessNoteForm(request.POST)
    autosave = bool(request.headers.get("X-Autosave"))
    if not form.is_valid():
        if autosave:
            return JsonResponse({"errors": form.errors}, status=400)
        return render(
            request,
            "process/process_note.html",
            {"form": form, "episode": note.episode, "note": note},
            status=400,
        )
    actions.save_process_note(
        trail.context(request), episode=note.episode, text=form.cleaned_data["text"], note=note
    )
    if autosave:
        return JsonResponse(_autosave_body(note.pk))
    messages.success(request, "Saved.")
    return redirect("care:process_note", note.pk)
