"""Reads on cases, with the visibility rule: departmental staff see their department's cases."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from tousu.accounts.models import Department, Organisation, User
from tousu.accounts.roles import DEPARTMENTAL_ROLES
from tousu.processes.models import Category, ProcessDefinition
from tousu.processes.selectors import active_process

from .errors import Forbidden, NotFound
from .models import Complaint, Task
from .privacy import CaseMask, may_reveal


def visible_complaints(user: User) -> QuerySet[Complaint]:
    qs = Complaint.objects.select_related("process", "category", "department")
    if not user.is_authenticated or not user.role_codes:
        return qs.none()
    if user.is_departmental_only:
        if not user.department_id:
            return qs.none()
        # Uncorrelated IN-subqueries: evaluated once from their own index, not once per case.
        tasked = Task.objects.filter(department_id=user.department_id).values("complaint_id")
        return qs.filter(Q(department_id=user.department_id) | Q(pk__in=tasked))
    return qs


CLOCK_FILTERS = {"overdue": "已超时", "due_soon": "即将到期", "provisional": "暂定时限"}


def filter_by_clock(qs: QuerySet[Complaint], status: str, now=None) -> QuerySet[Complaint]:
    """Cases with a running clock that is overdue, due soon (past its warning time) or provisional."""
    from django.utils import timezone

    now = now or timezone.now()
    if status == "overdue":  # the nearest running clock is overdue iff any is
        return qs.filter(next_due_at__lt=now)
    condition = {
        "due_soon": Q(clocks__warn_at__lte=now, clocks__due_at__gte=now),
        "provisional": Q(clocks__provisional=True),
    }[status]
    # Through the case's reverse relation, in one filter() so that one clock meets every
    # condition; "running" is Clock.RUNNING (tousu.clocks sits above cases: no import).
    running = Complaint.objects.filter(condition, clocks__state="running")
    return qs.filter(pk__in=running.values("pk"))


def can_see(user: User, complaint: Complaint) -> bool:
    if not user.is_authenticated or not user.role_codes:
        return False
    if not user.is_departmental_only:
        return True
    dept = user.department_id
    return bool(dept) and (
        complaint.department_id == dept or complaint.tasks.filter(department_id=dept).exists()
    )


def complaint_for(user: User, pk: int) -> Complaint:
    """The case if the user may see it; NotFound if there is none, Forbidden if it is another
    department's."""
    complaint = (
        Complaint.objects.select_related("process", "category", "department").filter(pk=pk).first()
    )
    if complaint is None:
        raise NotFound(f"投诉 {pk} 不存在")
    if not can_see(user, complaint):
        raise Forbidden("您无权查看该投诉：它不属于您的部门")
    return complaint


def case_detail(complaint: Complaint) -> dict:
    """Everything a case page or API reader needs, in few queries."""
    return {
        "parties": list(complaint.parties.all()),
        "tasks": list(complaint.tasks.select_related("department", "owner")),
        "events": list(complaint.events.select_related("actor")),
        "attachments": list(complaint.attachments.all()),
        "clocks": list(complaint.clocks.all()),
    }


def _display_value(field, value, names: dict[str, str]) -> str:
    if field is None:
        values = value if isinstance(value, list) else [value]
        return "、".join(names.get(v, str(v)) if isinstance(v, str) else str(v) for v in values)
    if field.type == "boolean":
        return "是" if value else "否"
    if field.type in ("choice", "multichoice"):
        labels = {c.value: c.label for c in field.choices}
        values = value if isinstance(value, list) else [value]
        return "、".join(labels.get(v, v) for v in values)
    if field.type in ("category", "department", "departments", "users"):
        values = value if isinstance(value, list) else [value]
        return "、".join(names.get(v, v) for v in values)
    return str(value)


def _names(complaint: Complaint, values) -> dict[str, str]:
    """Display names of the codes among `values`: departments, categories, users, channels."""

    codes = {
        v
        for value in values
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, str)
    }
    names = dict(Department.objects.filter(code__in=codes).values_list("code", "name"))
    names |= dict(
        Category.objects.filter(process_name=complaint.process.name, code__in=codes).values_list(
            "code", "label"
        )
    )
    names |= {u.username: str(u) for u in User.objects.filter(username__in=codes)}
    names |= {c.value: c.label for c in complaint.definition.channels}
    return names


@dataclass(frozen=True)
class EventView:
    """An event as a reader is shown it: its text and form values masked by the reader's mask."""

    pk: int
    action: str
    label: str
    from_state: str
    to_state: str
    actor_name: str
    via: str
    payload: dict
    comment: str
    visibility: str
    public_label: str
    created_at: object


def event_rows(complaint: Complaint, events, *, mask: CaseMask) -> list[tuple[EventView, list]]:
    """Each event, masked, with its payload as (label, text) pairs in the words of the flow's forms.
    Only values a form or PAYLOAD_LABELS names are shown: never a raw key."""
    definition = complaint.definition
    names = _names(complaint, [v for e in events for v in e.payload.values()])
    rows = []
    for e in events:
        action = definition.action(e.action)
        fields = {f.name: f for f in action.form} if action else {}
        payload = mask.payload(e.action, e.payload)
        shown = [
            (
                fields[k].label if k in fields else PAYLOAD_LABELS[k],
                _display_value(fields.get(k), v, names),
            )
            for k, v in payload.items()
            if (k in fields or k in PAYLOAD_LABELS) and v not in (None, "", [])
        ]
        view = EventView(
            pk=e.pk,
            action=e.action,
            label=mask.text(e.label),
            from_state=e.from_state,
            to_state=e.to_state,
            actor_name=mask.text(e.actor_name),
            via=e.via,
            payload=payload,
            comment=mask.text(e.comment),
            visibility=e.visibility,
            public_label=mask.text(e.public_label),
            created_at=e.created_at,
        )
        rows.append((view, shown))
    return rows


