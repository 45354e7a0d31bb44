"""Answers saved in progress: the draft, its idempotency key, and the crisis alert a
crisis answer raises before the form is submitted."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.actions import raise_alert
from reverie.care.models import Alert
from reverie.measures.actions.common import (
    RequestClosed,
    closed_message,
    crisis_summary,
    new_key,
)
from reverie.measures.answers import AnswerProblems, check
from reverie.measures.models import (
    Draft,
    MeasureRequest,
)
from reverie.measures.registry import definition_for
from reverie.measures.scoring import CriticalHit


def save_draft(
    ctx: trail.Context,
    request: MeasureRequest,
    answers: Mapping[str, int | None],
    *,
    key: str | None = None,
) -> tuple[Draft, Alert | None]:
    """Keep the answers given so far on the server. Values are checked (completeness is
    not); a crisis answer raises the alert at once, before the form is submitted.

    ``key`` is the idempotency key the page carries; the first save keeps it, so the page
    and its draft submit with the same key.
    """
    definition = definition_for(request.instrument)
    problems = check(definition, answers, complete=False)
    if problems:
        raise AnswerProblems(problems)
    if not request.is_answerable():
        raise RequestClosed(closed_message(request))
    clean = {k: v for k, v in answers.items() if v is not None}
    now = timezone.now()
    hits = tuple(
        CriticalHit(c.item_id, clean[c.item_id], c.threshold, c.label)
        for c in definition.critical_items
        if c.item_id in clean and c.is_hit(clean[c.item_id])
    )
    alert = None
    with transaction.atomic():
        draft, created = Draft.objects.get_or_create(
            request=request,
            defaults={"answers": clean, "key": _usable_key(key), "updated_at": now},
        )
        if not created:
            draft.answers = clean
            draft.updated_at = now
            draft.save(update_fields=["answers", "updated_at"])
        trail.record(
            ctx,
            Action.CREATE if created else Action.UPDATE,
            draft,
            client_id=request.client_id,
            detail={"request": request.pk, "answered": len(clean)},
        )
        if hits:
            alert = raise_alert(
                ctx,
                client=request.client,
                episode=request.episode,
                kind="crisis",
                summary=crisis_summary(definition, hits, draft=True),
                source=request,
            )
    return draft, alert


def _usable_key(key: str | None) -> str:
    if key and len(key) == 32 and all(ch in "0123456789abcdef" for ch in key):
        return key
    return new_key()


def draft_key(request: MeasureRequest) -> str:
    """The key the form carries: the draft's, or a new random one before any draft."""
    draft = Draft.objects.filter(request=request).only("key").first()
    return draft.key if draft is not None else new_key()
