"""Reading a CCRT category set that a practice is licensed to use.

The standard CCRT category lists (Luborsky & Crits-Christoph 1998, ch. 3, and the later
editions of the scoring manual) are under copyright, so Reverie ships none. A practice
that holds a licence can upload its list as either

* CSV with a header row ``component,label`` (an optional third column ``code``), one
  category per row, or
* JSON: ``{"W": ["..."], "RO": ["..."], "RS": ["..."]}``, where each entry is a label or
  an object ``{"label": "...", "code": "..."}``.

Components are written ``W``, ``RO`` and ``RS`` (case-insensitive; ``wish``,
``response of other`` and ``response of self`` are accepted too). Anything unexpected
is refused with a message that names the line or entry, and nothing is imported.

This module has no Django imports.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_BYTES",
    "MAX_LABEL",
    "MAX_PER_COMPONENT",
    "CategoryError",
    "ParsedCategory",
    "parse_category_file",
]

MAX_BYTES = 256 * 1024
MAX_PER_COMPONENT = 500
MAX_LABEL = 200
MAX_CODE = 20

_COMPONENT_ALIASES = {
    "w": "wish",
    "wish": "wish",
    "ro": "ro",
    "response of other": "ro",
    "response of the other": "ro",
    "rs": "rs",
    "response of self": "rs",
    "response of the self": "rs",
}


class CategoryError(ValueError):
    """The file cannot be imported; the message says why and is safe to show."""


@dataclass(frozen=True)
class ParsedCategory:
    component: str  # "wish", "ro" or "rs"
    label: str
    code: str = ""


def _component(raw: object, where: str) -> str:
    if not isinstance(raw, str) or raw.strip().casefold() not in _COMPONENT_ALIASES:
        raise CategoryError(f"{where}: the component must be W, RO or RS, not {raw!r}")
    return _COMPONENT_ALIASES[raw.strip().casefold()]


def _label(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CategoryError(f"{where}: the label is empty")
    label = " ".join(raw.split())
    if len(label) > MAX_LABEL:
        raise CategoryError(f"{where}: the label is longer than {MAX_LABEL} characters")
    return label


def _code(raw: object, where: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str | int):
        raise CategoryError(f"{where}: the code must be text")
    code = str(raw).strip()
    if len(code) > MAX_CODE:
        raise CategoryError(f"{where}: the code is longer than {MAX_CODE} characters")
    return code


def _rows_from_csv(text: str) -> list[tuple[str, object, object, object]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CategoryError("the file is empty") from None
    except csv.Error as exc:
        raise CategoryError(f"line 1: {exc}") from None
    names = [h.strip().casefold() for h in header]
    if names[:2] != ["component", "label"] or len(names) > 3 or names[2:] not in ([], ["code"]):
        raise CategoryError("line 1 must be the header: component,label (and optionally ,code)")
    rows: list[tuple[str, object, object, object]] = []
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                raise CategoryError(
                    f"line {number}: expected {len(names)} columns, found {len(record)}"
                )
            code = record[2] if len(record) == 3 else None
            rows.append((f"line {number}", record[0], record[1], code))
    except csv.Error as exc:
        raise CategoryError(f"line {reader.line_num}: {exc}") from None
    return rows


def _rows_from_json(text: str) -> list[tuple[str, object, object, object]]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CategoryError(f"the JSON is not valid (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(data, dict) or not data:
        raise CategoryError('the JSON must be an object such as {"W": [...], "RO": [...]}')
    rows: list[tuple[str, object, object, object]] = []
    for component, entries in data.items():
        if not isinstance(entries, list):
            raise CategoryError(f"{component!r} must be a list of labels")
        for index, entry in enumerate(entries, start=1):
            where = f"{component} entry {index}"
            if isinstance(entry, dict):
                unknown = set(entry) - {"label", "code"}
                if unknown:
                    raise CategoryError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
                rows.append((where, component, entry.get("label"), entry.get("code")))
            else:
                rows.append((where, component, entry, None))
    return rows


def parse_category_file(content: bytes, filename: str) -> list[ParsedCategory]:
    """Parse an uploaded category set; raise :class:`CategoryError` on any problem.

    >>> parse_category_file(b"component,label\\nW,To be close\\nro,Distant\\n", "set.csv")
    [ParsedCategory(component='wish', label='To be close', code=''), \
ParsedCategory(component='ro', label='Distant', code='')]
    >>> parse_category_file(b'{"RS": [{"label": "Withdraws", "code": "7"}]}', "set.json")
    [ParsedCategory(component='rs', label='Withdraws', code='7')]
    >>> parse_category_file(b"component,label\\nX,Oops\\n", "set.csv")
    Traceback (most recent call last):
    ...
    reverie.process.categories.CategoryError: line 2: the component must be W, RO or RS, not 'X'
    """
    if len(content) > MAX_BYTES:
        raise CategoryError(f"the file is larger than {MAX_BYTES // 1024} KB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CategoryError("the file must be UTF-8 text") from None
    name = filename.casefold()
    if name.endswith(".json"):
        rows = _rows_from_json(text)
    elif name.endswith(".csv"):
        rows = _rows_from_csv(text)
    else:
        raise CategoryError("upload a .csv or .json file")
    out: list[ParsedCategory] = []
    seen: set[tuple[str, str]] = set()
    per_component: dict[str, int] = {}
    for where, raw_component, raw_label, raw_code in rows:
        component = _component(raw_component, where)
        label = _label(raw_label, where)
        code = _code(raw_code, where)
        key = (component, label.casefold())
        if key in seen:
            raise CategoryError(f"{where}: {label!r} appears twice for the same component")
        seen.add(key)
        per_component[component] = per_component.get(component, 0) + 1
        if per_component[component] > MAX_PER_COMPONENT:
            raise CategoryError(f"more than {MAX_PER_COMPONENT} categories for one component")
        out.append(ParsedCategory(component, label, code))
    if not out:
        raise CategoryError("the file has no categories")
    return out
