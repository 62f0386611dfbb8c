"""Conditions: one small declarative language for everything a flow makes depend on the case.

The same condition decides whether an action is offered (`when`), whether it may be applied
(`require`), whether a form field is required (`required_when`), whether a clock starts
(`start_when`), which state an action leads to (`to: [{state, when}]`) and whether a document is
issued (`document: {name, when}`). A condition is data (a YAML mapping), checked when the definition
is loaded and evaluated by `check` below; there is no `eval`.

    {all: [C, ...]}   {any: [C, ...]}   {not: C}
    {of: REF, is: V}  is_not: V | in: [V, ...] | not_in: [...] | has: V | set: true|false
                      gt|gte|lt|lte: number or ISO date
    {days: [REF, REF], gt|gte|lt|lte: N}    calendar days from the first date to the second
    {happened: ACTION, round: current|any}  an action was taken (in the current round by default)
    {tasks_done: GROUP | all}               every task opened (in this round) has reported its result
    any node may carry `message:` — the sentence shown when it does not hold

REF is a case attribute (channel, anonymous, category, complexity, severity, flags, department,
first_department, received_at, registered_at, now, round, contact, attachments), `fields.NAME` (the
registration's sector fields), `form.NAME` (the action's form, where there is one), `actor.roles` or
`actor.department`. No Django import: definitions are checked before anything touches a database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

SHANGHAI = timezone(timedelta(hours=8))  # China has kept one offset since 1991

# Case attributes a condition may read, with their kind (for checking literal values).
CASE_REFS: dict[str, str] = {
    "channel": "channel",
    "anonymous": "bool",
    "category": "category",
    "complexity": "complexity",
    "severity": "severity",
    "flags": "flags",
    "department": "department",
    "first_department": "department",
    "received_at": "datetime",
    "registered_at": "datetime",
    "now": "datetime",
    "round": "int",
    "contact": "bool",
    "attachments": "int",
}
REF_LABELS = {
    "channel": "渠道",
    "anonymous": "匿名",
    "category": "投诉类别",
    "complexity": "复杂程度",
    "severity": "严重程度",
    "flags": "标记",
    "department": "责任部门",
    "first_department": "首诉部门",
    "received_at": "接收时间",
    "registered_at": "登记时间",
    "now": "当前时间",
    "round": "办理轮次",
    "contact": "投诉人留有联系方式",
    "attachments": "附件数",
    "actor.roles": "操作人角色",
    "actor.department": "操作人部门",
}
COMPARISONS = ("is", "is_not", "in", "not_in", "has", "set", "gt", "gte", "lt", "lte")
ORDERINGS = ("gt", "gte", "lt", "lte")
_OP_TEXT = {"gt": "大于", "gte": "不少于", "lt": "小于", "lte": "不超过"}
ALL_TASKS = "all"


class Facts(Protocol):
    """What a condition reads about a case; the engine and the volume generator each provide one."""

    def value(self, ref: str) -> Any: ...

    def happened(self, action: str, any_round: bool) -> bool: ...

    def tasks(self, group: str | None) -> Sequence[tuple[str, bool]]:
        """(department label, done) of the tasks opened in the current round (of one group)."""
        ...


@dataclass(frozen=True)
class Actor:
    roles: frozenset[str]
    department: str | None = None  # code


class ConditionError(ValueError):
    pass


# --- checking a definition's conditions -----------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a condition at one place of a definition may refer to."""

    fields: Mapping[str, Any]  # registration field name → FieldDef
    form: Mapping[str, Any] | None  # the action's form (None: no form here)
    actions: frozenset[str]
    groups: frozenset[str]  # task groups some action opens
    values: Mapping[str, frozenset[str]]  # kind → allowed literal values (channel, category …)
    actor: bool = True  # actor.* may be read (not in clocks and documents)


