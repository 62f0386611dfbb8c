"""Reads on owners: who holds what, "my to-do" in the order person first then department, the
department's workload per person, the queue's owner filter and the dashboard's figures per owner."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from tousu.accounts.models import Department, User
from tousu.cases.models import Complaint, Task
from tousu.clocks.models import Clock
from tousu.supervision.models import Supervision

from .services import assignable_users

WORKLOAD_ALL_ROLES = ("leader", "officer", "auditor", "admin")
OWNER_FILTERS = {"me": "我承办的", "none": "未指派承办人"}


def _open_tasks_of(user_id) -> QuerySet:
    return Task.objects.filter(owner_id=user_id, state=Task.OPEN).values("complaint_id")


def held_by(user: User) -> Q:
    """Cases the user holds: as the case's owner or as owner of one of its open tasks."""
    return Q(owner_id=user.pk) | Q(pk__in=_open_tasks_of(user.pk))


def unassigned() -> Q:
    return Q(owner__isnull=True) & ~Q(
        pk__in=Task.objects.filter(state=Task.OPEN, owner__isnull=False).values("complaint_id")
    )


def filter_owner(qs: QuerySet[Complaint], user: User, value: str) -> QuerySet[Complaint]:
    """ "me", "none", or a username."""
    if not value:
        return qs
    if value == "me":
        return qs.filter(held_by(user))
    if value == "none":
        return qs.filter(unassigned())
    person = User.objects.filter(username=value).first()
    return qs.filter(held_by(person)) if person else qs.none()


