from __future__ import annotations

from django import forms


class RetentionPolicyForm(forms.Form):
    years_after_last_episode = forms.IntegerField(
        label="Years to keep a record after the last episode ends",
        min_value=1,
        max_value=100,
    )
    years_after_majority = forms.IntegerField(
        label="For someone treated as a child: years to keep it after their 18th birthday",
        min_value=0,
        max_value=100,
    )


class ErasureRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why is this record being erased?",
        help_text="For example the client's written request and its date, or the retention "
        "review. Another admin reads this before confirming.",
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=20,
        max_length=2000,
    )
    typed_name = forms.CharField(
        label="Type the client's full name to confirm", max_length=250, strip=True
    )


class ErasureConfirmForm(forms.Form):
    typed_name = forms.CharField(
        label="Type the client's full name to confirm", max_length=250, strip=True
    )
