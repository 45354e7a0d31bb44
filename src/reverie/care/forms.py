from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from reverie.care.models import (
    CLIENT_FIELDS,
    CONCERN_CHOICES,
    Attendance,
    Client,
    EndReason,
    Modality,
    Place,
    ProgressNote,
)

FREQUENCY_CHOICES = [
    ("0.5", "Fortnightly"),
    ("1", "Once a week"),
    ("2", "Twice a week"),
    ("3", "Three times a week"),
    ("4", "Four times a week"),
    ("5", "Five times a week"),
]
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
CONCERNS = CONCERN_CHOICES


class ClientForm(forms.ModelForm):  # type: ignore[type-arg]
    presenting_concerns = forms.MultipleChoiceField(
        choices=CONCERNS, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Client
        fields = list(CLIENT_FIELDS)
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}
        labels = {
            "consent_email_reminders": "Consents to appointment reminders by email",
            "consent_sms_reminders": "Consents to appointment reminders by text message",
            "progress_visible_to_client": "Let the client see their own outcome charts",
        }

    def clean_date_of_birth(self) -> datetime.date | None:
        dob = self.cleaned_data.get("date_of_birth")
        if dob and dob > timezone.localdate():
            raise forms.ValidationError("The date of birth is in the future.")
        return dob

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("consent_email_reminders") and not data.get("email"):
            self.add_error("email", "Email reminders need an email address.")
        if data.get("consent_sms_reminders") and not data.get("phone"):
            self.add_error("phone", "Text reminders need a phone number.")
        return data


class EpisodeForm(forms.Form):
    modality = forms.ChoiceField(choices=Modality.choices)
    sessions_per_week = forms.TypedChoiceField(
        choices=FREQUENCY_CHOICES, coerce=Decimal, initial="1", label="Planned frequency"
    )
    start_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    goals = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In the client's own words.",
    )


class EndEpisodeForm(forms.Form):
    reason = forms.ChoiceField(choices=EndReason.choices)
    end_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )


class FrequencyForm(forms.Form):
    sessions_per_week = forms.TypedChoiceField(
        choices=FREQUENCY_CHOICES, coerce=Decimal, label="New frequency"
    )
    effective_from = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )


class SeriesForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, label="On"
    )
    every_weeks = forms.TypedChoiceField(
        choices=[(1, "Every week"), (2, "Every other week")], coerce=int, initial=1, label="Repeats"
    )
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), label="At")
    duration_minutes = forms.IntegerField(min_value=15, max_value=180, initial=50, label="Minutes")
    starts_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate, label="Starting"
    )
    video_link = forms.CharField(
        max_length=500,
        required=False,
        label="Video link (for sessions by video)",
        help_text="Any https address of the practice's video service, or your own room's.",
        widget=forms.URLInput(attrs={"inputmode": "url", "placeholder": "https://"}),
    )


class BreakForm(forms.Form):
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="First day")
    ends_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Last day")
    reason = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The last day is before the first day.")
        return data


class VideoLinkForm(forms.Form):
    video_link = forms.CharField(max_length=500, required=False, label="Video link")


class AttendanceForm(forms.Form):
    attendance = forms.ChoiceField(choices=[c for c in Attendance.choices if c[0] != "scheduled"])
    reason = forms.CharField(max_length=200, required=False)


class ProgressNoteForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ProgressNote
        fields = [
            "session_date",
            "attendance",
            "duration_minutes",
            "place",
            "content",
            "risk_assessment",
            "interventions",
            "plan",
        ]
        widgets = {
            "session_date": forms.DateInput(attrs={"type": "date"}),
            "content": forms.Textarea(attrs={"rows": 8}),
            "risk_assessment": forms.Textarea(attrs={"rows": 3}),
            "interventions": forms.Textarea(attrs={"rows": 3}),
            "plan": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"content": "Session"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A client that posts no place (an older page, a script) keeps what the note had,
        # or what the session suggests, rather than being refused.
        self.fields["place"].required = False

    def clean_place(self) -> str:
        place = self.cleaned_data.get("place")
        if place:
            return str(place)
        if self.instance.pk:
            kept: str = self.instance.place
            return kept
        return str(self.initial.get("place") or Place.IN_PERSON)


class AddendumForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Addendum")
