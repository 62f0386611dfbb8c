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


@cache
def _statement(model: type[models.Model], vendor: str) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    qn = connections["default"].ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks}) RETURNING {qn(meta.pk.column)}"
    return sql, fields


def insert(objs: Iterable[models.Model], using: str = "default") -> None:
    """Insert unsaved instances (of one or several models) and set their primary keys."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for obj in objs:
            sql, fields = _statement(type(obj), connection.vendor)
            params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
            cursor.execute(sql, params)
            obj.pk = cursor.fetchone()[0]
            obj._state.adding = False
            obj._state.db = using
