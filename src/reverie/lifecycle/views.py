"""A client's complete record as one download: for the client in the portal, for a
therapist with clinical access and for the practice admin on the client's page."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import administrative_clients, clinical_clients
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.lifecycle import archive
from reverie.lifecycle.record import Audience, gather


def _audience(user: User) -> Audience:
    return {
        Role.CLIENT: Audience.CLIENT,
        Role.THERAPIST: Audience.CLINICIAN,
        Role.ADMIN: Audience.ADMIN,
    }[Role(user.role)]


def exportable_clients(user: User) -> QuerySet[Client]:
    """Whose record ``user`` may export: a therapist, the clients whose clinical record
    they may read; the admin, every client of the practice; a client, themselves."""
    if user.role == Role.ADMIN:
        return administrative_clients(user)
    return clinical_clients(user)


def _download(request: HttpRequest, client: Client) -> HttpResponse:
    user = signed_in_user(request)
    record = gather(client, _audience(user))
    body = archive.zip_bytes(record)
    trail.record(
        trail.context(request),
        Action.EXPORT,
        client,
        client_id=client.pk,
        detail={
            "view": "lifecycle.export",
            "audience": record.audience.value,
            "counts": record.counts(),
        },
    )
    response = HttpResponse(body, content_type="application/zip")
    name = f"record-{client.pk}-{record.generated_at:%Y%m%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@role_required(Role.THERAPIST, Role.ADMIN)
def client_export(request: HttpRequest, pk: int) -> HttpResponse:
    client = exportable_clients(signed_in_user(request)).filter(pk=pk).first()
    if client is None:
        raise Http404("No such client")
    return _download(request, client)


@require_POST
@role_required(Role.CLIENT)
def my_export(request: HttpRequest) -> HttpResponse:
    client = Client.objects.filter(user=signed_in_user(request)).first()
    if client is None:
        raise Http404("There is no record for this account.")
    return _download(request, client)
