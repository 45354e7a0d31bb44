"""Parse a JSON request body that may have been written to break the server.

``json.loads`` is correct but trusting: it recurses once per nesting level (a body of
``[[[[…`` a few thousand deep raises ``RecursionError``), converts any run of digits to an
``int`` (Python refuses more than 4,300 digits with a ``ValueError``, and below that the
conversion is quadratic), accepts ``NaN`` and ``Infinity`` (not JSON, RFC 8259 §6), and
returns strings holding lone surrogates or U+0000, which the UTF-8 encoder, the encryption
layer and PostgreSQL all refuse later, far from the cause. :func:`loads` checks each of
these before or while parsing and raises :class:`Rejected` with a sentence a caller can
act on and the HTTP status to answer with (413 for size, 400 for the rest).

No Django here: the views turn :class:`Rejected` into an OperationOutcome or a problem
document (``reverie.core.http.read_json``), and ``bench/bench_json_loader.py`` measures
the cost against plain ``json.loads``.
"""

from __future__ import annotations

import itertools
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


# A JSON string, with its escapes: the "unrolled loop" form matches in linear time and
# cannot backtrack catastrophically, because a character is either an escape or not.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# Escapes that may decode to a lone surrogate or U+0000; only bodies holding one are walked.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``raw``, ignoring brackets inside strings.

    Runs before the parser so that a body nested far too deep is refused without being
    parsed (the parser would recurse once per level). It counts in C: the regular
    expressions drop strings and every other character, and ``itertools.accumulate`` keeps
    the running depth. Malformed bodies give a meaningless figure; the parser refuses them.
    """
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    if not brackets:
        return 0
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)))


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
    >>> loads(b"[" * 65 + b"]" * 65)
    Traceback (most recent call last):
    ...
    reverie.lib.safejson.Rejected: The JSON is nested 65 levels deep; at most 64 are accepted.
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
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise Rejected(
            400, f"The JSON is nested {depth} levels deep; at most {max_depth} are accepted."
        )
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as error:
        raise Rejected(400, f"The body is not valid JSON: {error}.") from None
    except RecursionError:  # the depth count above makes this unreachable; kept as a guard
        raise Rejected(400, "The JSON is nested too deep.") from None
    if want_object and not isinstance(value, dict):
        raise Rejected(400, f"The body must be a JSON object, not {_KINDS[type(value)]}.")
    if _SUSPECT_ESCAPE.search(raw):
        _check_strings(value)
    return value
