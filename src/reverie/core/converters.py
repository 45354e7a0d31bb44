"""URL converters. ``<id:pk>`` is ``<int:pk>`` bounded to a 64-bit primary key.

Django's ``int`` converter matches any run of digits, so ``/api/v1/administrations/
99999999999999999999`` reached the database and failed there with a server error. With
``id``, a number no row can have does not match the route at all, and the caller gets the
same 404 as for any other unknown path (a JSON problem or an OperationOutcome under the
APIs: see ``core.errors``).
"""

from __future__ import annotations

from reverie.lib.ids import ID_PATTERN, parse_id


class IdConverter:
    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        parsed = parse_id(value)
        if parsed is None:
            raise ValueError(f"{value} is not a 64-bit id")  # Django: the route does not match
        return parsed

    def to_url(self, value: int) -> str:
        return str(value)
