"""Forms of the front door and of the staff pages behind it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from reverie.accounts.models import Practice, Role, User
from reverie.care.forms import CONCERNS as PROFILE_CONCERN_CHOICES
from reverie.care.forms import FREQUENCY_CHOICES
from reverie.care.models import Modality
from reverie.core.forms import HoneypotForm
from reverie.directory import selfcheck
from reverie.directory.matching import MODALITIES
from reverie.directory.models import RequestStatus
from reverie.directory.profiles import WEEKDAYS
from reverie.directory.selfcheck import CONCERN_LABELS, CONCERNS, ITEMS

WEEKDAY_CHOICES = [(str(i), day) for i, day in enumerate(WEEKDAYS)]
TIME_CHOICES = [
    ("morning", "Mornings (before noon)"),
    ("afternoon", "Afternoons (noon to 5 pm)"),
    ("evening", "Evenings (5 pm or later)"),
]
MODALITY_LABELS = {
    "psychodynamic": "Psychodynamic therapy",
    "psychoanalysis": "Psychoanalysis",
    "cbt": "Cognitive behavioural therapy (CBT)",
    "other": "Other approaches",
}
MODALITY_CHOICES = [(m, MODALITY_LABELS[m]) for m in MODALITIES]
CONCERN_CHOICES = [(c, CONCERN_LABELS[c]) for c in CONCERNS]
#: Hours a therapist can offer on the profile page: 7:00 to 21:00 starts.
OFFERED_HOURS = range(7, 22)

MAX_PHOTO_BYTES = 5 * 1024 * 1024


# --- the self-check -------------------------------------------------------------------------


def _selfcheck_field(item: selfcheck.Item) -> forms.Field:
    common: dict[str, Any] = {"label": item.prompt, "required": item.required}
    if item.hint:
        common["help_text"] = item.hint
    if item.kind == "choice":
        return forms.ChoiceField(
            choices=[(o.value, o.label) for o in item.options], widget=forms.RadioSelect, **common
        )
    if item.kind == "multi":
        return forms.MultipleChoiceField(
            choices=[(o.value, o.label) for o in item.options],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if item.kind == "number":
        return forms.IntegerField(
            min_value=item.minimum,
            max_value=item.maximum,
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            **common,
        )
    return forms.CharField(max_length=item.max_length, **common)


class SelfCheckForm(forms.Form):
    """The questionnaire, generated from :data:`reverie.directory.selfcheck.ITEMS`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in ITEMS:
            self.fields[item.key] = _selfcheck_field(item)
        self.fields["wellbeing"].error_messages["required"] = (
            "Please answer this question; any answer is fine."
        )

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        out: list[tuple[str, list[forms.BoundField]]] = []
        for section, title in selfcheck.SECTION_TITLES.items():
            fields = [self[i.key] for i in ITEMS if i.section == section]
            out.append((title, fields))
        return out

    def answers(self) -> dict[str, object]:
        """The cleaned answers in the shape :func:`selfcheck.evaluate` takes."""
        out: dict[str, object] = {}
        for key, value in self.cleaned_data.items():
            if isinstance(value, str):
                value = " ".join(value.split())
            if value in (None, "", []):
                continue
            out[key] = value
        return out


def answers_from_json(raw: str | None) -> dict[str, object] | None:
    """Self-check answers sent back by the browser, checked by the same rules as the form.

    Returns None when nothing was sent; raises ValueError with a plain message when the data
    is not a valid set of answers.
    """
    if not raw:
        return None
    if len(raw) > 5000:
        raise ValueError("The self-check answers are too long.")
    try:
        answers = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("The self-check answers could not be read.") from None
    if not isinstance(answers, dict):
        raise ValueError("The self-check answers could not be read.")
    selfcheck.evaluate(answers)  # raises ValueError naming the bad item
    return answers


# --- the directory ---------------------------------------------------------------------------


