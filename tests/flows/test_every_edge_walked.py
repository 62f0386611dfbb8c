"""Every (state, action) edge of every shipped template is walked by some test.

tests/conftest.py records each action the engine applies — from the flow scenarios, the API, the
workbench and the portal alike — as (template, state it was taken from, action). This module runs
last (the collection hook puts it there) and compares the record with the templates: an action
that may be taken from three states needs all three walked. An action allowed from every state
(`from: [any]`, e.g. a note) counts as one edge, walked from whichever state. The walked list is
printed, so a run shows what was covered.
"""

from pathlib import Path

import pytest

from tousu.processes.services import template_names, template_path
from tousu.processes.validation import ANY_STATE, load_file

FLOWS = Path(__file__).parent


def scenario_file(template: str) -> Path:
    return FLOWS / f"test_{template.replace('-', '_')}_flow.py"


def edges(definition) -> set[tuple[str, str]]:
    out = set()
    for action in definition.actions:
        if ANY_STATE in action.source:
            out.add((ANY_STATE, action.name))
        else:
            out |= {(state, action.name) for state in action.source}
    return out


@pytest.mark.parametrize("template", template_names())
def test_every_edge_of_the_template_is_walked(template, request, capsys):
    from walked import WALKED

    scenario = scenario_file(template)
    ran = {Path(str(item.path)).name for item in request.session.items}
    if scenario.name not in ran:
        pytest.fail(
            f"这个检查需要和 tests/flows/{scenario.name} 一起运行（它读取场景测试走过的边）"
        )
    definition = load_file(template_path(template))
    anywhere = {a.name for a in definition.actions if ANY_STATE in a.source}
    walked = {
        (ANY_STATE, action) if action in anywhere else (state, action)
        for state, action in WALKED.get(template, set())
    }
    expected = edges(definition)
    with capsys.disabled():  # the walked list goes to the run's own output (CI logs keep it)
        print(f"\n{template}: 走过 {len(walked & expected)}/{len(expected)} 条边")
        for state, action in sorted(walked & expected):
            print(f"  {state:28} --{action}--> {definition.action(action).to or state}")
    missing = sorted(expected - walked)
    assert not missing, f"模板 {template} 中以下 (状态, 动作) 没有被任何测试走过：" + "、".join(
        f"({s}, {a})" for s, a in missing
    )


@pytest.mark.parametrize("template", template_names())
def test_every_template_has_its_scenario_file(template):
    assert scenario_file(template).exists(), f"模板 {template} 没有场景测试文件"


def test_every_scenario_file_belongs_to_a_template():
    templates = {scenario_file(t).name for t in template_names()}
    orphans = sorted(p.name for p in FLOWS.glob("test_*_flow.py") if p.name not in templates)
    assert not orphans, f"这些场景文件没有对应的模板：{', '.join(orphans)}"


@pytest.mark.parametrize("template", template_names())
def test_the_auditor_only_reads(template):
    definition = load_file(template_path(template))
    acting = [a.name for a in definition.actions if "auditor" in a.roles]
    assert not acting, f"模板 {template} 中审计角色不应执行动作：{', '.join(acting)}"
