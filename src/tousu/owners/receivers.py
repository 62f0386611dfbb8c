"""Arrivals, from the engine's signals (inside the transaction that moved the case): a case whose
responsible department is set or changed, and each task an action opens, reach their department.
One action is one hand-off: a department told of the case is not told again of its task."""

from __future__ import annotations

from tousu.cases.models import Task

from . import services

DEPARTMENT_FIELDS = ("category", "department", "departments")


def complaint_registered(sender, complaint, event, **kwargs) -> None:
    if complaint.department_id and not complaint.is_final:
        services.arrive(complaint, key=f"e{event.pk}")


def action_applied(sender, complaint, action, event, **kwargs) -> None:
    key = f"e{event.pk}"
    moved = any(f.type in DEPARTMENT_FIELDS and f.name in event.payload for f in action.form)
    if moved and complaint.owner_id:
        owner_dept = (
            type(complaint.owner)
            .objects.filter(pk=complaint.owner_id)
            .values_list("department_id", flat=True)
            .first()
        )
        if owner_dept != complaint.department_id:
            services.release(complaint, key=key)
    told: set[int] = set()
    is_open = complaint.closed_at is None and not complaint.is_final
    if moved and is_open and complaint.department_id and complaint.owner_id is None:
        services.arrive(complaint, key=key)
        told.add(complaint.department_id)
    if not action.tasks.open:
        return
    for task in Task.objects.filter(opened_by=event).select_related("department", "complaint"):
        owner = complaint.owner if complaint.owner_id else None
        if owner is not None and owner.department_id == task.department_id:
            services.inherit(task, owner)  # the case's owner carries on with its new task
        elif task.department_id in told:
            continue  # the department heard of the case a moment ago
        else:
            services.arrive(task, key=f"{key}:t{task.pk}")
            told.add(task.department_id)
