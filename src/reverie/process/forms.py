from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from reverie.care.models import Appointment
from reverie.lib import dates
from reverie.process.categories import MAX_BYTES
from reverie.process.models import (
    EpisodeSource,
    JournalKind,
    Mood,
    OtherPerson,
    RelationshipEpisode,
    Valence,
)
from reverie.process.reflection import FEATURES, SCALE_MAX, SCALE_MIN

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _not_future(value: Any) -> Any:
    if value and value > timezone.localdate():
        raise forms.ValidationError("The date is in the future.")
    return value


SCALE_CHOICES = [(str(n), str(n)) for n in range(SCALE_MIN, SCALE_MAX + 1)]


class ReflectionForm(forms.Form):
    """Seven 0–6 ratings and an optional comment; built from ``reflection.FEATURES``."""

    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Comment (optional)",
        help_text="Anything you want to remember about how you worked in this session.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for feature in FEATURES:
            self.fields[feature.key] = forms.TypedChoiceField(
                choices=SCALE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                label=feature.name,
                help_text=feature.question,
                error_messages={"required": f"Rate “{feature.name}” from 0 to 6."},
            )
        # Ratings first, comment last, in the order of the features.
        self.order_fields([f.key for f in FEATURES] + ["comment"])

    def rating_fields(self) -> list[forms.BoundField]:
        return [self[f.key] for f in FEATURES]


class SessionChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A choice of the client's sessions, each shown by its local date and time."""

    def label_from_instance(self, obj: Any) -> str:
        return dates.format_datetime(obj.starts_at, "wdate")


