from __future__ import annotations

from django import forms

from reverie.messaging.models import MAX_LENGTH


class MessageForm(forms.Form):
    # The length is checked by the action (one rule for every caller); maxlength here
    # only stops a browser from accepting more than will be kept.
    body = forms.CharField(
        label="Your message",
        required=False,
        strip=False,
        help_text=f"Up to {MAX_LENGTH:,} characters. Not for emergencies.",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_LENGTH}),
    )
