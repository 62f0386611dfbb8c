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
