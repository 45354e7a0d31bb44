"""Keeps the ``Instrument`` table in step with the definitions shipped as data files.

Runs after every ``migrate``; a definition file is the source of truth, the row is its
copy that administrations point at.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from reverie.measures.definitions import InstrumentDefinition, load_shipped
from reverie.measures.models import Instrument


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


def sync_shipped_instruments() -> list[Instrument]:
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
