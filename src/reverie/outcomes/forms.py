"""Forms of the outcome pages."""

from __future__ import annotations

from django import forms

from reverie.outcomes import support


class SupportReviewForm(forms.Form):
    reviewed = forms.MultipleChoiceField(
        label="Areas I reviewed",
        choices=[(a.key, a.title) for a in support.AREAS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one area you reviewed."},
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=support.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What you found or plan to do. Part of the client's record; encrypted.",
    )
    acknowledge = forms.BooleanField(
        label="Acknowledge the alert as well", required=False, initial=True
    )
