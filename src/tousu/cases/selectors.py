"""Reads on cases, with the visibility rule: departmental staff see their department's cases."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from tousu.accounts.models import User

from .errors import Forbidden, NotFound
from .models import Complaint, Task


def visible_complaints(user: User) -> QuerySet[Complaint]:
    qs = Complaint.objects.select_related("process", "category", "department")
    if not user.is_authenticated or not user.role_codes:
        return qs.none()
    if user.is_departmental_only:
        if not user.department_id:
            return qs.none()
        has_task = Task.objects.filter(complaint=OuterRef("pk"), department_id=user.department_id)
        return qs.filter(Q(department_id=user.department_id) | Exists(has_task))
    return qs


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
    complaint = Complaint.objects.select_related("process", "category", "department").filter(pk=pk).first()
    if complaint is None:
        raise NotFound(f"投诉 {pk} 不存在")
    if not can_see(user, complaint):
        raise Forbidden("您无权查看该投诉：它不属于您的部门")
    return complaint


def case_detail(complaint: Complaint) -> dict:
    """Everything a case page or API reader needs, in few queries."""
    return {
        "parties": list(complaint.parties.all()),
        "tasks": list(complaint.tasks.select_related("department")),
        "events": list(complaint.events.select_related("actor")),
        "attachments": list(complaint.attachments.all()),
        "clocks": list(complaint.clocks.all()),
    }
