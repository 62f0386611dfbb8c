"""Reads behind the API's lists: the case-list filters, search, cursor pages and the summary
statistics. Visibility is applied before these run (see access.py)."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet
from django.utils.dateparse import parse_datetime

from tousu.accounts.models import Department, User
from tousu.cases import selectors
from tousu.cases.errors import Invalid
from tousu.cases.models import Complaint
from tousu.owners.selectors import filter_owner
from tousu.processes.models import ProcessDefinition
from tousu.supervision.selectors import filter_supervised

DATE_RANGE = (date(2000, 1, 1), date(2100, 12, 31))


def filter_complaints(qs: QuerySet[Complaint], f, user: User) -> QuerySet[Complaint]:
    """Apply the workbench's case-list filters (schemas.ComplaintFilters)."""
    for name in ("received_from", "received_to"):
        value = getattr(f, name)
        if value is not None and not DATE_RANGE[0] <= value <= DATE_RANGE[1]:
            raise Invalid(
                f"{name} 应在 {DATE_RANGE[0]} 与 {DATE_RANGE[1]} 之间",
                {"fields": {name: ["日期超出范围"]}},
            )
    qs = selectors.filter_complaints(
        qs,
        user,
        scope=f.scope,
        q=f.q,
        process=f.process,
        state=f.state,
        category=f.category,
        department=f.department,
        channel=f.channel,
        clock=f.clock,
        flag=f.flag,
        closed=f.closed,
        received_from=f.received_from,
        received_to=f.received_to,
    )

    return filter_supervised(filter_owner(qs, user, f.owner or ""), f.supervision or "")


# --- cursor pages ---------------------------------------------------------------------------------

SORT_FIELDS = {"received": "received_at", "updated": "updated_at"}


def _encode(value: datetime, pk: int) -> str:
    raw = json.dumps([value.isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pk = json.loads(raw)
        value = parse_datetime(stamp)
        if (
            value is None
            or value.tzinfo is None
            or not DATE_RANGE[0].year <= value.year <= DATE_RANGE[1].year
            or not isinstance(pk, int)
            or isinstance(pk, bool)
            or not 0 < pk < 2**63
        ):
            raise ValueError
        return value, pk
    except (ValueError, TypeError, json.JSONDecodeError):
        raise Invalid(
            "cursor 无效：请使用上一页响应头 X-Next-Cursor 的原值", {"fields": {"cursor": ["无效"]}}
        ) from None


def cursor_page(
    qs: QuerySet[Complaint], *, sort: str, cursor: str | None, limit: int
) -> tuple[list[Complaint], str | None]:
    """One page in a stable order (the sort field, then id); the cursor names the last row seen, so
    rows added meanwhile never shift a page."""
    descending = sort.startswith("-")
    field = SORT_FIELDS[sort.lstrip("-")]
    qs = qs.order_by(f"-{field}", "-id") if descending else qs.order_by(field, "id")
    if cursor:
        value, pk = _decode(cursor)
        op = "lt" if descending else "gt"
        qs = qs.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}))
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, _encode(getattr(last, field), last.pk)


# --- statistics -----------------------------------------------------------------------------------


def statistics(qs: QuerySet[Complaint]) -> dict:
    """A small summary of the cases the caller can see (the Analytics module adds the rest)."""

    qs = qs.order_by()
    by_state = list(
        qs.values("process_id", "state").annotate(n=Count("id")).order_by("process_id", "state")
    )
    processes = ProcessDefinition.objects.in_bulk({row["process_id"] for row in by_state})
    merged: dict[tuple[str, str], int] = {}
    labels: dict[tuple[str, str], str] = {}
    for row in by_state:
        process = processes[row["process_id"]]
        key = (process.name, row["state"])
        merged[key] = merged.get(key, 0) + row["n"]
        labels[key] = process.definition.state_label(row["state"])
    by_department = list(
        qs.values("department_id").annotate(n=Count("id")).order_by("-n", "department_id")
    )
    departments = Department.objects.in_bulk(
        {row["department_id"] for row in by_department if row["department_id"]}
    )
    total = sum(merged.values())
    closed = qs.filter(closed_at__isnull=False).count()
    return {
        "total": total,
        "open": total - closed,
        "closed": closed,
        "overdue": selectors.filter_by_clock(qs, "overdue").count(),
        "due_soon": selectors.filter_by_clock(qs, "due_soon").count(),
        "by_state": [
            {"process": p, "state": s, "label": labels[(p, s)], "count": n}
            for (p, s), n in sorted(merged.items())
        ],
        "by_department": [
            {
                "department": departments[d].code if d else None,
                "name": departments[d].name if d else "未分派",
                "count": row["n"],
            }
            for row in by_department
            for d in [row["department_id"]]
        ],
    }
