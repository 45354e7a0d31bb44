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