class RelationshipEpisodeForm(forms.ModelForm):  # type: ignore[type-arg]
    appointment = SessionChoiceField(
        queryset=Appointment.objects.none(),
        required=False,
        label="Session",
        empty_label="No particular session",
    )
    ro_valence = forms.ChoiceField(
        choices=[("", "Not rated"), *Valence.choices],
        required=False,
        label="Was the other's response positive or negative for the wish?",
    )
    rs_valence = forms.ChoiceField(
        choices=[("", "Not rated"), *Valence.choices],
        required=False,
        label="Was the client's own response positive or negative for the wish?",
    )

    class Meta:
        model = RelationshipEpisode
        fields = [
            "occurred_on",
            "source",
            "appointment",
            "other_person",
            "other_person_note",
            "narrative",
            "wish",
            "response_of_other",
            "ro_valence",
            "response_of_self",
            "rs_valence",
        ]
        widgets = {
            "occurred_on": DATE,
            "source": forms.RadioSelect,
            "narrative": forms.Textarea(attrs={"rows": 6}),
            "wish": forms.Textarea(attrs={"rows": 2}),
            "response_of_other": forms.Textarea(attrs={"rows": 2}),
            "response_of_self": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "occurred_on": "Date",
            "source": "Where it came from",
            "other_person": "The other person",
            "other_person_note": "Who exactly (optional)",
            "narrative": "The episode, as the client told it",
            "wish": "Wish (W): what the client wanted from the other person",
            "response_of_other": "Response of the other (RO): how the other responded",
            "response_of_self": "Response of the self (RS): how the client then felt or acted",
        }
        help_texts = {
            "other_person_note": "For example “older brother” or “new manager”.",
            "narrative": "Close to the client's own words.",
            "wish": "In your own words, fitted to this client (a “tailor-made” formulation).",
        }

    def __init__(
        self, *args: Any, sessions: QuerySet[Appointment] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Any]", self.fields["appointment"])
        if sessions is not None:
            field.queryset = sessions
        self.fields["source"].choices = EpisodeSource.choices  # type: ignore[attr-defined]
        self.fields["other_person"].choices = [("", "Choose…"), *OtherPerson.choices]  # type: ignore[attr-defined]

    def clean_occurred_on(self) -> Any:
        return _not_future(self.cleaned_data.get("occurred_on"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for valence, response in (
            ("ro_valence", "response_of_other"),
            ("rs_valence", "response_of_self"),
        ):
            if data.get(valence) and not (data.get(response) or "").strip():
                self.add_error(valence, "Describe the response first.")
        return data


class JournalEntryForm(forms.Form):
    kind = forms.ChoiceField(
        choices=JournalKind.choices, widget=forms.RadioSelect, label="What are you writing?"
    )
    entry_date = forms.DateField(
        widget=DATE,
        initial=timezone.localdate,
        label="Date",
        help_text="The day it happened or came to mind.",
    )
    title = forms.CharField(max_length=120, required=False, label="Title (optional)")
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        label="Your entry",
        max_length=50_000,
        error_messages={"required": "Write something before saving."},
    )
    mood = forms.TypedChoiceField(
        choices=[("", "Rather not say"), *Mood.choices],
        coerce=int,
        empty_value=None,
        required=False,
        label="How are you feeling? (optional)",
    )
    tags = forms.CharField(
        max_length=400,
        required=False,
        label="Tags (optional)",
        help_text="Words to find it again later, separated by commas, e.g. house, mother, water.",
    )

    def clean_entry_date(self) -> Any:
        return _not_future(self.cleaned_data.get("entry_date"))

    def clean_tags(self) -> list[str]:
        from reverie.process.actions import ProcessActionError, clean_tags

        raw = self.cleaned_data.get("tags") or ""
        try:
            return clean_tags([t for t in raw.split(",")])
        except ProcessActionError as exc:
            raise forms.ValidationError(str(exc).capitalize() + ".") from None


class NewJournalEntryForm(JournalEntryForm):
    share = forms.BooleanField(
        required=False,
        label="Share this entry with my therapist",
        help_text="You can stop sharing it at any time.",
    )


class LinkSessionForm(forms.Form):
    appointment = SessionChoiceField(
        queryset=Appointment.objects.none(),
        required=False,
        label="Discussed in session",
        empty_label="Not linked to a session",
    )

    def __init__(self, *args: Any, sessions: QuerySet[Appointment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Any]", self.fields["appointment"])
        field.queryset = sessions


class ThemeRunForm(forms.Form):
    embedder = forms.ChoiceField(
        choices=[
            ("model", "Sentence model (all-MiniLM-L6-v2): groups sentences by meaning"),
            (
                "fallback",
                "Word-overlap fallback (lower quality): only notices sentences that share "
                "words, not meaning",
            ),
        ],
        widget=forms.RadioSelect,
        label="How to compare sentences",
        error_messages={"required": "Choose how sentences are compared."},
    )

    def __init__(self, *args: Any, model_available: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model_available = model_available
        if model_available:
            self.fields["embedder"].initial = "model"

    def clean_embedder(self) -> str:
        value = str(self.cleaned_data.get("embedder"))
        if value == "model" and not self.model_available:
            raise forms.ValidationError(
                "The sentence model is not installed. Choose the fallback, or ask your "
                "administrator to install it: pip install 'reverie[nlp]'."
            )
        return value


class CcrtPeriodForm(forms.Form):
    start = forms.DateField(widget=DATE, required=False, label="From")
    end = forms.DateField(widget=DATE, required=False, label="Until")
    unit = forms.ChoiceField(
        choices=[("month", "Months"), ("quarter", "Quarters"), ("year", "Years")],
        initial="quarter",
        required=False,
        label="Show change by",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        return data


class CategorySetForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name of the category set")
    licence_note = forms.CharField(
        max_length=300,
        label="Licence",
        help_text="Who licensed it to the practice, and under what terms.",
    )
    file = forms.FileField(
        label="Category file (.csv or .json)",
        help_text="CSV with the header component,label (and optionally code), or JSON such as "
        '{"W": ["…"], "RO": ["…"], "RS": ["…"]}. Components are W, RO and RS.',
    )
    confirm = forms.BooleanField(
        label="The practice is licensed to use this category set",
        error_messages={"required": "Confirm the practice holds a licence for this set."},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 1024} KB.")
        return upload


class ProcessNoteForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18, "class": "focus-editor"}),
        label="Process note",
        help_text="Private to you: encrypted, never shared, exported or shown to anyone else.",
    )
