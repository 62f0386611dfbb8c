"""Chinese full-text search over complaint text and parties.

Chinese has no spaces, so both the indexed text and the query are segmented with rjieba
(`cut_for_search` also yields the short words inside compounds: 服务态度 → 服务, 态度, 服务态度),
and the database matches whole tokens: SQLite FTS5 (unicode61 on the space-joined tokens) or
PostgreSQL's `simple` text search with a GIN index. Two-character terms such as 态度 or 收费 are
found, which trigram indexes cannot do.
"""

from __future__ import annotations

import re

import rjieba
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

TABLE = "cases_search"
_WORD = re.compile(r"\w", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [t for t in rjieba.cut_for_search(text or "") if _WORD.search(t)]


def document(complaint, parties) -> str:
    parts = [complaint.tracking_number, complaint.title, complaint.content, complaint.request]
    for p in parties:
        parts += [p.name, p.phone, p.id_number]
    return " ".join(tokens(" ".join(filter(None, parts))))


def index_rows(rows: list[tuple[int, str]]) -> None:
    """(complaint id, document) pairs: add or replace their index entries."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.executemany(
                f"INSERT INTO {TABLE} (complaint_id, body) VALUES (%s, %s) "
                "ON CONFLICT (complaint_id) DO UPDATE SET body = EXCLUDED.body",
                rows,
            )
        else:
            cursor.executemany(f"DELETE FROM {TABLE} WHERE rowid = %s", [(r[0],) for r in rows])
            cursor.executemany(f"INSERT INTO {TABLE} (rowid, body) VALUES (%s, %s)", rows)


def index(complaint, parties) -> None:
    index_rows([(complaint.pk, document(complaint, parties))])


def _query(text: str) -> str | None:
    words = tokens(text)
    if not words:
        return None
    if connection.vendor == "postgresql":
        return " & ".join(w.replace("'", "''").replace("\\", "") for w in words)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)  # FTS5: quoted tokens, AND


def filter_text(qs: QuerySet, text: str) -> QuerySet:
    """Cases whose text or parties contain every word of `text`."""
    query = _query(text)
    if query is None:
        return qs
    if connection.vendor == "postgresql":
        sql = f"SELECT complaint_id FROM {TABLE} WHERE tsv @@ to_tsquery('simple', %s)"
    else:
        sql = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s"
    return qs.filter(pk__in=RawSQL(sql, [query]))
