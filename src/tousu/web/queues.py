"""The case queues: parameters from the query string, the filtered and sorted queryset, and bulk
assignment through the engine."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from urllib.parse import urlencode

from django.db.models import Q, QuerySet

from tousu.accounts.models import Department, User
from tousu.cases import engine, selectors
from tousu.cases.errors import CaseError
from tousu.cases.models import FLAG_LABELS, Complaint
from tousu.owners import selectors as owners
from tousu.processes.models import Category, ProcessDefinition
from tousu.supervision import selectors as supervision

from .keyset import Key, KeysetPage, Segment, bounded_count, count_text, paginate, split_nullable

# Each sort ends with the id, so that every position in it is unique (keyset pagination).
SORTS = {
    "-received": ((Key("received_at", desc=True), Key("id", desc=True)), "接收时间（新→旧）"),
    "received": ((Key("received_at"), Key("id")), "接收时间（旧→新）"),
    "due": (
        (
            Key("next_due_at", nullable=True),  # cases with no running clock last
            Key("received_at", desc=True),
            Key("id", desc=True),
        ),
        "最近截止",
    ),
    "-updated": ((Key("updated_at", desc=True), Key("id", desc=True)), "最近更新"),
}
SCOPES = {"mine": "我的待办", "department": "本部门", "all": "全部"}


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass
class QueueParams:
    scope: str = "all"
    q: str = ""
    state: str = ""
    category: str = ""
    department: str = ""
    channel: str = ""
    clock: str = ""
    flag: str = ""
    owner: str = ""  # "me", "none" or a username (tousu.owners)
    supervision: str = ""  # 督办: open, overdue, answered, any
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "-received"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, get) -> QueueParams:
        p = cls(
            scope=get.get("scope", "all"),
            q=get.get("q", "").strip()[:100],
            state=get.get("state", "")[:50],
            category=get.get("category", "")[:50],
            department=get.get("department", "")[:50],
            channel=get.get("channel", "")[:20],
            clock=get.get("clock", ""),
            flag=get.get("flag", "")[:50],
            owner=get.get("owner", "")[:150],
            supervision=get.get("supervision", "")[:20],
            date_from=_date(get.get("date_from", "")),
            date_to=_date(get.get("date_to", "")),
            sort=get.get("sort", "-received"),
        )
        if p.scope not in SCOPES:
            p.scope = "all"
        if p.sort not in SORTS:
            p.sort = "-received"
        if p.clock not in selectors.CLOCK_FILTERS:
            p.clock = ""
        if p.supervision not in supervision.FILTERS:
            p.supervision = ""
        for key in ("date_from", "date_to"):
            if get.get(key) and getattr(p, key) is None:
                p.errors.append(f"日期「{get.get(key)}」无效，应为 YYYY-MM-DD")
        return p

    def querystring(self, **override) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}
        values.update(override)
        return urlencode(
            {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items() if v}
        )


def queue(user: User, p: QueueParams) -> QuerySet[Complaint]:
    qs = selectors.filter_complaints(
        selectors.visible_complaints(user),
        user,
        scope=p.scope,
        q=p.q,
        state=p.state,
        category=p.category,
        department=p.department,
        channel=p.channel,
        clock=p.clock,
        flag=p.flag,
        received_from=p.date_from,
        received_to=p.date_to,
    )
    qs = supervision.filter_supervised(owners.filter_owner(qs, user, p.owner), p.supervision)
    return selectors.with_next_due(qs)


def sort_keys(p: QueueParams) -> list[Key]:
    return list(SORTS[p.sort][0])


def page(user: User, p: QueueParams, get, *, size: int = 25) -> KeysetPage:
    """One page of the queue (keyset: as fast at page 200 as at page 1) and its bounded count."""
    qs = queue(user, p)
    result = paginate(qs, sort_keys(p), get, size=size, base_query=p.querystring())
    result.total = count_text(bounded_count(qs))
    return result


TODO_KEYS = (
    Key("next_due_at", nullable=True),  # nearest deadline first, cases without one last
    Key("received_at", desc=True),
    Key("id", desc=True),
)


def todo_segments(user: User) -> list[Segment]:
    """The to-do's order (owners.mine_first): what the user holds, then what nobody holds yet, then
    the rest, each by nearest deadline. One segment per part, so that a screen reads one index
    range instead of ranking and sorting the whole to-do."""
    held = owners.held_by(user)
    parts = (held, ~held & Q(owner__isnull=True), ~held & Q(owner__isnull=False))
    return [segment for part in parts for segment in split_nullable(part, TODO_KEYS)]


def choices(user: User) -> dict:
    states, channels = {}, {}
    for process in ProcessDefinition.objects.filter(is_active=True):
        d = process.definition
        states.update({s.name: s.label for s in d.states})
        channels.update({c.value: c.label for c in d.channels})
    return {
        "scopes": SCOPES,
        "states": states,
        "channels": channels,
        "categories": dict(Category.objects.filter(is_active=True).values_list("code", "label")),
        "departments": dict(Department.objects.filter(is_active=True).values_list("code", "name")),
        "clocks": selectors.CLOCK_FILTERS,
        "flags": FLAG_LABELS,
        "owners": owners.owner_choices(user),
        "supervision": supervision.FILTERS,
        "sorts": {k: v[1] for k, v in SORTS.items()},
    }


@dataclass
class BulkResult:
    done: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def bulk_assign(user: User, ids: list[int], department_code: str) -> BulkResult:
    """Send each selected case to a department through the engine: the user's possible action that
    chooses a department (and asks for nothing else that is required) is applied, case by case."""
    result = BulkResult()
    department = Department.objects.filter(code=department_code, is_active=True).first()
    if department is None:
        result.skipped.append(("—", "请选择部门"))
        return result
    for complaint in selectors.visible_complaints(user).filter(pk__in=ids[:200]):
        action = next(
            (
                a
                for a in engine.possible_actions(complaint, user)
                if any(f.type == "department" for f in a.form)
                and all(not f.required or f.type in ("department", "category") for f in a.form)
            ),
            None,
        )
        if action is None:
            result.skipped.append(
                (complaint.tracking_number, f"当前状态「{complaint.state_label}」下不能分派")
            )
            continue
        data = {f.name: department.code for f in action.form if f.type == "department"}
        for f in action.form:
            if f.type == "category":
                category = (
                    complaint.category
                    or Category.objects.filter(
                        process_name=complaint.process.name, department=department, is_active=True
                    ).first()
                )
                if category:
                    data[f.name] = category.code
        try:
            engine.apply_action(
                complaint, user, action.name, data=data, version=complaint.version, via="web"
            )
            result.done += 1
        except CaseError as exc:
            result.skipped.append((complaint.tracking_number, exc.message))
    return result
