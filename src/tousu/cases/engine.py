"""The process engine: which actions are possible now, and applying one atomically.

An action is possible when the case is in one of its source states, the user holds one of its roles
(for departmental roles: on a case of their department, or where their department holds an open
task) and its `when` condition holds. Applying validates the form and the `require` conditions, then
in one transaction moves the state with a version check, writes one event, opens and closes tasks,
runs the clock hooks and tells the people the definition names. Whatever the definition decides
(who may act, what a condition says, what an action does to tasks) is computed by the pure
functions at the top, which the volume generator (demo/bulk.py) calls as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tousu.accounts.models import Department, User
from tousu.accounts.roles import COMPLAINANT, DEPARTMENTAL_ROLES
from tousu.processes import conditions
from tousu.processes.definition import ActionDef, FieldDef, ProcessDef
from tousu.processes.models import Category
from tousu.processes.validation import known_roles

from .errors import Conflict, Forbidden, Invalid, NotPossible
from .forms import form_class, json_value, type_errors
from .hooks import clock_rules
from .models import Complaint, Event, Task
from .signals import action_applied, closed_by_system

# Actions that record rather than decide: left out of the "waiting for me" queues. A definition
# marks its own with `routine: true`; notes are routine in every flow.
ROUTINE_ACTIONS = frozenset({"add_note"})


def is_routine(action: ActionDef) -> bool:
    return action.routine or action.name in ROUTINE_ACTIONS


# --- pure rules (no database) ---------------------------------------------------------------------


def roles_permit(
    action: ActionDef,
    roles: Iterable[str],
    department_id: int | None,
    case_department_id: int | None,
    task_department_ids: Iterable[int],
) -> bool:
    """The actor holds one of the action's roles; a departmental role only on a case of its own
    department or where its department holds an open task."""
    held = set(roles)
    for role in action.roles:
        if role not in held:
            continue
        if role not in DEPARTMENTAL_ROLES:
            return True
        if department_id and (
            department_id == case_department_id or department_id in set(task_department_ids)
        ):
            return True
    return False


def condition_labels(definition: ProcessDef, action: ActionDef | None = None) -> dict[str, str]:
    """Chinese names for what conditions mention, so an unmet condition reads as a sentence."""
    labels = {f"action:{a.name}": a.label for a in definition.actions}
    labels.update({f"ref:fields.{f.name}": f"「{f.label}」" for f in definition.fields})
    labels.update({f"value:channel:{c.value}": c.label for c in definition.channels})
    labels.update({f"value:category:{c.code}": c.label for c in definition.categories})
    labels.update({f"value:department:{d.code}": d.label for d in definition.departments})
    labels.update({"value:complexity:general": "一般", "value:complexity:complex": "复杂"})
    for f in definition.fields:
        labels.update({f"value:fields.{f.name}:{c.value}": c.label for c in f.choices})
    for f in action.form if action else ():
        labels[f"ref:form.{f.name}"] = f"「{f.label}」"
        labels.update({f"value:form.{f.name}:{c.value}": c.label for c in f.choices})
    return labels


def target_state(action: ActionDef, state: str) -> str:
    return action.to or state


@dataclass(frozen=True)
class TaskChanges:
    close_all: bool = False
    close_department: int | None = None  # the acting user's department's open tasks
    open: tuple[tuple[int, bool], ...] = ()  # (department id, is lead)


def task_changes(
    action: ActionDef,
    *,
    case_department_id: int | None,
    chosen: Sequence[int],
    lead_id: int | None,
    actor_department_id: int | None,
    open_department_ids: Iterable[int],
) -> TaskChanges:
    """What the action does to the case's tasks. `chosen` are the departments the form names (for
    `form_departments`); the lead is the one the form names as lead. Opening a task for a case that
    has no department is refused, never silently skipped."""
    effect = action.tasks
    close_all = effect.close == "all"
    close_own = actor_department_id if effect.close == "own" and actor_department_id else None
    busy = set(open_department_ids)
    if close_all:
        busy = set()
    elif close_own:
        busy.discard(close_own)
    targets: list[tuple[int, bool]] = []
    if effect.open == "case_department":
        if not case_department_id:
            raise Invalid(
                f"「{action.label}」需要派发任务给责任部门，但该投诉尚未确定责任部门："
                "请在表单中选择部门或投诉类别"
            )
        targets = [(case_department_id, True)]
    elif effect.open == "form_departments":
        targets = [(dep, dep == lead_id) for dep in chosen]
    return TaskChanges(
        close_all=close_all,
        close_department=close_own,
        open=tuple((dep, lead) for dep, lead in targets if dep not in busy),
    )


def applies(cond, facts: conditions.Facts, form: Mapping | None = None) -> bool:
    """A condition read without an actor (clocks, documents, targets)."""
    return conditions.holds(cond, facts, None, form)


# --- the case as conditions read it ----------------------------------------------------------------


class CaseFacts:
    """A case as conditions read it, loaded lazily: most actions read nothing."""

    def __init__(self, complaint: Complaint, now: datetime | None = None, parties=None):
        self.complaint = complaint
        self.now = now or timezone.now()
        if parties is not None:  # a case being registered: its rows are not written yet
            self.__dict__["_party_rows"] = parties
            self.__dict__["_attachments"] = 0
            self.__dict__["_actions"] = []
            self.__dict__["_tasks"] = []

    def value(self, ref: str) -> Any:
        c = self.complaint
        if ref.startswith("fields."):
            return c.fields.get(ref[7:])
        match ref:
            case "channel" | "complexity" | "severity" | "flags" | "round":
                return getattr(c, ref)
            case "anonymous":
                return c.is_anonymous
            case "category":
                return c.category.code if c.category_id else None
            case "department":
                return c.department.code if c.department_id else None
            case "first_department":
                return c.first_department.code if c.first_department_id else None
            case "received_at":
                return c.received_at
            case "registered_at":
                return c.created_at
            case "now":
                return self.now
            case "contact":
                return self._contact
            case "attachments":
                return self._attachments
        raise KeyError(ref)

    @cached_property
    def _party_rows(self):
        return list(self.complaint.parties.all())

    @cached_property
    def _contact(self) -> bool:
        return any(
            p.phone or p.address or getattr(p, "email", "")
            for p in self._party_rows
            if p.role == "complainant"
        )

    @cached_property
    def _attachments(self) -> int:
        return self.complaint.attachments.count()

    @cached_property
    def _actions(self) -> list[tuple[str, int]]:
        return list(self.complaint.events.values_list("action", "round"))

    def happened(self, action: str, any_round: bool) -> bool:
        r = self.complaint.round
        return any(a == action and (any_round or n == r) for a, n in self._actions)

    @cached_property
    def _tasks(self) -> list[tuple[str, str, bool]]:
        rows = self.complaint.tasks.filter(round=self.complaint.round).select_related("department")
        return [(t.group, t.department.name, t.department.code, t.state != Task.OPEN) for t in rows]

    # The acting department, when the action being applied closes tasks: a join counts its own
    # task as reported, since this very action is its report.
    closing_department: str | None = None

    def tasks(self, group: str | None) -> list[tuple[str, bool]]:
        return [
            (name, done or code == self.closing_department)
            for g, name, code, done in self._tasks
            if group is None or g == group
        ]


def actor_of(user) -> conditions.Actor:
    # The related department is cached on the user object by Django after the first read.
    department = user.department if getattr(user, "department_id", None) else None
    return conditions.Actor(
        roles=frozenset(user.role_codes), department=getattr(department, "code", None)
    )


# --- who may act ----------------------------------------------------------------------------------


def _open_task_departments(complaint: Complaint) -> set[int]:
    # Cached per version of the case: a refreshed or changed case reads its tasks again.
    cached = complaint.__dict__.get("_open_task_departments")
    if cached is None or cached[0] != complaint.version:
        ids = set(complaint.tasks.filter(state=Task.OPEN).values_list("department_id", flat=True))
        cached = complaint.__dict__["_open_task_departments"] = (complaint.version, ids)
    return cached[1]


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
    if not set(action.roles) & user.role_codes:
        return False
    return roles_permit(
        action,
        user.role_codes,
        getattr(user, "department_id", None),
        complaint.department_id,
        _open_task_departments(complaint) if set(action.roles) & DEPARTMENTAL_ROLES else (),
    )


def _facts(complaint: Complaint) -> CaseFacts:
    cached = complaint.__dict__.get("_case_facts")
    if cached is None or cached[0] != complaint.version:
        cached = complaint.__dict__["_case_facts"] = (complaint.version, CaseFacts(complaint))
    return cached[1]


def unmet(complaint: Complaint, user, action: ActionDef) -> str | None:
    """Why the action's `when` does not hold for this case and actor, or None."""
    if action.when is None:
        return None
    message = conditions.check(
        action.when,
        _facts(complaint),
        actor_of(user),
        labels=condition_labels(complaint.definition),
    )
    return None if message is None else (action.unmet or message)


