"""Forms of the therapist's and the admin's measurement pages. The questions themselves are
not Django form fields: they are rendered from the instrument definition and read with
:mod:`reverie.measures.answers`, so every instrument works without code."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django import forms
from django.utils import timezone

from reverie.care.models import Episode
from reverie.lib import dates
from reverie.measures.models import Instrument, Timepoint
from reverie.measures.registry import definition_for
from reverie.measures.scheduling import FOLLOWUP_MONTH_CHOICES

MONTH_CHOICES = [
    (str(m), f"{m} month{'s' if m > 1 else ''} after ending") for m in FOLLOWUP_MONTH_CHOICES
]
MAX_IMPORT_BYTES = 512 * 1024


class EpisodeChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """An episode shown as its therapy and dates, in the practice's date format."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_modality_display()} from {dates.format_date(obj.start_date)}" + (
            f" to {dates.format_date(obj.end_date)}" if obj.end_date else ""
        )


class PaperForm(forms.Form):
    """When and for which episode a paper form was completed."""

    episode = EpisodeChoiceField(queryset=Episode.objects.none(), empty_label=None)
    timepoint = forms.ChoiceField(choices=Timepoint.choices, label="When in treatment")
    completed_on = forms.DateField(
        label="Date the client filled it in",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, episodes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["episode"].queryset = episodes  # type: ignore[attr-defined]

    def clean_completed_on(self) -> datetime.date:
        day: datetime.date = self.cleaned_data["completed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The date is in the future.")
        if day < timezone.localdate() - datetime.timedelta(days=366 * 5):
            raise forms.ValidationError("The date is more than five years ago.")
        return day


class AskForm(forms.Form):
    instrument = forms.ModelChoiceField(queryset=Instrument.objects.none(), empty_label=None)
    episode = EpisodeChoiceField(queryset=Episode.objects.none(), empty_label=None)
    timepoint = forms.ChoiceField(
        choices=[(Timepoint.SESSION, "During treatment"), (Timepoint.INTAKE, "At intake")],
        label="When in treatment",
    )
    language = forms.ChoiceField(
        required=False,
        label="Language",
        help_text="Only published translations are offered; the client can switch on the form.",
    )

    def __init__(self, *args: Any, instruments: Any, episodes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].queryset = instruments  # type: ignore[attr-defined]
        self.fields["episode"].queryset = episodes  # type: ignore[attr-defined]
        labels: dict[str, str] = {}
        for instrument in instruments:
            for tag, translation in definition_for(instrument).translations.items():
                labels.setdefault(tag, translation.label)
        self.fields["language"].choices = [  # type: ignore[attr-defined]
            ("", "The questionnaire's own language"),
            *sorted(labels.items()),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        instrument, language = data.get("instrument"), data.get("language")
        if (
            instrument is not None
            and language
            and language not in definition_for(instrument).translations
        ):
            self.add_error("language", f"{instrument.name} has no published translation in it.")
        return data


class ImportForm(forms.Form):
    questionnaire = forms.FileField(
        label="FHIR Questionnaire (JSON file)",
        help_text="An R4 Questionnaire with answer weights (itemWeight or ordinalValue).",
    )
    licence_holder = forms.CharField(max_length=200, label="Copyright holder")
    licence_terms = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Licence terms",
        help_text="Quote the holder's own statement of how the questionnaire may be used.",
    )
    permits_electronic_use = forms.BooleanField(
        required=False,
        label="The licence allows this questionnaire to be shown and scored on screen",
    )

    def clean_questionnaire(self) -> dict[str, Any]:
        upload = self.cleaned_data["questionnaire"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 512 KB.")
        try:
            data = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise forms.ValidationError(f"The file is not valid JSON: {error}") from error
        if not isinstance(data, dict) or data.get("resourceType") != "Questionnaire":
            raise forms.ValidationError("The file is not a FHIR Questionnaire.")
        return data
