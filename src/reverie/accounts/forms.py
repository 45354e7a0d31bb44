from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils import formats, timezone

from reverie.accounts import actions
from reverie.accounts.models import Role, User
from reverie.audit import trail


class LoginForm(AuthenticationForm):
    """Password sign-in with per-account lockout and per-address throttling."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        self.cleaned_data["username"] = email
        ctx = trail.context(self.request) if self.request else trail.Context(user=None)
        if actions.ip_is_throttled(ctx.ip):
            raise forms.ValidationError(
                "Too many failed sign-ins from your network. Wait 15 minutes and try again.",
                code="throttled",
            )
        user = User.objects.filter(email=email).first()
        if user is not None and user.is_locked():
            until = formats.time_format(timezone.localtime(user.locked_until), "H:i")
            raise forms.ValidationError(
                f"This account is locked after repeated failed sign-ins. Try again after {until} "
                "(server time), or ask your practice admin to unlock it.",
                code="locked",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            actions.register_login_attempt(ctx, email=email, user=user, succeeded=False)
            raise
        actions.register_login_attempt(ctx, email=email, user=user, succeeded=True)
        return cleaned


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
        return email


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