def possible_actions(complaint: Complaint, user: User) -> list[ActionDef]:
    return [
        a
        for a in complaint.definition.actions_from(complaint.state)
        if role_allows(user, a, complaint) and unmet(complaint, user, a) is None
    ]


# --- applying -------------------------------------------------------------------------------------


@dataclass
class _Chosen:
    department: Department | None = None
    departments: list[Department] = field(default_factory=list)
    lead: Department | None = None


def _validate(
    complaint: Complaint, action: ActionDef, data: Mapping[str, Any], strict_types: bool, user
) -> tuple[dict, _Chosen]:
    if strict_types:
        if errors := type_errors(action.form, data):
            raise Invalid("表单数据有误", {"fields": errors})
    form = form_class(complaint.process, action.name)(data=data)
    if not form.is_valid():
        raise Invalid("表单数据有误", {"fields": {k: list(v) for k, v in form.errors.items()}})
    cleaned = form.cleaned_data
    facts = _facts(complaint)
    labels = condition_labels(complaint.definition, action)
    errors: dict[str, list[str]] = {}
    for f in action.form:
        value = cleaned.get(f.name)
        if f.required_when is not None and _empty(value):
            if conditions.holds(f.required_when, facts, actor_of(user), cleaned):
                errors[f.name] = [f"此项必填（{conditions.describe(f.required_when, labels)}）"]
        if f.min_items and len(value or []) < f.min_items:
            errors[f.name] = [f"至少需要 {f.min_items} 项"]
        if f.type == "users" and value:
            if problem := _people_problem(f, value, complaint):
                errors[f.name] = [problem]
    if errors:
        first = next(iter(errors))
        label = next(f.label for f in action.form if f.name == first)
        raise Invalid(f"「{label}」{errors[first][0]}", {"fields": errors})
    chosen = _chosen_departments(action, cleaned)
    _check_clock_dates(complaint, action, cleaned)
    actor = actor_of(user)
    facts.closing_department = actor.department if action.tasks.close else None
    try:
        for cond in action.require:
            if message := conditions.check(cond, facts, actor, cleaned, labels):
                raise Invalid(message, {"condition": cond})
    finally:
        facts.closing_department = None
    return cleaned, chosen


