"""What every process action shares: the error type, role and access checks, text cleaning."""

from __future__ import annotations

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.care.access import clinical_clients, own_client
from reverie.care.models import Client


class ProcessActionError(ValueError):
    """The change cannot be made; the message says why and is safe to show."""


def _user(ctx: trail.Context, role: str, doing: str) -> User:
    if ctx.user is None or ctx.user.role != role:
        raise ProcessActionError(f"{doing} needs a signed-in {role}")
    return ctx.user


def _has_access(user: User, client: Client) -> bool:
    return clinical_clients(user).filter(pk=client.pk).exists()


def _text(value: object, name: str, *, required: bool = False, limit: int = 20_000) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ProcessActionError(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise ProcessActionError(f"{name} is empty")
    if len(value) > limit:
        raise ProcessActionError(f"{name} is longer than {limit} characters")
    return value


def _client_of(ctx: trail.Context, doing: str) -> tuple[User, Client]:
    user = _user(ctx, Role.CLIENT, doing)
    client = own_client(user)
    if client is None:
        raise ProcessActionError("your account is not linked to a client record yet")
    return user, client
