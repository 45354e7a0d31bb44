"""Importing a FHIR Questionnaire as a practice instrument."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.measures.actions.common import (
    MeasureActionError,
)
from reverie.measures.definitions import load_definition
from reverie.measures.fhir_questionnaire import questionnaire_to_document
from reverie.measures.models import (
    Instrument,
)


def import_instrument(
    ctx: trail.Context,
    *,
    practice: Practice,
    questionnaire: Mapping[str, Any],
    licence_holder: str,
    licence_terms: str,
    permits_electronic_use: bool,
) -> Instrument:
    """Add an SDC-style FHIR Questionnaire as an instrument of ``practice``.

    The person importing must confirm that the licence allows electronic use; Reverie does
    not ship or use instruments whose terms forbid it. The instrument's id is prefixed with
    the practice's slug, so two practices never collide.
    """
    if ctx.user is None or ctx.user.role != Role.ADMIN:
        raise MeasureActionError("only a practice admin can import an instrument")
    if not permits_electronic_use:
        raise MeasureActionError(
            "Reverie only uses instruments whose licence allows them to be shown and scored "
            "on screen. Confirm that it does, or do not import it."
        )
    if not licence_holder.strip() or not licence_terms.strip():
        raise MeasureActionError("give the copyright holder and the licence terms")
    raw_id = str(questionnaire.get("id") or questionnaire.get("name") or "imported")
    slug = "".join(ch if ch.isalnum() else "-" for ch in raw_id.lower()).strip("-")
    code = f"{practice.slug}-{slug}"[:50].rstrip("-")
    today = timezone.localdate().isoformat()
    try:
        document = questionnaire_to_document(
            questionnaire,
            instrument_id=code,
            licence={
                "holder": licence_holder.strip()[:200],
                "terms": licence_terms.strip(),
                "electronic_use": "permitted",
                "note": f"Electronic use confirmed by {ctx.user.email} on import, {today}.",
            },
        )
        definition = load_definition(document, require_electronic_use_permitted=True)
    except ValueError as error:
        raise MeasureActionError(f"This Questionnaire cannot be imported: {error}") from error
    if not definition.integer_scores:
        raise MeasureActionError(
            "This Questionnaire's scores are not whole numbers; Reverie stores whole-number "
            "totals, so it cannot be imported."
        )
    if Instrument.objects.filter(code=code).exists():
        raise MeasureActionError(
            f"This practice already has an instrument with the id {code}. Change the "
            "Questionnaire's id to import it as a separate instrument."
        )
    with transaction.atomic():
        instrument = Instrument.objects.create(
            code=code,
            name=definition.name[:200],
            version=definition.version[:40],
            definition=document,
            practice=practice,
            imported_by=ctx.user,
        )
        trail.record(
            ctx,
            Action.IMPORT,
            instrument,
            detail={"items": len(definition.items), "url": questionnaire.get("url") or ""},
        )
    return instrument
