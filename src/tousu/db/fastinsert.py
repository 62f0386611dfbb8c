"""INSERT for hot paths, with the SQL built once per model instead of compiled per call.

Complaint intake writes four or five rows per request; Django's per-call SQL compilation costs more
than the inserts themselves and, on SQLite, is paid while holding the database's write lock. Values
are still prepared by each field (`pre_save`, `get_db_prep_save`), so defaults, auto_now and JSON
behave exactly as with `Model.save()`. Use only for plain rows (no multi-table inheritance, no
signals expected).
"""

from collections.abc import Iterable
from functools import cache

from django.db import connections, models

# Field classes whose database value is the attribute itself (already validated by the caller):
# reading it directly skips a chain of method calls per field. Everything else (dates, JSON, …)
# goes through the field's own preparation.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.FloatField,
)


@cache
def _statement(model: type[models.Model], vendor: str) -> tuple[str, tuple, tuple]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    qn = connections["default"].ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks}) RETURNING {qn(meta.pk.column)}"
    plain = tuple(
        (
            isinstance(f, _PLAIN)
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
        )
        or isinstance(f, models.ForeignKey)
        for f in fields
    )
    return sql, fields, plain


def insert(objs: Iterable[models.Model], using: str = "default") -> None:
    """Insert unsaved instances (of one or several models) and set their primary keys."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for obj in objs:
            sql, fields, plain = _statement(type(obj), connection.vendor)
            params = [
                getattr(obj, f.attname)
                if is_plain
                else f.get_db_prep_save(f.pre_save(obj, True), connection)
                for f, is_plain in zip(fields, plain, strict=True)
            ]
            cursor.execute(sql, params)
            obj.pk = cursor.fetchone()[0]
            obj._state.adding = False
            obj._state.db = using


def prepared(obj: models.Model, connection) -> tuple[str, list[str], list]:
    """The quoted table, quoted columns (primary key aside) and database values of an unsaved row,
    prepared as `insert` prepares them."""
    _, fields, plain = _statement(type(obj), connection.vendor)
    qn = connection.ops.quote_name
    params = [
        getattr(obj, f.attname)
        if is_plain
        else f.get_db_prep_save(f.pre_save(obj, True), connection)
        for f, is_plain in zip(fields, plain, strict=True)
    ]
    return qn(type(obj)._meta.db_table), [qn(f.column) for f in fields], params


def insert_case_pg(
    parent: models.Model,
    children: list[models.Model],
    *,
    fk: str,
    counter_key: str,
    number_field: str,
    number_prefix: str,
    also: list[tuple[str, str, list]] = (),
    using: str = "default",
) -> None:
    """PostgreSQL: one statement, one round trip, for a new case and its rows. The day's counter is
    taken (created at 1 or incremented, locking its row until commit as `next_counter` does), the
    parent row gets `number_prefix` + the counter (at least four digits) in `number_field`, each
    child row gets the parent's id in `fk`, and `also` adds (table, columns, values) rows whose
    first value is the parent's id and whose second is the parent's number + " " + the given
    text (the search entry). Data-modifying CTEs see one snapshot and the foreign keys are checked
    at commit (deferred), so the rows are the same as one INSERT each, in the same transaction.
    Sets the primary keys, and the number on the parent."""
    connection = connections[using]
    table, columns, params = prepared(parent, connection)
    number_column = connection.ops.quote_name(type(parent)._meta.get_field(number_field).column)
    number = (
        "%s || lpad((SELECT value FROM n)::text, greatest(4, length((SELECT value FROM n)::text)),"
        " '0')"
    )
    values, args = [], []
    for column, value in zip(columns, params, strict=True):
        if column == number_column:
            values.append(number)
            args.append(number_prefix)
        else:
            values.append("%s")
            args.append(value)
    counter = connection.ops.quote_name("cases_counter")
    parts = [
        f"n AS (INSERT INTO {counter} (key, value) VALUES (%s, 1) ON CONFLICT (key) DO UPDATE "
        f"SET value = {counter}.value + 1 RETURNING value)",
        f"p AS (INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)}) "
        f"RETURNING id, {number_column} AS number)",
    ]
    args = [counter_key, *args]
    fk_column = connection.ops.quote_name(fk)
    for i, child in enumerate(children):
        c_table, c_columns, c_params = prepared(child, connection)
        marks = ["(SELECT id FROM p)" if c == fk_column else "%s" for c in c_columns]
        parts.append(
            f"c{i} AS (INSERT INTO {c_table} ({', '.join(c_columns)}) VALUES ({', '.join(marks)})"
            " RETURNING id)"
        )
        args += [v for c, v in zip(c_columns, c_params, strict=True) if c != fk_column]
    for j, (a_table, a_columns, a_values) in enumerate(also):
        rest = ", ".join(["%s"] * (len(a_columns) - 2))
        parts.append(
            f"a{j} AS (INSERT INTO {a_table} ({', '.join(a_columns)}) VALUES ((SELECT id FROM p), "
            f"(SELECT number FROM p) || ' ' || %s{', ' + rest if rest else ''}))"
        )
        args += list(a_values)
    select = " UNION ALL ".join(
        ["SELECT -1, id, number FROM p"]
        + [f"SELECT {i}, id, NULL FROM c{i}" for i in range(len(children))]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {select}", args)
        rows = cursor.fetchall()
    for index, pk, number in rows:
        obj = parent if index == -1 else children[index]
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
        if index == -1:
            setattr(parent, number_field, number)
    for child in children:
        setattr(child, fk, parent.pk)