def _check_clock_dates(complaint: Complaint, action: ActionDef, cleaned: dict) -> None:
    """A clock counted from a date on the form cannot count from a day still to come (checked
    before anything is written, so a refused action changes nothing)."""
    now = timezone.now()
    for d in complaint.definition.clocks:
        if action.name not in d.start or not d.counts_from.startswith("form."):
            continue
        at = d.origin_at(action.name, received_at=complaint.received_at, action_at=now,
                         fields=complaint.fields, form=cleaned)  # fmt: skip
        if at is not None and at > now:
            name = d.counts_from[5:]
            label = next((f.label for f in action.form if f.name == name), name)
            raise Invalid(
                f"「{label}」不能晚于今天：「{d.label}」从这一日期起算",
                {"fields": {name: ["不能晚于今天"]}},
            )


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def _people_problem(f: FieldDef, usernames: list[str], complaint: Complaint) -> str | None:
    """A users field names distinct active people who hold one of its roles (in the case's
    department when it says so); read-only roles never count."""
    distinct = list(dict.fromkeys(usernames))
    if len(distinct) != len(usernames):
        return "同一人不能重复列出"
    people = {
        u.username: u
        for u in User.objects.filter(username__in=distinct, is_active=True).prefetch_related(
            "roles"
        )
    }
    if missing := [n for n in distinct if n not in people]:
        return f"不存在或已停用的人员：{'、'.join(missing)}"

    names = known_roles(complaint.definition)
    wanted = set(f.roles)
    label = "、".join(names.get(r, r) for r in f.roles)
    for name in distinct:
        user = people[name]
        if not (user.role_codes & wanted):
            return f"「{user}」不是{label}"
        if f.same_department and user.department_id != complaint.department_id:
            return f"「{user}」不属于承办部门"
    if f.min_items and len(distinct) < f.min_items:
        return f"至少需要 {f.min_items} 名不同的人员，现为 {len(distinct)} 名"
    return None


