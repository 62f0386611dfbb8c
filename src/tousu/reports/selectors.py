"""The statistics: every figure of the dashboard, the periodic reports and their spreadsheets.

All figures are about the cases *received* in the period (the cohort), so that each case counts in
exactly one period and a report's tables add up: its volume, how many of them are closed, how long
they took in working days, whether their clocks were kept, what the complainants said. The backlog is
the exception: the cases still open at the end of the period (or now, for a running period).

The whole months of a period are read from the monthly rollups of the facts (rollup.py: a year is
twelve months of a few hundred rows each), the days around them (a date range's ends) and the trend's
days from the fact tables (models.py) with one covering index per query shape, grouped in the
database; Python only merges a few thousand grouped rows and attaches labels. What depends on the
moment of reading (overdue clocks, the backlog) is read from the facts through small indexes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from tousu.accounts.models import Department
from tousu.cases.models import Party
from tousu.cases.privacy import mask_name
from tousu.clocks.services import calendar
from tousu.owners.selectors import people_figures
from tousu.processes.models import Category, ProcessDefinition
from tousu.supervision.selectors import figures

from . import rollup
from .facts import day_int, int_day
from .models import CaseFact, ClockFact
from .periods import Period
from .rules import rules_for

CACHE_SECONDS = 120  # a dashboard shows data up to two minutes old; the page says when it was read
SNAPSHOT_MAX_AGE = timedelta(minutes=15)  # older worker snapshots are not used (worker stopped)
BACKLOG_BUCKETS = [(0, 5, "5个工作日以内"), (6, 10, "6–10个工作日"), (11, 20, "11–20个工作日")]
BACKLOG_BUCKETS += [(21, 30, "21–30个工作日"), (31, None, "30个工作日以上")]
HANDLING_BUCKETS = [(0, 0, "当日"), (1, 1, "1"), (2, 2, "2"), (3, 3, "3"), (4, 5, "4–5")]
HANDLING_BUCKETS += [(6, 10, "6–10"), (11, 20, "11–20"), (21, 30, "21–30"), (31, None, ">30")]
NONE_LABEL = {"department": "未分派", "category": "未分类", "site": "未设置院区/地点"}


# --- filters and scope --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    period: Period
    department_id: int | None = None
    category_id: int | None = None
    template: str = ""
    # Resolved for SQL: the department with its sub-departments, the template's versions.
    department_ids: tuple[int, ...] = ()
    process_ids: tuple[int, ...] = ()
    scope_label: str = ""  # set when a departmental user is limited to their department

    def cache_key(self) -> str:
        return (
            f"reports:dash:{self.period.key}:{self.department_ids}:{self.category_id}:"
            f"{self.process_ids}"
        )


class NotAllowed(Exception):
    """The user may not see statistics; the message says why."""


ALL_CASES_ROLES = frozenset({"leader", "officer", "auditor", "admin"})


def scope_department(user) -> int | None:
    """None: the whole organisation. A department id: the user's own department only. Raises
    NotAllowed for users with neither right."""
    if not user.is_authenticated:
        raise NotAllowed("请先登录")
    if user.has_role(*ALL_CASES_ROLES) or user.is_superuser:
        return None
    if user.is_departmental_only:
        if not user.department_id:
            raise NotAllowed("您没有所属部门，无法查看部门统计")
        return user.department_id
    raise NotAllowed("统计分析面向领导、投诉专员、审计和各部门负责人、经办人")


def descendants(department_id: int) -> tuple[int, ...]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Department.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    out, todo = [], [department_id]
    while todo:
        pk = todo.pop()
        out.append(pk)
        todo += children.get(pk, [])
    return tuple(sorted(out))


def make_filters(
    period: Period,
    *,
    department_id: int | None = None,
    category_id: int | None = None,
    template: str = "",
    scope: int | None = None,
) -> Filters:
    scope_label = ""
    if scope is not None:
        if department_id is None or department_id not in descendants(scope):
            department_id = scope
        scope_label = Department.objects.filter(pk=scope).values_list("name", flat=True).first()
    process_ids = ()
    if template:
        process_ids = tuple(
            ProcessDefinition.objects.filter(name=template).values_list("pk", flat=True)
        ) or (-1,)
    return Filters(
        period=period,
        department_id=department_id,
        category_id=category_id,
        template=template,
        department_ids=descendants(department_id) if department_id else (),
        process_ids=process_ids,
        scope_label=scope_label or "",
    )


# --- SQL ------------------------------------------------------------------------------------------


def _count(expr: str) -> str:
    """Rows where a boolean expression holds, in each database's fastest spelling."""
    if connection.vendor == "postgresql":
        return f"COUNT(*) FILTER (WHERE {expr})"
    return f"SUM({expr})"


def _in(column: str, values) -> tuple[str, list]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _where(f: Filters, start: date | None, end: date | None) -> tuple[str, list]:
    parts, params = [], []
    if start is not None:
        parts.append("received_day >= %s")
        params.append(day_int(start))
    if end is not None:
        parts.append("received_day < %s")
        params.append(day_int(end))
    if f.process_ids:
        sql, p = _in("process_id", f.process_ids)
        parts.append(sql)
        params += p
    if f.department_ids:
        sql, p = _in("department_id", f.department_ids)
        parts.append(sql)
        params += p
    if f.category_id:
        parts.append("category_id = %s")
        params.append(f.category_id)
    return " AND ".join(parts) or "1=1", params


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


