"""The objects a measurement page acts on, looked up through the person's access: 404 for
anything outside their relationship with the client."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from reverie.accounts.models import Role, User, hash_token
from reverie.audit import trail
from reverie.care import access as care_access
from reverie.care.access import clinical_clients
from reverie.care.models import Client, Episode
from reverie.measures.models import (
    MeasureRequest,
    RequestLink,
)
from reverie.vault.fields import unread

THERAPIST = (Role.THERAPIST,)


def own_client(user: User) -> Client:
    client = care_access.own_client(user)
    if client is None:
        raise Http404("Your account is not linked to a client record")
    return client


def own_request(user: User, pk: int) -> MeasureRequest:
    return get_object_or_404(
        # The episode's goals are encrypted text the questionnaire never shows: deferred,
        # so they are not decrypted (nor their key looked up) for every form shown.
        MeasureRequest.objects.select_related("instrument", "client__practice", "episode").defer(
            *unread(Episode, "episode")
        ),
        pk=pk,
        client__user=user,
    )


def clinical_client(user: User, pk: int) -> Client:
    return get_object_or_404(clinical_clients(user).select_related("practice"), pk=pk)


def clinical_episode(user: User, pk: int) -> Episode:
    return get_object_or_404(
        Episode.objects.select_related("client__practice", "therapist"),
        pk=pk,
        client__in=clinical_clients(user),
    )


def clinical_request(user: User, pk: int) -> MeasureRequest:
    return get_object_or_404(
        MeasureRequest.objects.select_related("client__practice", "instrument"),
        pk=pk,
        client__in=clinical_clients(user),
    )


def link_request(token: str) -> MeasureRequest:
    link = (
        RequestLink.objects.select_related(
            "request__instrument", "request__client__practice", "request__episode"
        )
        .filter(digest=hash_token(token))
        .first()
    )
    if link is None:
        raise Http404("No such link")
    return link.request


def link_context(request: HttpRequest, measure_request: MeasureRequest) -> trail.Context:
    """Who acts through a one-time link: the link holder, not any signed-in account."""
    return trail.Context(
        user=None,
        ip=trail.client_ip(request),
        label=f"one-time link to request {measure_request.pk}",
        practice=measure_request.client.practice,
    )
