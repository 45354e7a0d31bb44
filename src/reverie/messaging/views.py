"""Message pages: the client's thread in the portal, a therapist's threads and each
client's thread, the therapist's per-client switch and the admin's practice setting.

Who sees what: a client sees only their own thread. A therapist sees the threads of the
clients in their care now (``care.access.current_care_clients``): a former therapist and
a colleague find nothing (404). A practice admin sees no messages (403 on every thread
page); they only turn messaging on or off for the practice. Every thread page says that
messages are not for emergencies and shows the practice's crisis card.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import own_client
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.messaging import actions, queries
from reverie.messaging.forms import MessageForm
from reverie.messaging.models import MAX_LENGTH, Message, Thread


@dataclass(frozen=True)
class InboxRow:
    client: Client
    unread: int
    last: datetime.datetime | None


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text if text.endswith(".") else text + "."


def _care_client(user: User, pk: int) -> Client:
    """A client in ``user``'s care now, else 404 (never 403: a stranger learns nothing)."""
    return get_object_or_404(
        queries.therapist_clients(user).select_related("practice", "user"), pk=pk
    )


def _thread_page(
    request: HttpRequest,
    template: str,
    client: Client | None,
    *,
    form: MessageForm | None = None,
    error: str = "",
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Render a thread: read it (marking the other side's messages read, audited) and
    say whether a new message can be sent and, if not, why."""
    user = signed_in_user(request)
    thread_messages: list[Message] = []
    thread: Thread | None = None
    practice_on = False
    if client is not None:
        thread_messages = actions.read_thread(trail.context(request), client)
        thread = queries.thread_of(client)
        practice_on = queries.practice_enabled(client.practice_id)
    can_send = (
        client is not None
        and practice_on
        and (thread is None or thread.enabled)
        and (user.role != Role.CLIENT or bool(queries.current_therapists(client)))
    )
    context = {
        "client": client,
        "thread": thread,
        "thread_messages": thread_messages,
        "practice_on": practice_on,
        "client_on": thread is None or thread.enabled,
        "can_send": can_send,
        "form": form or MessageForm(),
        "error": error,
        "max_length": MAX_LENGTH,
        "me": user,
        **(extra or {}),
    }
    return render(request, template, context, status=status)


def _send(
    request: HttpRequest, client: Client | None, template: str, success: str, **kw: Any
) -> HttpResponse:
    form = MessageForm(request.POST)
    form.is_valid()  # a textarea: always valid; the action checks the text
    if client is None:
        return _thread_page(
            request,
            template,
            None,
            form=form,
            error="Your account is not linked to a client record, so there is no one to write to.",
            status=400,
            **kw,
        )
    try:
        actions.send(trail.context(request), client, form.cleaned_data.get("body", ""))
    except actions.MessagingError as exc:
        return _thread_page(
            request, template, client, form=form, error=_sentence(exc), status=400, **kw
        )
    flash.success(request, success)
    return redirect(request.path)


@role_required(Role.CLIENT)
def mine(request: HttpRequest) -> HttpResponse:
    """The client's conversation with their therapist(s)."""
    user = signed_in_user(request)
    client = own_client(user)
    therapists = queries.current_therapists(client) if client is not None else []
    extra = {"therapists": therapists}
    if request.method == "POST":
        return _send(request, client, "messaging/mine.html", "Message sent.", extra=extra)
    return _thread_page(request, "messaging/mine.html", client, extra=extra)


@role_required(Role.THERAPIST)
def inbox(request: HttpRequest) -> HttpResponse:
    """The threads of the clients in the therapist's care now, unread first."""
    user = signed_in_user(request)
    clients = list(queries.therapist_clients(user).order_by("family_name", "given_name"))
    unread = queries.unread_from_clients([c.pk for c in clients])
    last = queries.last_message_times([c.pk for c in clients])
    rows = sorted(
        (InboxRow(c, unread.get(c.pk, 0), last.get(c.pk)) for c in clients),
        key=lambda r: (-r.unread, -(r.last.timestamp() if r.last else 0.0)),
    )
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="messaging.thread",
        detail={"view": "message_inbox", "clients": [c.pk for c in clients]},
    )
    return render(
        request,
        "messaging/inbox.html",
        {"rows": rows, "practice_on": queries.practice_enabled(user.practice_id)},
    )


@role_required(Role.THERAPIST)
def thread(request: HttpRequest, pk: int) -> HttpResponse:
    """One client's conversation, for a therapist caring for them now."""
    user = signed_in_user(request)
    client = _care_client(user, pk)
    if request.method == "POST":
        return _send(request, client, "messaging/thread.html", "Message sent.")
    return _thread_page(request, "messaging/thread.html", client)


@role_required(Role.THERAPIST)
@require_POST
def switch(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn messages off (or back on) for one client."""
    user = signed_in_user(request)
    client = _care_client(user, pk)
    choice = request.POST.get("enabled")
    if choice not in ("on", "off"):
        return _thread_page(
            request,
            "messaging/thread.html",
            client,
            error="Choose whether messages are on or off for this client.",
            status=400,
        )
    try:
        actions.set_client_messaging(trail.context(request), client, enabled=choice == "on")
    except actions.MessagingError as exc:
        return _thread_page(
            request, "messaging/thread.html", client, error=_sentence(exc), status=400
        )
    flash.success(
        request,
        f"Messages are now {'on' if choice == 'on' else 'off'} for {client.display_name}.",
    )
    return redirect("messaging:thread", pk=client.pk)


@role_required(Role.ADMIN)
def practice_setting(request: HttpRequest) -> HttpResponse:
    """The practice admin turns secure messages on or off for the practice."""
    user = signed_in_user(request)
    error = ""
    status = 200
    if request.method == "POST":
        choice = request.POST.get("enabled")
        if choice in ("on", "off"):
            actions.set_practice_messaging(
                trail.context(request), user.practice, enabled=choice == "on"
            )
            flash.success(request, f"Secure messages are now {'on' if choice == 'on' else 'off'}.")
            return redirect("messaging:settings")
        error, status = "Choose whether secure messages are on or off.", 400
    return render(
        request,
        "messaging/settings.html",
        {"enabled": queries.practice_enabled(user.practice_id), "error": error},
        status=status,
    )
