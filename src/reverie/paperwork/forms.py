"""Forms of the paperwork pages: the client's signature and the admin's new version."""

from __future__ import annotations

from django import forms

from reverie.paperwork.documents import HISTORY_QUESTIONS
from reverie.paperwork.models import DocumentKind


class SignatureForm(forms.Form):
    """Typed name, consent to electronic records, and the fingerprint the page showed.

    Fields for the release of information and the history questionnaire are added for
    those kinds only (:meth:`for_kind`)."""

    document_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    typed_name = forms.CharField(
        label="Type your full name to sign",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    esign_consent = forms.BooleanField(
        label="I agree to use electronic records and signatures with this practice, and I "
        "mean my typed name as my signature of the form above.",
        required=False,
    )

    def __init__(self, *args: object, kind: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.kind = kind
        if kind == "release_of_information":
            self.fields["recipient"] = forms.CharField(
                label="Who may receive the information (a person or an organisation)",
                max_length=300,
            )
            self.fields["scope"] = forms.CharField(
                label="What may be shared, and why",
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            self.fields["expires_on"] = forms.DateField(
                label="This release ends on",
                widget=forms.DateInput(attrs={"type": "date"}),
            )
        if kind == "history_questionnaire":
            for key, question in HISTORY_QUESTIONS:
                self.fields[f"answer_{key}"] = forms.CharField(
                    label=question,
                    required=False,
                    max_length=4000,
                    widget=forms.Textarea(attrs={"rows": 3}),
                )
        # Read in this order on the page: what the form asks, then the signature.
        order = [n for n in self.fields if n not in ("typed_name", "esign_consent")]
        self.order_fields([*order, "esign_consent", "typed_name"])

    def answers(self) -> dict[str, str]:
        return {
            key: self.cleaned_data.get(f"answer_{key}", "") or "" for key, _ in HISTORY_QUESTIONS
        }


class VersionForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        label="Text (Markdown)", widget=forms.Textarea(attrs={"rows": 22}), max_length=40000
    )
    requires_resigning = forms.BooleanField(
        label="Clients who signed an earlier version must sign this one",
        required=False,
        help_text="They are sent the new version with an email that links to the portal.",
    )


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="What it is", choices=DocumentKind.choices)
    file = forms.FileField(
        label="File (PDF, PNG or JPEG, up to 10 MB)",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )
