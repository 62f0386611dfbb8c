"""`tousu process validate`: each kind of broken definition is refused with exit code 2 and a message
naming the file and the place; the shipped templates are accepted."""

from pathlib import Path

import pytest

from tousu.cli import main
from tousu.processes.services import template_names, template_path
from tousu.processes.validation import DefinitionError, load_text

GENERIC = template_path("generic").read_text(encoding="utf-8")
_GENERIC = load_text(GENERIC)
# Where each named action and state sits in the generic template (places are reported by index).
AT = {a.name: i for i, a in enumerate(_GENERIC.actions)} | {
    f"state:{s.name}": i for i, s in enumerate(_GENERIC.states)
}


def _validate(tmp_path: Path, text: str, capsys) -> tuple[int, str]:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["process", "validate", str(path)])
    return code, capsys.readouterr().err


BROKEN = {
    "action into an undefined state": (
        ("    to: implementing\n", "    to: implementng\n", 1),
        f"actions[{AT['reply']}].to",
        "未定义的状态「implementng」",
    ),
    "state that no action reaches": (
        (
            "  - {name: closed, label: 已结案, closed: true}\n",
            "  - {name: closed, label: 已结案, closed: true}\n  - {name: orphan, label: 孤立状态}\n",
            1,
        ),
        f"states[{AT['state:closed'] + 1}].name",
        "无法到达",
    ),
    "state from which no end state is reachable": (
        (
            "  - {name: closed, label: 已结案, closed: true}\n",
            "  - {name: closed, label: 已结案, closed: true}\n  - {name: limbo, label: 搁置}\n",
            1,
        ),
        f"states[{AT['state:closed'] + 1}].name",
        "死路",
    ),
    "unknown role": (
        ("    roles: [leader]\n", "    roles: [leader, janitor]\n", 1),
        "roles[1]",
        "未知角色「janitor」",
    ),
    "duplicate action name": (
        ("  - name: escalate\n", "  - name: assign_department\n", 1),
        f"actions[{AT['escalate']}].name",
        "重复的名称",
    ),
    "missing Chinese label": (
        ("    label: 答复客户\n", "    label: Reply to customer\n", 1),
        f"actions[{AT['reply']}].label",
        "缺少中文标签",
    ),
    "label missing altogether": (
        ("    label: 领导批示\n", "", 1),
        f"actions[{AT['instruct']}].label",
        "缺少必填项",
    ),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_definition_is_refused_with_file_and_place(kind, tmp_path, capsys):
    (old, new, count), place, words = BROKEN[kind]
    text = GENERIC.replace(old, new, count)
    if kind == "state from which no end state is reachable":
        text = text.replace(
            "\nclocks:",
            "  - name: shelve\n    label: 搁置处理\n    from: [registered]\n    to: limbo\n    roles: [officer]\n\nclocks:",
        )
    assert text != GENERIC
    code, err = _validate(tmp_path, text, capsys)
    assert code == 2
    assert "broken.yaml:" in err  # the file, with a line number after it
    assert place in err, err
    assert words in err, err


def test_line_numbers_point_at_the_problem(tmp_path, capsys):
    text = GENERIC.replace("    to: implementing\n", "    to: implementng\n", 1)
    _, err = _validate(tmp_path, text, capsys)
    line = int(err.split("broken.yaml:")[1].split(":")[0])
    assert text.splitlines()[line - 1].strip() == "to: implementng"


def test_not_yaml_and_not_a_mapping(tmp_path, capsys):
    assert _validate(tmp_path, "states: [a, b\n", capsys)[0] == 2
    code, err = _validate(tmp_path, "- just\n- a list\n", capsys)
    assert code == 2 and "映射" in err


def test_missing_file_is_a_clear_error(capsys):
    assert main(["process", "validate", "/nonexistent/flow.yaml"]) == 2
    assert "无法读取" in capsys.readouterr().err


@pytest.mark.parametrize("name", template_names())
def test_shipped_templates_validate(name, capsys):
    assert main(["process", "validate", str(template_path(name))]) == 0
    assert "通过" in capsys.readouterr().out


def test_every_problem_is_reported_at_once():
    text = GENERIC.replace("    roles: [leader]\n", "    roles: [janitor]\n").replace(
        "    to: implementing\n", "    to: nowhere\n"
    )
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "x.yaml")
    assert len(exc.value.problems) >= 3


def test_process_list_and_show(capsys):
    assert main(["process", "list"]) == 0
    assert "generic" in capsys.readouterr().out
    assert main(["process", "show", "generic"]) == 0
    out = capsys.readouterr().out
    assert "领导批示" in out and "答复时限" in out
    assert main(["process", "show", "nope"]) == 2


@pytest.mark.parametrize("name", template_names())
def test_diagram_renders_every_state_with_chinese_labels(name, tmp_path, capsys):
    out = tmp_path / f"{name}.svg"
    assert main(["process", "diagram", name, "-o", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    from tousu.processes.validation import load_file

    d = load_file(template_path(name))
    assert svg.startswith("<svg") and svg.count('class="state') == len(d.states)
    for state in d.states:
        assert f">{state.label}</text>" in svg
    import xml.dom.minidom

    xml.dom.minidom.parseString(svg)  # well-formed


def test_diagram_highlights_the_path_taken():
    from tousu.processes.diagram import render_svg
    from tousu.processes.validation import load_file

    d = load_file(template_path("generic"))
    svg = render_svg(
        d,
        current="classifying",
        visited=frozenset({"registered", "classifying"}),
        taken=frozenset({("registered", "classifying")}),
    )
    assert 'class="state current visited" data-state="classifying"' in svg
    assert 'class="edge taken" data-from="registered" data-to="classifying"' in svg
    assert svg.count("edge taken") == 1
