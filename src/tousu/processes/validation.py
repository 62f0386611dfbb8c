"""Load a process definition from YAML and check it: structure, then the graph.

Every problem is reported with the file, the place (a path such as `actions[3].to`) and its line,
so an administrator can find it. No Django import: `tousu process validate` runs without a database.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from tousu import pydantic_zh
from tousu.accounts.roles import DEFINITION_ROLES as ROLES

from . import conditions
from .definition import ActionDef, ProcessDef

CJK = re.compile(r"[\u4e00-\u9fff]")
ANY_STATE = "any"  # `from: [any]` means every state that is not final
CREATED = "created"  # a clock that starts when the case is registered
REOPENED = "reopened"  # a clock that starts whenever an action with `reopen: true` is taken
READ_ONLY_ROLES = frozenset({"auditor", "admin"})
DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class Problem:
    file: str
    place: str
    line: int | None
    message: str

    def __str__(self) -> str:
        # One problem, one line: control characters and direction overrides quoted from the
        # definition are shown escaped, so they can neither break the line nor reorder it.
        where = f"{self.file}:{self.line}" if self.line else self.file
        return _UNPRINTABLE.sub(
            lambda m: m.group().encode("unicode_escape").decode("ascii"),
            f"{where}: {self.place}: {self.message}",
        )


_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


class DefinitionError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


_place = pydantic_zh.place

MAX_FLOW_DEPTH = 50  # [ ] and { } nested this deep; the templates need three


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing deeply nested flow collections early: PyYAML's scanner takes time
    quadratic in their depth (a few kilobytes of "[" cost seconds)."""

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_FLOW_DEPTH:
            raise yaml.scanner.ScannerError(
                None,
                None,
                f"[ ] 或 {{ }} 嵌套超过 {MAX_FLOW_DEPTH} 层；流程定义只需几层嵌套",
                self.get_mark(),
            )
        super().fetch_flow_collection_start(TokenClass)


