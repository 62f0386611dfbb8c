"""Arrivals, from the engine's signals (inside the transaction that moved the case): a case whose
responsible department is set or changed, and each task an action opens, reach their department."""

from __future__ import annotations

from tousu.cases.models import Task

from . import services

DEPARTMENT_FIELDS = ("category", "department", "departments")


def complaint_registered(sender, complaint, event, **kwargs) -> None:
    if complaint.department_id and not complaint.is_final:
        services.arrive(complaint, key=f"e{event.pk}")


def action_applied(sender, complaint, action, event, **kwargs) -> None:
    moved = any(f.type in DEPARTMENT_FIELDS and f.name in event.payload for f in action.form)
    if moved and complaint.owner_id:
        owner_dept = (
            type(complaint.owner)
            .objects.filter(pk=complaint.owner_id)
            .values_list("department_id", flat=True)
            .first()
        )
        if owner_dept != complaint.department_id:
            services.release(complaint, key=f"e{event.pk}")
    is_open = complaint.closed_at is None and not complaint.is_final
    if moved and is_open and complaint.department_id and complaint.owner_id is None:
        services.arrive(complaint, key=f"e{event.pk}")
    if not action.tasks.open:
        return
    owner = complaint.owner if complaint.owner_id else None
    for task in Task.objects.filter(opened_by=event).select_related("department", "complaint"):
        if owner is not None and owner.department_id == task.department_id:
            services.inherit(task, owner)
        else:
            services.arrive(task, key=f"e{event.pk}:t{task.pk}")
