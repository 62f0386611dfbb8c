"""Owners: a case and each departmental task (派工单) can be given to a named person of the
department that holds it. The department head (or a leader) assigns and reassigns with a reason, a
handler may claim what nobody holds, and a department an administrator switched to automatic
assignment gives what arrives to its handlers in turn or to the one with the fewest open cases.

Every assignment is an event on the case. Owner changes are conditional updates (the owner seen is
the owner replaced), so two heads assigning at once never both win; automatic assignment locks the
department's policy row, so concurrent arrivals are handed out one after the other, fairly.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from tousu.accounts.models import Department, User
from tousu.cases.errors import Conflict, Forbidden, Invalid
from tousu.cases.models import Complaint, Event, Task
from tousu.messaging.outbox import notify_staff, users_with_roles

from .models import AssignmentPolicy

OWNER_ROLES = ("handler", "dept_head")  # who may hold a case or task of their department


def _department_id(target: Complaint | Task) -> int | None:
    return target.department_id


def _complaint(target: Complaint | Task) -> Complaint:
    return target if isinstance(target, Complaint) else target.complaint


def _is_open(target: Complaint | Task) -> bool:
    if isinstance(target, Task):
        return target.state == Task.OPEN
    return target.closed_at is None and not target.is_final


def _what(target: Complaint | Task) -> str:
    if isinstance(target, Task):
        return f"任务「{target.kind}」（{target.department}）"
    return "投诉"


def assignable_users(department_id: int | None):
    """Who may own a case or task of the department: its active handlers and heads."""
    if not department_id:
        return User.objects.none()
    return (
        User.objects.filter(
            is_active=True, department_id=department_id, roles__code__in=OWNER_ROLES
        )
        .distinct()
        .order_by("display_name", "username")
    )


def can_assign(user: User, department_id: int | None) -> bool:
    if not getattr(user, "is_authenticated", False) or not department_id:
        return False
    if user.has_role("leader"):
        return True
    return user.has_role("dept_head") and user.department_id == department_id


def can_claim(user: User, target: Complaint | Task) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and user.has_role(*OWNER_ROLES)
        and bool(target.department_id)
        and user.department_id == target.department_id
        and target.owner_id is None
        and _is_open(target)
    )


def _event(
    target,
    action: str,
    label: str,
    *,
    by,
    payload: dict,
    comment: str = "",
    via="web",
    actor_name: str = "",
) -> Event:
    complaint = _complaint(target)
    return Event.objects.create(
        complaint=complaint,
        action=action,
        label=label[:100],
        from_state=complaint.state,
        to_state=complaint.state,
        actor=by if isinstance(by, User) else None,
        actor_name=(actor_name or (str(by) if by else "系统"))[:100],
        via=via if by else "system",
        payload=payload,
        comment=comment,
    )


def _set_owner(target: Complaint | Task, owner: User | None, expected: int | None) -> None:
    """Replace the owner only if it is still the one the caller saw."""
    model = type(target)
    if not model.objects.filter(pk=target.pk, owner_id=expected).update(owner=owner):
        raise Conflict("承办人已被他人更改，请刷新后重试")
    target.owner = owner


def _payload(target, owner: User | None, previous: User | None, mode: str) -> dict:
    data = {
        "owner": owner.username if owner else None,
        "previous_owner": previous.username if previous else None,
        "mode": mode,
    }
    if isinstance(target, Task):
        data |= {"task": target.pk, "department": target.department.code}
    return data


@transaction.atomic
def assign(
    target: Complaint | Task,
    owner: User,
    *,
    by: User,
    reason: str = "",
    via: str = "web",
    actor_name: str = "",
) -> Event:
    """The department head (or a leader) gives the case or task to `owner`; a reassignment needs a
    reason. The new owner is told; so is the one it was taken from."""
    reason = (reason or "").strip()
    dept_id = _department_id(target)
    complaint = _complaint(target)
    if not dept_id:
        raise Invalid("该投诉尚未确定责任部门，不能指派承办人")
    dept = Department.objects.get(pk=dept_id)
    if not can_assign(by, dept_id):
        raise Forbidden(f"只有{dept.name}的科室负责人或领导可以指派承办人")
    if not _is_open(target):
        raise Invalid(
            "该任务已完成，不能再指派" if isinstance(target, Task) else "该投诉已结案，不能再指派"
        )
    allowed = list(assignable_users(dept_id))
    if owner is None or owner.pk not in {u.pk for u in allowed}:
        names = "、".join(str(u) for u in allowed) or "（该部门没有经办人）"
        raise Invalid(
            f"承办人应为{dept.name}的经办人或科室负责人；可选：{names}",
            {"fields": {"owner": ["不是该部门的经办人或科室负责人"]}},
        )
    previous = User.objects.filter(pk=target.owner_id).first() if target.owner_id else None
    if previous and previous.pk == owner.pk:
        raise Invalid(f"已由{owner}承办，无需重复指派")
    if previous and not reason:
        raise Invalid("改派承办人需要说明理由", {"fields": {"reason": ["请填写改派理由"]}})
    _set_owner(target, owner, target.owner_id)
    _carry_tasks(target, owner, previous)
    what = _what(target)
    label = f"{'改派' if previous else '指派'}承办人：{owner}" + (
        f"（{what}）" if isinstance(target, Task) else ""
    )
    event = _event(
        target,
        "reassigned" if previous else "assigned",
        label,
        by=by,
        payload=_payload(target, owner, previous, "manual"),
        comment=reason,
        via=via,
        actor_name=actor_name,
    )
    title = f"{complaint.tracking_number}「{complaint.title[:30]}」"
    if owner.pk != by.pk:
        notify_staff(
            [owner],
            kind="assigned",
            text=f"{title}的{what}已指派给您承办（{by}）" + (f"：{reason}" if reason else ""),
            complaint=complaint,
            key=f"e{event.pk}",
        )
    if previous and previous.pk != by.pk:
        notify_staff(
            [previous],
            kind="assigned.changed",
            text=f"{title}的{what}已改派给{owner}（{by}）：{reason}",
            complaint=complaint,
            key=f"e{event.pk}",
        )
    return event


@transaction.atomic
def claim(target: Complaint | Task, user: User, *, via: str = "web", actor_name: str = "") -> Event:
    """A handler takes a case or task of their department that nobody holds."""
    if not (getattr(user, "is_authenticated", False) and user.has_role(*OWNER_ROLES)):
        raise Forbidden("只有科室经办人或科室负责人可以认领")
    if not target.department_id or user.department_id != target.department_id:
        raise Forbidden("只能认领本部门的投诉或任务")
    if not _is_open(target):
        raise Invalid(
            "该任务已完成，不能认领" if isinstance(target, Task) else "该投诉已结案，不能认领"
        )
    if target.owner_id is not None:
        holder = User.objects.filter(pk=target.owner_id).first()
        raise Conflict(f"已由{holder}承办，不能认领")
    _set_owner(target, user, None)
    _carry_tasks(target, user)
    return _event(
        target,
        "claimed",
        f"认领承办：{user}" + (f"（{_what(target)}）" if isinstance(target, Task) else ""),
        by=user,
        payload=_payload(target, user, None, "claim"),
        via=via,
        actor_name=actor_name,
    )


def _carry_tasks(target: Complaint | Task, owner: User, previous: User | None = None) -> None:
    """The case's owner also takes its open tasks of the same department that nobody holds (or that
    the owner it replaces held)."""
    if not isinstance(target, Complaint):
        return
    held = Q(owner__isnull=True) | (Q(owner=previous) if previous else Q(pk__in=[]))
    tasks = target.tasks.filter(held, state=Task.OPEN, department_id=target.department_id)
    for task in tasks.select_related("department", "complaint"):
        inherit(task, owner)


# --- automatic assignment and arrivals -----------------------------------------------------------


def open_load(user_ids) -> dict[int, int]:
    """Open cases each user holds: cases they own that are not closed, and cases where they own an
    open task (a case counts once)."""
    user_ids = list(user_ids)
    load = {pk: set() for pk in user_ids}
    for owner, pk in Complaint.objects.filter(
        owner_id__in=user_ids, closed_at__isnull=True
    ).values_list("owner_id", "pk"):
        load[owner].add(pk)
    for owner, pk in Task.objects.filter(owner_id__in=user_ids, state=Task.OPEN).values_list(
        "owner_id", "complaint_id"
    ):
        load[owner].add(pk)
    return {k: len(v) for k, v in load.items()}


def handlers(department_id: int) -> list[User]:
    return list(
        User.objects.filter(is_active=True, department_id=department_id, roles__code="handler")
        .distinct()
        .order_by("pk")
    )


def _pick(policy: AssignmentPolicy, candidates: list[User]) -> User:
    """Round robin: the next handler after the last one served. Least open: the handler with the
    fewest open cases, ties in round-robin order (so equal loads still take turns)."""
    order = [u.pk for u in candidates]
    last = policy.last_assigned_id
    start = (order.index(last) + 1) if last in order else 0
    rotation = candidates[start:] + candidates[:start]
    if policy.mode == AssignmentPolicy.ROUND_ROBIN:
        return rotation[0]
    load = open_load(order)
    return min(rotation, key=lambda u: load[u.pk])  # min keeps the first of equals


def auto_assign(target: Complaint | Task) -> User | None:
    """Give an arriving case or task to a handler when its department assigns automatically; None
    when it does not, or has no handler. Call inside the transaction that made it arrive."""
    dept_id = target.department_id
    if not dept_id or target.owner_id is not None:
        return None
    policy = (
        AssignmentPolicy.objects.select_for_update()
        .filter(department_id=dept_id)
        .exclude(mode=AssignmentPolicy.MANUAL)
        .first()
    )  # the lock serialises concurrent arrivals: each sees the loads the previous one left
    if policy is None:
        return None
    candidates = handlers(dept_id)
    if not candidates:
        return None
    chosen = _pick(policy, candidates)
    policy.last_assigned = chosen
    policy.save(update_fields=["last_assigned", "updated_at"])
    _set_owner(target, chosen, None)
    _event(
        target,
        "auto_assigned",
        f"自动分派承办人：{chosen}" + (f"（{_what(target)}）" if isinstance(target, Task) else ""),
        by=None,
        payload=_payload(target, chosen, None, policy.mode),
    )
    return chosen


def arrive(target: Complaint | Task, *, key: str) -> None:
    """A case or task reached a department: assign it automatically where the department does so,
    and tell the owner, or else the department's heads, that it is there."""
    complaint = _complaint(target)
    dept = Department.objects.filter(pk=target.department_id).first()
    if dept is None:
        return
    title = f"{complaint.tracking_number}「{complaint.title[:30]}」"
    what = _what(target)
    owner = auto_assign(target)
    if owner is not None:
        notify_staff(
            [owner],
            kind="assigned",
            text=f"{title}的{what}已自动分派给您承办",
            complaint=complaint,
            key=key,
        )
        return
    heads = users_with_roles(["dept_head"], dept.pk)
    notify_staff(
        heads,
        kind="assigned.department",
        text=f"{title}的{what}已转入{dept.name}，请指派承办人",
        complaint=complaint,
        key=key,
    )


