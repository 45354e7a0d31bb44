"""Parse a JSON request body that may have been written to break the server.

``json.loads`` is correct but trusting: it recurses once per nesting level (a body of
``[[[[…`` a thousand deep raises ``RecursionError``, and code walking a parsed body
recursively fails the same way far sooner), converts any run of digits to an ``int``
(Python refuses more than 4,300 digits with a ``ValueError``, and below that the
conversion is quadratic), reads ``1e999`` as infinity, accepts ``NaN`` and ``Infinity``
(not JSON, RFC 8259 §6), keeps the last of two members with the same name (RFC 8259 §4:
names SHOULD be unique, and a receiver's behaviour otherwise is unpredictable — for a
clinical answer, one reader may take the first and another the last), and returns strings
holding lone surrogates or U+0000, which the UTF-8 encoder, the encryption layer and
PostgreSQL all refuse later, far from the cause.
:func:`loads` checks each of these and raises :class:`Rejected` with a sentence a caller
can act on and the HTTP status to answer with (413 for size, 400 for the rest). The checks
that cost Python work run only when a cheap test in C says they could fail.

No Django here: the views turn :class:`Rejected` into an OperationOutcome or a problem
document (``reverie.core.http.read_json``), and ``bench/bench_json_loader.py`` measures
the cost against plain ``json.loads``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NUMBER_CHARS", "Rejected", "loads", "nesting_depth"]

#: The largest body accepted. A completed PHQ-9 as a FHIR QuestionnaireResponse is about
#: 2 kB and the largest instrument's about 10 kB; a megabyte leaves room for a
#: ``contained`` Questionnaire or narrative text while keeping a hostile body cheap to refuse.
MAX_BYTES = 1024 * 1024
#: The deepest nesting of arrays and objects accepted. A QuestionnaireResponse nests items
#: in groups and under answers, each level costing two (the list and the object); 64 allows
#: about 15 levels of questionnaire groups, more than any published instrument uses.
MAX_DEPTH = 64
#: The longest number token accepted (digits, sign, point and exponent). A 64-bit id has at
#: most 20 characters; a FHIR decimal keeps 18 significant digits (R4 §2.24.0.1, decimal).
MAX_NUMBER_CHARS = 40


class Rejected(ValueError):
    """The body was refused: ``status`` is 413 (too large) or 400, ``reason`` says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# Escapes that may decode to a lone surrogate or U+0000; only bodies holding one are walked.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def nesting_depth(value: Any, limit: int = 1 << 30) -> int:
    """How deep arrays and objects nest in a parsed ``value`` (a scalar is 0); the walk
    stops as soon as it passes ``limit``.

    >>> nesting_depth({"a": [1, {"b": []}]}), nesting_depth(3)
    (4, 0)
    """
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return deepest


def _number(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise Rejected(
            400,
            f"A number is written with {len(text)} digits and signs; at most "
            f"{MAX_NUMBER_CHARS} are accepted.",
        )


def _parse_int(text: str) -> int:
    _number(text)
    return int(text)


def _parse_float(text: str) -> float:
    _number(text)
    value = float(text)
    if not math.isfinite(value):
        raise Rejected(400, f"The number {text} is too large to represent.")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build one object, refusing a name that appears twice in it."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise Rejected(
                    400,
                    f'The member "{name[:80]}" appears twice in one object; names must be '
                    "unique (RFC 8259 §4), so which value was meant is ambiguous.",
                )
            seen.add(name)
    return value


def _parse_constant(name: str) -> Any:
    raise Rejected(400, f"{name} is not a JSON value (RFC 8259 §6 has no NaN or Infinity).")


def _check_strings(value: Any) -> None:
    """Refuse strings the rest of the system cannot store: lone surrogates and U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise Rejected(400, "A string holds U+0000, which cannot be stored.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise Rejected(
                    400, "A string holds a lone UTF-16 surrogate (\\uD800–\\uDFFF escape)."
                ) from None


def loads(
    raw: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    want_object: bool = True,
) -> Any:
    """Parse ``raw`` as a UTF-8 JSON document, or raise :class:`Rejected`.

    With ``want_object`` (the default) the top level must be an object, which every
    resource and API body is.

    >>> loads(b'{"a": [1, 2.5, "x"]}')
    {'a': [1, 2.5, 'x']}
    >>> loads(b'{"answer": 0, "answer": 3}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reverie.lib.safejson.Rejected: The member "answer" appears twice in one object; ...
    >>> loads(b"[" * 65 + b"]" * 65)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reverie.lib.safejson.Rejected: The JSON is nested more than 64 levels deep; ...
    """
    if len(raw) > max_bytes:
        raise Rejected(413, f"The body has {len(raw)} bytes; at most {max_bytes} are accepted.")
    if not raw.strip():
        raise Rejected(400, "The body is empty; send a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejected(
            400, f"The body is not valid UTF-8 (byte {error.start}): {error.reason}."
        ) from None
    try:
        # The hooks cost a Python call per number, less than any scan of the whole body
        # for long numbers would: bodies hold few numbers and much text.
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as error:
        raise Rejected(400, f"The body is not valid JSON: {error}.") from None
    except RecursionError:  # the C parser recurses once per level and gives up near 1,000
        raise Rejected(
            400,
            f"The JSON is nested far more than {max_depth} levels deep; at most "
            f"{max_depth} are accepted.",
        ) from None
    # Nesting cannot pass the limit without that many opening brackets, which a count in C
    # rules out for nearly every real body before any walk.
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > max_depth and nesting_depth(value, max_depth) > max_depth:
        raise Rejected(
            400,
            f"The JSON is nested more than {max_depth} levels deep; at most {max_depth} "
            "are accepted.",
        )
    if want_object and not isinstance(value, dict):
        raise Rejected(400, f"The body must be a JSON object, not {_KINDS[type(value)]}.")
    # The substring test runs at memory speed; the expression only on bodies with escapes.
    if b"\\u" in raw and _SUSPECT_ESCAPE.search(raw):
        _check_strings(value)
    return value
