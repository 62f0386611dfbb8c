"""/api/v1 for owners: assign, reassign and claim a case or task; a department's workload; its
assignment policy (administrators). Thin: the services decide."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from tousu.accounts.models import Department, User
from tousu.api import access
from tousu.api.params import DepartmentCode, Id
from tousu.api.schemas import READ, WRITE, Strict, Text
from tousu.cases.errors import Forbidden, NotFound

from . import selectors, services
from .models import AssignmentPolicy

router = Router(tags=["承办与督办"])


class AssignIn(Strict):
    owner: Text = Field(max_length=150, description="承办人的用户名（该部门的经办人或科室负责人）")
    reason: Text = Field("", max_length=500, description="理由；改派时必填")


class Assigned(Schema):
    event_id: int
    owner: str = Field(description="承办人用户名")
    owner_name: str


def _task(complaint, task_id: int):
    task = complaint.tasks.select_related("department", "complaint").filter(pk=task_id).first()
    if task is None:
        raise NotFound(f"投诉 {complaint.pk} 没有任务 {task_id}")
    return task


def _assign(request, target, payload: AssignIn):
    owner = User.objects.filter(username=payload.owner).first()
    event = services.assign(
        target,
        owner,
        by=request.user,
        reason=payload.reason,
        via="api",
        actor_name=access.actor(request),
    )
    return Status(200, {"event_id": event.pk, "owner": owner.username, "owner_name": str(owner)})


def _claim(request, target):
    event = services.claim(target, request.user, via="api", actor_name=access.actor(request))
    return Status(
        200, {"event_id": event.pk, "owner": request.user.username, "owner_name": str(request.user)}
    )


@router.post(
    "/complaints/{complaint_id}/owner",
    response={200: Assigned, **WRITE},
    summary="指派或改派承办人",
)
def assign_case(request, complaint_id: Id, payload: AssignIn):
    """责任部门的科室负责人或领导指派；改派须说明理由。每次指派都记为案件事件，并通知新旧承办人。"""
    return _assign(request, access.complaint(request, complaint_id), payload)


@router.post(
    "/complaints/{complaint_id}/claim", response={200: Assigned, **WRITE}, summary="认领投诉"
)
def claim_case(request, complaint_id: Id):
    """责任部门的经办人认领尚未指派承办人的投诉。"""
    return _claim(request, access.complaint(request, complaint_id))


@router.post(
    "/complaints/{complaint_id}/tasks/{task_id}/owner",
    response={200: Assigned, **WRITE},
    summary="指派或改派任务承办人",
)
def assign_task(request, complaint_id: Id, task_id: Id, payload: AssignIn):
    complaint = access.complaint(request, complaint_id)
    return _assign(request, _task(complaint, task_id), payload)


@router.post(
    "/complaints/{complaint_id}/tasks/{task_id}/claim",
    response={200: Assigned, **WRITE},
    summary="认领任务",
)
def claim_task(request, complaint_id: Id, task_id: Id):
    complaint = access.complaint(request, complaint_id)
    return _claim(request, _task(complaint, task_id))


class WorkloadFilters(Schema):
    department: str | None = Field(
        None, max_length=50, description="部门代码；科室负责人只能查看本部门"
    )


class LoadOut(Schema):
    owner: str | None = Field(description="承办人用户名；null 为未指派承办人")
    owner_name: str
    open: int = Field(description="在办件数（一件投诉只计一次）")
    due_soon: int = Field(description="即将到期（已过预警时间）")
    overdue: int = Field(description="已超时")
    supervised: int = Field(description="督办中")


@router.get("/workload", response={200: list[LoadOut], **READ}, summary="部门工作量")
def workload(request, filters: Query[WorkloadFilters]):
    """按承办人列出部门的在办、即将到期、已超时和督办中的投诉，最后一行是未指派承办人的。"""
    departments = selectors.workload_departments(request.user)
    if not departments:
        raise Forbidden("工作量视图供科室负责人、领导、投诉专员和审计查看")
    if filters.department:
        department = next((d for d in departments if d.code == filters.department), None)
        if department is None:
            if Department.objects.filter(code=filters.department).exists():
                raise Forbidden("您只能查看本部门的工作量")
            raise NotFound(f"部门「{filters.department}」不存在")
    else:
        department = next(
            (d for d in departments if d.pk == request.user.department_id), departments[0]
        )
    return Status(
        200,
        [
            {
                "owner": r.user.username if r.user else None,
                "owner_name": r.label,
                "open": r.open,
                "due_soon": r.due_soon,
                "overdue": r.overdue,
                "supervised": r.supervised,
            }
            for r in selectors.workload(department)
        ],
    )


class PolicyIn(Strict):
    mode: Literal["manual", "round_robin", "least_open"] = Field(
        description="manual 人工指派；round_robin 轮流分派；least_open 分派给在办件最少的经办人"
    )


class PolicyOut(Schema):
    department: str
    mode: str
    mode_label: str


@router.put(
    "/departments/{code}/assignment", response={200: PolicyOut, **WRITE}, summary="设置部门分派方式"
)
def set_policy(request, code: DepartmentCode, payload: PolicyIn):
    """管理员把部门设为人工指派，或自动分派（轮流、在办件最少）。"""
    department = Department.objects.filter(code=code).first()
    if department is None:
        raise NotFound(f"部门「{code}」不存在")
    policy = services.set_policy(department, payload.mode, by=request.user)
    return Status(
        200,
        {
            "department": department.code,
            "mode": policy.mode,
            "mode_label": dict(AssignmentPolicy.MODES)[policy.mode],
        },
    )