def inherit(task: Task, owner: User) -> None:
    """A new task of the department that holds the case goes to the case's owner, who carries on."""
    _set_owner(task, owner, task.owner_id)
    _event(
        task,
        "auto_assigned",
        f"任务由承办人{owner}继续办理（{_what(task)}）",
        by=None,
        payload=_payload(task, owner, None, "inherited"),
    )


def release(complaint: Complaint, *, key: str) -> None:
    """The case moved to another department: its owner there no longer holds it."""
    previous = User.objects.filter(pk=complaint.owner_id).first()
    _set_owner(complaint, None, complaint.owner_id)
    _event(
        complaint,
        "unassigned",
        f"责任部门变更，{previous}不再承办",
        by=None,
        payload={"owner": None, "previous_owner": previous.username if previous else None},
    )
    if previous:
        notify_staff(
            [previous],
            kind="assigned.changed",
            text=f"{complaint.tracking_number}「{complaint.title[:30]}」已转至"
            f"{complaint.department or '其他部门'}，您不再承办",
            complaint=complaint,
            key=key,
        )


def set_policy(department: Department, mode: str, *, by: User) -> AssignmentPolicy:
    if not (by.has_role("admin") or by.is_superuser):
        raise Forbidden("只有管理员可以设置部门的分派方式")
    modes = dict(AssignmentPolicy.MODES)
    if mode not in modes:
        raise Invalid(f"分派方式「{mode}」无效；可选：{'、'.join(modes)}")
    policy, _ = AssignmentPolicy.objects.update_or_create(
        department=department, defaults={"mode": mode}
    )
    return policy
