"""Reference data and the caller's own things: departments, categories, users (read only), who
the token acts as, the department work list (tasks) and the notification inbox."""

from typing import Literal

from django.db.models import Prefetch, Q
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from tousu.accounts.models import ApiToken, Department, Role, User
from tousu.cases.errors import NotFound
from tousu.cases.models import Task
from tousu.cases.privacy import mask_text
from tousu.cases.selectors import masks_for
from tousu.clocks.models import Notification
from tousu.processes.models import Category

from . import access
from .params import DepartmentCode, Username
from .schemas import (
    CategoryOut,
    DepartmentOut,
    MarkedRead,
    MeOut,
    NotificationOut,
    TaskListItem,
    UserOut,
    errors,
)

router = Router()
Code = Field(None, pattern=r"^[-a-zA-Z0-9_]+$", max_length=50)


def _department(d: Department) -> dict:
    return {
        "code": d.code,
        "name": d.name,
        "parent": d.parent.code if d.parent_id else None,
        "site": d.site,
        "is_active": d.is_active,
    }


@router.get(
    "/departments",
    response={200: list[DepartmentOut], **errors(401)},
    tags=["组织"],
    summary="部门",
)
def list_departments(request):
    return Status(200, [_department(d) for d in Department.objects.select_related("parent")])


@router.get(
    "/departments/{code}",
    response={200: DepartmentOut, **errors(401, 404, 422)},
    tags=["组织"],
    summary="部门详情",
)
def get_department(request, code: DepartmentCode):
    d = Department.objects.select_related("parent").filter(code=code).first()
    if d is None:
        raise NotFound(f"部门「{code}」不存在")
    return Status(200, _department(d))


class CategoryFilters(Schema):
    process: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]*$", max_length=50)
    active: bool | None = Field(None, description="true 只看启用的")


@router.get(
    "/categories",
    response={200: list[CategoryOut], **errors(401, 422)},
    tags=["组织"],
    summary="投诉类别",
)
def list_categories(request, filters: Query[CategoryFilters]):
    """投诉类别及其责任部门（管理员可调整对应关系）。"""
    qs = Category.objects.select_related("department")
    if filters.process:
        qs = qs.filter(process_name=filters.process)
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return Status(
        200,
        [
            {
                "process": c.process_name,
                "code": c.code,
                "label": c.label,
                "department": c.department.code if c.department_id else None,
                "department_name": c.department.name if c.department_id else None,
                "is_active": c.is_active,
            }
            for c in qs
        ],
    )


def _user(u: User, roles=None) -> dict:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "department": u.department.code if u.department_id else None,
        "roles": sorted(roles if roles is not None else (r.code for r in u.roles.all())),
        "is_active": u.is_active,
    }


# Roles whose work names any member of staff: assigning, instructing, auditing, administering.
ALL_USERS_ROLES = ("officer", "leader", "auditor", "admin")


def _users(request):
    """The staff the caller's role needs to name: everyone for the roles that assign, instruct or
    audit across departments; for the others (and for a token limited to some departments) the
    members of their own department(s) and themselves."""
    qs = User.objects.select_related("department").prefetch_related(
        Prefetch("roles", queryset=Role.objects.only("code"))
    )
    user, scope = request.user, access.scope_of(request)
    if scope is None and user.has_role(*ALL_USERS_ROLES):
        return qs
    departments = set(scope or ()) if scope is not None else set()
    if user.department_id and (scope is None or user.department_id in departments):
        departments.add(user.department_id)
    return qs.filter(Q(department_id__in=departments) | Q(pk=user.pk))


class UserFilters(Schema):
    department: str | None = Code
    role: str | None = Field(None, pattern=r"^[a-z_]+$", max_length=20)
    active: bool | None = None


@router.get(
    "/users",
    response={200: list[UserOut], **errors(401, 422)},
    tags=["组织"],
    summary="用户",
)
def list_users(request, filters: Query[UserFilters]):
    """工作人员（只读）：用户名、姓名、部门、角色。不含密码、邮箱等信息。
    投诉专员、领导、审计和管理员看到全部工作人员；其他角色（以及限定部门的令牌）只看到本部门的人员和自己。"""
    qs = _users(request).order_by("username")
    if filters.department:
        qs = qs.filter(department__code=filters.department)
    if filters.role:
        qs = qs.filter(roles__code=filters.role)
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return Status(200, [_user(u) for u in qs])