def _line(root: yaml.Node | None, loc: tuple) -> int | None:
    """Follow a path through the composed YAML to the node's line (1-based)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            node = match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def load_text(text: str, file: str = "<definition>") -> ProcessDef:
    """Parse and validate; raise DefinitionError listing every problem found."""
    root = None
    try:
        root = yaml.compose(text, Loader=_Loader)
        # Constructed from the composed nodes rather than parsed a second time (half the time).
        raw = None if root is None else yaml.constructor.SafeConstructor().construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise DefinitionError(
            [Problem(file, "YAML", line, f"不是合法的 YAML：{getattr(exc, 'problem', exc)}")]
        ) from None
    except RecursionError:  # the pure-Python parser recurses once per level of nesting
        raise DefinitionError(
            [
                Problem(
                    file,
                    "YAML",
                    None,
                    "嵌套层次太深：流程定义只需几层嵌套（如 actions → form → choices）",
                )
            ]
        ) from None
    except (ValueError, AttributeError, TypeError):
        # A scalar YAML reads as a number or a date that cannot be one (9999…, 2026-13-45, or an
        # explicit `!!timestamp nonsense`, which PyYAML fails on with an AttributeError).
        raise DefinitionError([_bad_scalar(root, file)]) from None
    if not isinstance(raw, dict):
        raise DefinitionError(
            [Problem(file, "(根)", 1, "定义应为一个映射（name、states、actions …）")]
        )
    unstorable = [
        Problem(file, _place(loc), _line(root, loc), msg) for loc, msg in _unstorable_text(raw)
    ]
    if unstorable:
        raise DefinitionError(unstorable)

    try:
        definition = ProcessDef.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            problems.append(Problem(file, _place(loc), _line(root, loc), pydantic_zh.message(err)))
        raise DefinitionError(problems) from None

    problems = [
        Problem(file, place, _line(root, loc), msg)
        for loc, place, msg in _graph_problems(definition)
    ]
    if problems:
        raise DefinitionError(problems)
    return definition


def _bad_scalar(root: yaml.Node | None, file: str) -> Problem:
    """The first scalar that YAML takes for an integer or a date but cannot construct as one:
    9999… beyond 4300 digits, 2026-13-45."""
    constructor = yaml.constructor.SafeConstructor()
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except (ValueError, AttributeError, TypeError):
                value = node.value if len(node.value) <= 20 else node.value[:20] + "…"
                allowed = (
                    "整数最多 4300 位"
                    if node.tag.endswith(":int")
                    else "日期应为真实存在的日期，如 2026-11-27（写成 '…' 则为文本）"
                )
                return Problem(
                    file, "YAML", node.start_mark.line + 1, f"无法解析的值「{value}」：{allowed}"
                )
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in reversed(node.value) for v in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return Problem(file, "YAML", None, "含有无法解析的值：整数最多 4300 位，日期应为真实存在的日期")


def _unstorable_text(raw):
    """(loc, message) for each text the database cannot store: NUL characters (PostgreSQL refuses
    them) and unpaired surrogates (not UTF-8), which YAML's escapes \\0 and \\ud800 produce.
    Iterative and visiting each shared (aliased) value once: an alias bomb costs its size, not its
    expansion."""
    seen, stack = set(), [((), raw)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str | dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, str):
            if "\x00" in value:
                yield loc, "不能包含 NUL（\\u0000）字符：数据库无法保存，请删除它"
            elif not _encodable(value):
                yield loc, "文本编码无效（含孤立的代理字符），应为 UTF-8 文字"
        elif isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in reversed(list(items)):
                if isinstance(key, str) and ("\x00" in key or not _encodable(key)):
                    yield (*loc, key), "名称不能包含 NUL（\\u0000）或无效的 UTF-8 字符"
                stack.append(((*loc, key), item))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_file(path: str | Path) -> ProcessDef:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), "(文件)", None, f"无法读取：{exc}")]) from None
    return load_text(text, str(path))


def _at(*loc):
    return loc, _place(loc)


def _graph_problems(d: ProcessDef):
    """Yield (loc, place, message) for each semantic problem, one small check after another."""
    for check in (
        _duplicate_names,
        _chinese_labels,
        _choices_present,
        _party_fields,
        _state_problems,
        _role_problems,
        _action_problems,
        _condition_problems,
        _department_problems,
        _clock_problems,
    ):
        yield from check(d)
    if _graph_is_sound(d):
        yield from _reachability(d)
        yield from _someone_can_act(d)


def _duplicate_names(d: ProcessDef):
    def duplicates(items, key, section):
        seen = set()
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                yield (*_at(section, i, key), f"重复的名称「{value}」")
            seen.add(value)

    yield from duplicates(d.states, "name", "states")
    yield from duplicates(d.actions, "name", "actions")
    yield from duplicates(d.clocks, "name", "clocks")
    yield from duplicates(d.departments, "code", "departments")
    yield from duplicates(d.categories, "code", "categories")
    yield from duplicates(d.fields, "name", "fields")
    yield from duplicates(d.channels, "value", "channels")
    yield from duplicates(d.roles, "code", "roles")
    for i, action in enumerate(d.actions):
        yield from duplicates(action.form, "name", f"actions[{i}].form")


def _chinese_labels(d: ProcessDef):
    """Chinese labels everywhere a person reads one."""

    def labelled(section, items):
        for i, item in enumerate(items):
            if not CJK.search(item.label):
                yield (*_at(section, i, "label"), f"缺少中文标签（现为「{item.label}」）")

    for section in ("states", "actions", "clocks", "departments", "categories", "fields", "roles"):
        yield from labelled(section, getattr(d, section))
    for i, action in enumerate(d.actions):
        yield from labelled(f"actions[{i}].form", action.form)
    if not CJK.search(d.label):
        yield (*_at("label"), f"缺少中文标签（现为「{d.label}」）")


def _choices_present(d: ProcessDef):
    for loc, field in _all_fields(d):
        if field.type in ("choice", "multichoice") and not field.choices:
            yield (*_at(*loc, "choices"), "选择题字段需要 choices")


def _party_fields(d: ProcessDef):
    seen: set[str] = set()
    for loc, field in _all_fields(d):
        if field.party is None:
            continue
        if loc[0] != "fields":
            yield (*_at(*loc, "party"), "party 只适用于登记字段（fields）")
        elif field.type not in ("text", "choice"):
            yield (*_at(*loc, "party"), "party 只适用于 text 或 choice 类型的字段")
        elif field.party in seen:
            yield (*_at(*loc, "party"), f"只能有一个字段记录 party: {field.party}")
        seen.add(field.party)


def _all_fields(d: ProcessDef):
    """(loc, field) for the registration fields and every action's form fields."""
    for i, field in enumerate(d.fields):
        yield ("fields", i), field
    for i, action in enumerate(d.actions):
        for j, field in enumerate(action.form):
            yield ("actions", i, "form", j), field


