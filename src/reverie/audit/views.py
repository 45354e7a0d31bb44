"""The practice admin's view of the audit trail."""

from __future__ import annotations

import datetime

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.core.decorators import role_required


class AuditFilter(forms.Form):
    actor = forms.CharField(required=False, label="Who (email contains)")
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    object_type = forms.CharField(required=False, label="Object type")
    client = forms.IntegerField(required=False, min_value=1, label="Client id")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


@role_required(Role.ADMIN)
def browse(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    entries = AuditEntry.objects.filter(practice_id=request.user.practice_id)  # type: ignore[union-attr]
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            entries = entries.filter(actor_label__icontains=data["actor"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["object_type"]:
            entries = entries.filter(object_type=data["object_type"])
        if data["client"]:
            entries = entries.filter(client_id=data["client"])
        tz = timezone.get_current_timezone()
        if data["since"]:
            entries = entries.filter(
                at__gte=datetime.datetime.combine(data["since"], datetime.time.min, tz)
            )
        if data["until"]:
            entries = entries.filter(
                at__lt=datetime.datetime.combine(data["until"], datetime.time.max, tz)
            )
    page = Paginator(entries.order_by("-seq"), 50).get_page(request.GET.get("page"))
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="audit.auditentry",
        detail={"page": page.number},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/browse.html", {"form": form, "page": page, "query": query.urlencode()}
    )
