from __future__ import annotations

import math
from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts import actions, browsers
from reverie.accounts.forms import (
    LoginForm,
    OutboxPasswordResetForm,
    TokenForm,
    UnlockRequestForm,
)
from reverie.audit import trail
from reverie.core.decorators import signed_in_user
from reverie.core.proxies import client_ip
from reverie.core.redirects import redirect_next, requested_next


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        """Only a same-site path (``core.redirects``); otherwise the role's home."""
        return requested_next(self.request) or ""

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        browsers.remember(response, self.request, form.get_user())
        return response

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
            response["Retry-After"] = str(math.ceil(form.verdict.wait.total_seconds()))
        return response


def _with_next(request: HttpRequest, url_name: str) -> HttpResponseRedirect:
    """Redirect to another sign-in step, carrying the request's safe ``next`` along."""
    url = reverse(url_name)
    target = requested_next(request)
    return HttpResponseRedirect(f"{url}?{urlencode({'next': target})}" if target else url)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the second factor; send people without a device to enrol one."""
    user = request.user
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return _with_next(request, "accounts:two_factor_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect_next(request, "core:home")
        form.add_error("token", "That code is not valid. Codes change every 30 seconds.")
    return render(request, "accounts/two_factor.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device, confirm it with a first code, and hand out backup codes once."""
    user = signed_in_user(request)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        messages.info(request, "Two-factor sign-in is already set up for your account.")
        return redirect_next(request, "core:home")
    device = actions.unconfirmed_totp_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            codes = actions.confirm_two_factor(trail.context(request), user, device)
            otp_login(request, device)
            return render(
                request,
                "accounts/backup_codes.html",
                {"codes": codes, "next": requested_next(request) or reverse("core:home")},
            )
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

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        actions.password_chosen(
            trail.Context(user=form.user, ip=client_ip(self.request)), form.user
        )
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@require_http_methods(["GET", "POST"])
def unlock_request(request: HttpRequest) -> HttpResponse:
    """Ask for an unlock link. The answer never says whether the email has an account."""
    form = UnlockRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.request_unlock(form.cleaned_data["email"])
        return redirect("accounts:unlock_sent")
    return render(request, "accounts/unlock_request.html", {"form": form})


@require_http_methods(["GET"])
def unlock_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/unlock_sent.html")


@require_http_methods(["GET", "POST"])
def unlock(request: HttpRequest, token: str) -> HttpResponse:
    """Spend an emailed unlock link. Opening it (GET) only asks for a click: mail scanners
    follow links, and must not use up a one-time link or mark their own browser as known."""
    if request.method == "POST":
        user = actions.use_unlock_link(token, client_ip(request))
        if user is not None:
            messages.success(
                request, "Sign-in is unlocked in this browser. Sign in with your password."
            )
            response = redirect("accounts:login")
            browsers.remember(response, request, user)
            return response
        link = None
    else:
        link = actions.find_unlock_link(token)
    return render(request, "accounts/unlock.html", {"link": link})