FACT = CaseFact._meta.db_table
CLOCKS = ClockFact._meta.db_table
REPEAT = '"repeat"'  # a function name in PostgreSQL: quoted as a column

# The per-case measures, in the order the department queries read them.
METRICS = (
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
)


# Reading a period: the whole months in it from the monthly rollups (rollup.py), the days before the
# first and after the last whole month (a date range) from the facts. Each reader adds what it
# reads to a Figures (below), so the two sources give one set of figures. Rollup rows whose cases
# all moved elsewhere (reassigned, an outcome recorded) stay at zero and are left out (HAVING).


def _split(start: date, end: date) -> tuple[list[tuple[date, date]], tuple[int, int] | None]:
    """([start, end) pieces read from the facts], (first month, month after the last) read from
    the rollups as YYYYMM, or None when the period holds no whole month)."""
    first = start if start.day == 1 else _next_month(start)
    after = date(end.year, end.month, 1)
    if first >= after:
        return [(start, end)], None
    pieces = [(lo, hi) for lo, hi in ((start, first), (after, end)) if lo < hi]
    return pieces, (first.year * 100 + first.month, after.year * 100 + after.month)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _facts_cases(fig: Figures, f: Filters, start: date, end: date) -> None:
    """Per-case measures by department, then volume by day, category and channel: each grouped
    in its covering index's order so the database aggregates as it reads."""
    where, params = _where(f, start, end)
    c = _count
    rows = _rows(
        "SELECT department_id, COUNT(*), COUNT(closed_day), "
        f"{c('satisfaction = 1')}, {c('satisfaction = 2')}, {c('satisfaction = 3')}, "
        f"{c('reopened')}, {c('followed_up AND closed_day IS NOT NULL')}, {c('collective')}, "
        f"{c(REPEAT)}, {c('capa_verified')}, {c('capa_failed > 0')}, SUM(capa_failed) "
        f"FROM {FACT} WHERE {where} GROUP BY received_day, process_id, department_id",
        params,
    )
    fig.add_departments(rows)
    fig.add_volume(
        _rows(
            "SELECT received_day, process_id, category_id, channel, COUNT(*), COUNT(closed_day) "
            f"FROM {FACT} WHERE {where} "
            "GROUP BY received_day, process_id, department_id, category_id, channel",
            params,
        )
    )
    fig.add_handling(
        _rows(
            f"SELECT department_id, handling_days, COUNT(*) FROM {FACT} "
            f"WHERE {where} AND closed_day IS NOT NULL GROUP BY department_id, handling_days",
            params,
        )
    )
    fig.add_clocks(
        _rows(
            "SELECT process_id, name, department_id, COUNT(*), "
            f"{c(f'state = {ClockFact.STOPPED} AND NOT late')}, {c('late')} "
            f"FROM {CLOCKS} WHERE {where} "
            "GROUP BY received_day, process_id, department_id, category_id, name",
            params,
        )
    )
    if fig.detail:
        fig.add_respondents(
            _rows(
                f"SELECT respondent, COUNT(*) FROM {FACT} WHERE {where} AND respondent <> '' "
                "GROUP BY respondent",
                params,
            )
        )
        fig.add_routes(
            _rows(
                f"SELECT process_id, external_route, external_outcome, COUNT(*) FROM {FACT} "
                f"WHERE {where} AND external_route <> '' "
                "GROUP BY process_id, external_route, external_outcome",
                params,
            )
        )


def _rollup_where(f: Filters, months: tuple[int, int]) -> tuple[str, list]:
    where, params = _where(f, None, None)
    return f"month >= %s AND month < %s AND {where}", [*months, *params]


def _rollup_cases(fig: Figures, f: Filters, months: tuple[int, int], *, days: bool) -> None:
    """The same figures as _facts_cases, for whole months, from the monthly rollups."""
    where, params = _rollup_where(f, months)
    qn = connection.ops.quote_name
    sums = ", ".join(f"SUM({qn(v)})" for v in rollup.CASES.values)
    fig.add_departments(
        _rows(
            f"SELECT department_id, {sums} FROM {rollup.CASES.name} WHERE {where} "
            "GROUP BY department_id HAVING SUM(received) <> 0",
            params,
        ),
        zero_is_none=True,
    )
    fig.add_volume(
        _rows(
            "SELECT month * 100 + 1, process_id, category_id, channel, SUM(received), SUM(closed) "
            f"FROM {rollup.CASES.name} WHERE {where} "
            "GROUP BY month, process_id, category_id, channel HAVING SUM(received) <> 0",
            params,
        ),
        zero_is_none=True,
        days=days,
    )
    fig.add_handling(
        _rows(
            f"SELECT department_id, handling_days, SUM(cases) FROM {rollup.HANDLING.name} "
            f"WHERE {where} GROUP BY department_id, handling_days HAVING SUM(cases) <> 0",
            params,
        ),
        zero_is_none=True,
    )
    fig.add_clocks(
        _rows(
            "SELECT process_id, name, department_id, SUM(clocks), SUM(met), SUM(late) "
            f"FROM {rollup.CLOCKS.name} WHERE {where} GROUP BY process_id, name, department_id "
            "HAVING SUM(clocks) <> 0",
            params,
        ),
        zero_is_none=True,
    )
    if fig.detail:
        fig.add_respondents(
            _rows(
                f"SELECT respondent, SUM(cases) FROM {rollup.RESPONDENTS.name} WHERE {where} "
                "GROUP BY respondent HAVING SUM(cases) <> 0",
                params,
            )
        )
        fig.add_routes(
            _rows(
                "SELECT process_id, external_route, external_outcome, SUM(cases) "
                f"FROM {rollup.ROUTES.name} WHERE {where} "
                "GROUP BY process_id, external_route, external_outcome HAVING SUM(cases) <> 0",
                params,
            )
        )