def mine_first(qs: QuerySet[Complaint], user: User) -> QuerySet[Complaint]:
    """ "我的待办": what the user holds first, then what nobody holds yet (the department's), then
    the rest; the caller adds the deadline order within each."""
    return qs.annotate(
        holder_rank=Case(
            When(held_by(user), then=Value(0)),
            When(owner__isnull=True, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    )


def label_rows(complaints) -> None:
    """For a page of cases: `owner_label` (the case's owner, or the owners of its open tasks) on
    each, in one query."""
    complaints = list(complaints)
    ids = [c.pk for c in complaints]
    task_owners: dict[int, list[int]] = defaultdict(list)
    for cid, uid in Task.objects.filter(
        complaint_id__in=ids, state=Task.OPEN, owner__isnull=False
    ).values_list("complaint_id", "owner_id"):
        task_owners[cid].append(uid)
    people = {
        u.pk: str(u)
        for u in User.objects.filter(
            pk__in={c.owner_id for c in complaints if c.owner_id}
            | {u for v in task_owners.values() for u in v}
        )
    }
    for c in complaints:
        names = [people[c.owner_id]] if c.owner_id else []
        names += [people[u] for u in task_owners.get(c.pk, []) if people[u] not in names]
        c.owner_label = "、".join(names)


def may_see_workload(user: User, department: Department) -> bool:
    if user.has_role(*WORKLOAD_ALL_ROLES) or user.is_superuser:
        return True
    return user.has_role("dept_head") and user.department_id == department.pk


def workload_departments(user: User) -> list[Department]:
    if user.has_role(*WORKLOAD_ALL_ROLES) or user.is_superuser:
        return list(Department.objects.filter(is_active=True))
    if user.has_role("dept_head") and user.department_id:
        return list(Department.objects.filter(pk=user.department_id))
    return []


@dataclass
class Load:
    label: str
    user: User | None = None
    cases: set = field(default_factory=set)
    due_soon: int = 0
    overdue: int = 0
    supervised: int = 0

    @property
    def open(self) -> int:
        return len(self.cases)


def workload(department: Department, now: datetime | None = None) -> list[Load]:
    """Per person of the department (handlers and heads), then "not assigned": the open cases they
    hold, how many are due soon (past a running clock's warning time) and overdue (a running clock
    past due), and how many are under 督办."""

    now = now or timezone.now()
    people = list(assignable_users(department.pk))
    rows = {u.pk: Load(label=str(u), user=u) for u in people}
    pending = Load(label="未指派承办人")
    nearest: dict[int, datetime | None] = {}
    for pk, owner, due in Complaint.objects.filter(
        owner_id__in=list(rows), closed_at__isnull=True
    ).values_list("pk", "owner_id", "next_due_at"):
        rows[owner].cases.add(pk)
        nearest[pk] = due
    for pk, owner, due in Task.objects.filter(owner_id__in=list(rows), state=Task.OPEN).values_list(
        "complaint_id", "owner_id", "complaint__next_due_at"
    ):
        rows[owner].cases.add(pk)
        nearest[pk] = due
    for pk, due in (
        Complaint.objects.filter(department=department, closed_at__isnull=True)
        .filter(unassigned())
        .values_list("pk", "next_due_at")
    ):
        pending.cases.add(pk)
        nearest[pk] = due
    for pk, due in Task.objects.filter(
        department=department, state=Task.OPEN, owner__isnull=True
    ).values_list("complaint_id", "complaint__next_due_at"):
        pending.cases.add(pk)
        nearest[pk] = due
    due_soon = set(
        Clock.objects.filter(
            complaint_id__in=list(nearest),
            state=Clock.RUNNING,
            warn_at__lte=now,
            due_at__gte=now,
        ).values_list("complaint_id", flat=True)
    )
    supervised = set(
        Supervision.objects.filter(
            complaint_id__in=list(nearest), state=Supervision.OPEN
        ).values_list("complaint_id", flat=True)
    )
    out = [*rows.values(), pending]
    for row in out:
        row.overdue = sum(1 for pk in row.cases if nearest[pk] and nearest[pk] < now)
        row.due_soon = sum(1 for pk in row.cases if pk in due_soon and not (nearest[pk] < now))
        row.supervised = len(row.cases & supervised)
    return out


def people_figures(f, now: datetime | None = None, limit: int = 30) -> list[dict]:
    """The dashboard's table per owner for the period and filters: cases held (received in the
    period), closed, still open, and those with a breached clock."""
    from datetime import datetime as dt
    from datetime import time

    tz = timezone.get_current_timezone()
    start = dt.combine(f.period.start, time.min, tz)
    end = dt.combine(f.period.end, time.min, tz)
    qs = Complaint.objects.filter(received_at__gte=start, received_at__lt=end, owner__isnull=False)
    if f.department_ids:
        qs = qs.filter(department_id__in=f.department_ids)
    if f.category_id:
        qs = qs.filter(category_id=f.category_id)
    if f.process_ids:
        qs = qs.filter(process_id__in=f.process_ids)
    held: dict[int, list] = defaultdict(list)
    for pk, owner, closed in qs.values_list("pk", "owner_id", "closed_at"):
        held[owner].append((pk, closed))
    if not held:
        return []
    late = set(
        Clock.objects.filter(
            complaint_id__in=[pk for rows in held.values() for pk, _ in rows],
            breached_at__isnull=False,
        ).values_list("complaint_id", flat=True)
    )
    users = User.objects.select_related("department").in_bulk(list(held))
    out = []
    for owner, rows in held.items():
        u = users.get(owner)
        closed = sum(1 for _, c in rows if c)
        out.append(
            {
                "label": str(u) if u else "—",
                "department": str(u.department) if u and u.department else "",
                "held": len(rows),
                "closed": closed,
                "open": len(rows) - closed,
                "late": sum(1 for pk, _ in rows if pk in late),
            }
        )
    out.sort(key=lambda r: (-r["held"], r["label"]))
    return out[:limit]


def owner_choices(user: User) -> dict[str, str]:
    """The queue's 承办人 filter: me, nobody, and the people of the user's department (or, for the
    office and leaders, everyone who can hold cases)."""
    choices = dict(OWNER_FILTERS)
    people = User.objects.filter(is_active=True, roles__code__in=("handler", "dept_head"))
    if user.is_departmental_only:
        people = people.filter(department_id=user.department_id)
    for u in (
        people.distinct().select_related("department").order_by("department__code", "pk")[:300]
    ):
        choices[u.username] = f"{u}（{u.department}）" if u.department else str(u)
    return choices
