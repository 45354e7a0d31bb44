"""Scheduling's forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from reverie.core.forms import HoneypotForm


def link_value(start: dt.datetime) -> str:
    """A start as the booking links carry it: UTC, to the minute (``2026-03-03T18:00Z``)."""
    return start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_start(raw: str | None) -> dt.datetime | None:
    """A start as sent by the booking links (ISO 8601 with its offset), or None."""
    if not raw or len(raw) > 40:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo is not None else None


class BookingForm(HoneypotForm):
    start = forms.CharField(widget=forms.HiddenInput, max_length=40)
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(
        label="Email address", help_text="We send the confirmation and a calendar file here."
    )
    phone = forms.CharField(label="Phone number (optional)", max_length=40, required=False)
    message = forms.CharField(
        label="Anything you would like the practice to know first? (optional)",
        help_text="A few words are enough. You can say more at the consultation.",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_start(self) -> dt.datetime:
        value = parse_start(self.cleaned_data.get("start"))
        if value is None:
            raise forms.ValidationError("That time could not be read. Please choose one again.")
        return value

    def clean(self) -> dict[str, Any]:
        return super().clean() or {}


WEEKDAY_CHOICES = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]
TIME_CHOICES = [
    ("morning", "Morning (before 12:00)"),
    ("afternoon", "Afternoon (12:00–17:00)"),
    ("evening", "Evening (from 17:00)"),
]


class MoveForm(forms.Form):
    days = forms.MultipleChoiceField(
        label="Days you could come instead",
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    times = forms.MultipleChoiceField(
        label="Times you could come instead",
        choices=TIME_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("days") and not data.get("times"):
            raise forms.ValidationError(
                "Choose at least one day or time that would suit you instead."
            )
        return data


class SettingsForm(forms.Form):
    late_cancel_hours = forms.IntegerField(
        label="Late-cancellation window, in hours",
        min_value=0,
        max_value=168,
        help_text="A session cancelled less than this many hours before it starts is recorded "
        "as a late cancellation. Keep it the same as in your cancellation policy form.",
    )
    offer_hours = forms.IntegerField(
        label="How long a waitlist offer stays open, in hours",
        min_value=1,
        max_value=168,
        help_text="After this the offer goes to the next person waiting.",
    )


class WaitlistForm(HoneypotForm):
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(
        label="Email address", help_text="We email you here when a time opens."
    )
    phone = forms.CharField(label="Phone number (optional)", max_length=40, required=False)
    times = forms.MultipleChoiceField(
        label="Times of day that suit you (leave empty for any)",
        choices=TIME_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
