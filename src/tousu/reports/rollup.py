"""Monthly rollups of the statistics facts (models.MonthCases, MonthHandling, MonthClocks,
MonthRespondents, MonthRoutes).

Every figure of the dashboard is a sum over the cases received in the period, so a whole month can
be read from a few hundred pre-added rows instead of its thirty thousand facts; a year is twelve of
them. Medians and percentiles of the handling time come from the stored histogram (closed cases by
working days), which adds up exactly across months. Only what depends on the moment of reading is
not rolled up: overdue clocks (running, past their due time, read from ClockFact's few running
clocks) and the backlog.

Kept current incrementally: facts.refresh computes each case's contribution before and after the
change and adds the difference (an upsert per changed row, in the transaction that changed the case,
in a fixed order and, on PostgreSQL, under one advisory lock, so concurrent transactions do not
deadlock). `rebuild` recomputes months from the facts with grouped SQL: after
`tousu report --rebuild-facts`, the data generator, and in the migration that created the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connection

from .models import ClockFact, MonthCases, MonthClocks, MonthHandling, MonthRespondents, MonthRoutes

DIMS = ("month", "process_id", "department_id", "category_id")


@dataclass(frozen=True)
class Table:
    model: type
    keys: tuple[str, ...]  # after DIMS
    values: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model._meta.db_table


CASES = Table(
    MonthCases,
    ("channel",),
    (
        "received",
        "closed",
        "satisfied",
        "basically",
        "dissatisfied",
        "reopened",
        "followed_up",
        "collective",
        "repeat",
        "capa_verified",
        "capa_failed_cases",
        "capa_failed_rounds",
    ),
)
HANDLING = Table(MonthHandling, ("handling_days",), ("cases",))
CLOCKS = Table(MonthClocks, ("name",), ("clocks", "met", "late"))
RESPONDENTS = Table(MonthRespondents, ("respondent",), ("cases",))
ROUTES = Table(MonthRoutes, ("external_route", "external_outcome"), ("cases",))
TABLES = (CASES, HANDLING, CLOCKS, RESPONDENTS, ROUTES)

# The CaseFact columns a case's contribution is computed from, and a clock's.
FACT_COLUMNS = (
    "received_day",
    "process_id",
    "department_id",
    "category_id",
    "channel",
    "closed_day",
    "satisfaction",
    "reopened",
    "followed_up",
    "collective",
    "repeat",
    "capa_verified",
    "capa_failed",
    "handling_days",
    "respondent",
    "external_route",
    "external_outcome",
)
CLOCK_COLUMNS = (
    "received_day",
    "process_id",
    "department_id",
    "category_id",
    "name",
    "state",
    "late",
)


def _dims(row: Mapping) -> tuple:
    return (
        row["received_day"] // 100,
        row["process_id"],
        row["department_id"] or 0,
        row["category_id"] or 0,
    )


def case_rows(fact: Mapping) -> list[tuple[Table, tuple, tuple]]:
    """What one case adds to the rollups: (table, key, counts)."""
    d = _dims(fact)
    closed = fact["closed_day"] is not None
    sat = fact["satisfaction"]
    failed = int(fact["capa_failed"] or 0)
    out = [
        (
            CASES,
            (*d, fact["channel"]),
            (
                1,
                int(closed),
                int(sat == 1),
                int(sat == 2),
                int(sat == 3),
                int(bool(fact["reopened"])),
                int(bool(fact["followed_up"]) and closed),
                int(bool(fact["collective"])),
                int(bool(fact["repeat"])),
                int(bool(fact["capa_verified"])),
                int(failed > 0),
                failed,
            ),
        )
    ]
    if closed:
        out.append((HANDLING, (*d, fact["handling_days"] or 0), (1,)))
    if fact["respondent"]:
        out.append((RESPONDENTS, (*d, fact["respondent"]), (1,)))
    if fact["external_route"]:
        out.append((ROUTES, (*d, fact["external_route"], fact["external_outcome"] or ""), (1,)))
    return out


def clock_row(clock: Mapping) -> tuple[Table, tuple, tuple]:
    late = bool(clock["late"])
    met = clock["state"] == ClockFact.STOPPED and not late
    return (CLOCKS, (*_dims(clock), clock["name"]), (1, int(met), int(late)))


def difference(before: Iterable[tuple], after: Iterable[tuple]) -> dict[Table, list[tuple]]:
    """after − before, per table: [(key, counts)] without the rows that did not change, sorted so
    that every transaction touches rollup rows in the same order."""
    acc: dict[tuple[Table, tuple], list[int]] = {}
    for sign, rows in ((-1, before), (1, after)):
        for table, key, counts in rows:
            cur = acc.get((table, key))
            if cur is None:
                acc[(table, key)] = [sign * v for v in counts]
            else:
                for i, v in enumerate(counts):
                    cur[i] += sign * v
    out: dict[Table, list[tuple]] = {}
    for (table, key), counts in acc.items():
        if any(counts):
            out.setdefault(table, []).append((key, tuple(counts)))
    for rows in out.values():
        rows.sort()
    return out


_SQL: dict[str, dict[Table, str]] = {}


def _upsert_sql(table: Table) -> str:
    sql = _SQL.setdefault(connection.vendor, {})
    if table not in sql:
        qn = connection.ops.quote_name
        t = qn(table.name)
        keys = [qn(c) for c in (*DIMS, *table.keys)]
        values = [qn(c) for c in table.values]
        sql[table] = (
            f"INSERT INTO {t} ({', '.join(keys + values)}) "
            f"VALUES ({', '.join(['%s'] * (len(keys) + len(values)))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{v} = {t}.{v} + excluded.{v}" for v in values)
        )
    return sql[table]


# The fixed order is not enough on PostgreSQL: one transaction may add to the rollups twice (a clock
# saved during an action adds its clock row, then the action adds its case and clock rows), so two
# transactions could still take the same hot rows in opposite orders and deadlock (found by
# tests/reliability/test_load_faults.py: an action and a registration, MonthClocks vs MonthCases).
# So every transaction that writes rollups first takes one advisory lock, held until it ends:
# rollup writers queue instead (they queued on the same few rows anyway). SQLite has one writer.
ROLLUP_LOCK = 0x54535552  # any constant: "TSUR"


def _serialise(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])


def apply(cursor, changes: dict[Table, list[tuple]]) -> None:
    """Add the changes (from `difference`) to the rollup tables."""
    if any(changes.values()):
        _serialise(cursor)
    for table in TABLES:
        rows = changes.get(table)
        if not rows:
            continue
        params = [(*key, *counts) for key, counts in rows]
        if len(params) == 1:
            cursor.execute(_upsert_sql(table), params[0])
        else:
            cursor.executemany(_upsert_sql(table), params)


# --- rebuilding from the facts ----------------------------------------------------------------


def _flag(expr: str) -> str:
    return f"SUM(CASE WHEN {expr} THEN 1 ELSE 0 END)"


def rebuild_sql() -> list[tuple[Table, str]]:
    """(table, the SELECT of its rows from the facts) per table; each SELECT takes the first
    received day as its one parameter."""
    from .models import CaseFact

    qn = connection.ops.quote_name
    fact, clocks = qn(CaseFact._meta.db_table), qn(ClockFact._meta.db_table)
    dims = "received_day / 100, process_id, COALESCE(department_id, 0), COALESCE(category_id, 0)"
    rep = qn("repeat")
    return [
        (
            CASES,
            f"SELECT {dims}, channel, COUNT(*), COUNT(closed_day), {_flag('satisfaction = 1')}, "
            f"{_flag('satisfaction = 2')}, {_flag('satisfaction = 3')}, {_flag('reopened')}, "
            f"{_flag('followed_up AND closed_day IS NOT NULL')}, {_flag('collective')}, "
            f"{_flag(rep)}, {_flag('capa_verified')}, {_flag('capa_failed > 0')}, "
            f"SUM(capa_failed) FROM {fact} WHERE received_day >= %s GROUP BY {dims}, channel",
        ),
        (
            HANDLING,
            f"SELECT {dims}, COALESCE(handling_days, 0), COUNT(*) FROM {fact} "
            f"WHERE received_day >= %s AND closed_day IS NOT NULL "
            f"GROUP BY {dims}, COALESCE(handling_days, 0)",
        ),
        (
            CLOCKS,
            f"SELECT {dims}, name, COUNT(*), "
            f"{_flag(f'state = {ClockFact.STOPPED} AND NOT late')}, {_flag('late')} "
            f"FROM {clocks} WHERE received_day >= %s GROUP BY {dims}, name",
        ),
        (
            RESPONDENTS,
            f"SELECT {dims}, respondent, COUNT(*) FROM {fact} "
            f"WHERE received_day >= %s AND respondent <> '' GROUP BY {dims}, respondent",
        ),
        (
            ROUTES,
            f"SELECT {dims}, external_route, external_outcome, COUNT(*) FROM {fact} "
            f"WHERE received_day >= %s AND external_route <> '' "
            f"GROUP BY {dims}, external_route, external_outcome",
        ),
    ]


def rebuild(since_day: int | None = None) -> None:
    """Recompute the rollups of the months from `since_day`'s (YYYYMMDD; None: every month) from
    the facts. Call inside the transaction that changed the facts."""
    month = (since_day // 100) if since_day else 0
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        _serialise(cursor)
        for table, select in rebuild_sql():
            t = qn(table.name)
            cols = ", ".join(qn(c) for c in (*DIMS, *table.keys, *table.values))
            cursor.execute(f"DELETE FROM {t} WHERE month >= %s", [month])
            cursor.execute(f"INSERT INTO {t} ({cols}) {select}", [month * 100])


def differences_from_facts() -> dict[str, list[tuple]]:
    """Rows where the stored rollups and a recomputation from the facts disagree, per table
    (empty when they agree; rows added up to zero count as absent). For tests and checks."""
    qn = connection.ops.quote_name
    out = {}
    with connection.cursor() as cursor:
        for table, select in rebuild_sql():
            cursor.execute(select, [0])
            width = len(DIMS) + len(table.keys)
            expected = {tuple(r[:width]): tuple(int(v) for v in r[width:]) for r in cursor}
            cols = ", ".join(qn(c) for c in (*DIMS, *table.keys, *table.values))
            cursor.execute(f"SELECT {cols} FROM {qn(table.name)}")
            stored = {
                tuple(r[:width]): tuple(int(v) for v in r[width:])
                for r in cursor.fetchall()
                if any(r[width:])
            }
            bad = [
                (key, stored.get(key), expected.get(key))
                for key in sorted(set(stored) | set(expected), key=repr)
                if stored.get(key) != expected.get(key)
            ]
            if bad:
                out[table.model.__name__] = bad
    return out