def problems(cond: Any, scope: Scope, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(loc, Chinese message) for each mistake in a condition; loc is relative to the condition."""
    if not isinstance(cond, Mapping):
        yield loc, "条件应为一个映射，如 {of: channel, in: [letter]}"
        return
    keys = set(cond) - {"message"}
    if "message" in cond and not isinstance(cond["message"], str):
        yield (*loc, "message"), "message 应为一句中文说明"
    if keys & {"all", "any"}:
        (key,) = keys & {"all", "any"} if len(keys) == 1 else (None,)
        if key is None:
            yield loc, f"all/any 不能与其他键并列：{', '.join(sorted(keys))}"
            return
        items = cond[key]
        if not isinstance(items, list) or not items:
            yield (*loc, key), f"{key} 应为一个非空的条件列表"
            return
        for i, item in enumerate(items):
            yield from problems(item, scope, (*loc, key, i))
    elif "not" in keys:
        if keys != {"not"}:
            yield loc, "not 不能与其他键并列"
            return
        yield from problems(cond["not"], scope, (*loc, "not"))
    elif "happened" in keys:
        if not keys <= {"happened", "round"}:
            yield (
                loc,
                f"happened 只能与 round 并列，多出：{', '.join(sorted(keys - {'happened', 'round'}))}",
            )
        if cond["happened"] not in scope.actions:
            yield (*loc, "happened"), f"未定义的动作「{cond['happened']}」"
        if cond.get("round", "current") not in ("current", "any"):
            yield (*loc, "round"), "round 只能是 current（本轮）或 any（任一轮）"
    elif "tasks_done" in keys:
        if keys != {"tasks_done"}:
            yield loc, "tasks_done 不能与其他键并列"
        group = cond["tasks_done"]
        if group == ALL_TASKS:
            if not scope.groups:
                yield (*loc, "tasks_done"), "会签条件没有可等待的任务：流程中没有动作派发任务"
        elif group not in scope.groups:
            known = "、".join(sorted(scope.groups)) or "无"
            yield (
                (*loc, "tasks_done"),
                f"会签条件等待的任务组「{group}」没有任何动作派发（tasks.group）；已有的任务组：{known}",
            )
    elif "days" in keys:
        ops = keys & set(ORDERINGS)
        if len(ops) != 1 or keys - ops - {"days"}:
            yield loc, "days 需要恰好一个比较：gt、gte、lt 或 lte"
        pair = cond["days"]
        if not isinstance(pair, list) or len(pair) != 2:
            yield (*loc, "days"), "days 应为两个日期引用，如 [fields.contract_end, received_at]"
            return
        for i, ref in enumerate(pair):
            kind = yield from _ref_kind(ref, scope, (*loc, "days", i))
            if kind not in (None, "date", "datetime"):
                yield (*loc, "days", i), f"「{ref}」不是日期，不能计算天数"
        for op in ops:
            if not _is_number(cond[op]):
                yield (*loc, op), "天数应为整数"
    elif "of" in keys:
        ops = keys & set(COMPARISONS)
        extra = keys - ops - {"of"}
        if extra:
            yield loc, f"未知的键：{', '.join(sorted(extra))}；可用：{', '.join(COMPARISONS)}"
        if len(ops) != 1:
            yield loc, f"of 需要恰好一个比较（{', '.join(COMPARISONS)}）"
            return
        (op,) = ops
        kind = yield from _ref_kind(cond["of"], scope, (*loc, "of"))
        if kind is not None:
            yield from _value_problems(kind, op, cond[op], scope, (*loc, op))
    else:
        yield (
            loc,
            "无法识别的条件；应为 all、any、not、of、days、happened 或 tasks_done 之一",
        )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _ref_kind(ref: Any, scope: Scope, loc: tuple):
    """The kind of a reference, or None after yielding the problem."""
    if not isinstance(ref, str):
        yield loc, "引用应为文本，如 channel 或 fields.patient_name"
        return None
    if ref in CASE_REFS:
        return CASE_REFS[ref]
    if ref == "actor.roles" or ref == "actor.department":
        if not scope.actor:
            yield loc, f"这里不能引用操作人（{ref}）"
            return None
        return "roles" if ref == "actor.roles" else "department"
    prefix, _, name = ref.partition(".")
    if prefix == "fields":
        field = scope.fields.get(name)
        if field is None:
            known = "、".join(scope.fields) or "无"
            yield loc, f"条件引用了未定义的登记字段「{name}」；已定义：{known}"
            return None
        return _field_kind(field)
    if prefix == "form":
        if scope.form is None:
            yield loc, f"这里没有表单，不能引用「{ref}」"
            return None
        field = scope.form.get(name)
        if field is None:
            known = "、".join(scope.form) or "无"
            yield loc, f"条件引用了表单中不存在的字段「{name}」；表单字段：{known}"
            return None
        return _field_kind(field)
    known = ", ".join(
        [*CASE_REFS, "fields.<字段>", "form.<字段>", "actor.roles", "actor.department"]
    )
    yield loc, f"未知的引用「{ref}」；可用：{known}"
    return None


def _field_kind(field) -> str:
    return {
        "integer": "int",
        "boolean": "bool",
        "date": "date",
        "datetime": "datetime",
        "multichoice": "choices",
        "departments": "departments",
        "users": "users",
        "category": "category",
        "department": "department",
    }.get(field.type, "choice" if field.type == "choice" else "text") + (
        ":" + ",".join(c.value for c in field.choices)
        if field.type in ("choice", "multichoice")
        else ""
    )


def _value_problems(kind: str, op: str, value: Any, scope: Scope, loc: tuple):
    base, _, choices = kind.partition(":")
    if op == "set":
        if not isinstance(value, bool):
            yield loc, "set 应为 true（已填写）或 false（未填写）"
        return
    if op in ORDERINGS:
        if base in ("int",) and not _is_number(value):
            yield loc, "应为数字"
        elif base in ("date", "datetime") and _as_date(value) is None:
            yield loc, "应为日期，如 2026-11-27"
        elif base not in ("int", "date", "datetime"):
            yield loc, f"{_OP_TEXT[op]}只能比较数字或日期"
        return
    values = value if op in ("in", "not_in") else [value]
    if op in ("in", "not_in") and (not isinstance(value, list) or not value):
        yield loc, f"{op} 应为非空列表"
        return
    if op == "has" and base not in ("flags", "roles", "choices", "departments", "users"):
        yield loc, "has 只能用于列表（标记、角色、多选字段）"
        return
    allowed = None
    if choices:
        allowed = frozenset(choices.split(","))
    elif base in scope.values:
        allowed = scope.values[base]
    elif base == "bool":
        allowed = None
        for v in values:
            if not isinstance(v, bool):
                yield loc, "应为 true 或 false"
        return
    elif base == "int":
        for v in values:
            if not _is_number(v):
                yield loc, "应为数字"
        return
    if allowed is not None:
        for v in values:
            if v not in allowed:
                yield loc, f"「{v}」不是可选的值；可选：{'、'.join(sorted(allowed))}"


def refs(cond: Any) -> Iterator[str]:
    """Every reference a condition reads (for checks such as 'no form here')."""
    if not isinstance(cond, Mapping):
        return
    for key in ("all", "any"):
        for item in cond.get(key) or ():
            yield from refs(item)
    if "not" in cond:
        yield from refs(cond["not"])
    if "of" in cond:
        yield cond["of"]
    if "days" in cond and isinstance(cond["days"], list):
        yield from cond["days"]


# --- evaluating -----------------------------------------------------------------------------------


def check(
    cond: Mapping | None,
    facts: Facts,
    actor: Actor | None = None,
    form: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str | None:
    """None when the condition holds, else the sentence saying what is missing."""
    if cond is None:
        return None
    ok, message = _eval(cond, facts, actor, form, labels or {})
    return None if ok else _said(cond, message)


_OUTSTANDING = "还有部门未报告结果"


def _said(cond: Mapping, computed: str) -> str:
    """The node's own message; a join's list of outstanding departments is always kept."""
    own = cond.get("message")
    if not own:
        return computed
    detail = computed[computed.find(_OUTSTANDING) :] if _OUTSTANDING in computed else ""
    return f"{own}（{detail}）" if detail else own


def holds(cond, facts, actor=None, form=None) -> bool:
    return cond is None or _eval(cond, facts, actor, form, {})[0]


def _eval(cond, facts, actor, form, labels) -> tuple[bool, str]:
    if "all" in cond:
        for item in cond["all"]:
            ok, msg = _eval(item, facts, actor, form, labels)
            if not ok:
                return False, _said(item, msg)
        return True, ""
    if "any" in cond:
        messages = []
        for item in cond["any"]:
            ok, msg = _eval(item, facts, actor, form, labels)
            if ok:
                return True, ""
            messages.append(_said(item, msg))
        return False, "；或".join(messages)
    if "not" in cond:
        ok, _ = _eval(cond["not"], facts, actor, form, labels)
        return (not ok), f"不适用：{describe(cond['not'], labels)}"
    if "happened" in cond:
        ok = facts.happened(cond["happened"], cond.get("round") == "any")
        name = labels.get(f"action:{cond['happened']}", cond["happened"])
        return ok, f"需要先完成「{name}」"
    if "tasks_done" in cond:
        group = cond["tasks_done"]
        tasks = facts.tasks(None if group == ALL_TASKS else group)
        if not tasks:
            return False, "尚未派发需要报告结果的任务"
        waiting = [dept for dept, done in tasks if not done]
        if waiting:
            return False, f"{_OUTSTANDING}：{'、'.join(dict.fromkeys(waiting))}"
        return True, ""
    if "days" in cond:
        first, second = (_as_date(_resolve(r, facts, actor, form)) for r in cond["days"])
        if first is None or second is None:
            return False, f"缺少日期：{describe(cond, labels)}"
        n = (second - first).days
        op = next(k for k in ORDERINGS if k in cond)
        return _order(op, n, cond[op]), f"不符合：{describe(cond, labels)}"
    value = _resolve(cond["of"], facts, actor, form)
    op = next(k for k in COMPARISONS if k in cond)
    return _compare(op, value, cond[op]), f"不符合：{describe(cond, labels)}"


def _resolve(ref: str, facts: Facts, actor: Actor | None, form: Mapping | None) -> Any:
    if ref == "actor.roles":
        return sorted(actor.roles) if actor else []
    if ref == "actor.department":
        return actor.department if actor else None
    if ref.startswith("form."):
        return (form or {}).get(ref[5:])
    return facts.value(ref)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _compare(op: str, value: Any, expected: Any) -> bool:
    if op == "set":
        return (not _empty(value)) == expected
    if op == "is":
        return value == expected
    if op == "is_not":
        return value != expected
    if op == "in":
        return value in expected
    if op == "not_in":
        return value not in expected
    if op == "has":
        return expected in (value or ())
    if _empty(value):
        return False
    if isinstance(expected, str) or isinstance(value, str | date):
        left, right = _as_date(value), _as_date(expected)
        if left is None or right is None:
            return False
        return _order(op, left, right)
    return _order(op, value, expected)


def _order(op: str, a, b) -> bool:
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def _as_date(value: Any) -> date | None:
    """The local calendar date of a date, a datetime or their ISO text."""
    if isinstance(value, datetime):
        return (value.astimezone(SHANGHAI) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return (
                _as_date(datetime.fromisoformat(value))
                if "T" in value
                else date.fromisoformat(value)
            )
        except ValueError:
            return None
    return None


def as_moment(value: Any) -> datetime | None:
    """A date or datetime (or their ISO text) as an aware moment; a date is its day's start."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=SHANGHAI)
    return None


# --- describing -----------------------------------------------------------------------------------


def describe(cond: Mapping, labels: Mapping[str, str] | None = None) -> str:
    """A short Chinese sentence for a condition (shown when it does not hold)."""
    labels = labels or {}
    if cond.get("message"):
        return cond["message"]
    if "all" in cond:
        return "且".join(describe(c, labels) for c in cond["all"])
    if "any" in cond:
        return "或".join(describe(c, labels) for c in cond["any"])
    if "not" in cond:
        return f"并非（{describe(cond['not'], labels)}）"
    if "happened" in cond:
        return f"已完成「{labels.get('action:' + cond['happened'], cond['happened'])}」"
    if "tasks_done" in cond:
        return "各部门均已报告结果"
    if "days" in cond:
        a, b = (_ref_label(r, labels) for r in cond["days"])
        op = next(k for k in ORDERINGS if k in cond)
        return f"{a}至{b}{_OP_TEXT[op]} {cond[op]} 日"
    ref = _ref_label(cond["of"], labels)
    op = next(k for k in COMPARISONS if k in cond)
    v = cond[op]
    shown = (
        "、".join(_value_label(cond["of"], x, labels) for x in v)
        if isinstance(v, list)
        else _value_label(cond["of"], v, labels)
    )
    return {
        "is": f"{ref}为{shown}",
        "is_not": f"{ref}不为{shown}",
        "in": f"{ref}为{shown}之一",
        "not_in": f"{ref}不为{shown}",
        "has": f"{ref}包含{shown}",
        "set": f"{ref}{'已填写' if v else '未填写'}",
    }.get(op, f"{ref}{_OP_TEXT.get(op, op)}{shown}")


def _ref_label(ref: str, labels: Mapping[str, str]) -> str:
    return labels.get(f"ref:{ref}") or REF_LABELS.get(ref) or ref


def _value_label(ref: str, value: Any, labels: Mapping[str, str]) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return labels.get(f"value:{ref}:{value}") or str(value)
