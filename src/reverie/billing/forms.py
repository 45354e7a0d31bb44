"""Billing's forms. Amounts are typed as text and read by :func:`money.parse` into minor
units, so a typed "150.5" never passes through a float."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone

from reverie.billing import codes, money
from reverie.billing.models import (
    BillingSettings,
    PaymentMethod,
    RefundReason,
    WaiverReason,
    WriteOffReason,
)


class AmountField(forms.CharField):
    """An amount of money in the practice's currency, cleaned to minor units (an int)."""

    def __init__(self, *args: Any, currency: str = "USD", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", f"In {currency}, e.g. 150 or 150.00.")
        self.currency = currency
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> int:
        text = super().clean(value)
        try:
            return money.parse(text, self.currency)
        except money.MoneyError as error:
            raise forms.ValidationError(str(error)) from None


class _MoneyForm(forms.Form):
    def __init__(self, *args: Any, currency: str = "USD", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, AmountField):
                field.currency = currency
                field.help_text = f"In {currency}, e.g. 150 or 150.00."


class DateInput(forms.DateInput):
    input_type = "date"


class FeeForm(_MoneyForm):
    service = forms.ChoiceField(choices=codes.SERVICE_CHOICES)
    amount = AmountField(label="Fee")
    effective_from = forms.DateField(
        label="From", widget=DateInput, help_text="Charges before this date keep their fee."
    )


class SettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = BillingSettings
        fields = ("currency", "tax_id", "address", "phone", "telehealth_pos")
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class ProviderForm(forms.Form):
    npi = forms.CharField(label="NPI", max_length=10, required=False)
    licence = forms.CharField(
        max_length=100, required=False, help_text='Type, state and number, e.g. "LCSW NY 012345".'
    )


def _today() -> datetime.date:
    return timezone.localdate()


class PaymentForm(_MoneyForm):
    prefix = "pay"
    amount = AmountField()
    method = forms.ChoiceField(choices=PaymentMethod.choices)
    received_on = forms.DateField(label="Received on", widget=DateInput, initial=_today)
    reference = forms.CharField(
        max_length=40, required=False, help_text="Cheque or transfer number; never a card number."
    )
    apply = forms.ChoiceField(
        label="Apply to",
        choices=[("oldest", "The oldest open charges first"), ("none", "Keep as credit")],
        initial="oldest",
        widget=forms.RadioSelect,
    )


class WaiveForm(forms.Form):
    reason = forms.ChoiceField(choices=WaiverReason.choices)


class WriteOffForm(_MoneyForm):
    amount = AmountField()
    reason = forms.ChoiceField(choices=WriteOffReason.choices)


class RefundForm(_MoneyForm):
    amount = AmountField()
    reason = forms.ChoiceField(choices=RefundReason.choices)


class AgreedFeeForm(_MoneyForm):
    prefix = "agreed"
    amount = AmountField(label="Agreed fee")
    effective_from = forms.DateField(label="From", widget=DateInput, initial=_today)
    service = forms.ChoiceField(
        choices=[
            ("", "Every session"),
            *[(k, codes.SERVICES[k].label) for k in codes.SESSION_SERVICES],
        ],
        required=False,
    )


class ClientSettingsForm(forms.Form):
    prefix = "billing"
    self_pay = forms.BooleanField(
        label="Self-pay (pays the practice directly)", required=False, initial=True
    )
    session_service = forms.ChoiceField(
        label="Bill sessions as",
        choices=[
            ("", "By the session's length (CPT time rule)"),
            *[(k, codes.SERVICES[k].label) for k in codes.SESSION_SERVICES],
        ],
        required=False,
    )


class DiagnosesForm(forms.Form):
    codes = forms.CharField(
        label="ICD-10-CM codes",
        max_length=200,
        required=False,
        help_text="Your diagnosis codes for this client's superbills, separated by commas, "
        "e.g. F41.1, F33.1. Reverie checks only their form and never suggests one.",
    )


class PeriodForm(forms.Form):
    start = forms.DateField(widget=DateInput)
    end = forms.DateField(widget=DateInput)
    as_of = forms.DateField(label="Ageing at", widget=DateInput, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError("The end of the period is before its start")
        if start and end and (end - start).days > 3 * 366:
            raise forms.ValidationError("Choose a period of at most three years")
        return data