def _chosen_departments(action: ActionDef, cleaned: dict) -> _Chosen:
    chosen = _Chosen()
    codes: set[str] = set()
    for f in action.form:
        value = cleaned.get(f.name)
        if f.type == "department" and value:
            codes.add(value)
        elif f.type == "departments" and value:
            codes.update(value)
    by_code = {d.code: d for d in Department.objects.filter(code__in=codes)} if codes else {}
    for f in action.form:
        value = cleaned.get(f.name)
        if f.type == "departments" and value:
            chosen.departments = [by_code[c] for c in value]
            lead_code = cleaned.get(f.lead) if f.lead else None
            if len(value) > 1 and not lead_code:
                lead_field = next(x for x in action.form if x.name == f.lead)
                raise Invalid(
                    f"选择了多个部门，请在「{lead_field.label}」中明确牵头部门",
                    {"fields": {f.lead: ["请选择牵头部门"]}},
                )
            lead_code = lead_code or value[0]
            if lead_code not in value:
                raise Invalid(
                    "牵头部门必须是所选部门之一",
                    {"fields": {f.lead: [f"可选：{'、'.join(by_code[c].name for c in value)}"]}},
                )
            chosen.lead = by_code[lead_code]
    for f in action.form:
        value = cleaned.get(f.name)
        if f.type == "department" and value and not any(x.lead == f.name for x in action.form):
            chosen.department = by_code[value]
    return chosen


def _attribute_changes(
    complaint: Complaint, action: ActionDef, cleaned: dict, chosen: _Chosen
) -> dict:
    """What the action's form and `set` change on the case row."""
    changes: dict[str, Any] = {}
    for f in action.form:
        value = cleaned.get(f.name)
        if f.type == "category" and value:
            category = Category.objects.select_related("department").get(
                process_name=complaint.process.name, code=value
            )
            changes["category"] = category
            if category.department_id:
                changes["department"] = category.department
    explicit = chosen.lead or chosen.department
    if explicit is not None:
        changes["department"] = explicit
    s = action.set
    if s.complexity:
        changes["complexity"] = s.complexity
    if s.severity:
        changes["severity"] = s.severity
    if s.flags_add or s.flags_remove:
        flags = [f for f in complaint.flags if f not in s.flags_remove]
        changes["flags"] = flags + [f for f in s.flags_add if f not in flags]
    if action.reopen:
        changes["round"] = complaint.round + 1
    return changes