def _state_problems(d: ProcessDef):
    if ANY_STATE in {s.name for s in d.states}:
        yield (*_at("states"), f"「{ANY_STATE}」是保留名称，表示任一未结束状态")
    initial = [s for s in d.states if s.initial]
    if len(initial) != 1:
        yield (*_at("states"), f"需要恰好一个初始状态（initial: true），现有 {len(initial)} 个")
    if not d.final_states:
        yield (*_at("states"), "至少需要一个结束状态（final: true）")


def known_roles(d: ProcessDef) -> dict[str, str]:
    return {**ROLES, **{r.code: r.label for r in d.roles}}


def _role_problems(d: ProcessDef):
    roles = known_roles(d)

    def unknown(loc, names):
        for j, role in enumerate(names):
            if role not in roles:
                yield (*_at(*loc, j), f"未知角色「{role}」；可用角色：{', '.join(roles)}")

    for i, r in enumerate(d.roles):
        if r.code in ROLES:
            yield (*_at("roles", i, "code"), f"「{r.code}」是系统角色，不能重新定义")
    yield from unknown(("registration", "roles"), d.registration.roles)
    for j, role in enumerate(d.registration.roles):
        if role in READ_ONLY_ROLES or role == "complainant":
            yield (*_at("registration", "roles", j), f"角色「{role}」不能登记投诉")
    for i, action in enumerate(d.actions):
        yield from unknown(("actions", i, "roles"), action.roles)
        for k, note in enumerate(action.notify):
            yield from unknown(("actions", i, "notify", k, "roles"), note.roles)
    for k, note in enumerate(d.registration.notify):
        yield from unknown(("registration", "notify", k, "roles"), note.roles)
    for i, clock in enumerate(d.clocks):
        yield from unknown(("clocks", i, "extension_roles"), clock.extension_roles)
        yield from unknown(("clocks", i, "notify_roles"), clock.notify_roles)
    for i, action in enumerate(d.actions):
        # The complainant's verdict (a form field named satisfaction, as the reports read it) is
        # theirs: never recorded by the department complained about.
        if any(f.name == "satisfaction" for f in action.form):
            for j, role in enumerate(action.roles):
                if role in {"handler", "dept_head"}:
                    yield (
                        *_at("actions", i, "roles", j),
                        f"「{action.label}」记录投诉人的满意度，不能由被投诉科室的角色「{role}」记录："
                        "应由投诉人本人评价或由投诉管理部门回访记录",
                    )
    for loc, field in _all_fields(d):
        if field.type != "users":
            if field.roles or field.same_department:
                yield (*_at(*loc, "roles"), "roles 和 same_department 只适用于 users 类型的字段")
            continue
        if not field.roles:
            yield (*_at(*loc, "roles"), "users 字段需要 roles：只能选择持有这些角色的人员")
        yield from unknown((*loc, "roles"), field.roles)
        for j, role in enumerate(field.roles):
            if role in READ_ONLY_ROLES:
                yield (*_at(*loc, "roles", j), f"只读角色「{role}」不能被指派办理")


