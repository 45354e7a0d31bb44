"""Routes of the foundation: landing, sign-in, homes, practice admin, the first API."""

from __future__ import annotations

from django.urls import reverse

from matrix import CLIENTS, THERAPISTS, Route, everyone, only, signed_in

ROUTES = [
    Route("core:landing", lambda w: reverse("core:landing"), everyone(200)),
    Route("core:healthz", lambda w: reverse("core:healthz"), everyone(200)),
    Route("core:home", lambda w: reverse("core:home"), signed_in(302)),
    Route(
        "accounts:login", lambda w: reverse("accounts:login"), {**everyone(302), "anonymous": 200}
    ),
    Route("accounts:logout", lambda w: reverse("accounts:logout"), everyone(405)),
    # Staff (who have a device) are asked for a code; clients have none and go to set-up.
    Route(
        "accounts:two_factor",
        lambda w: reverse("accounts:two_factor"),
        {**signed_in(302), "therapist": 200, "colleague": 200, "stranger": 200, "admin": 200},
    ),
    Route(
        "accounts:two_factor_setup",
        lambda w: reverse("accounts:two_factor_setup"),
        {**signed_in(200), "therapist": 302, "colleague": 302, "stranger": 302, "admin": 302},
    ),
    # Anyone may ask for an unlock link; the answer is the same page for every email.
    Route("accounts:unlock_request", lambda w: reverse("accounts:unlock_request"), everyone(200)),
    Route("accounts:unlock_sent", lambda w: reverse("accounts:unlock_sent"), everyone(200)),
    Route(
        "accounts:unlock",
        lambda w: reverse("accounts:unlock", args=["not-a-live-token"]),
        everyone(200),
    ),
    Route("accounts:password_reset", lambda w: reverse("accounts:password_reset"), everyone(200)),
    Route(
        "accounts:password_reset_done",
        lambda w: reverse("accounts:password_reset_done"),
        everyone(200),
    ),
    Route(
        "accounts:invite_accept",
        lambda w: reverse("accounts:invite_accept", args=["MQ", "bad-token"]),
        everyone(200),
    ),
    Route(
        "accounts:password_reset_complete",
        lambda w: reverse("accounts:password_reset_complete"),
        everyone(200),
    ),
    Route("care:caseload", lambda w: reverse("care:caseload"), only(THERAPISTS)),
    Route("care:client_home", lambda w: reverse("care:client_home"), only(CLIENTS)),
    Route("care:alerts", lambda w: reverse("care:alerts"), only({**THERAPISTS, "admin": 200})),
    # Only the treating therapist may acknowledge; an admin sees escalated alerts only.
    Route(
        "care:acknowledge_alert",
        lambda w: reverse("care:acknowledge_alert", args=[w.alert.pk]),
        only({"therapist": 302, "colleague": 404, "stranger": 404, "admin": 404}),
        method="post",
    ),
    Route("practice:users", lambda w: reverse("practice:users"), only({"admin": 200})),
    Route("practice:date_format", lambda w: reverse("practice:date_format"), only({"admin": 200})),
    Route(
        "practice:date_format",
        lambda w: reverse("practice:date_format"),
        only({"admin": 302}),
        method="post",
        data={"date_locale": "en-GB"},
    ),
    Route(
        "practice:date_format",
        lambda w: reverse("practice:date_format"),
        only({"admin": 400}),
        method="post",
        data={"date_locale": "fr-FR"},
    ),
    Route(
        "practice:invite", lambda w: reverse("practice:invite"), only({"admin": 400}), method="post"
    ),
    Route(
        "practice:unlock",
        lambda w: reverse("practice:unlock", args=[w.therapist.pk]),
        only({"admin": 302}),
        method="post",
    ),
    Route(
        "practice:set_active",
        lambda w: reverse("practice:set_active", args=[w.colleague.pk]),
        only({"admin": 302}),
        method="post",
        data={"active": "1"},
    ),
    Route("practice:audit", lambda w: reverse("practice:audit"), only({"admin": 200})),
    Route("practice:grants", lambda w: reverse("practice:grants"), only({"admin": 200})),
    Route(
        "practice:revoke_grant",
        lambda w: reverse("practice:revoke_grant", args=[w.grant.pk]),
        only({"admin": 302}),
        method="post",
    ),
    Route("api:me", lambda w: reverse("api:me"), {**everyone(200), "anonymous": 401}, api=True),
    Route(
        "api:caseload", lambda w: reverse("api:caseload"), only(THERAPISTS, anonymous=401), api=True
    ),
]
