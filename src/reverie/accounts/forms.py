from __future__ import annotations

import datetime
import math
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.http import HttpRequest

from reverie.accounts import actions, backoff, browsers, throttle
from reverie.accounts.models import Role, User
from reverie.core.proxies import client_ip


def describe_wait(wait: datetime.timedelta) -> str:
    """``30 seconds``, ``2 minutes``: rounded up, so waiting that long is always enough.

    >>> second = datetime.timedelta(seconds=1)
    >>> describe_wait(29.2 * second), describe_wait(61 * second), describe_wait(60 * second)
    ('30 seconds', '2 minutes', '1 minute')
    """
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class LoginForm(AuthenticationForm):
    """Password sign-in with back-off (``accounts/backoff.py``).

    Every answer is the same whether or not the email has an account: the wording, the
    status, the back-off (counted per email as typed) and, roughly, the time taken (an
    unknown email still costs one password hash, which Django's ``ModelBackend`` spends
    on a dummy password).
    """

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match. Check both and try again.",
        "throttled": (
            "Too many failed sign-ins. Wait %(wait)s and try again, or ask for an email "
            "with a link that lets you sign in at once."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.verdict: backoff.Verdict = backoff.ALLOWED

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        password = self.cleaned_data.get("password")
        if not email or not password:
            return self.cleaned_data  # the fields already carry their errors
        self.cleaned_data["username"] = email
        ip = client_ip(self.request) if self.request else None
        browser = browsers.recognised(self.request, email) if self.request else ""
        self.verdict = throttle.verdict(email, ip, browser)
        if not self.verdict.allowed:
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"wait": describe_wait(self.verdict.wait)},
            )
        attempt = actions.begin_sign_in(email=email, ip=ip, browser=browser)
        self.user_cache = authenticate(self.request, username=email, password=password)
        if self.user_cache is None:
            actions.sign_in_failed(attempt)
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        self.confirm_login_allowed(self.user_cache)
        actions.sign_in_succeeded(attempt)
        return self.cleaned_data


class UnlockRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app (or a backup code)",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class InviteForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    role = forms.ChoiceField(choices=Role.choices)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("Someone already has an account with this email.")
        cleaned: str = email
        return cleaned


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's password reset, with its email queued in the outbox like every other."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from reverie.accounts import emails

        user = context.get("user")
        emails.password_reset(to_email, context, getattr(user, "practice_id", None))
