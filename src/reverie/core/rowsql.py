"""Model instances from one hand-written SQL statement, for the few hottest paths.

The ORM is the right tool almost everywhere in Reverie. On the API's submission path,
though, building each query through the ORM (or mapping a ``RawQuerySet``'s columns back
to fields on every call) cost more than the database work itself: profiled in
``bench/bench_fhir_submissions.py``, the two lookups every FHIR submission makes were a
quarter of its time on PostgreSQL. This module lets such a path name the columns it wants
once, at import, and turn a row into model instances with the model's own converters, so
values come back exactly as the ORM would give them (aware datetimes on SQLite, decoded
JSON, and so on).

Use it only where a benchmark shows the need, keep the statement beside the code that
depends on it, and test it against the ORM's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]

_converters: dict[tuple[str, type[models.Model]], list[tuple[list[Converter], Any]]] = {}


def columns(model: type[models.Model], alias: str) -> str:
    """The select list for every concrete column of ``model`` in table alias ``alias``,
    in the order :func:`instance` reads them back."""
    return ", ".join(f"{alias}.{f.column}" for f in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    """How many columns :func:`columns` selects for ``model``."""
    return len(model._meta.concrete_fields)


def _field_converters(model: type[models.Model]) -> list[tuple[list[Converter], Any]]:
    key = (connection.alias, model)
    found = _converters.get(key)
    if found is None:
        found = []
        table = model._meta.db_table
        for field in model._meta.concrete_fields:
            expression = field.get_col(table)
            funcs = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                connection
            )
            found.append((funcs, expression))
        _converters[key] = found
    return found


def convert(model: type[models.Model], field_name: str, value: Any) -> Any:
    """One raw column value as ``model.field_name`` would hold it after a query."""
    field = model._meta.get_field(field_name)
    index = model._meta.concrete_fields.index(field)
    funcs, expression = _field_converters(model)[index]
    for func in funcs:
        value = func(value, expression, connection)
    return value


def instance(model: type[M], row: Sequence[Any], start: int = 0) -> M | None:
    """Build a ``model`` from ``row[start:start + width(model)]``, or ``None`` when the
    primary key there is NULL (the other side of a LEFT JOIN found nothing)."""
    fields = model._meta.concrete_fields
    values = list(row[start : start + len(fields)])
    pk_index = fields.index(model._meta.pk)
    if values[pk_index] is None:
        return None
    for i, (funcs, expression) in enumerate(_field_converters(model)):
        value = values[i]
        for func in funcs:
            value = func(value, expression, connection)
        values[i] = value
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement and return its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
