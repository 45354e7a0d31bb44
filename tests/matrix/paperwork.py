"""Routes of intake paperwork (issue 16).

A client sees and signs only their own forms (the other client finds nothing: 404). The
treating therapist and the practice admin see a client's forms; the colleague (who does
not treat ``world.client``) and the stranger find nothing (404). Only the admin edits
the practice's forms.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from matrix import CLIENTS, Route, only
from reverie.audit import trail
from reverie.paperwork import actions
from reverie.paperwork.models import FormRequest
from reverie.testing import World


def objects(w: World) -> dict[str, Any]:
    """The client's forms, sent; the consent to treatment signed. Made once per world."""
    cached = getattr(w, "_paperwork_objects", None)
    if cached is not None:
        return cached
    sent = actions.send_forms(trail.Context(user=w.therapist), w.client)
    consent = next(r for r in sent if r.version.form.kind == "consent_to_treatment")
    actions.sign(
        trail.Context(user=w.client_user, ip="192.0.2.7"),
        consent,
        typed_name="Cleo Client",
        esign_consent=True,
        document_sha256=consent.version.sha256,
    )
    unsigned = FormRequest.objects.filter(client=w.client, signed_at__isnull=True).first()
    document = actions.upload_document(
        trail.Context(user=w.therapist),
        w.client,
        kind="referral",
        name="letter.pdf",
        data=b"%PDF-1.4\n% a referral letter for the matrix\n",
    )
    cached = {
        "signed": consent,
        "unsigned": unsigned,
        "form": consent.version.form,
        "document": document,
    }
    w._paperwork_objects = cached  # type: ignore[attr-defined]
    return cached


def own_client(status: int) -> dict[str, int]:
    return only({"client": status, "other_client": 404})


def staff(status: int) -> dict[str, int]:
    """The treating therapist and the admin; colleague and stranger learn nothing."""
    return only({"therapist": status, "admin": status, "colleague": 404, "stranger": 404})


ROUTES = [
    Route("paperwork:mine", lambda w: reverse("paperwork:mine"), only(CLIENTS)),
    Route(
        "paperwork:sign",
        lambda w: reverse("paperwork:sign", args=[objects(w)["unsigned"].pk]),
        own_client(200),
    ),
    Route(
        "paperwork:pdf",
        lambda w: reverse("paperwork:pdf", args=[objects(w)["signed"].pk]),
        {**staff(200), "client": 200, "other_client": 404},
    ),
    Route(
        "paperwork:client",
        lambda w: reverse("paperwork:client", args=[w.client.pk]),
        staff(200),
    ),
    Route(
        "paperwork:send",
        lambda w: reverse("paperwork:send", args=[w.client.pk]),
        staff(302),
        method="post",
    ),
    # Without a file the upload is refused as bad input (400), after the access check.
    Route(
        "paperwork:upload",
        lambda w: reverse("paperwork:upload", args=[w.client.pk]),
        staff(400),
        method="post",
        data={"kind": "referral"},
    ),
    Route(
        "paperwork:document",
        lambda w: reverse("paperwork:document", args=[objects(w)["document"].pk]),
        staff(200),
    ),
    Route("paperwork:forms", lambda w: reverse("paperwork:forms"), only({"admin": 200})),
    Route(
        "paperwork:form_edit",
        lambda w: reverse("paperwork:form_edit", args=[objects(w)["form"].pk]),
        only({"admin": 200}),
    ),
]