def _action_problems(d: ProcessDef):
    states = {s.name for s in d.states}
    finals = d.final_states
    for i, action in enumerate(d.actions):
        for j, src in enumerate(action.source):
            if src != ANY_STATE and src not in states:
                yield (
                    *_at("actions", i, "from", j),
                    f"动作「{action.name}」的来源状态「{src}」未定义",
                )
            elif src in finals:
                yield (*_at("actions", i, "from", j), f"结束状态「{src}」不能再有动作")
        if action.to is not None and action.to not in states:
            yield (
                *_at("actions", i, "to"),
                f"动作「{action.name}」指向未定义的状态「{action.to}」",
            )
        form = {f.name: f for f in action.form}
        departments = [f for f in action.form if f.type == "departments"]
        if action.tasks.open == "form_departments" and not departments:
            yield (
                *_at("actions", i, "tasks", "open"),
                "form_departments 需要表单中有 departments 类型的字段",
            )
        for j, field in enumerate(action.form):
            if field.lead is not None and field.type != "departments":
                yield (
                    *_at("actions", i, "form", j, "lead"),
                    "lead 只适用于 departments 类型的字段",
                )
            if field.type == "departments" and (
                field.lead is None or getattr(form.get(field.lead), "type", None) != "department"
            ):
                yield (
                    *_at("actions", i, "form", j, "lead"),
                    "多个部门时须明确牵头部门：lead 应为同一表单中 department 类型字段的名称",
                )
        if action.document_when is not None and action.document is None:
            yield (*_at("actions", i, "document_when"), "没有 document 时不能设置 document_when")
        if action.unmet and action.when is None:
            yield (*_at("actions", i, "unmet"), "unmet 只在设置了 when 时使用")


def _scope(d: ProcessDef, form=None, *, actor=True) -> conditions.Scope:
    groups = {a.tasks.group for a in d.actions if a.tasks.open and a.tasks.group}
    if any(a.tasks.open for a in d.actions):
        groups.add(conditions.ALL_TASKS)
    return conditions.Scope(
        fields={f.name: f for f in d.fields},
        form=None if form is None else {f.name: f for f in form},
        actions=frozenset(a.name for a in d.actions),
        groups=frozenset(groups - {conditions.ALL_TASKS}),
        values={
            "channel": frozenset(c.value for c in d.channels),
            "category": frozenset(c.code for c in d.categories),
            "department": frozenset(x.code for x in d.departments),
            "departments": frozenset(x.code for x in d.departments),
            "complexity": frozenset({"general", "complex"}),
            "severity": frozenset({"normal", "serious", "critical"}),
            "roles": frozenset(known_roles(d)),
        },
        actor=actor,
    )


def _condition_problems(d: ProcessDef):
    def check(cond, scope, *loc):
        if cond is None:
            return
        for rel, message in conditions.problems(cond, scope):
            yield (*_at(*loc, *rel), message)

    registration = _scope(d)
    for i, field in enumerate(d.fields):
        yield from check(field.required_when, registration, "fields", i, "required_when")
    for k, note in enumerate(d.registration.notify):
        yield from check(note.when, registration, "registration", "notify", k, "when")
    for i, action in enumerate(d.actions):
        with_form = _scope(d, action.form)
        if action.when is not None:
            yield from check(action.when, registration, "actions", i, "when")
        for j, cond in enumerate(action.require):
            yield from check(cond, with_form, "actions", i, "require", j)
        for j, field in enumerate(action.form):
            yield from check(
                field.required_when, with_form, "actions", i, "form", j, "required_when"
            )
        yield from check(action.document_when, with_form, "actions", i, "document_when")
        for k, note in enumerate(action.notify):
            yield from check(note.when, with_form, "actions", i, "notify", k, "when")
    for i, clock in enumerate(d.clocks):
        yield from check(clock.start_when, _scope(d, actor=False), "clocks", i, "start_when")