class DirectoryFilterForm(forms.Form):
    """What someone looking for a therapist can ask for. Everything is optional."""

    concerns = forms.MultipleChoiceField(
        label="What would you like help with?",
        choices=CONCERN_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Therapists who work with these get extra points.",
    )
    modalities = forms.MultipleChoiceField(
        label="Only show these approaches",
        choices=MODALITY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to see every approach.",
    )
    leaning = forms.ChoiceField(
        label="Extra points for an approach",
        choices=[
            ("", "No extra points"),
            ("psychodynamic", "Psychodynamic therapy or psychoanalysis"),
            ("structured", "A structured approach such as CBT"),
        ],
        required=False,
        help_text="Your self-check sets this if your answers leaned one way.",
    )
    language = forms.CharField(
        label="Language",
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"list": "languages-list"}),
    )
    budget = forms.IntegerField(
        label="Most you could pay per session (US dollars)",
        min_value=0,
        max_value=2000,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    sliding_scale = forms.BooleanField(
        label="I need a sliding scale (a lower fee based on what I can afford)", required=False
    )
    insurance = forms.CharField(
        label="Insurance plan",
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"list": "plans-list"}),
    )
    setting = forms.ChoiceField(
        label="How would you like to meet?",
        choices=[("any", "Either"), ("telehealth", "By video"), ("in_person", "In person")],
        required=False,
        initial="any",
    )
    location = forms.CharField(
        label="In-person location",
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"list": "places-list"}),
    )
    times = forms.MultipleChoiceField(
        label="Times that suit you",
        choices=TIME_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    days = forms.MultipleChoiceField(
        label="Days that suit you",
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    multiple_days = forms.BooleanField(
        label="I would like to come more than once a week", required=False
    )
    include_full = forms.BooleanField(
        label="Also show therapists with no openings right now", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("setting") == "telehealth" and data.get("location"):
            self.add_error("location", "A location only matters for in-person sessions.")
        return data


# --- the consultation request ----------------------------------------------------------------


class TherapistChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class ConsultationForm(HoneypotForm):
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(
        label="Email address", help_text="We send a confirmation here and use it to reply."
    )
    phone = forms.CharField(label="Phone number (optional)", max_length=40, required=False)
    contact_by = forms.ChoiceField(
        label="How should we contact you?",
        choices=[("email", "By email"), ("phone", "By phone")],
        widget=forms.RadioSelect,
        initial="email",
    )
    preferred_therapists = TherapistChoiceField(
        label="Therapists you would like to see (optional)",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability_days = forms.MultipleChoiceField(
        label="Days you could come",
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability_times = forms.MultipleChoiceField(
        label="Times you could come",
        choices=TIME_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability_note = forms.CharField(
        label="Anything else about when you could come (optional)", max_length=300, required=False
    )
    message = forms.CharField(
        label="What brings you to therapy? (optional)",
        help_text="Say as much or as little as you like. A few words are enough.",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attach_selfcheck = forms.BooleanField(
        label="Send my self-check answers with this request", required=False
    )
    selfcheck = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, therapists: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(TherapistChoiceField, self.fields["preferred_therapists"]).queryset = therapists

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("contact_by") == "phone" and not data.get("phone"):
            self.add_error("phone", "Add a phone number, or choose to be contacted by email.")
        answers = None
        try:
            answers = answers_from_json(data.get("selfcheck"))
        except ValueError as exc:
            self.add_error(None, f"{exc} You can send the request without them.")
        if data.get("attach_selfcheck") and answers is None:
            self.add_error(None, "There are no self-check answers to send.")
        data["selfcheck_answers"] = answers if data.get("attach_selfcheck") else None
        return data


# --- staff pages --------------------------------------------------------------------------


def _split_list(text: str, what: str, limit: int = 12) -> list[str]:
    values = list(dict.fromkeys(" ".join(v.split()) for v in text.split(",") if v.strip()))
    if len(values) > limit:
        raise forms.ValidationError(f"List at most {limit} {what}.")
    for value in values:
        if len(value) > 60:
            raise forms.ValidationError(f"Keep each of the {what} under 60 characters.")
    return values


class TherapistProfileForm(forms.Form):
    """A therapist's own directory profile."""

    published = forms.BooleanField(
        label="Show my profile in the practice's directory", required=False
    )
    accepting_new = forms.BooleanField(label="I am taking new clients", required=False)
    credentials = forms.CharField(
        label="Credentials", max_length=100, required=False, help_text="For example: PhD, LCSW."
    )
    pronouns = forms.CharField(label="Pronouns", max_length=40, required=False)
    approach = forms.CharField(
        label="Your approach, in your own words",
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    modalities = forms.MultipleChoiceField(
        label="Approaches you offer",
        choices=MODALITY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    concerns = forms.MultipleChoiceField(
        label="Concerns you work with",
        choices=PROFILE_CONCERN_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    languages = forms.CharField(
        label="Languages you work in",
        max_length=300,
        required=False,
        help_text="Separate them with commas, for example: English, Spanish.",
    )
    fee = forms.IntegerField(
        label="Fee per session (US dollars)", min_value=0, max_value=2000, required=False
    )
    sliding_scale = forms.BooleanField(label="I offer a sliding scale", required=False)
    sliding_scale_min = forms.IntegerField(
        label="Lowest fee on your sliding scale (US dollars)",
        min_value=0,
        max_value=2000,
        required=False,
    )
    insurance = forms.CharField(
        label="Insurance plans you accept",
        max_length=500,
        required=False,
        help_text="Separate them with commas. Leave empty if you do not take insurance.",
    )
    telehealth = forms.BooleanField(label="I offer sessions by video", required=False)
    location = forms.CharField(
        label="Where you see clients in person",
        max_length=200,
        required=False,
        help_text="A neighbourhood or town is enough. Leave empty if you only work by video.",
    )
    identity = forms.CharField(
        label="Anything about yourself you would like to share (optional)",
        max_length=300,
        required=False,
        help_text=(
            "Only if you want to: for example parts of your identity or background that "
            "clients sometimes look for. Separate them with commas."
        ),
    )
    photo = forms.ImageField(label="Photo (optional)", required=False)
    remove_photo = forms.BooleanField(label="Remove my photo", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day, name in enumerate(WEEKDAYS):
            self.fields[f"slots_{day}"] = forms.TypedMultipleChoiceField(
                label=name,
                choices=[(h, f"{h:02d}:00") for h in OFFERED_HOURS],
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )

    def slot_fields(self) -> list[forms.BoundField]:
        return [self[f"slots_{day}"] for day in range(7)]

    @staticmethod
    def initial_from(profile: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "published": profile.published,
            "accepting_new": profile.accepting_new,
            "credentials": profile.credentials,
            "pronouns": profile.pronouns,
            "approach": profile.approach,
            "modalities": profile.modalities,
            "concerns": profile.concerns,
            "languages": ", ".join(profile.languages or []),
            "fee": profile.fee,
            "sliding_scale": profile.sliding_scale,
            "sliding_scale_min": profile.sliding_scale_min,
            "insurance": ", ".join(profile.insurance or []),
            "telehealth": profile.telehealth,
            "location": profile.location,
            "identity": ", ".join(profile.identity or []),
        }
        for day in range(7):
            initial[f"slots_{day}"] = [h for d, h in profile.weekly_slots or [] if d == day]
        return initial

    def clean_languages(self) -> list[str]:
        return _split_list(self.cleaned_data.get("languages", ""), "languages")

    def clean_insurance(self) -> list[str]:
        return _split_list(self.cleaned_data.get("insurance", ""), "insurance plans", 30)

    def clean_identity(self) -> list[str]:
        return _split_list(self.cleaned_data.get("identity", ""), "items about yourself")

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError("Choose a photo smaller than 5 MB.")
        return photo

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        fee, low = data.get("fee"), data.get("sliding_scale_min")
        if data.get("sliding_scale"):
            if low is None:
                self.add_error("sliding_scale_min", "Give the lowest fee on your sliding scale.")
            elif fee is not None and low > fee:
                self.add_error("sliding_scale_min", "The lowest fee cannot be above your fee.")
        else:
            data["sliding_scale_min"] = None
        if data.get("published"):
            if fee is None:
                self.add_error("fee", "A published profile needs a fee.")
            if not data.get("languages") and "languages" not in self.errors:
                self.add_error("languages", "A published profile needs at least one language.")
            if not data.get("modalities"):
                self.add_error("modalities", "Choose at least one approach.")
            if not data.get("telehealth") and not data.get("location"):
                self.add_error("location", "Say where you see clients, or offer sessions by video.")
        data["weekly_slots"] = [
            [day, hour] for day in range(7) for hour in sorted(data.get(f"slots_{day}") or [])
        ]
        return data


class EducationPageForm(forms.Form):
    title = forms.CharField(label="Title", max_length=120)
    summary = forms.CharField(
        label="Summary",
        max_length=300,
        help_text="One or two sentences, shown in the list of pages.",
    )
    body = forms.CharField(
        label="Text",
        max_length=40000,
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=(
            "Markdown: a blank line between paragraphs, ## for a heading, - for a list item, "
            "[words](/learn/) for a link within this site. Links to other sites and images "
            "are removed."
        ),
    )


def _display_name(user: User) -> str:
    return user.display_name


def practice_therapists(practice: Practice) -> QuerySet[User]:
    return User.objects.filter(practice=practice, role=Role.THERAPIST, is_active=True).order_by(
        "full_name", "email"
    )


class TriageForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        choices=[(v, label) for v, label in RequestStatus.choices if v != RequestStatus.CONVERTED],
    )
    assigned_therapist = forms.ModelChoiceField(
        label="Assigned therapist", queryset=User.objects.none(), required=False
    )
    triage_notes = forms.CharField(
        label="Notes for the intake team",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Any]", self.fields["assigned_therapist"])
        field.queryset = practice_therapists(practice)
        field.label_from_instance = _display_name  # type: ignore[method-assign,assignment]


class ConvertForm(forms.Form):
    """Turn a request into a client: names as the person gave them, the first episode's plan
    and whether to invite them to the client portal."""

    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    email = forms.EmailField(label="Email")
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    therapist = forms.ModelChoiceField(label="Treating therapist", queryset=User.objects.none())
    modality = forms.ChoiceField(label="Modality", choices=Modality.choices)
    sessions_per_week = forms.TypedChoiceField(
        label="Planned frequency",
        choices=FREQUENCY_CHOICES,
        coerce=Decimal,
        initial="1",
    )
    start_date = forms.DateField(
        label="Intake date", widget=forms.DateInput(attrs={"type": "date"})
    )
    invite = forms.BooleanField(
        label="Invite them to the client portal by email", required=False, initial=True
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Any]", self.fields["therapist"])
        field.queryset = practice_therapists(practice)
        field.label_from_instance = _display_name  # type: ignore[method-assign,assignment]