def _nobody_could_act(
    definition: ProcessDef, state: str, department_id: int | None, has_open_tasks: bool
) -> bool:
    """After the action: is there an open state with no role able to take the case further?"""
    if state in definition.final_states:
        return False
    for a in definition.actions_from(state):
        if is_routine(a) or "any" in a.source:
            continue
        if set(a.roles) - DEPARTMENTAL_ROLES or department_id or has_open_tasks:
            return False
    return True


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
    in_state = action is not None and action in definition.actions_from(complaint.state)
    if in_state and not role_allows(user, action, complaint):
        raise Forbidden(f"您的角色不能执行「{action.label}」", {"roles": list(action.roles)})
    if in_state and (reason := unmet(complaint, user, action)):
        raise NotPossible(
            f"现在不能执行「{action.label}」：{reason}",
            {"possible": [a.name for a in possible_actions(complaint, user)], "unmet": reason},
        )
    if not in_state:
        possible = possible_actions(complaint, user)
        listing = "、".join(f"{a.name}（{a.label}）" for a in possible) or "无"
        raise NotPossible(
            f"当前状态「{complaint.state_label}」下不能执行「{name}」；可执行的动作：{listing}",
            {"possible": [a.name for a in possible], "state": complaint.state},
        )
    cleaned, chosen = _validate(complaint, action, data, strict_types, user)
    changes = _attribute_changes(complaint, action, cleaned, chosen)
    from_state, to_state = complaint.state, target_state(action, complaint.state)
    department_id = getattr(changes.get("department"), "pk", complaint.department_id)
    open_now = _open_task_departments(complaint)
    tasks = task_changes(
        action,
        case_department_id=department_id,
        chosen=[d.pk for d in chosen.departments],
        lead_id=chosen.lead.pk if chosen.lead else None,
        actor_department_id=getattr(user, "department_id", None),
        open_department_ids=open_now,
    )
    remaining = set() if tasks.close_all else open_now - {tasks.close_department}
    if _nobody_could_act(definition, to_state, department_id, bool(remaining or tasks.open)):
        raise Invalid(
            f"执行「{action.label}」后，「{definition.state_label(to_state)}」状态下没有任何角色"
            "可以继续办理（该投诉没有责任部门）：请先确定责任部门"
        )
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
        complaint.__dict__.pop("_case_facts", None)  # the case has changed
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
            round=complaint.round,
            created_at=now,
        )
        _write_tasks(complaint, action, tasks, event)
        complaint.__dict__.pop("_open_task_departments", None)
        facts = _facts(complaint)
        closing = (
            to_state in definition.closed_states and from_state not in definition.closed_states
        )
        clock_rules().on_action(
            complaint, action, event, facts=facts, form=cleaned, closing=closing
        )
        _notify(complaint, action.notify, facts, cleaned)
        document = (
            action.document
            if action.document and applies(action.document_when, facts, cleaned)
            else None
        )
        action_applied.send(
            sender=Complaint,
            complaint=complaint,
            action=action,
            event=event,
            user=user,
            document=document,
        )
    return complaint, event


def _write_tasks(complaint: Complaint, action: ActionDef, tasks: TaskChanges, event: Event) -> None:
    now = event.created_at
    open_tasks = Task.objects.filter(complaint=complaint, state=Task.OPEN)
    if tasks.close_all:
        open_tasks.update(state=Task.DONE, closed_at=now, closed_by=event)
    elif tasks.close_department:
        open_tasks.filter(department_id=tasks.close_department).update(
            state=Task.DONE, closed_at=now, closed_by=event
        )
    if any(lead for _, lead in tasks.open):
        # A new lead named for the group (a leader's later instruction) replaces the earlier one.
        open_tasks.filter(group=action.tasks.group or "", is_lead=True).update(is_lead=False)
    Task.objects.bulk_create(
        Task(
            complaint=complaint,
            department_id=dep,
            kind=action.tasks.kind,
            group=action.tasks.group or "",
            round=complaint.round,
            is_lead=lead,
            opened_at=now,
            opened_by=event,
        )
        for dep, lead in tasks.open
    )


