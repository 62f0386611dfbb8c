"""Staff pages for owners: the department's workload, and assigning or claiming a case or task.
Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tousu.accounts.models import Department, User
from tousu.cases import selectors as case_selectors
from tousu.cases.errors import CaseError, Forbidden, NotFound
from tousu.web.redirects import local_next

from . import selectors, services


def _error(request, message: str, status: int):
    return render(request, "web/error.html", {"message": message}, status=status)


def _case(request, pk):
    try:
        return case_selectors.complaint_for(request.user, pk), None
    except Forbidden as exc:
        return None, _error(request, exc.message, 403)
    except NotFound as exc:
        return None, _error(request, exc.message, 404)


def _target(complaint, task_id):
    if task_id is None:
        return complaint
    return complaint.tasks.select_related("department", "complaint").filter(pk=task_id).first()


def _back(request, pk):
    return redirect(local_next(request) or f"/staff/cases/{pk}/")


@login_required
@require_POST
def assign(request, pk, task_id=None):
    complaint, error = _case(request, pk)
    if error:
        return error
    target = _target(complaint, task_id)
    if target is None:
        return _error(request, "任务不存在", 404)
    owner = User.objects.filter(username=request.POST.get("owner", "")[:150]).first()
    try:
        services.assign(target, owner, by=request.user, reason=request.POST.get("reason", "")[:500])
        messages.success(request, f"已指派承办人：{owner}")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
@require_POST
def claim(request, pk, task_id=None):
    complaint, error = _case(request, pk)
    if error:
        return error
    target = _target(complaint, task_id)
    if target is None:
        return _error(request, "任务不存在", 404)
    try:
        services.claim(target, request.user)
        messages.success(request, "已认领，由您承办")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
def workload(request):
    departments = selectors.workload_departments(request.user)
    if not departments:
        return _error(request, "工作量视图供科室负责人、领导、投诉专员和审计查看", 403)
    code = request.GET.get("department", "")
    department = next((d for d in departments if d.code == code), None)
    if code and department is None:
        exists = Department.objects.filter(code=code).exists()
        return _error(
            request, "您只能查看本部门的工作量" if exists else "部门不存在", 403 if exists else 404
        )
    if department is None:
        own = request.user.department_id
        department = next((d for d in departments if d.pk == own), departments[0])
    rows = selectors.workload(department)
    return render(
        request,
        "owners/workload.html",
        {
            "department": department,
            "departments": departments,
            "rows": rows,
            "totals": {
                "open": sum(r.open for r in rows),
                "due_soon": sum(r.due_soon for r in rows),
                "overdue": sum(r.overdue for r in rows),
                "supervised": sum(r.supervised for r in rows),
            },
        },
    )