@router.get(
    "/users/{username}",
    response={200: UserOut, **errors(401, 404, 422)},
    tags=["组织"],
    summary="用户详情",
)
def get_user(request, username: Username):
    u = _users(request).filter(username=username).first()
    if u is None:
        raise NotFound(f"用户「{username}」不存在")
    return Status(200, _user(u))


@router.get("/me", response={200: MeOut, **errors(401)}, tags=["组织"], summary="当前令牌的身份")
def me(request):
    """令牌代表的用户和生效的权限：角色为用户角色与令牌限定角色的交集；限定部门时只能访问这些部门。"""
    token = (
        ApiToken.objects.select_related("user__department")
        .prefetch_related("roles", "departments")
        .get(pk=request.api_token.pk)
    )
    user = request.user
    user.department = token.user.department if user.department_id else None
    return Status(
        200,
        {
            "user": _user(user, roles=user.role_codes),
            "token": {
                "prefix": token.prefix,
                "name": token.name,
                "expires_at": token.expires_at,
                "roles": sorted(r.code for r in token.roles.all()),
                "departments": sorted(d.code for d in token.departments.all()),
            },
        },
    )


# --- the department work list ---------------------------------------------------------------------


class TaskFilters(Schema):
    state: Literal["open", "done", "cancelled"] | None = "open"
    department: str | None = Code
    limit: int = Field(100, ge=1, le=500)


@router.get(
    "/tasks",
    response={200: list[TaskListItem], **errors(401, 422)},
    tags=["投诉"],
    summary="任务列表",
)
def list_tasks(request, filters: Query[TaskFilters]):
    """可见投诉上的任务（派工单），默认只列进行中的，按派发时间倒序。"""
    qs = Task.objects.filter(complaint__in=access.complaints(request).order_by().values("pk"))
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.department:
        qs = qs.filter(department__code=filters.department)
    qs = qs.select_related("department", "complaint__process", "owner").order_by(
        "-opened_at", "-id"
    )
    return Status(
        200,
        [
            {
                "id": t.pk,
                "department": t.department.code,
                "department_name": t.department.name,
                "kind": t.kind,
                "state": t.state,
                "is_lead": t.is_lead,
                "owner": t.owner.username if t.owner_id else None,
                "opened_at": t.opened_at,
                "closed_at": t.closed_at,
                "complaint_id": t.complaint_id,
                "tracking_number": t.complaint.tracking_number,
                "complaint_state": t.complaint.state,
                "complaint_state_label": t.complaint.state_label,
            }
            for t in qs[: filters.limit]
        ],
    )


# --- notifications ----------------------------------------------------------------------------


class NotificationFilters(Schema):
    unread: bool = Field(False, description="true 只看未读")
    limit: int = Field(100, ge=1, le=500)


@router.get(
    "/notifications",
    response={200: list[NotificationOut], **errors(401, 422)},
    tags=["通知"],
    summary="通知",
)
def list_notifications(request, filters: Query[NotificationFilters]):
    """时限预警、超时等提醒（与工作台的通知相同），新的在前。"""

    qs = Notification.objects.filter(user_id=request.user.pk).select_related("complaint__process")
    if filters.unread:
        qs = qs.filter(read_at__isnull=True)
    notes = list(qs[: filters.limit])
    masks = masks_for({n.complaint_id: n.complaint for n in notes if n.complaint_id}.values())
    return Status(
        200,
        [
            {
                "id": n.pk,
                "kind": n.kind,
                "message": masks[n.complaint_id].text(n.message)
                if n.complaint_id in masks
                else mask_text(n.message),
                "complaint_id": n.complaint_id,
                "created_at": n.created_at,
                "read_at": n.read_at,
            }
            for n in notes
        ],
    )


@router.post(
    "/notifications/read",
    response={200: MarkedRead, **errors(401)},
    tags=["通知"],
    summary="全部标为已读",
)
def mark_notifications_read(request):
    n = Notification.objects.filter(user_id=request.user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return Status(200, {"marked": n})