def _notify(complaint: Complaint, notes, facts, form=None) -> None:
    """Tell the roles a definition names (F17: the person involved reports at once)."""
    if not notes:
        return
    for note in notes:
        if not applies(note.when, facts, form):
            continue
        # On the case's record too: who was told what, when (F17: reported at once).
        event = Event.objects.create(
            complaint=complaint,
            action="notified",
            label=f"已通知：{note.text}"[:100],
            from_state=complaint.state,
            to_state=complaint.state,
            actor_name="系统",
            via="system",
            payload={"roles": list(note.roles), "text": note.text},
            round=complaint.round,
        )
        clock_rules().notify_roles(  # the one way messages leave
            complaint,
            note.roles,
            "flow.notify",
            f"{complaint.tracking_number}：{note.text}",
            key=f"e{event.pk}",
        )


def notify_registered(complaint: Complaint) -> None:
    """The notifications the definition asks for when a case is registered."""
    _notify(complaint, complaint.definition.registration.notify, _facts(complaint))


def system_closed_state(definition: ProcessDef) -> str:
    """Where the system puts a case it closes (a merged duplicate): the state named `closed` when
    the definition has one (已结案), else its first final state (已归档)."""
    states = [s for s in definition.states if s.final or s.closed]
    chosen = next((s for s in states if s.name == "closed"), None)
    return (chosen or next(s for s in states if s.final)).name


def close_by_system(
    complaint: Complaint,
    *,
    reason: str,
    user: User | None = None,
    related: Complaint | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Event | None:
    """Close a case outside its flow's actions, because the system (or an office decision taken
    elsewhere, such as a merge) settled it: the case moves to `system_closed_state`, its open tasks
    end, its running clocks stop, and an event says why — on the case, and on `related` (the case
    that took it over). A case already closed is left as it is (None)."""
    definition = complaint.definition
    if complaint.state in definition.closed_states:
        return None
    now = timezone.now()
    to_state, from_state = system_closed_state(definition), complaint.state
    actor_name = str(user) if user is not None else "系统"
    with transaction.atomic():
        updated = Complaint.objects.filter(pk=complaint.pk, version=complaint.version).update(
            state=to_state, closed_at=now, version=F("version") + 1, updated_at=now
        )
        if not updated:
            raise Conflict("投诉已被他人更新，请刷新后重试")
        complaint.state, complaint.closed_at, complaint.updated_at = to_state, now, now
        complaint.version += 1
        complaint.__dict__.pop("_case_facts", None)
        label = f"系统结案：{reason}"
        event = Event.objects.create(
            complaint=complaint,
            action="closed_by_system",
            label=label[:100],
            from_state=from_state,
            to_state=to_state,
            actor=user,
            actor_name=actor_name,
            via="system",
            payload={
                **(payload or {}),
                **(
                    {"related": related.pk, "related_number": related.tracking_number}
                    if related
                    else {}
                ),
            },
            comment=reason,
            round=complaint.round,
            created_at=now,
        )
        Task.objects.filter(complaint=complaint, state=Task.OPEN).update(
            state=Task.DONE, closed_at=now, closed_by=event
        )
        clock_rules().stop_all(complaint, now)
        if related is not None:
            Event.objects.create(
                complaint=related,
                action="related_closed",
                label=f"投诉 {complaint.tracking_number} 已结案"[:100],
                from_state=related.state,
                to_state=related.state,
                actor=user,
                actor_name=actor_name,
                via="system",
                payload={"other": complaint.pk, "other_number": complaint.tracking_number},
                comment=reason,
                round=related.round,
                created_at=now,
            )
        # The statistics (reports.facts) follow the state, closing day and stopped clocks.
        closed_by_system.send(sender=Complaint, complaint=complaint, event=event, related=related)
    return event
