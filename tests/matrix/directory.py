"""Routes of the front door (issue 7): public pages, a therapist's profile, intake and pages.

The world has two practices and no ``REVERIE_PUBLIC_PRACTICE``, so an anonymous visitor has no
practice to see: pages that need one answer 404, while the explanatory pages and the self-check
work without. Signed-in people see their own practice's front door, so the stranger (another
practice) finds no profile of ours. ``tests/directory/`` covers anonymous visitors of a
configured practice.
"""

from __future__ import annotations

import io
from typing import Any

from django.urls import reverse
from django.utils import timezone
from PIL import Image

from matrix import Route, everyone, only, signed_in
from reverie.audit import trail
from reverie.directory import actions
from reverie.directory.models import TherapistProfile
from reverie.testing import World

THERAPISTS = {"therapist": 200, "colleague": 200, "stranger": 200}
#: Our practice's people see our public profiles; the stranger and anonymous find nothing.
OUR_PRACTICE = {**everyone(200), "stranger": 404, "anonymous": 404}


def objects(w: World) -> dict[str, Any]:
    """A published profile with a photo and a consultation request, made once per world."""
    cached = getattr(w, "_directory_objects", None)
    if cached is not None:
        return cached
    photo = io.BytesIO()
    Image.new("RGB", (40, 40), "teal").save(photo, "JPEG")
    profile = TherapistProfile.objects.create(
        user=w.therapist,
        modalities=["psychodynamic"],
        concerns=["grief"],
        languages=["English"],
        fee=100,
        telehealth=True,
        weekly_slots=[[1, 18]],
        photo=photo.getvalue(),
        photo_updated_at=timezone.now(),
    )
    request = actions.submit_consultation(
        trail.Context(user=None, label="public:consultation form", practice=w.practice),
        w.practice,
        name="Matrix Person",
        email="matrix@example.org",
    )
    cached = {"profile": profile, "request": request}
    w._directory_objects = cached  # type: ignore[attr-defined]
    return cached


ADMIN = {"admin": 200}

ROUTES = [
    Route("directory:learn", lambda w: reverse("directory:learn"), everyone(200)),
    Route(
        "directory:learn_page",
        lambda w: reverse("directory:learn_page", args=["what-the-evidence-says"]),
        everyone(200),
    ),
    Route("directory:selfcheck", lambda w: reverse("directory:selfcheck"), everyone(200)),
    # Without answers the server says which question needs one; nothing is stored either way.
    Route(
        "directory:selfcheck",
        lambda w: reverse("directory:selfcheck"),
        everyone(400),
        method="post",
    ),
    Route(
        "directory:therapists",
        lambda w: reverse("directory:therapists"),
        {**signed_in(200), "anonymous": 404},
    ),
    Route(
        "directory:therapist",
        lambda w: reverse("directory:therapist", args=[objects(w)["profile"].pk]),
        OUR_PRACTICE,
    ),
    Route(
        "directory:therapist_photo",
        lambda w: reverse("directory:therapist_photo", args=[objects(w)["profile"].pk]),
        OUR_PRACTICE,
    ),
    Route(
        "directory:consult",
        lambda w: reverse("directory:consult"),
        {**signed_in(200), "anonymous": 404},
    ),
    Route(
        "directory:consult_sent",
        lambda w: reverse("directory:consult_sent"),
        {**signed_in(200), "anonymous": 404},
    ),
    Route("directory:profile_edit", lambda w: reverse("directory:profile_edit"), only(THERAPISTS)),
    Route("directory:intake", lambda w: reverse("directory:intake"), only(ADMIN)),
    Route(
        "directory:intake_request",
        lambda w: reverse("directory:intake_request", args=[objects(w)["request"].pk]),
        only(ADMIN),
    ),
    # Triage without a status is refused and changes nothing.
    Route(
        "directory:intake_request",
        lambda w: reverse("directory:intake_request", args=[objects(w)["request"].pk]),
        only({"admin": 400}),
        method="post",
    ),
    Route(
        "directory:intake_convert",
        lambda w: reverse("directory:intake_convert", args=[objects(w)["request"].pk]),
        only(ADMIN),
    ),
    Route("directory:profiles_admin", lambda w: reverse("directory:profiles_admin"), only(ADMIN)),
    Route(
        "directory:profile_publish",
        lambda w: reverse("directory:profile_publish", args=[objects(w)["profile"].pk]),
        only({"admin": 302}),
        method="post",
        data={"published": "1"},
    ),
    Route("directory:pages_admin", lambda w: reverse("directory:pages_admin"), only(ADMIN)),
    Route(
        "directory:page_edit",
        lambda w: reverse("directory:page_edit", args=["how-long-it-lasts"]),
        only(ADMIN),
    ),
    Route(
        "directory:page_reset",
        lambda w: reverse("directory:page_reset", args=["how-long-it-lasts"]),
        only({"admin": 302}),
        method="post",
    ),
]
