"""Which practice the front door belongs to.

A Reverie site serves one practice's public pages. Anonymous visitors see the practice named by
``REVERIE_PUBLIC_PRACTICE`` (its slug); when that is empty, the only practice in the database,
or else the demo practice. Signed-in people see their own practice's pages (a therapist
previewing the directory sees their colleagues, never another practice's). When no practice can
be chosen, the pages that need one answer 404 rather than guess.

It lives with the practices, below every app with public pages (the directory, published
outcomes, booking), so each of them can ask without importing the others.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest

from reverie.accounts.models import Practice


def public_practice(request: HttpRequest | None = None) -> Practice | None:
    """The practice whose front door this request sees, or None if there is none."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        own: Practice = user.practice
        return own
    slug = settings.PUBLIC_PRACTICE
    if slug:
        return Practice.objects.filter(slug=slug).first()
    first_two = list(Practice.objects.order_by("pk")[:2])
    if len(first_two) == 1:
        return first_two[0]
    return Practice.objects.filter(is_demo=True).order_by("pk").first()


def require_public_practice(request: HttpRequest) -> Practice:
    """Like :func:`public_practice`, but a page without a practice is not found."""
    practice = public_practice(request)
    if practice is None:
        raise Http404("No practice publishes its pages on this site.")
    return practice
