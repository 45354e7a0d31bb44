"""Form pieces shared by the public pages of several apps."""

from __future__ import annotations

from typing import Any

from django import forms


class HoneypotForm(forms.Form):
    """A ``website`` field people never see and software that fills in every field does.

    The public forms a stranger can post (consultation request, booking, waitlist) check
    :attr:`is_spam` before anything else and then answer as if it worked, storing nothing.
    Templates render it in a ``hp`` block hidden from view and from assistive technology.
    """

    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Django lists a base class's fields first; the forms declared the honeypot last,
        # so keep it there and their errors and cleaned data keep the order they had.
        self.fields["website"] = self.fields.pop("website")

    @property
    def is_spam(self) -> bool:
        # Read from the raw data: the decision comes before, and without, validation.
        return bool(self.data.get("website", "").strip())