def _department_problems(d: ProcessDef):
    departments = {dep.code for dep in d.departments}
    for i, dep in enumerate(d.departments):
        if dep.parent and dep.parent not in departments:
            yield (*_at("departments", i, "parent"), f"上级部门「{dep.parent}」未定义")
    for i, cat in enumerate(d.categories):
        if cat.department and cat.department not in departments:
            yield (
                *_at("categories", i, "department"),
                f"部门「{cat.department}」未在 departments 中定义",
            )
    for i, channel in enumerate(d.channels):
        if channel.department and channel.department not in departments:
            yield (
                *_at("channels", i, "department"),
                f"部门「{channel.department}」未在 departments 中定义",
            )


def _clock_problems(d: ProcessDef):
    actions = {a.name: a for a in d.actions}
    reopening = [a.name for a in d.actions if a.reopen]
    for i, clock in enumerate(d.clocks):
        for key in ("start", "stop", "pause", "resume"):
            for j, name in enumerate(getattr(clock, key)):
                pseudo = key == "start" and name in (CREATED, REOPENED)
                if name not in actions and not pseudo:
                    yield (
                        *_at("clocks", i, key, j),
                        f"时限「{clock.name}」引用了未定义的动作「{name}」",
                    )
                if key == "start" and name == REOPENED and not reopening:
                    yield (
                        *_at("clocks", i, key, j),
                        "没有任何动作设置 reopen: true，reopened 永远不会发生",
                    )
        if (clock.amount is None) == (not clock.until):
            yield (
                *_at("clocks", i, "amount"),
                "时限需要 amount（时长）或 until（截止日期字段）之一，且只能有一个",
            )
        starters = [actions[n] for n in clock.start if n in actions]
        if CREATED in clock.start or REOPENED in clock.start:
            starters.append(None)  # registration or a reopening action: no single form
        for key in ("from", "until"):
            ref = clock.counts_from if key == "from" else clock.until
            if ref:
                yield from _clock_ref_problems(d, clock, key, ref, starters, i)
        if clock.unit in ("calendar_days", "working_days"):
            for key in ("amount", "warn_before", "max_extension"):
                value = getattr(clock, key)
                if value is not None and value != int(value):
                    yield (*_at("clocks", i, key), f"以天计的时限只能是整数天（现为 {value:g}）")
        if clock.max_extension and not clock.extension_roles:
            yield (*_at("clocks", i, "extension_roles"), "允许延期时需要指定可批准延期的角色")
    for i, action in enumerate(d.actions):
        if action.reopen and not any(
            action.name in c.start or REOPENED in c.start for c in d.clocks
        ):
            yield (
                *_at("actions", i, "reopen"),
                f"重新办理的动作「{action.name}」没有启动任何时限：进一步处理也要有期限",
            )


def _clock_ref_problems(d: ProcessDef, clock, key: str, ref: str, starters, i: int):
    """A clock counted from, or due at, a field: the field exists where the clock starts, is a date
    and is always there (required), so no clock starts from a missing value."""
    loc = ("clocks", i, key)
    if key == "from" and ref in ("received", "action"):
        return
    prefix, _, name = ref.partition(".")
    if prefix == "fields":
        field = next((f for f in d.fields if f.name == name), None)
        if field is None:
            yield (*_at(*loc), f"时限「{clock.name}」从未定义的登记字段「{name}」起算")
        elif field.type not in DATE_TYPES:
            yield (*_at(*loc), f"登记字段「{name}」不是日期，不能作为时限的起算或截止")
        return
    if prefix != "form":
        yield (*_at(*loc), "应为 received、action、fields.<字段> 或 form.<字段>")
        return
    for action in starters:
        if action is None:
            yield (*_at(*loc), "由登记或重新办理启动的时限不能引用动作表单（form.…）")
            continue
        field = next((f for f in action.form if f.name == name), None)
        if field is None:
            yield (
                *_at(*loc),
                f"时限「{clock.name}」引用的字段「{name}」不在启动它的动作「{action.name}」的表单中",
            )
        elif field.type not in DATE_TYPES:
            yield (*_at(*loc), f"动作「{action.name}」的字段「{name}」不是日期")
        elif not field.required:
            yield (
                *_at(*loc),
                f"动作「{action.name}」的字段「{name}」不是必填项：时限不能从可能缺失的字段起算",
            )


