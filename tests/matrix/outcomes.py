"""Routes of the outcomes app: trajectories, the evidence dashboard, reports, public page."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, everyone, only

STAFF = {"therapist": 200, "colleague": 200, "stranger": 200, "admin": 200}

ROUTES = [
    Route("outcomes:dashboard", lambda w: reverse("outcomes:dashboard"), only(STAFF)),
    Route("outcomes:progress", lambda w: reverse("outcomes:progress"), only(STAFF)),
    Route("outcomes:practice_pdf", lambda w: reverse("outcomes:practice_pdf"), only(STAFF)),
    Route("outcomes:export_csv", lambda w: reverse("outcomes:export_csv"), only({"admin": 200})),
    Route(
        "outcomes:recompute",
        lambda w: reverse("outcomes:recompute"),
        only({"admin": 302}),
        method="post",
    ),
    Route(
        "outcomes:publish",
        lambda w: reverse("outcomes:publish"),
        only({"admin": 302}),
        method="post",
        data={"publish": "off"},
    ),
    # Two practices exist and none is named public, so no practice shows its outcomes.
    Route("outcomes:public", lambda w: reverse("outcomes:public"), everyone(404)),
    Route(
        "outcomes:my_progress",
        lambda w: reverse("outcomes:my_progress"),
        only({"client": 200, "other_client": 200}),
    ),
    # The client's therapist only shares charts when they choose to (off in the world).
    Route(
        "outcomes:trajectory",
        lambda w: reverse("outcomes:trajectory", args=[w.client.pk]),
        only(
            {
                "therapist": 200,
                "colleague": 404,
                "stranger": 404,
                "client": 404,
                "other_client": 404,
            }
        ),
    ),
    Route(
        "outcomes:trajectory_pdf",
        lambda w: reverse("outcomes:trajectory_pdf", args=[w.client.pk]),
        only(
            {
                "therapist": 200,
                "colleague": 404,
                "stranger": 404,
                "client": 404,
                "other_client": 404,
            }
        ),
    ),
    # The clinical-support checklist after the world's not-on-track alert: only a therapist
    # caring for the client now (the colleague and the stranger do not see the alert).
    Route(
        "outcomes:support_review",
        lambda w: reverse("outcomes:support_review", args=[w.alert.pk]),
        only({"therapist": 200, "colleague": 404, "stranger": 404}),
    ),
    Route(
        "outcomes:support_review",
        lambda w: reverse("outcomes:support_review", args=[w.alert.pk]),
        only({"therapist": 302, "colleague": 404, "stranger": 404}),
        method="post",
        data={"reviewed": "risk"},
    ),
]