def field_rows(complaint: Complaint, *, mask: CaseMask) -> list[tuple[str, str]]:
    """The case's registration fields as (label, text), personal ones masked; keys the definition
    does not name (left by an older version) are not shown."""
    definition = complaint.definition
    data = mask.fields(complaint.fields or {})
    names = _names(complaint, data.values())
    return [
        (f.label, _display_value(f, data[f.name], names))
        for f in definition.fields
        if data.get(f.name) not in (None, "", [])
    ]


def masks_for(complaints, *, reveal: bool = False) -> dict[int, CaseMask]:
    """A mask per case of a list (titles, summaries), from their parties and registration fields in
    one query."""
    from .models import Party

    complaints = list(complaints)
    if reveal:
        return {c.pk: CaseMask(c.definition, reveal=True) for c in complaints}
    parties: dict[int, list] = {}
    for p in Party.objects.filter(complaint_id__in=[c.pk for c in complaints]):
        parties.setdefault(p.complaint_id, []).append(p)
    return {
        c.pk: CaseMask.for_case(c, parties=parties.get(c.pk, []), events=[]) for c in complaints
    }


PAYLOAD_LABELS = {
    "channel": "渠道",
    "checklist": "接待要点",
    "name": "文件",
    "amount": "延长",
    "old_due": "原截止",
    "new_due": "新截止",
}


def path_taken(complaint: Complaint, events) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """States the case has been in and the transitions it took, for the highlighted diagram."""
    visited, taken = {complaint.state}, set()
    for e in events:
        if e.to_state:
            visited.add(e.to_state)
        if e.from_state and e.to_state and e.from_state != e.to_state:
            visited.add(e.from_state)
            taken.add((e.from_state, e.to_state))
    return frozenset(visited), frozenset(taken)


# --- workbench queues -----------------------------------------------------------------------------


def actionable(user: User) -> Q:
    """Cases where `user` has an action now (notes aside): per installed flow version, the states in
    which one of the user's roles may act, restricted to the department for departmental roles."""

    from .engine import is_routine

    condition = Q(pk__in=[])
    dept = user.department_id
    for process in ProcessDefinition.objects.all():
        d = process.definition
        general, departmental = set(), set()
        for action in d.actions:
            if is_routine(action) or "any" in action.source:
                continue
            roles = set(action.roles) & user.role_codes
            if roles - DEPARTMENTAL_ROLES:
                general.update(action.source)
            elif roles:
                departmental.update(action.source)
        if general:
            condition |= Q(process_id=process.pk, state__in=sorted(general))
        if departmental and dept:
            open_task = Task.objects.filter(department_id=dept, state=Task.OPEN).values(
                "complaint_id"
            )
            condition |= Q(process_id=process.pk, state__in=sorted(departmental)) & (
                Q(department_id=dept) | Q(pk__in=open_task)
            )
    return condition


def with_next_due(qs: QuerySet[Complaint]) -> QuerySet[Complaint]:
    """`next_due`: the nearest due time of the case's running clocks (kept on the case row)."""
    return qs.annotate(next_due=F("next_due_at"))


def filter_complaints(
    qs: QuerySet[Complaint],
    user: User,
    *,
    scope: str = "all",
    q: str = "",
    process: str = "",
    state: str = "",
    category: str = "",
    department: str = "",
    channel: str = "",
    clock: str = "",
    flag: str = "",
    closed: bool | None = None,
    received_from=None,
    received_to=None,
) -> QuerySet[Complaint]:
    """The case-list filters shared by the workbench's queues and the API's list."""
    from datetime import datetime, time, timedelta

    from django.db import connection
    from django.utils import timezone

    from . import search

    if scope == "mine":
        qs = qs.filter(actionable(user))
    elif scope == "department":
        if not user.department_id:
            return qs.none()
        # An uncorrelated IN-subquery, not a join with DISTINCT: the rows stay the case rows, so
        # the queue's order and keyset pagination use the case indexes.
        tasked = Task.objects.filter(department_id=user.department_id).values("complaint_id")
        qs = qs.filter(Q(department_id=user.department_id) | Q(pk__in=tasked))
    if q and q.strip():
        # A value the user sees masked must find nothing (cases/privacy.py).
        qs = search.filter_text(qs, q.strip(), personal=may_reveal(user))
    if process:
        qs = qs.filter(process__name=process)
    if state:
        qs = qs.filter(state=state)
    if category:
        qs = qs.filter(category__code=category)
    if department:
        qs = qs.filter(department__code=department)
    if channel:
        qs = qs.filter(channel=channel)
    if clock:
        qs = filter_by_clock(qs, clock)
    if flag:
        if connection.vendor == "postgresql":
            qs = qs.filter(flags__contains=[flag])
        else:
            qs = qs.filter(flags__icontains=f'"{flag}"')  # SQLite has no JSON containment lookup
    if closed is not None:
        qs = qs.filter(closed_at__isnull=not closed)
    tz = timezone.get_current_timezone()
    if received_from:
        qs = qs.filter(received_at__gte=datetime.combine(received_from, time.min, tz))
    if received_to:
        qs = qs.filter(
            received_at__lt=datetime.combine(received_to + timedelta(days=1), time.min, tz)
        )
    return qs


def may_register(user) -> bool:
    """The user holds a role the installed flow lets register complaints."""

    process = active_process(Organisation.current().default_process)
    return bool(process and set(user.role_codes) & set(process.definition.registration.roles))
