"""Reads on 督办: the queue's filter, the state of a page of cases, a case's supervisions and the
dashboard's figures (督办件 and their on-time rate)."""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tousu.cases.engine import is_routine
from tousu.cases.models import Complaint
from tousu.processes.models import ProcessDefinition

from .models import Supervision

FILTERS = {
    "open": "督办中",
    "overdue": "督办已超时",
    "answered": "督办已回复",
    "any": "全部督办件",
}


def filter_supervised(qs: QuerySet[Complaint], value: str, now: datetime | None = None):
    if value not in FILTERS:
        return qs
    now = now or timezone.now()
    s = Supervision.objects.filter(complaint=OuterRef("pk"))
    if value == "open":
        s = s.filter(state=Supervision.OPEN)
    elif value == "overdue":
        s = s.filter(state=Supervision.OPEN, due_at__lt=now)
    elif value == "answered":
        s = s.filter(state=Supervision.ANSWERED)
    return qs.filter(Exists(s))


def label_rows(complaints, now: datetime | None = None) -> None:
    """`supervision` on each case of a page: its open 督办 (or None) and whether it is overdue."""
    now = now or timezone.now()
    complaints = list(complaints)
    open_ = {
        s.complaint_id: s
        for s in Supervision.objects.filter(
            complaint_id__in=[c.pk for c in complaints], state=Supervision.OPEN
        )
    }
    for c in complaints:
        s = open_.get(c.pk)
        c.supervision = s
        c.supervision_overdue = bool(s and s.due_at < now)


def for_case(complaint: Complaint) -> list[Supervision]:
    return list(complaint.supervisions.select_related("clock").order_by("-placed_at", "-pk"))


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(f, now: datetime | None = None) -> dict:
    """督办件 placed in the period (with the filters' departments, category and templates): how many,
    answered, answered in time, still open and overdue; the on-time rate counts the answered ones
    and the open ones already past their deadline."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    start = datetime.combine(f.period.start, time.min, tz)
    end = datetime.combine(f.period.end, time.min, tz)
    qs = Supervision.objects.filter(placed_at__gte=start, placed_at__lt=end)
    if f.department_ids:
        qs = qs.filter(complaint__department_id__in=f.department_ids)
    if f.category_id:
        qs = qs.filter(complaint__category_id=f.category_id)
    if f.process_ids:
        qs = qs.filter(complaint__process_id__in=f.process_ids)
    placed = answered = on_time = open_ = overdue = 0
    for state, ok, due in qs.values_list("state", "on_time", "due_at"):
        placed += 1
        if state == Supervision.ANSWERED:
            answered += 1
            on_time += bool(ok)
        else:
            open_ += 1
            overdue += due < now
    decided = answered + overdue  # an open one past its deadline can no longer be on time
    return {
        "placed": placed,
        "answered": answered,
        "on_time": on_time,
        "late": answered - on_time,
        "open": open_,
        "overdue": overdue,
        "on_time_rate": rate(on_time, decided),
    }


def decision_states(definition) -> frozenset[str]:
    """States in which a case waits for a leader's decision: a leader may move it on from there by
    an action that is not routine. A leader's optional record (no change of state) is no decision."""

    return frozenset(
        s
        for a in definition.actions
        if "leader" in a.roles and a.to and not is_routine(a) and "any" not in a.source
        for s in a.source
        if s != a.to
    )


def awaiting_leader() -> Q:
    """Cases (of every installed flow version) in a state that waits for a leader's decision."""

    condition = Q(pk__in=[])
    for process in ProcessDefinition.objects.all():
        if states := decision_states(process.definition):
            condition |= Q(process_id=process.pk, state__in=sorted(states))
    return condition
