"""The process engine: which actions are possible now, and applying one atomically.

An action is possible when the case is in one of its source states and the user holds one of its
roles (for departmental roles: on a case of their department, or where their department holds an
open task). Applying validates the form and the guards, then in one transaction moves the state with
a version check, writes one event, opens and closes tasks and runs the clock hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tousu.accounts.models import Department, User
from tousu.accounts.roles import COMPLAINANT, DEPARTMENTAL_ROLES
from tousu.processes.definition import ActionDef
from tousu.processes.guards import GUARDS
from tousu.processes.models import Category

from .errors import Conflict, Forbidden, Invalid, NotPossible
from .forms import form_class, json_value, type_errors
from .models import Complaint, Event, Task
from .signals import action_applied


def _open_task_departments(complaint: Complaint) -> set[int]:
    cache = complaint.__dict__.setdefault("_open_task_departments", None)
    if cache is None:
        cache = set(complaint.tasks.filter(state=Task.OPEN).values_list("department_id", flat=True))
        complaint.__dict__["_open_task_departments"] = cache
    return cache


# Actions that record rather than decide: left out of the "waiting for me" queues. A definition
# marks its own with `routine: true`; notes are routine in every flow.
ROUTINE_ACTIONS = frozenset({"add_note"})


def is_routine(action: ActionDef) -> bool:
    return action.routine or action.name in ROUTINE_ACTIONS


class Complainant:
    """The complainant acting on their own case through the portal: holds only the `complainant`
    role, belongs to no department, and is recorded on events by name, not as a user."""

    role_codes = frozenset({COMPLAINANT})
    department_id = None
    is_authenticated = False

    def __init__(self, name: str = "投诉人"):
        self.name = name

    def __str__(self) -> str:
        return self.name

    def has_role(self, *codes: str) -> bool:
        return COMPLAINANT in codes


def role_allows(user: User, action: ActionDef, complaint: Complaint) -> bool:
    for role in action.roles:
        if role not in user.role_codes:
            continue
        if role not in DEPARTMENTAL_ROLES:
            return True
        dept = user.department_id
        if dept and (dept == complaint.department_id or dept in _open_task_departments(complaint)):
            return True
    return False


def possible_actions(complaint: Complaint, user: User) -> list[ActionDef]:
    return [
        a
        for a in complaint.definition.actions_from(complaint.state)
        if role_allows(user, a, complaint)
    ]


@dataclass
class _GuardContext:
    complaint: Complaint
    data: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def attachment_count(self) -> int:
        return self.complaint.attachments.count()

    def has_event(self, action: str) -> bool:
        return self.complaint.events.filter(action=action).exists()


def _validate(
    complaint: Complaint, action: ActionDef, data: Mapping[str, Any], strict_types: bool
) -> dict:
    if strict_types:
        if errors := type_errors(action.form, data):
            raise Invalid("表单数据有误", {"fields": errors})
    form = form_class(complaint.process, action.name)(data=data)
    if not form.is_valid():
        raise Invalid("表单数据有误", {"fields": {k: list(v) for k, v in form.errors.items()}})
    cleaned = form.cleaned_data
    for f in action.form:
        if f.min_items and len(cleaned.get(f.name) or []) < f.min_items:
            raise Invalid(
                f"「{f.label}」至少需要 {f.min_items} 项",
                {"fields": {f.name: [f"至少需要 {f.min_items} 项"]}},
            )
    ctx = _GuardContext(complaint, cleaned)
    for guard in action.guards:
        if message := GUARDS[guard.name](ctx, guard.args):
            raise Invalid(message, {"guard": guard.name})
    return cleaned


def _attribute_changes(complaint: Complaint, action: ActionDef, cleaned: dict) -> dict:
    """What the action's form and `set` change on the case row."""
    changes: dict[str, Any] = {}
    chosen_department = None
    for f in action.form:
        value = cleaned.get(f.name)
        if not value:
            continue
        if f.type == "category":
            category = Category.objects.select_related("department").get(
                process_name=complaint.process.name, code=value
            )
            changes["category"] = category
            if category.department_id and chosen_department is None:
                changes["department"] = category.department
        elif f.type == "department":
            chosen_department = Department.objects.get(code=value)
        elif f.type == "departments":
            chosen_department = Department.objects.get(code=value[0])
    if chosen_department is not None:
        changes["department"] = chosen_department
    s = action.set
    if s.complexity:
        changes["complexity"] = s.complexity
    if s.severity:
        changes["severity"] = s.severity
    if s.flags_add or s.flags_remove:
        flags = [f for f in complaint.flags if f not in s.flags_remove]
        changes["flags"] = flags + [f for f in s.flags_add if f not in flags]
    return changes


