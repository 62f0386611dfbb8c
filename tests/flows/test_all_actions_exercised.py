"""Every action of every shipped template is walked by some scenario.

The scenario files `tests/flows/test_<template>_flow.py` (hyphens in the template's file name become
underscores) call `act(complaint, who, "action_name", ...)` / `f.act(...)` with the action name as a
string literal. This test reads those literals with `ast` — statically, so it does not depend on
which tests ran or in which order — and compares them with each template's actions.
"""

import ast
from pathlib import Path

import pytest

from tousu.processes.services import template_names, template_path
from tousu.processes.validation import load_file

FLOWS = Path(__file__).parent
HELPER = "act"  # act(c, who, "name", **form) in test_generic_flow.py; f.act(...) elsewhere


def scenario_file(template: str) -> Path:
    return FLOWS / f"test_{template.replace('-', '_')}_flow.py"


def _literal(node: ast.expr) -> str | None:
    """The string a node always evaluates to, or None: a constant, or `a if <constant> else b`."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Constant):
        return _literal(node.body if node.test.value else node.orelse)
    return None


def exercised_actions(path: Path) -> set[str]:
    """Action names passed as a literal third positional argument to an `act` helper."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) < 3:
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if called == HELPER and (action := _literal(node.args[2])) is not None:
            names.add(action)
    return names


@pytest.mark.parametrize("template", template_names())
def test_every_action_of_the_template_is_exercised(template):
    definition = load_file(template_path(template))
    path = scenario_file(template)
    assert path.exists(), f"模板 {template} 没有场景测试文件 tests/flows/{path.name}"
    exercised = exercised_actions(path)
    missing = [a.name for a in definition.actions if a.name not in exercised]
    assert not missing, (
        f"模板 {template} 中以下动作没有被 {path.name} 的任何场景执行：{', '.join(missing)}"
    )
    unknown = sorted(exercised - {a.name for a in definition.actions})
    assert not unknown, f"{path.name} 执行了模板 {template} 中不存在的动作：{', '.join(unknown)}"


def test_every_scenario_file_belongs_to_a_template():
    templates = {scenario_file(t).name for t in template_names()}
    orphans = sorted(p.name for p in FLOWS.glob("test_*_flow.py") if p.name not in templates)
    assert not orphans, f"这些场景文件没有对应的模板：{', '.join(orphans)}"


def test_the_collector_sees_literal_action_names_only(tmp_path):
    sample = tmp_path / "test_sample_flow.py"
    sample.write_text(
        "def test_x(f, act, c, name):\n"
        "    f.act(c, 'officer', 'judge_valid', reason='r')\n"
        "    act(c, 'officer', 'archive')\n"
        "    act(c, 'officer', name)\n"
        "    act(c, 'officer', 'a' if c else 'b')\n"
        "    act(c, 'officer', 'confirm' if False else 'reopen')\n"
        "    f.refused(c, 'officer', 'instruct')\n",
        encoding="utf-8",
    )
    assert exercised_actions(sample) == {"judge_valid", "archive", "reopen"}


@pytest.mark.parametrize("template", template_names())
def test_the_auditor_only_reads(template):
    definition = load_file(template_path(template))
    acting = [a.name for a in definition.actions if "auditor" in a.roles]
    assert not acting, f"模板 {template} 中审计角色不应执行动作：{', '.join(acting)}"
