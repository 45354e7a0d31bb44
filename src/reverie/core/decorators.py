"""Role gates for views. Object-level rules live in each domain's ``access`` module."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from reverie.accounts.models import User

View = Callable[..., HttpResponse]
V = TypeVar("V", bound=View)


def role_required(*roles: str) -> Callable[[View], View]:
    """Signed-in people with another role get 403: the page exists, it is not theirs."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.role not in roles:  # type: ignore[union-attr]
                raise PermissionDenied("This page is for another role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def signed_in_user(request: HttpRequest) -> User:
    """The request's user as a ``User``; views behind ``login_required`` call this so the
    type checker knows the anonymous case was handled before."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


def public_page(view: V) -> V:
    """Mark a page that shows nothing about any person, so that its answers to anonymous
    GET requests may be cached as usual. Everything else Reverie answers carries
    ``Cache-Control: no-store`` (:mod:`reverie.core.middleware`)."""
    view.public_page = True  # type: ignore[attr-defined]
    return view