def _facts_by_day(f: Filters, start: date, end: date) -> list[tuple]:
    """(day, received, closed): the trend chart's days inside whole months (the rollups hold
    months), for periods drawn by day or by week."""
    where, params = _where(f, start, end)
    return _rows(
        f"SELECT received_day, COUNT(*), COUNT(closed_day) FROM {FACT} WHERE {where} "
        "GROUP BY received_day",
        params,
    )


def _overdue(f: Filters, start: date, end: date, now: datetime) -> list[tuple]:
    """(process, clock name, department, count) of the running clocks past their due time and not
    yet marked late: depends on the moment of reading, so never rolled up. Read through the
    partial index of running clocks (models.ClockFact), whose condition the WHERE repeats."""
    where, params = _where(f, start, end)
    stamp = connection.ops.adapt_datetimefield_value(now)
    return _rows(
        f"SELECT process_id, name, department_id, COUNT(*) FROM {CLOCKS} "
        f"WHERE NOT late AND state = {ClockFact.RUNNING} AND due_at < %s AND {where} "
        "GROUP BY process_id, name, department_id",
        [stamp, *params],
    )


def _snapshot(key: str) -> dict | None:
    """The worker's precomputed figures for this key, when fresh (services.refresh_snapshots)."""
    import pickle
    import zlib

    from .models import Snapshot

    row = (
        Snapshot.objects.filter(key=key, computed_at__gte=timezone.now() - SNAPSHOT_MAX_AGE)
        .values_list("data", flat=True)
        .first()
    )
    if row is None:
        return None
    data = pickle.loads(zlib.decompress(bytes(row)))  # written by our own worker only
    data["snapshot"] = True
    return data


def _backlog_table() -> str:
    # SQLite's planner, from the index statistics alone, prefers the period index's range over
    # the many closing-day seeks below (it cannot know how few cases each seek finds) and then
    # reads every case received before the period's end: it is told which index to use.
    if connection.vendor == "sqlite":
        return f"{FACT} INDEXED BY reports_fact_backlog"
    return FACT


def _backlog_rows(f: Filters, period: Period, as_of: date, today: date) -> list[tuple]:
    """(received day, department, count) of the cases open at the end of `as_of`."""
    table = _backlog_table()
    where, params = _where(f, None, min(period.end, as_of + timedelta(days=1)))
    rows = _rows(
        f"SELECT received_day, department_id, COUNT(*) FROM {table} "
        f"WHERE closed_day IS NULL AND {where} GROUP BY received_day, department_id",
        params,
    )
    if as_of < today:
        # A past period: also the cases closed after it ended. `closed_day > as_of` would read the
        # backlog index through every case closed since (a year's worth for last year) to keep
        # the few received before; one index seek per closing day since reads only those. Up to
        # the last closing day there is (after today only for figures read as of a past moment).
        last = _rows(f"SELECT MAX(closed_day) FROM {FACT}", [])[0][0]
        until = max(today, int_day(last)) if last else today
        days = [day_int(as_of + timedelta(days=i)) for i in range(1, (until - as_of).days + 1)]
        for i in range(0, len(days), 1000):
            rows += _rows(
                f"SELECT received_day, department_id, COUNT(*) FROM {table} "
                f"WHERE closed_day IN ({', '.join(map(str, days[i : i + 1000]))}) AND {where} "
                "GROUP BY received_day, department_id",
                params,
            )
    return rows


# --- labels -------------------------------------------------------------------------------------


@dataclass
class Labels:
    processes: dict[int, ProcessDefinition]
    departments: dict[int, tuple[str, str]]  # id → (name, site)
    categories: dict[int, str]

    @classmethod
    def load(cls) -> Labels:
        return cls(
            processes={p.pk: p for p in ProcessDefinition.objects.all()},
            departments={
                pk: (name, site)
                for pk, name, site in Department.objects.values_list("pk", "name", "site")
            },
            categories=dict(Category.objects.values_list("pk", "label")),
        )

    def department(self, pk) -> str:
        return self.departments[pk][0] if pk in self.departments else NONE_LABEL["department"]

    def site(self, pk) -> str:
        site = self.departments.get(pk, ("", ""))[1]
        return site or NONE_LABEL["site"]

    def category(self, pk) -> str:
        return self.categories.get(pk, NONE_LABEL["category"])

    def template(self, pk) -> str:
        p = self.processes.get(pk)
        return p.label if p else "—"

    def template_name(self, pk) -> str:
        p = self.processes.get(pk)
        return p.name if p else ""

    def channel(self, process_id, code: str) -> str:
        p = self.processes.get(process_id)
        if p:
            for c in p.definition.channels:
                if c.value == code:
                    return c.label
        return code or "—"

    def clock(self, process_id, name: str) -> str:
        p = self.processes.get(process_id)
        if p:
            for c in p.definition.clocks:
                if c.name == name:
                    return c.label
        return name


