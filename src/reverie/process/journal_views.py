"""The client's journal in the portal, and the therapist's view of shared entries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import own_client
from reverie.core.decorators import role_required, signed_in_user
from reverie.process import access, actions
from reverie.process.forms import JournalEntryForm, LinkSessionForm, NewJournalEntryForm
from reverie.process.models import JournalEntry
from reverie.process.views import THERAPIST, sessions_of

CLIENT = (Role.CLIENT,)


def _fields(form: JournalEntryForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in actions.JOURNAL_FIELDS}


def _error(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + "."


@role_required(*CLIENT)
def journal(request: HttpRequest) -> HttpResponse:
    """The client's own entries, with what they share and what they keep to themselves."""
    user = signed_in_user(request)
    client = own_client(user)
    entries: list[JournalEntry] = []
    if client is not None:
        entries = list(JournalEntry.objects.filter(client=client).order_by("-entry_date", "-pk"))
        trail.record(
            trail.context(request),
            Action.LIST,
            object_type="process.journalentry",
            client_id=client.pk,
            detail={"view": "journal", "entries": [e.pk for e in entries]},
        )
    return render(request, "process/journal.html", {"client": client, "entries": entries})


@role_required(*CLIENT)
def journal_new(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    client = own_client(user)
    form = NewJournalEntryForm(request.POST or None)
    if client is None:
        messages.error(request, "Your account is not linked to a client record yet.")
        return redirect("process:journal")
    if request.method == "POST":
        if form.is_valid():
            try:
                entry = actions.create_journal_entry(
                    trail.context(request),
                    fields=_fields(form),
                    share=form.cleaned_data["share"],
                )
            except actions.ProcessActionError as exc:
                form.add_error(None, _error(exc))
            else:
                messages.success(
                    request,
                    "Saved and shared with your therapist."
                    if entry.is_shared
                    else "Saved. Only you can see this entry.",
                )
                return redirect("process:journal")
        return render(request, "process/journal_form.html", {"form": form}, status=400)
    return render(request, "process/journal_form.html", {"form": form})


@role_required(*CLIENT)
def journal_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Read and change one of the client's own entries."""
    user = signed_in_user(request)
    entry = access.own_entry(user, pk)
    initial = {
        "kind": entry.kind,
        "entry_date": entry.entry_date,
        "title": entry.title,
        "text": entry.text,
        "mood": entry.mood or "",
        "tags": ", ".join(entry.tags),
    }
    form = JournalEntryForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = actions.update_journal_entry(trail.context(request), entry, _fields(form))
            except actions.ProcessActionError as exc:
                form.add_error(None, _error(exc))
            else:
                messages.success(request, "Saved." if changed else "Nothing changed.")
                return redirect("process:journal")
        return render(
            request, "process/journal_form.html", {"form": form, "entry": entry}, status=400
        )
    trail.record(trail.context(request), Action.VIEW, entry, client_id=entry.client_id)
    return render(request, "process/journal_form.html", {"form": form, "entry": entry})


@role_required(*CLIENT)
@require_POST
def journal_share(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    entry = access.own_entry(user, pk)
    share = request.POST.get("share") == "1"
    actions.set_journal_sharing(trail.context(request), entry, share)
    messages.success(
        request,
        "Shared with your therapist."
        if share
        else "No longer shared. Your therapist cannot see this entry now.",
    )
    return redirect("process:journal")


@role_required(*CLIENT)
def journal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    entry = access.own_entry(user, pk)
    if request.method == "POST":
        actions.delete_journal_entry(trail.context(request), entry)
        messages.success(request, "The entry was deleted.")
        return redirect("process:journal")
    trail.record(
        trail.context(request),
        Action.VIEW,
        entry,
        client_id=entry.client_id,
        detail={"view": "delete_confirmation"},
    )
    return render(request, "process/journal_delete.html", {"entry": entry})


# ---------------------------------------------------------------- therapist side


@role_required(*THERAPIST)
def shared_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """A journal entry the client shared: read it, link it to a session, or turn it into
    a relationship episode."""
    user = signed_in_user(request)
    entry = access.shared_entry_for(user, pk)
    form = LinkSessionForm(
        initial={"appointment": entry.appointment_id}, sessions=sessions_of(entry.client)
    )
    trail.record(trail.context(request), Action.VIEW, entry, client_id=entry.client_id)
    return render(
        request,
        "process/shared_entry.html",
        {
            "entry": entry,
            "client": entry.client,
            "form": form,
            "episodes": list(entry.relationship_episodes.all()),
        },
    )


@role_required(*THERAPIST)
@require_POST
def shared_entry_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    entry = access.shared_entry_for(user, pk)
    form = LinkSessionForm(request.POST, sessions=sessions_of(entry.client))
    if not form.is_valid():
        messages.error(request, "Choose one of the client's sessions.")
        return redirect("process:shared_entry", entry.pk)
    appointment = form.cleaned_data["appointment"]
    try:
        actions.link_journal_entry(trail.context(request), entry, appointment)
    except actions.ProcessActionError as exc:
        messages.error(request, _error(exc))
    else:
        messages.success(
            request, "Linked to the session." if appointment else "No longer linked to a session."
        )
    return redirect("process:shared_entry", entry.pk)
