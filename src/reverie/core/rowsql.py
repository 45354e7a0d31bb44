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

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

M = TypeVar("M", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]

_converters: dict[tuple[str, type[models.Model]], list[tuple[list[Converter], Any]]] = {}


_read: dict[type[models.Model], list[models.Field[Any, Any]]] = {}


def read_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The concrete fields of ``model`` that :func:`columns` selects and :func:`instance`
    fills: all but encrypted text (a field with ``read_lazily`` set, as
    ``vault.fields.EncryptedTextField`` has), which the instance leaves deferred.

    Reading encrypted text means looking its data key up (a statement: the vault's key
    cache is emptied as each request starts) and decrypting it, and the paths that use
    this module never show it: a FHIR submission read the episode's goals, and looked
    their key up, only to drop them (tests/test_audit_one_statement.py). Code that does
    use such a field still gets it, read and decrypted when first touched, as with the
    ORM's ``defer()``.
    """
    found = _read.get(model)
    if found is None:
        found = _read[model] = [
            f for f in model._meta.concrete_fields if not getattr(f, "read_lazily", False)
        ]
    return found


def columns(model: type[models.Model], alias: str) -> str:
    """The select list for the :func:`read_fields` of ``model`` in table alias ``alias``,
    in the order :func:`instance` reads them back."""
    return ", ".join(f"{alias}.{f.column}" for f in read_fields(model))


def width(model: type[models.Model]) -> int:
    """How many columns :func:`columns` selects for ``model``."""
    return len(read_fields(model))


def current() -> Any:
    """The default database's connection itself, not the ``django.db.connection`` proxy.

    Every attribute read through the proxy looks the connection up again in the
    thread's (asgiref) local storage; the fields' converters and ``get_db_prep_save``
    read it once or twice per column, which was about 3 % of a FHIR submission's CPU
    (bench/bench_fhir_cpu.py, 2026-12-06). Resolve it once per call and pass this
    instead: it is the object the proxy forwards to, for this thread.
    """
    return connections[DEFAULT_DB_ALIAS]


def _field_converters(
    model: type[models.Model], conn: Any = None
) -> list[tuple[list[Converter], Any]]:
    connection = conn if conn is not None else current()
    key = (connection.alias, model)
    found = _converters.get(key)
    if found is None:
        found = []
        table = model._meta.db_table
        for field in read_fields(model):
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
    index = read_fields(model).index(field)  # type: ignore[arg-type]
    conn = current()
    funcs, expression = _field_converters(model, conn)[index]
    for func in funcs:
        value = func(value, expression, conn)
    return value


def instance(model: type[M], row: Sequence[Any], start: int = 0) -> M | None:
    """Build a ``model`` from ``row[start:start + width(model)]``, or ``None`` when the
    primary key there is NULL (the other side of a LEFT JOIN found nothing). Fields not
    among :func:`read_fields` are deferred."""
    fields = read_fields(model)
    values = list(row[start : start + len(fields)])
    pk_index = fields.index(model._meta.pk)
    if values[pk_index] is None:
        return None
    conn = current()
    for i, (funcs, expression) in enumerate(_field_converters(model, conn)):
        value = values[i]
        for func in funcs:
            value = func(value, expression, conn)
        values[i] = value
    return model.from_db(conn.alias, [f.attname for f in fields], values)


_inserts: dict[tuple[str, type[models.Model]], tuple[str, list[models.Field[Any, Any]]]] = {}


def insert_statement(model: type[models.Model]) -> tuple[str, list[models.Field[Any, Any]]]:
    """``INSERT … RETURNING pk`` for every concrete column of ``model`` but its automatic
    primary key, with the fields in parameter order; built once per database."""
    key = (current().alias, model)
    found = _inserts.get(key)
    if found is None:
        meta = model._meta
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        quote = connection.ops.quote_name
        # Names come from the model's metadata, never from input; values are parameters.
        names = ", ".join(quote(f.column) for f in fields)
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}"
        )
        found = _inserts[key] = (sql, fields)
    return found


#: Field classes (exactly these, not subclasses, which may convert differently) whose
#: ``pre_save`` reads the attribute and whose ``get_db_prep_save`` gives back ``None`` or a
#: value of one of the listed exact types unchanged, on SQLite and PostgreSQL alike. Going
#: through the fields' layered methods for such values was most of :func:`insert_values`,
#: itself about a twelfth of a FHIR submission's profile (bench/bench_fhir_cpu.py,
#: 2026-12-07). A foreign key holds its target's integer key.
_UNCHANGED: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.BooleanField: (bool,),
    models.ForeignKey: (int,),
    models.OneToOneField: (int,),
}
_Plan = list[tuple[str, tuple[type, ...], "models.Field[Any, Any]"]]
_plans: dict[int, tuple[Sequence[models.Field[Any, Any]], _Plan]] = {}


def _plan(fields: Sequence[models.Field[Any, Any]]) -> _Plan:
    found = _plans.get(id(fields))
    if found is not None and found[0] is fields:
        return found[1]
    plan: _Plan = []
    for field in fields:
        exact = _UNCHANGED.get(type(field), ())
        if isinstance(field, models.ForeignKey) and not isinstance(
            field.target_field, models.AutoField | models.BigAutoField | models.SmallAutoField
        ):
            exact = ()  # a key that is not an integer counter converts like its target
        plan.append((field.attname, exact, field))
    # The fields lists come from insert_statement's cache and live as long as the process,
    # so their ids are stable; keeping the list here as well makes sure of it.
    _plans[id(fields)] = (fields, plan)
    return plan


def insert_values(obj: models.Model, fields: Sequence[models.Field[Any, Any]]) -> list[Any]:
    """The parameters ``save()`` would send for ``obj``: each field's ``pre_save`` (defaults,
    ``auto_now_add``), then its ``get_db_prep_save``. A value those would hand back unchanged
    (:data:`_UNCHANGED`) is taken as it is; ``tests/test_hot_paths.py`` checks the result
    equals the fields' own."""
    conn = current()
    values = []
    for attname, exact, field in _plan(fields):
        if exact:
            value = getattr(obj, attname)
            if value is None or type(value) in exact:
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(obj, True), conn))
    return values


def inserted(obj: models.Model, pk: Any) -> None:
    """Mark ``obj`` as saved with primary key ``pk``, as ``save()`` leaves it."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS  # the database every statement here goes to


def insert(obj: M) -> M:
    """Insert a new ``obj`` as ``obj.save()`` would, in one statement built once.

    Compiling the INSERT through the ORM on every call was about a tenth of a FHIR
    submission (profiled in bench/bench_fhir_submissions.py). This sends the same values
    and sets the primary key, but
    skips ``pre_save``/``post_save`` signals, so use it only for models with no receivers
    (``tests/test_hot_paths.py`` checks the ones that use it).
    """
    sql, fields = insert_statement(type(obj))
    with connection.cursor() as cursor:
        cursor.execute(sql, insert_values(obj, fields))
        inserted(obj, cursor.fetchone()[0])
    return obj


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement and return its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
