"""What every measurement action shares: the errors it raises, the audit entry of a read,
idempotency keys, and the words of a crisis alert and of a closed request."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.measures.definitions import InstrumentDefinition
from reverie.measures.models import (
    MeasureRequest,
    RequestStatus,
)
from reverie.measures.scoring import CriticalHit


class MeasureActionError(ValueError):
    """The change cannot be made; the message is safe to show to the person acting."""


class RequestClosed(MeasureActionError):
    """The request can no longer be answered: withdrawn, already answered, not open yet or
    past its date.

    A separate class because the answering page says so with its closed page (or, once the
    request was answered, its thank-you page), while any other refusal must be shown in its
    own words: "this questionnaire is closed" would be untrue of an open request whose
    instrument cannot be stored. Callers that show every refusal's message catch
    :class:`MeasureActionError` and need not tell the two apart.
    """


def idempotency_key(scope: str, owner: object, raw: str) -> str:
    """The stored form of a caller's key: scoped and hashed, so one caller's key can never
    match (and so reveal) another caller's submission."""
    return hashlib.sha256(f"{scope}\x1f{owner}\x1f{raw}".encode()).hexdigest()


def record_read(ctx: trail.Context, obj: Any, *, client_id: int | None, **detail: Any) -> None:
    """One ``view`` entry for one object of clinical data."""
    trail.record(ctx, Action.VIEW, obj, client_id=client_id, detail=detail)


def crisis_summary(
    definition: InstrumentDefinition, hits: tuple[CriticalHit, ...], *, draft: bool = False
) -> str:
    numbers = ", ".join(str(definition.item_index[hit.item_id].number) for hit in hits)
    noun = "item" if len(hits) == 1 else "items"
    state = " (saved in progress, not yet submitted)" if draft else ""
    return f"{definition.short_name} {noun} {numbers} at or above the crisis threshold{state}"


def closed_message(request: MeasureRequest) -> str:
    if request.status == RequestStatus.CANCELLED:
        return "This questionnaire was withdrawn by the practice, so it can no longer be sent."
    if request.status == RequestStatus.COMPLETED:
        return "This questionnaire has already been completed."
    if request.opens_at > timezone.now():
        return "This questionnaire is not open yet."
    return "The time to complete this questionnaire has passed."


def new_key() -> str:
    """A fresh idempotency key for a form that is about to be shown."""
    return secrets.token_hex(16)