# --- arithmetic ---------------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(histogram: dict[int, int], q: float) -> int | None:
    """Nearest-rank percentile of whole working days: the smallest value with at least q of the
    cases at or below it."""
    n = sum(histogram.values())
    if not n:
        return None
    rank = max(1, -(-q * n // 1))  # ceil(q·n), at least the first
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def _merge(hists) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for h in hists:
        for k, v in h.items():
            out[k] += v
    return dict(out)


def _bucketed(hist: dict[int, int], buckets) -> list[tuple[str, int]]:
    out = []
    for lo, hi, label in buckets:
        out.append((label, sum(n for d, n in hist.items() if d >= lo and (hi is None or d <= hi))))
    return out


def _respondent_label(respondents: dict):
    """A person complained about (a doctor, a courier) is shown masked like any personal data
    (cases/privacy.py); an organisation or a department by its name."""

    people = set(
        Party.objects.filter(role="respondent", kind="person", name__in=list(respondents)[:1000])
        .values_list("name", flat=True)
        .distinct()
    )
    people = {n for n in people if not (n.startswith("〔") and n.endswith("〕"))}  # anonymised
    return lambda name: mask_name(name) if name in people else str(name)


def _sorted_counts(counts: dict, label, limit: int | None = None) -> list[dict]:
    total = sum(counts.values())
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], label(kv[0])))
    out = [{"label": label(k), "key": k, "count": n, "share": rate(n, total)} for k, n in rows]
    if limit and len(out) > limit:
        rest = out[limit:]
        out = out[:limit] + [
            {
                "label": f"其他（{len(rest)} 项）",
                "key": None,
                "count": sum(r["count"] for r in rest),
                "share": rate(sum(r["count"] for r in rest), total),
                "others": True,
            }
        ]
    return out


# --- the dashboard ------------------------------------------------------------------------------


@dataclass
class Figures:
    """Everything computed for one period (the comparison period gets a lighter set), added up
    from the pieces the period is read in (_split)."""

    period: Period
    detail: bool = False  # also respondents and routes (the period shown, not its comparison)
    totals: dict[str, int] = field(default_factory=dict)
    by_department: dict = field(default_factory=dict)  # id → metric dict
    by_category: dict = field(default_factory=lambda: defaultdict(int))
    by_channel: dict = field(default_factory=lambda: defaultdict(int))  # (process, code) → n
    by_process: dict = field(default_factory=lambda: defaultdict(int))
    by_day: dict = field(
        default_factory=dict
    )  # YYYYMMDD (a month's first day) → [received, closed]
    handling: dict = field(default_factory=lambda: defaultdict(dict))  # department → histogram
    clocks: list = field(default_factory=list)  # (process, name, dep, n, met, late, overdue)
    respondents: dict = field(default_factory=lambda: defaultdict(int))
    routes: dict = field(default_factory=lambda: defaultdict(int))  # (process, routes, outcome)
    _departments: dict = field(default_factory=dict, repr=False)
    _clocks: dict = field(default_factory=dict, repr=False)

    def add_departments(self, rows, *, zero_is_none: bool = False) -> None:
        acc = self._departments
        for dep, *values in rows:
            dep = (dep or None) if zero_is_none else dep
            cur = acc.get(dep)
            if cur is None:
                acc[dep] = [int(v or 0) for v in values]
            else:
                for i, v in enumerate(values):
                    cur[i] += int(v or 0)

    def add_volume(self, rows, *, zero_is_none: bool = False, days: bool = True) -> None:
        by_category, by_channel, by_process, by_day = (
            self.by_category, self.by_channel, self.by_process, self.by_day
        )  # fmt: skip
        for day, process_id, cat, channel, n, closed in rows:
            n, closed = int(n), int(closed or 0)
            by_category[(cat or None) if zero_is_none else cat] += n
            by_channel[(process_id, channel)] += n
            by_process[process_id] += n
            if days:
                d = by_day.get(day)
                if d is None:
                    by_day[day] = [n, closed]
                else:
                    d[0] += n
                    d[1] += closed

    def add_days(self, rows) -> None:
        for day, n, closed in rows:
            d = self.by_day.setdefault(day, [0, 0])
            d[0] += int(n)
            d[1] += int(closed or 0)

    def add_handling(self, rows, *, zero_is_none: bool = False) -> None:
        for dep, days, n in rows:
            h = self.handling[(dep or None) if zero_is_none else dep]
            h[days or 0] = h.get(days or 0, 0) + int(n)

    def add_clocks(self, rows, *, zero_is_none: bool = False) -> None:
        acc = self._clocks
        for process_id, name, dep, n, met, late in rows:
            key = (process_id, name, (dep or None) if zero_is_none else dep)
            cur = acc.setdefault(key, [0, 0, 0, 0])
            cur[0] += int(n)
            cur[1] += int(met or 0)
            cur[2] += int(late or 0)

    def add_overdue(self, rows) -> None:
        for process_id, name, dep, n in rows:
            self._clocks.setdefault((process_id, name, dep), [0, 0, 0, 0])[3] += int(n)

    def add_respondents(self, rows) -> None:
        for name, n in rows:
            self.respondents[name] += int(n)

    def add_routes(self, rows) -> None:
        for process_id, codes, outcome, n in rows:
            self.routes[(process_id, codes, outcome or "")] += int(n)

    def finish(self) -> Figures:
        self.by_department = {
            dep: dict(zip(METRICS, v, strict=True)) for dep, v in self._departments.items()
        }
        self.totals = {m: sum(v[m] for v in self.by_department.values()) for m in METRICS}
        self.clocks = [(*key, *v) for key, v in self._clocks.items()]
        for name in ("by_category", "by_channel", "by_process", "handling", "respondents",
                     "routes"):  # fmt: skip
            setattr(self, name, dict(getattr(self, name)))
        return self


