"""Whose record a person may export."""

from __future__ import annotations

from django.db.models import QuerySet

from reverie.accounts.models import Role, User
from reverie.care.access import administrative_clients, clinical_clients
from reverie.care.models import Client
from reverie.lifecycle.record import Audience


def exportable_clients(user: User) -> QuerySet[Client]:
    """A therapist: the clients whose clinical record they may read (care/access.py); the
    practice admin: every client of the practice; a client: themselves."""
    if user.role == Role.ADMIN:
        return administrative_clients(user)
    return clinical_clients(user)


def audience_of(user: User) -> Audience:
    return {
        Role.CLIENT: Audience.CLIENT,
        Role.THERAPIST: Audience.CLINICIAN,
        Role.ADMIN: Audience.ADMIN,
    }[Role(user.role)]
