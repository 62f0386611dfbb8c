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

from .definition import ProcessDef
from .guards import GUARD_REQUIRED_ARGS, GUARDS

CJK = re.compile(r"[\u4e00-\u9fff]")
ANY_STATE = "any"  # `from: [any]` means every state that is not final
CREATED = "created"  # a clock that starts when the case is registered


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
    except ValueError:  # a scalar YAML reads as a number or a date that cannot be one
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
            except ValueError:
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


def _graph_problems(d: ProcessDef):
    """Yield (loc, place, message) for each semantic problem."""

    def at(*loc):
        return loc, _place(loc)

    def duplicates(items, key, section):
        seen = set()
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                yield (*at(section, i, key), f"重复的名称「{value}」")
            seen.add(value)

    yield from duplicates(d.states, "name", "states")
    yield from duplicates(d.actions, "name", "actions")
    yield from duplicates(d.clocks, "name", "clocks")
    yield from duplicates(d.departments, "code", "departments")
    yield from duplicates(d.categories, "code", "categories")
    yield from duplicates(d.fields, "name", "fields")
    for i, action in enumerate(d.actions):
        yield from duplicates(action.form, "name", f"actions[{i}].form")

    # Chinese labels everywhere a person reads one.
    def labelled(section, items):
        for i, item in enumerate(items):
            if not CJK.search(item.label):
                yield (*at(section, i, "label"), f"缺少中文标签（现为「{item.label}」）")

    yield from labelled("states", d.states)
    yield from labelled("actions", d.actions)
    yield from labelled("clocks", d.clocks)
    yield from labelled("departments", d.departments)
    yield from labelled("categories", d.categories)
    yield from labelled("fields", d.fields)
    for i, action in enumerate(d.actions):
        for j, field in enumerate(action.form):
            if not CJK.search(field.label):
                yield (
                    *at("actions", i, "form", j, "label"),
                    f"缺少中文标签（现为「{field.label}」）",
                )
    if not CJK.search(d.label):
        yield (*at("label"), f"缺少中文标签（现为「{d.label}」）")

    for i, field in enumerate(d.fields):
        if field.type in ("choice", "multichoice") and not field.choices:
            yield (*at("fields", i, "choices"), "选择题字段需要 choices")
    for i, action in enumerate(d.actions):
        for j, field in enumerate(action.form):
            if field.type in ("choice", "multichoice") and not field.choices:
                yield (*at("actions", i, "form", j, "choices"), "选择题字段需要 choices")

    states = {s.name for s in d.states}
    if ANY_STATE in states:
        yield (*at("states"), f"「{ANY_STATE}」是保留名称，表示任一未结束状态")
    initial = [i for i, s in enumerate(d.states) if s.initial]
    if len(initial) != 1:
        yield (*at("states"), f"需要恰好一个初始状态（initial: true），现有 {len(initial)} 个")
    finals = {s.name for s in d.states if s.final}
    if not finals:
        yield (*at("states"), "至少需要一个结束状态（final: true）")

    for i, action in enumerate(d.actions):
        for j, src in enumerate(action.source):
            if src != ANY_STATE and src not in states:
                yield (
                    *at("actions", i, "from", j),
                    f"动作「{action.name}」的来源状态「{src}」未定义",
                )
            elif src in finals:
                yield (*at("actions", i, "from", j), f"结束状态「{src}」不能再有动作")
        if action.to is not None and action.to not in states:
            yield (*at("actions", i, "to"), f"动作「{action.name}」指向未定义的状态「{action.to}」")
        for j, role in enumerate(action.roles):
            if role not in ROLES:
                yield (
                    *at("actions", i, "roles", j),
                    f"未知角色「{role}」；可用角色：{', '.join(ROLES)}",
                )
        for j, guard in enumerate(action.guards):
            if guard.name not in GUARDS:
                yield (
                    *at("actions", i, "guards", j, "name"),
                    f"未知的条件「{guard.name}」；可用：{', '.join(GUARDS)}",
                )
            else:
                for arg in GUARD_REQUIRED_ARGS[guard.name]:
                    if arg not in guard.args:
                        yield (
                            *at("actions", i, "guards", j, "args"),
                            f"条件「{guard.name}」缺少参数「{arg}」",
                        )
        if action.tasks.open == "form_departments" and not any(
            f.type == "departments" for f in action.form
        ):
            yield (
                *at("actions", i, "tasks", "open"),
                "form_departments 需要表单中有 departments 类型的字段",
            )

    departments = {dep.code for dep in d.departments}
    for i, dep in enumerate(d.departments):
        if dep.parent and dep.parent not in departments:
            yield (*at("departments", i, "parent"), f"上级部门「{dep.parent}」未定义")
    for i, cat in enumerate(d.categories):
        if cat.department and cat.department not in departments:
            yield (
                *at("categories", i, "department"),
                f"部门「{cat.department}」未在 departments 中定义",
            )

    action_names = {a.name for a in d.actions}
    for i, clock in enumerate(d.clocks):
        for key in ("start", "stop", "pause", "resume"):
            for j, name in enumerate(getattr(clock, key)):
                if name not in action_names and not (key == "start" and name == CREATED):
                    yield (
                        *at("clocks", i, key, j),
                        f"时限「{clock.name}」引用了未定义的动作「{name}」",
                    )
        for key in ("extension_roles", "notify_roles"):
            for j, role in enumerate(getattr(clock, key)):
                if role not in ROLES:
                    yield (
                        *at("clocks", i, key, j),
                        f"未知角色「{role}」；可用角色：{', '.join(ROLES)}",
                    )
        if clock.unit in ("calendar_days", "working_days"):
            for key in ("amount", "warn_before", "max_extension"):
                value = getattr(clock, key)
                if value is not None and value != int(value):
                    yield (*at("clocks", i, key), f"以天计的时限只能是整数天（现为 {value:g}）")
        if clock.max_extension and not clock.extension_roles:
            yield (*at("clocks", i, "extension_roles"), "允许延期时需要指定可批准延期的角色")

    if (
        len(initial) != 1
        or any(a.to is not None and a.to not in states for a in d.actions)
        or any(s != ANY_STATE and s not in states for a in d.actions for s in a.source)
    ):
        return  # reachability is meaningless on a broken graph

    edges: dict[str, set[str]] = defaultdict(set)
    for action in d.actions:
        sources = states - finals if ANY_STATE in action.source else set(action.source)
        for src in sources:
            edges[src].add(action.to or src)

    start = d.states[initial[0]].name
    reached, queue = {start}, deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for i, state in enumerate(d.states):
        if state.name not in reached:
            yield (*at("states", i, "name"), f"状态「{state.name}」无法到达：没有动作通向它")

    reverse: dict[str, set[str]] = defaultdict(set)
    for src, targets in edges.items():
        for t in targets:
            reverse[t].add(src)
    can_end, queue = set(finals), deque(finals)
    while queue:
        for prev in reverse[queue.popleft()]:
            if prev not in can_end:
                can_end.add(prev)
                queue.append(prev)
    for i, state in enumerate(d.states):
        if state.name in reached and state.name not in can_end:
            yield (
                *at("states", i, "name"),
                f"状态「{state.name}」是死路：从它无法到达任何结束状态",
            )