def _figures(f: Filters, period: Period, now: datetime, *, detail: bool = False) -> Figures:
    """The figures of one period: whole months from the rollups, the days around them (a date
    range's ends) from the facts, overdue clocks from the running ones."""
    fig = Figures(period, detail=detail)
    pieces, months = _split(period.start, period.end)
    for lo, hi in pieces:
        _facts_cases(fig, f, lo, hi)
    if months:
        by_day = detail and period.granularity != "month"  # the trend needs days, not months
        _rollup_cases(fig, f, months, days=not by_day)
        if by_day:
            first = date(months[0] // 100, months[0] % 100, 1)
            after = date(months[1] // 100, months[1] % 100, 1)
            fig.add_days(_facts_by_day(f, first, after))
    fig.add_overdue(_overdue(f, period.start, period.end, now))
    return fig.finish()


def _read_all(f: Filters, period: Period, now: datetime, as_of: date, today: date) -> dict:
    """Every query of the dashboard. Outside a transaction they run on two threads, each with its
    own connection (SQLite in WAL mode lets readers run side by side; the driver releases the GIL
    while the database works): this period here, the previous period and the backlog there.
    Inside a transaction (tests) another connection would not see the transaction's rows, so
    everything runs here, one query after the other."""

    def here():
        return {"cur": _figures(f, period, now, detail=True)}

    def there():
        return {
            "prev": _figures(f, period.previous, now),
            "backlog": _backlog_rows(f, period, as_of, today),
        }

    if connection.in_atomic_block or not PARALLEL:
        return {**here(), **there()}
    from concurrent.futures import ThreadPoolExecutor

    def other_thread():
        try:
            return there()
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(other_thread)
        mine = here()
        return {**mine, **future.result()}


PARALLEL = True


def _clock_table(rows, labels: Labels) -> tuple[list[dict], dict]:
    per: dict = {}
    by_dep: dict = defaultdict(lambda: [0, 0, 0])
    for process_id, name, dep, _n, met, late, overdue in rows:
        key = (labels.template_name(process_id), name)
        item = per.setdefault(
            key,
            {
                "label": labels.clock(process_id, name),
                "template": labels.template(process_id),
                "met": 0,
                "late": 0,
                "overdue": 0,
                "pending": 0,
            },
        )
        met, late, overdue = int(met or 0), int(late or 0), int(overdue or 0)
        item["met"] += met
        item["late"] += late
        item["overdue"] += overdue
        item["pending"] += _n - met - late - overdue
        d = by_dep[dep]
        d[0] += met
        d[1] += late
        d[2] += overdue
    table = []
    for item in per.values():
        judged = item["met"] + item["late"] + item["overdue"]
        item["judged"] = judged
        item["rate"] = rate(item["met"], judged)
        table.append(item)
    table.sort(key=lambda i: (i["template"], i["label"]))
    return table, dict(by_dep)


def _kpis(fig: Figures) -> dict:
    t = fig.totals
    verdicts = t.get("satisfied", 0) + t.get("basically", 0) + t.get("dissatisfied", 0)
    met = sum(int(r[4] or 0) for r in fig.clocks)
    late = sum(int(r[5] or 0) for r in fig.clocks)
    overdue = sum(int(r[6] or 0) for r in fig.clocks)
    hist = _merge(fig.handling.values())
    return {
        "received": t.get("received", 0),
        "closed": t.get("closed", 0),
        "closed_rate": rate(t.get("closed", 0), t.get("received", 0)),
        "on_time_rate": rate(met, met + late + overdue),
        "clocks_judged": met + late + overdue,
        "clocks_met": met,
        "breaches": late + overdue,
        "median_days": percentile(hist, 0.5),
        "p90_days": percentile(hist, 0.9),
        "verdicts": verdicts,
        "satisfied": t.get("satisfied", 0),
        "basically": t.get("basically", 0),
        "dissatisfied": t.get("dissatisfied", 0),
        "satisfaction_rate": rate(t.get("satisfied", 0) + t.get("basically", 0), verdicts),
        "reopened": t.get("reopened", 0),
        "reopen_rate": rate(t.get("reopened", 0), t.get("received", 0)),
        "followed_up": t.get("followed_up", 0),
        "follow_up_rate": rate(t.get("followed_up", 0), t.get("closed", 0)),
        "repeat": t.get("repeat", 0),
        "repeat_rate": rate(t.get("repeat", 0), t.get("received", 0)),
        "collective": t.get("collective", 0),
        "capa_verified": t.get("capa_verified", 0),
        "capa_failed_cases": t.get("capa_failed_cases", 0),
        "capa_failed_rounds": t.get("capa_failed_rounds", 0),
    }


KPI_SPECS = [
    # key, label, kind (count | rate | days), better direction (+1 higher is better, -1 lower), hint
    ("received", "受理件数", "count", 0, "本期接收的投诉"),
    ("closed", "办结件数", "count", 0, "本期接收且已结案的投诉"),
    ("closed_rate", "办结率", "rate", 1, "办结件数 ÷ 受理件数"),
    ("on_time_rate", "及时率", "rate", 1, "按时完成的时限 ÷（按时 + 超时 + 已过期未完成）"),
    ("breaches", "超时项数", "count", -1, "超时完成或已过期仍未完成的时限"),
    ("median_days", "办理时长中位数", "days", -1, "已结案投诉从接收到结案的工作日数"),
    ("p90_days", "办理时长90分位", "days", -1, "90% 的已结案投诉在此工作日数内结案"),
    ("satisfaction_rate", "满意率", "rate", 1, "（满意 + 基本满意）÷ 参评件数"),
    ("reopen_rate", "重办率", "rate", -1, "因不满意重新办理的件数 ÷ 受理件数"),
    ("follow_up_rate", "回访率", "rate", 1, "已回访或已评价的办结件数 ÷ 办结件数"),
    ("repeat_rate", "重复投诉率", "rate", -1, "投诉人一年内再次投诉的件数 ÷ 受理件数"),
    ("collective", "集体投诉", "count", -1, "多人就同一事项的投诉"),
]


def _change(kind: str, now, before):
    if now is None or before is None:
        return None
    if kind == "rate":
        points = (now - before) * 100  # percentage points
        return 0.0 if abs(points) < 0.05 else points  # shown with one decimal: 0.0 is 持平
    if kind == "days":
        return now - before
    return (now - before) / before * 100 if before else None


def dashboard(f: Filters, *, now: datetime | None = None, use_cache: bool = True) -> dict:
    """Every figure for the filters' period and the comparison with the period before it."""
    key = f.cache_key()
    if use_cache and now is None and (hit := _cached(key)) is not None:
        return hit
    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    labels = Labels.load()
    period = f.period
    as_of = min(period.last_day, today)  # the backlog: at the end of the period, or now
    read = _read_all(f, period, now, as_of, today)
    cur, prev = read["cur"], read["prev"]
    k_now, k_prev = _kpis(cur), _kpis(prev)
    clock_table, clocks_by_dep = _clock_table(cur.clocks, labels)
    backlog, backlog_by_dep = _backlog(read["backlog"], as_of)
    routes, external_cases = _routes(cur, labels)
    in_scope = [
        p
        for p in labels.processes.values()
        if ((p.pk in f.process_ids) if f.process_ids else p.is_active)
    ]
    data = {
        "period": period,
        "previous": period.previous,
        "filters": f,
        "generated_at": now,
        "kpis": _kpi_rows(k_now, k_prev),
        "k": k_now,
        "k_prev": k_prev,
        "trend": _trend_rows(period, cur),
        **_breakdowns(cur, prev, labels),
        "clocks": clock_table,
        "handling": _handling(cur, k_now),
        "backlog": backlog,
        "routes": routes,
        "external_cases": external_cases,
        "capa": _capa(k_now),
        "league": _league(cur, prev, labels, clocks_by_dep, backlog_by_dep),
        # 督办件 and the work per owner (tousu.supervision, tousu.owners): small tables of their own.
        "supervision": _supervision_figures(f, now),
        "people": _people_figures(f, now),
        "has_verdicts": any(rules_for(p).has_verdicts for p in in_scope),
        "has_routes": any(rules_for(p).routes for p in in_scope),
        "has_capa": any(rules_for(p).capa_verified or rules_for(p).capa_failed for p in in_scope),
        "seconds": time.perf_counter() - started,
    }
    data["narrative"] = narrative(data)
    if use_cache:
        cache.set(key, data, CACHE_SECONDS)
    return data


def _cached(key: str) -> dict | None:
    """The figures in the cache, else in the worker's snapshot (then cached), else None."""
    hit = cache.get(key)
    if hit is None:
        hit = _snapshot(key)
        if hit is not None:
            cache.set(key, hit, CACHE_SECONDS)
    return hit


def _kpi_rows(k_now: dict, k_prev: dict) -> list[dict]:
    kpis = []
    for key_, label, kind, better, hint in KPI_SPECS:
        change = _change(kind, k_now[key_], k_prev[key_])
        trend = 0
        if change and better:
            trend = 1 if (change > 0) == (better > 0) else -1
        kpis.append(
            {
                "key": key_,
                "label": label,
                "kind": kind,
                "value": k_now[key_],
                "previous": k_prev[key_],
                "change": change,
                "trend": trend,  # +1 better, -1 worse, 0 neither
                "hint": hint,
            }
        )
    return kpis


def _trend_rows(period, cur) -> list[dict]:
    """Volume over time."""
    trend_rows = []
    for start, end, label in period.buckets():
        lo, hi = day_int(start), day_int(end)
        received = sum(v[0] for d, v in cur.by_day.items() if lo <= d < hi)
        closed = sum(v[1] for d, v in cur.by_day.items() if lo <= d < hi)
        trend_rows.append({"label": label, "received": received, "closed": closed})
    return trend_rows


def _breakdowns(cur, prev, labels: Labels) -> dict:
    """The counts by category, department, channel, process, site and respondent."""
    by_category = _sorted_counts(cur.by_category, labels.category)
    for row in by_category:
        row["previous"] = prev.by_category.get(row["key"], 0)
    dep_counts = {d: m["received"] for d, m in cur.by_department.items()}
    by_department = _sorted_counts(dep_counts, labels.department)
    for row in by_department:
        row["previous"] = prev.by_department.get(row["key"], {}).get("received", 0)
    channel_counts: dict = defaultdict(int)
    for (process_id, code), n in cur.by_channel.items():
        channel_counts[labels.channel(process_id, code)] += n
    by_channel = _sorted_counts(dict(channel_counts), str)
    by_process = _sorted_counts(cur.by_process, labels.template)
    site_counts: dict = defaultdict(int)
    for dep, n in dep_counts.items():
        site_counts[labels.site(dep)] += n
    by_site = _sorted_counts(dict(site_counts), str)
    by_respondent = _sorted_counts(cur.respondents, _respondent_label(cur.respondents), limit=10)
    for r in by_respondent:  # a masked person's name must not ride along as the row's key
        if r["key"] is not None and r["label"] != r["key"]:
            r["key"] = r["label"]
    return {
        "by_category": by_category,
        "by_department": by_department,
        "by_channel": by_channel,
        "by_process": by_process,
        "by_site": by_site,
        "by_respondent": by_respondent,
    }


def _handling(cur, k_now: dict) -> dict:
    hist = _merge(cur.handling.values())
    return {
        "median": k_now["median_days"],
        "p90": k_now["p90_days"],
        "mean": (sum(d * n for d, n in hist.items()) / sum(hist.values())) if hist else None,
        "closed": sum(hist.values()),
        "buckets": _bucketed(hist, HANDLING_BUCKETS),
    }


def _backlog(rows, as_of) -> tuple[dict, dict]:
    """Open at the end of the period, or now for a running period: by age in working days, and
    the count per department."""
    backlog_hist: dict = defaultdict(int)
    backlog_by_dep: dict = defaultdict(int)
    cal = calendar()
    for day, dep, n in rows:
        age = max(0, cal.workdays_between(int_day(day), as_of))
        backlog_hist[age] += n
        backlog_by_dep[dep] += n
    backlog = {
        "as_of": as_of,
        "total": sum(backlog_hist.values()),
        "buckets": _bucketed(backlog_hist, BACKLOG_BUCKETS),
        "oldest": max(backlog_hist) if backlog_hist else None,
    }
    return backlog, backlog_by_dep


def _routes(cur, labels: Labels) -> tuple[list[dict], int]:
    """External routes and their outcomes; the number of cases that took one (once each)."""
    routes: dict = {}
    route_rows_raw = [(*key, n) for key, n in cur.routes.items()]
    external_cases = sum(n for *_, n in route_rows_raw)  # a case with two routes counts once
    for process_id, codes, outcome, n in route_rows_raw:
        r = rules_for(labels.processes[process_id]) if process_id in labels.processes else None
        for code in codes.split(","):
            label = r.route_labels.get(code, code) if r else code
            if outcome:
                out_label = r.outcome_labels.get(outcome, outcome) if r else outcome
            else:
                out_label = "未记录结果"
            item = routes.setdefault(label, {"label": label, "count": 0, "outcomes": {}})
            item["count"] += n
            item["outcomes"][out_label] = item["outcomes"].get(out_label, 0) + n
    route_rows = sorted(routes.values(), key=lambda r: (-r["count"], r["label"]))
    for r in route_rows:
        r["outcomes"] = sorted(r["outcomes"].items(), key=lambda kv: (-kv[1], kv[0]))
    return route_rows, external_cases


def _capa(k_now: dict) -> dict:
    return {
        "verified": k_now["capa_verified"],
        "failed_cases": k_now["capa_failed_cases"],
        "failed_rounds": k_now["capa_failed_rounds"],
        "first_pass_rate": rate(
            k_now["capa_verified"] - min(k_now["capa_verified"], k_now["capa_failed_cases"]),
            k_now["capa_verified"],
        ),
    }


def _league(cur, prev, labels: Labels, clocks_by_dep: dict, backlog_by_dep: dict) -> list[dict]:
    """Departments ranked by on-time rate, then satisfaction, then speed."""
    league = []
    for dep, m in cur.by_department.items():
        if dep is None:  # 未分派 is no department: it is counted above, never ranked
            continue
        met, late, overdue = clocks_by_dep.get(dep, (0, 0, 0))
        h = cur.handling.get(dep, {})
        verdicts = m["satisfied"] + m["basically"] + m["dissatisfied"]
        league.append(
            {
                "key": dep,
                "label": labels.department(dep),
                "received": m["received"],
                "closed": m["closed"],
                "closed_rate": rate(m["closed"], m["received"]),
                "on_time_rate": rate(met, met + late + overdue),
                "breaches": late + overdue,
                "median_days": percentile(h, 0.5),
                "p90_days": percentile(h, 0.9),
                "satisfaction_rate": rate(m["satisfied"] + m["basically"], verdicts),
                "dissatisfied": m["dissatisfied"],
                "reopened": m["reopened"],
                "backlog": backlog_by_dep.get(dep, 0),
                "previous": prev.by_department.get(dep, {}).get("received", 0),
            }
        )
    league.sort(key=_rank_key)
    for i, row in enumerate(league, 1):
        row["rank"] = i
    return league


def _rank_key(row):
    return (
        -(row["on_time_rate"] if row["on_time_rate"] is not None else -1),
        -(row["satisfaction_rate"] if row["satisfaction_rate"] is not None else -1),
        row["median_days"] if row["median_days"] is not None else 10**6,
        -row["received"],
        row["label"],
    )


def _supervision_figures(f: Filters, now: datetime) -> dict:
    return figures(f, now)


def _people_figures(f: Filters, now: datetime) -> list[dict]:
    return people_figures(f, now)


# --- narrative ----------------------------------------------------------------------------------


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def _n(x) -> str:
    return f"{x:,}"


def narrative(d: dict) -> list[str]:
    """A short Chinese summary written from the figures, for the top of a report."""
    k, kp, period = d["k"], d["k_prev"], d["period"]
    cmp_label = period.comparison_label
    paras = []
    received, before = k["received"], kp["received"]
    if before:
        diff = received - before
        change = (
            f"较{cmp_label}{'增加' if diff > 0 else '减少'} {abs(diff) / before * 100:.1f}%"
            f"（{'+' if diff > 0 else '−'}{_n(abs(diff))} 件）"
            if diff
            else f"与{cmp_label}持平"
        )
    else:
        change = f"{cmp_label}无投诉" if received else ""
    text = f"{period.label}共受理投诉 {_n(received)} 件"
    text += f"，{change}" if change else ""
    text += f"；已办结 {_n(k['closed'])} 件，办结率 {_pct(k['closed_rate'])}。"
    if not received:
        return [f"{period.label}没有受理投诉。"]
    top = [c for c in d["by_category"] if c["key"] is not None][:3]
    if top:
        parts = [f"“{c['label']}”{_n(c['count'])} 件（{_pct(c['share'])}）" for c in top]
        text += "投诉最多的类别是" + "、".join(parts) + "。"
    paras.append(text)

    if k["median_days"] is not None:
        slow = [
            r
            for r in sorted(
                (r for r in d["league"] if r["median_days"] is not None and r["closed"] >= 5),
                key=lambda r: (-r["median_days"], -(r["p90_days"] or 0)),
            )
        ][:3]
        text = (
            f"已结案投诉的办理时长中位数为 {k['median_days']} 个工作日，"
            f"90% 在 {k['p90_days']} 个工作日内结案"
        )
        if kp["median_days"] is not None and kp["median_days"] != k["median_days"]:
            faster = k["median_days"] < kp["median_days"]
            text += f"（{cmp_label}中位数 {kp['median_days']} 个工作日，{'有所加快' if faster else '有所放慢'}）"
        text += "。"
        if slow:
            text += "办理最慢的部门是" + "、".join(
                f"{r['label']}（中位数 {r['median_days']} 个工作日）" for r in slow
            )
            text += "。"
        paras.append(text)

    if k["clocks_judged"]:
        text = (
            f"已到期的时限共 {_n(k['clocks_judged'])} 项，按时完成 {_n(k['clocks_met'])} 项，"
            f"及时率 {_pct(k['on_time_rate'])}，超时 {_n(k['breaches'])} 项"
        )
        worst = max(d["clocks"], key=lambda c: c["late"] + c["overdue"], default=None)
        if worst and worst["late"] + worst["overdue"]:
            text += f"，其中“{worst['label']}”超时最多（{_n(worst['late'] + worst['overdue'])} 项）"
        if kp["on_time_rate"] is not None and k["on_time_rate"] is not None:
            diff = (k["on_time_rate"] - kp["on_time_rate"]) * 100
            if abs(diff) >= 0.05:
                text += f"；及时率较{cmp_label}{'上升' if diff > 0 else '下降'} {abs(diff):.1f} 个百分点"
        text += "。"
        breach_deps = sorted(
            (r for r in d["league"] if r["breaches"]), key=lambda r: -r["breaches"]
        )[:3]
        if breach_deps:
            text += "超时较多的部门：" + "、".join(
                f"{r['label']} {_n(r['breaches'])} 项" for r in breach_deps
            )
            text += "。"
        paras.append(text)

    if k["verdicts"]:
        text = (
            f"参与评价 {_n(k['verdicts'])} 件，满意 {_n(k['satisfied'])} 件、基本满意 "
            f"{_n(k['basically'])} 件、不满意 {_n(k['dissatisfied'])} 件，满意率 "
            f"{_pct(k['satisfaction_rate'])}"
        )
        if kp["satisfaction_rate"] is not None:
            diff = (k["satisfaction_rate"] - kp["satisfaction_rate"]) * 100
            if abs(diff) >= 0.05:
                text += f"，较{cmp_label}{'上升' if diff > 0 else '下降'} {abs(diff):.1f} 个百分点"
        text += (
            f"。因不满意重新办理 {_n(k['reopened'])} 件（重办率 {_pct(k['reopen_rate'])}），"
            f"回访率 {_pct(k['follow_up_rate'])}。"
        )
        paras.append(text)

    extra = []
    if k["repeat"]:
        extra.append(f"重复投诉 {_n(k['repeat'])} 件（{_pct(k['repeat_rate'])}）")
    if k["collective"]:
        extra.append(f"集体投诉 {_n(k['collective'])} 件")
    if d["external_cases"]:
        extra.append(f"进入外部途径 {_n(d['external_cases'])} 件次")
    if d["capa"]["verified"] or d["capa"]["failed_cases"]:
        extra.append(
            f"纠正预防措施验证通过 {_n(d['capa']['verified'])} 件、"
            f"验证未通过 {_n(d['capa']['failed_rounds'])} 次"
        )
    if d["backlog"]["total"]:
        b = d["backlog"]
        extra.append(f"截至 {b['as_of'].isoformat()} 仍有 {_n(b['total'])} 件未结案")
    if extra:
        paras.append("此外，" + "；".join(extra) + "。")
    return paras
