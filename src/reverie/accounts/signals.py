"""Sign-ins and sign-outs go into the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from reverie.audit import trail
from reverie.audit.models import Action


@receiver(user_logged_in)
def _on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    trail.record(trail.Context(user=user, ip=trail.client_ip(request)), Action.LOGIN, user)


@receiver(user_logged_out)
def _on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        trail.record(trail.Context(user=user, ip=trail.client_ip(request)), Action.LOGOUT, user)
