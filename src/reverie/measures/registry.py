"""Keeps the ``Instrument`` table in step with the definitions shipped as data files, and
hands out parsed definitions for instrument rows.

``sync_shipped_instruments`` runs after every ``migrate``: a definition file is the source
of truth, the row is its copy that administrations point at.

Parsing and validating a definition takes about a millisecond; a submission must not pay
that, so :func:`definition_for` keeps each parsed definition for the life of the process,
keyed by the row's id, code and version (a definition changes only with a new version).
"""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib import resources
from typing import Any

from django.db.models import Q, QuerySet

from reverie.measures.definitions import InstrumentDefinition, load_definition, load_shipped
from reverie.measures.models import Instrument

_parsed: dict[tuple[int, str, str], InstrumentDefinition] = {}
_lock = threading.Lock()


def shipped_documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for entry in resources.files("reverie.measures.instruments").iterdir():
        if entry.name.endswith(".json"):
            doc = json.loads(entry.read_text(encoding="utf-8"))
            docs[doc["id"]] = doc
    return docs


@cache
def definition(code: str) -> InstrumentDefinition:
    """The parsed definition of a shipped instrument, parsed once per process."""
    return load_shipped()[code]


def definition_for(instrument: Instrument) -> InstrumentDefinition:
    """The parsed definition of any instrument row (shipped or imported), parsed once."""
    key = (instrument.pk, instrument.code, instrument.version)
    parsed = _parsed.get(key)
    if parsed is None:
        if instrument.practice_id is None and instrument.code in shipped_codes():
            parsed = definition(instrument.code)
        else:
            parsed = load_definition(instrument.definition)
        with _lock:
            _parsed[key] = parsed
    return parsed


@cache
def shipped_codes() -> frozenset[str]:
    return frozenset(load_shipped())


_shipped_rows: dict[str, Instrument] = {}


def instrument_by_code(practice_id: int | None, code: str) -> Instrument | None:
    """The instrument ``code`` as the practice sees it. Shipped rows are kept per process
    (they change only when :func:`sync_shipped_instruments` runs, which forgets them);
    a practice's imported instruments are always read from the database."""
    row = _shipped_rows.get(code)
    if row is not None:
        return row
    row = visible_instruments(practice_id).filter(code=code).first()
    if row is not None and row.practice_id is None:
        _shipped_rows[code] = row
    return row


def visible_instruments(practice_id: int | None) -> QuerySet[Instrument]:
    """Shipped instruments plus those the practice imported; nothing crosses practices."""
    return Instrument.objects.filter(Q(practice__isnull=True) | Q(practice_id=practice_id))


def sync_shipped_instruments() -> list[Instrument]:
    _shipped_rows.clear()
    definitions = load_shipped()
    rows = []
    for code, doc in shipped_documents().items():
        parsed = definitions[code]
        row, _ = Instrument.objects.update_or_create(
            code=code,
            defaults={"name": parsed.name, "version": parsed.version, "definition": doc},
        )
        rows.append(row)
    return rows
