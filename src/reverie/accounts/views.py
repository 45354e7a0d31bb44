from __future__ import annotations

from base64 import b32encode
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts.forms import LoginForm, OutboxPasswordResetForm, TokenForm
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.decorators import signed_in_user


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the second factor; send people without a device to enrol one."""
    user = request.user
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect("accounts:two_factor_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(request.GET.get("next") or "core:home")
        form.add_error("token", "That code is not valid. Codes change every 30 seconds.")
    return render(request, "accounts/two_factor.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device, confirm it with a first code, and hand out backup codes once."""
    user = signed_in_user(request)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        messages.info(request, "Two-factor sign-in is already set up for your account.")
        return redirect("core:home")
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "authenticator"}
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            backup, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
            backup.token_set.all().delete()
            codes = [StaticToken.random_token() for _ in range(8)]
            for code in codes:
                backup.token_set.create(token=code)
            otp_login(request, device)
            trail.record(trail.context(request), Action.OTP_ENROLL, user)
            return render(request, "accounts/backup_codes.html", {"codes": codes})
        form.add_error(
            "token", "That code did not match. Check the time on your phone and try again."
        )
    otpauth = device.config_url
    qr_svg = segno.make(otpauth, error="m").svg_data_uri(scale=5, dark="#1b1f3b")
    secret = b32encode(device.bin_key).decode("ascii")
    context: dict[str, Any] = {"form": form, "qr": qr_svg, "secret": secret}
    return render(request, "accounts/two_factor_setup.html", context)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = OutboxPasswordResetForm  # renders emails/password_reset{_subject.txt,.txt,.html}
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Both the password-reset link and the invitation link land here."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]
