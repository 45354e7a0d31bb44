"""Whose money a person may see. A therapist sees the accounts of the clients they treat
(or cover by a grant); a client sees their own; a practice admin sees every account of
the practice. Nothing crosses practices. Objects outside these answer 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from reverie.accounts.models import Role, User
from reverie.care.access import administrative_clients
from reverie.care.models import Client


def money_clients(user: User) -> QuerySet[Client]:
    """Clients whose charges and payments ``user`` may see (admin: all of the practice;
    therapist: their clients; client: themselves)."""
    return administrative_clients(user)


def get_money_client(user: User, pk: int) -> Client:
    return get_object_or_404(money_clients(user).select_related("practice"), pk=pk)


def may_change_money(user: User | None, client: Client) -> bool:
    """Staff who may record payments, allocations, write-offs and refunds for ``client``:
    the practice admin and the client's therapists."""
    if user is None or user.role == Role.CLIENT:
        return False
    return money_clients(user).filter(pk=client.pk).exists()