def _apply_tasks(
    complaint: Complaint, action: ActionDef, cleaned: dict, event: Event, user: User
) -> None:
    now = event.created_at
    effect = action.tasks
    open_tasks = Task.objects.filter(complaint=complaint, state=Task.OPEN)
    if effect.close == "all":
        open_tasks.update(state=Task.DONE, closed_at=now, closed_by=event)
    elif effect.close == "own" and getattr(user, "department_id", None):
        open_tasks.filter(department_id=user.department_id).update(
            state=Task.DONE, closed_at=now, closed_by=event
        )
    if effect.open is None:
        return
    if effect.open == "case_department":
        targets = [complaint.department_id] if complaint.department_id else []
    else:
        codes = next(cleaned[f.name] for f in action.form if f.type == "departments")
        ids = dict(Department.objects.filter(code__in=codes).values_list("code", "id"))
        targets = [ids[c] for c in codes]
    busy = set(open_tasks.values_list("department_id", flat=True))
    Task.objects.bulk_create(
        Task(
            complaint=complaint,
            department_id=dep,
            kind=effect.kind,
            is_lead=(i == 0),
            opened_at=now,
            opened_by=event,
        )
        for i, dep in enumerate(targets)
        if dep not in busy
    )


def apply_action(
    complaint: Complaint,
    user: User,
    name: str,
    *,
    data: Mapping[str, Any] | None = None,
    version: int,
    comment: str = "",
    via: str = "web",
    actor_name: str = "",
    strict_types: bool = False,
) -> tuple[Complaint, Event]:
    """Apply one action. Raises Conflict, NotPossible, Forbidden or Invalid; on any error the case is
    left exactly as it was."""
    data = data or {}
    if version != complaint.version:
        raise Conflict(
            f"投诉已被他人更新（当前版本 {complaint.version}，提交的版本 {version}），请刷新后重试",
            {"current_version": complaint.version},
        )
    definition = complaint.definition
    action = definition.action(name)
    possible = possible_actions(complaint, user)
    if action is None or action not in possible:
        if action is not None and action in definition.actions_from(complaint.state):
            raise Forbidden(f"您的角色不能执行「{action.label}」", {"roles": list(action.roles)})
        listing = "、".join(f"{a.name}（{a.label}）" for a in possible) or "无"
        raise NotPossible(
            f"当前状态「{complaint.state_label}」下不能执行「{name}」；可执行的动作：{listing}",
            {"possible": [a.name for a in possible], "state": complaint.state},
        )
    cleaned = _validate(complaint, action, data, strict_types)
    changes = _attribute_changes(complaint, action, cleaned)
    from_state, to_state = complaint.state, action.to or complaint.state
    now = timezone.now()
    if to_state in definition.closed_states and complaint.state not in definition.closed_states:
        changes["closed_at"] = now
    elif to_state not in definition.closed_states and complaint.closed_at:
        changes["closed_at"] = None  # reopened

    with transaction.atomic():
        updated = Complaint.objects.filter(pk=complaint.pk, version=version).update(
            state=to_state, version=F("version") + 1, updated_at=now, **changes
        )
        if not updated:
            raise Conflict("投诉已被他人更新，请刷新后重试")
        for key, value in changes.items():
            setattr(complaint, key, value)
        complaint.state, complaint.version, complaint.updated_at = to_state, version + 1, now
        event = Event.objects.create(
            complaint=complaint,
            action=action.name,
            label=action.label,
            from_state=from_state,
            to_state=to_state,
            actor=user if isinstance(user, User) else None,
            actor_name=actor_name or str(user),
            via=via,
            payload={k: json_value(v) for k, v in cleaned.items() if v not in (None, "", [])},
            comment=comment,
            visibility=action.visibility,
            public_label=action.public_label,
            created_at=now,
        )
        _apply_tasks(complaint, action, cleaned, event, user)
        complaint.__dict__.pop("_open_task_departments", None)
        from tousu.clocks.services import on_action  # clocks depend on cases, not the reverse

        on_action(complaint, action.name, event)
        action_applied.send(
            sender=Complaint, complaint=complaint, action=action, event=event, user=user
        )
    return complaint, event