def _graph_is_sound(d: ProcessDef) -> bool:
    states = {s.name for s in d.states}
    return (
        sum(1 for s in d.states if s.initial) == 1
        and all(a.to is None or a.to in states for a in d.actions)
        and all(s == ANY_STATE or s in states for a in d.actions for s in a.source)
    )


def _edges(d: ProcessDef) -> dict[str, set[str]]:
    states = {s.name for s in d.states}
    edges: dict[str, set[str]] = defaultdict(set)
    for action in d.actions:
        sources = states - d.final_states if ANY_STATE in action.source else set(action.source)
        for src in sources:
            edges[src].add(action.to or src)
    return edges


def _reachability(d: ProcessDef):
    edges = _edges(d)
    reached, queue = {d.initial_state.name}, deque([d.initial_state.name])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for i, state in enumerate(d.states):
        if state.name not in reached:
            yield (*_at("states", i, "name"), f"状态「{state.name}」无法到达：没有动作通向它")

    reverse: dict[str, set[str]] = defaultdict(set)
    for src, targets in edges.items():
        for t in targets:
            reverse[t].add(src)
    can_end, queue = set(d.final_states), deque(d.final_states)
    while queue:
        for prev in reverse[queue.popleft()]:
            if prev not in can_end:
                can_end.add(prev)
                queue.append(prev)
    for i, state in enumerate(d.states):
        if state.name in reached and state.name not in can_end:
            yield (
                *_at("states", i, "name"),
                f"状态「{state.name}」是死路：从它无法到达任何结束状态",
            )


def sets_department(d: ProcessDef, action: ActionDef) -> bool:
    """The action's form always names the responsible department (or a category that maps to one)."""
    mapped = bool(d.categories) and all(c.department for c in d.categories)
    if set(action.roles) <= {"handler", "dept_head"}:
        return True  # only a department's own staff can take it: the case has their department
    for f in action.form:
        always = f.required or f.required_when == {"of": "department", "set": False}
        if always and (
            f.type in ("department", "departments") or (f.type == "category" and mapped)
        ):
            return True
    return False


def department_known(d: ProcessDef) -> dict[str, bool]:
    """For each state: is the case's responsible department known on every path into it?"""
    known = {s.name: not s.initial for s in d.states}
    states = {s.name for s in d.states}
    changed = True
    while changed:
        changed = False
        for action in d.actions:
            sources = states - d.final_states if ANY_STATE in action.source else set(action.source)
            target = action.to
            if target is None:
                continue
            for src in sources:
                if known[target] and not (known[src] or sets_department(d, action)):
                    known[target] = False
                    changed = True
    return known


def _someone_can_act(d: ProcessDef):
    """No state where nobody can take the case further: every open state has an action that is not
    routine, and one a role outside the departments can take unless the department is known."""
    known = department_known(d)
    departmental = {"handler", "dept_head"}
    for i, state in enumerate(d.states):
        if state.final:
            continue
        moving = [
            a for a in d.actions_from(state.name) if not a.routine and ANY_STATE not in a.source
        ]
        if not moving:
            yield (
                *_at("states", i, "name"),
                f"状态「{state.name}」没有可执行的办理动作，案件会停在这里",
            )
            continue
        if not known[state.name] and all(set(a.roles) <= departmental for a in moving):
            yield (
                *_at("states", i, "name"),
                f"状态「{state.name}」只有科室角色可以办理，但进入它时可能还没有责任部门",
            )
    for i, action in enumerate(d.actions):
        sources = [
            s.name
            for s in d.states
            if s.name in action.source or (ANY_STATE in action.source and not s.final)
        ]
        if action.tasks.open == "case_department" and not sets_department(d, action):
            if any(not known[s] for s in sources):
                yield (
                    *_at("actions", i, "tasks", "open"),
                    f"动作「{action.name}」向责任部门派发任务，但执行时可能还没有责任部门："
                    "请在表单中加必填的部门或类别字段（或 required_when: {of: department, set: false}）",
                )
