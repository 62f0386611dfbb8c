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
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.place}: {self.message}"


class DefinitionError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


_place = pydantic_zh.place


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
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise DefinitionError(
            [Problem(file, "YAML", line, f"不是合法的 YAML：{getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(raw, dict):
        raise DefinitionError(
            [Problem(file, "(根)", 1, "定义应为一个映射（name、states、actions …）")]
        )

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
