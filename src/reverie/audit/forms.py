"""The audit trail's filters: person, client, action and date range."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.db.models import Q

from reverie.accounts.models import Role, User
from reverie.audit.models import Action

SYSTEM = "system"
ANONYMOUS = "anonymous"


class AuditFilter(forms.Form):
    person = forms.ChoiceField(required=False, label="Who")
    client = forms.ChoiceField(required=False, label="Client")
    action = forms.ChoiceField(
        required=False,
        label="Did",
        choices=[
            ("", "Anything"),
            *((value, label.capitalize()) for value, label in Action.choices),
        ],
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, data: Any, *, people: list[User], clients: dict[int, str], **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["person"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            *((str(p.pk), f"{p} ({Role(p.role).label})") for p in people),
            (SYSTEM, "Reverie (background jobs and commands)"),
            (ANONYMOUS, "Not signed in"),
        ]
        self.fields["client"].choices = [  # type: ignore[attr-defined]
            ("", "Any client"),
            *((str(pk), name) for pk, name in sorted(clients.items(), key=_by_name)),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self, zone: datetime.tzinfo) -> Q:
        """The cleaned choices as one condition; dates are days in the practice's zone."""
        data = self.cleaned_data
        q = Q()
        person = data.get("person")
        if person == SYSTEM:
            q &= Q(actor__isnull=True, actor_label__startswith="system:")
        elif person == ANONYMOUS:
            q &= Q(actor__isnull=True) & ~Q(actor_label__startswith="system:")
        elif person:
            q &= Q(actor_id=int(person))
        if data.get("client"):
            q &= Q(client_id=int(data["client"]))
        if data.get("action"):
            q &= Q(action=data["action"])
        if data.get("since"):
            q &= Q(at__gte=datetime.datetime.combine(data["since"], datetime.time.min, zone))
        if data.get("until"):
            next_day = data["until"] + datetime.timedelta(days=1)
            q &= Q(at__lt=datetime.datetime.combine(next_day, datetime.time.min, zone))
        return q

    def identifiers(self) -> dict[str, str]:
        """The filters in force, as identifiers for the export's own audit entry."""
        return {
            name: value.isoformat() if isinstance(value, datetime.date) else str(value)
            for name, value in self.cleaned_data.items()
            if value
        }


def _by_name(item: tuple[int, str]) -> tuple[str, int]:
    return item[1].casefold(), item[0]
