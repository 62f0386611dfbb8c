"""The definition language's new constructs: conditions, joins, clocks counted from the right moment,
people fields, who may register. Each wrong use is refused by `tousu process validate` with the file,
the line and the place; the condition language itself is checked with hypothesis."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tousu.cli import main
from tousu.processes import conditions
from tousu.processes.services import template_path
from tousu.processes.validation import DefinitionError, load_text

GENERIC = template_path("generic").read_text(encoding="utf-8")
HOSPITAL = template_path("hospital").read_text(encoding="utf-8")


def refused(tmp_path: Path, text: str, capsys) -> list[str]:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["process", "validate", str(path)]) == 2
    return capsys.readouterr().err.strip().splitlines()


def line_of(text: str, err_line: str) -> str:
    number = int(err_line.split("flow.yaml:")[1].split(":")[0])
    return text.splitlines()[number - 1]


def test_unknown_field_in_a_condition(tmp_path, capsys):
    text = GENERIC.replace(
        "    when: {of: complexity, is: general, message: 多项、复杂投诉的方案须报领导批示}",
        "    when: {of: fields.patient_name, set: true}",
    )
    (err,) = refused(tmp_path, text, capsys)
    assert "flow.yaml:" in err and "when.of" in err and "未定义的登记字段「patient_name」" in err
    assert "patient_name" in line_of(text, err)


def test_a_form_field_that_the_action_does_not_have(tmp_path, capsys):
    text = GENERIC.replace(
        "      - {of: form.informed, is: true, message: 落实方案前须通知客户和处理责任人（F14）}",
        "      - {of: form.informd, is: true}",
    )
    (err,) = refused(tmp_path, text, capsys)
    assert "require[0].of" in err and "表单中不存在的字段「informd」" in err


def test_a_value_that_the_choice_does_not_offer(tmp_path, capsys):
    text = GENERIC.replace("    document_when: {of: form.method, is: written}",
                           "    document_when: {of: form.method, is: fax}")  # fmt: skip
    (err,) = refused(tmp_path, text, capsys)
    assert "document_when.is" in err and "「fax」不是可选的值" in err


def test_a_join_over_no_tasks(tmp_path, capsys):
    text = GENERIC.replace("      - {tasks_done: joint}", "      - {tasks_done: nobody}")
    (err,) = refused(tmp_path, text, capsys)
    assert (
        "require[0].tasks_done" in err and "会签条件等待的任务组「nobody」没有任何动作派发" in err
    )
    assert "tasks_done: nobody" in line_of(text, err)


def test_a_clock_started_from_a_missing_field(tmp_path, capsys):
    text = HOSPITAL.replace("    from: form.received_on", "    from: form.written_on")
    (err,) = refused(tmp_path, text, capsys)
    assert "clocks[" in err and ".from" in err
    assert "「written_on」不在启动它的动作「receive_written_complaint」的表单中" in err


def test_a_clock_started_from_an_optional_field(tmp_path, capsys):
    text = HOSPITAL.replace(
        "      - {name: received_on, label: 投诉书提出日期, type: date, required: true,",
        "      - {name: received_on, label: 投诉书提出日期, type: date,",
    )
    (err,) = refused(tmp_path, text, capsys)
    assert "不是必填项：时限不能从可能缺失的字段起算" in err


def test_a_clock_from_a_field_that_is_not_a_date(tmp_path, capsys):
    text = HOSPITAL.replace("    from: form.received_on", "    from: form.summary")
    (err,) = refused(tmp_path, text, capsys)
    assert "不是日期" in err


def test_a_users_field_without_roles_or_with_a_read_only_role(tmp_path, capsys):
    text = HOSPITAL.replace("type: users, roles: [leader], required: true",
                            "type: users, roles: [auditor], required: true")  # fmt: skip
    (err,) = refused(tmp_path, text, capsys)
    assert "只读角色「auditor」不能被指派办理" in err


def test_several_departments_without_an_explicit_lead(tmp_path, capsys):
    text = GENERIC.replace(
        "      - {name: departments, label: 处理部门, type: departments, required: true, lead: lead_department}",
        "      - {name: departments, label: 处理部门, type: departments, required: true}",
    )
    (err,) = refused(tmp_path, text, capsys)
    assert "须明确牵头部门" in err


def test_satisfaction_recorded_by_the_department_complained_about(tmp_path, capsys):
    text = GENERIC.replace(
        "  - name: confirm_satisfied\n    label: 回访：客户满意\n    from: [awaiting_verdict]\n"
        "    to: closed\n    roles: [receiver, officer]",
        "  - name: confirm_satisfied\n    label: 回访：客户满意\n    from: [awaiting_verdict]\n"
        "    to: closed\n    roles: [receiver, officer, dept_head]",
    )
    (err,) = refused(tmp_path, text, capsys)
    assert "不能由被投诉科室的角色「dept_head」记录" in err


def test_a_reopening_action_without_a_clock(tmp_path, capsys):
    text = GENERIC.replace("    start: [created, reopened]", "    start: [created]")
    errors = refused(tmp_path, text, capsys)
    assert any("没有启动任何时限" in e for e in errors)


def test_a_task_for_a_case_that_may_have_no_department(tmp_path, capsys):
    text = GENERIC.replace(
        "      - {name: category, label: 投诉类别, type: category, required: true}\n"
        "      - {name: department, label: 责任部门, type: department, help: 不选则按类别对应的部门}",
        "      - {name: category, label: 投诉类别, type: category}\n"
        "      - {name: department, label: 责任部门, type: department, help: 不选则按类别对应的部门}",
    )
    errors = refused(tmp_path, text, capsys)
    assert any("assign_department" in e and "可能还没有责任部门" in e for e in errors)


def test_a_state_where_nobody_can_act(tmp_path, capsys):
    text = GENERIC.replace(
        "  - {name: archived, label: 已归档, final: true}",
        "  - {name: archived, label: 已归档, final: true}\n  - {name: parked, label: 搁置}",
    ).replace(
        "\nclocks:",
        "  - name: park\n    label: 搁置\n    from: [registered]\n    to: parked\n    roles: [officer]\n"
        "  - name: unpark_note\n    label: 搁置备注\n    from: [parked]\n    to: closed\n"
        "    roles: [officer]\n    routine: true\n\nclocks:",
    )
    errors = refused(tmp_path, text, capsys)
    assert any("「parked」没有可执行的办理动作" in e for e in errors)


def test_who_may_register_is_checked(tmp_path, capsys):
    text = HOSPITAL.replace(
        "  roles: [receiver, officer, handler, dept_head]\n  notify:",
        "  roles: [receiver, auditor]\n  notify:",
    )
    errors = refused(tmp_path, text, capsys)
    assert any("角色「auditor」不能登记投诉" in e for e in errors)


def test_unrecognised_condition_and_bad_round(tmp_path, capsys):
    text = HOSPITAL.replace(
        "    when: {happened: request_appraisal, message: 尚未委托医疗损害鉴定}",
        "    when: {happend: request_appraisal}",
    ).replace(
        "    when: {happened: receive_written_complaint, message: 领导小组研究患方书面投诉的纠纷（F13）}",
        "    when: {happened: receive_written_complaint, round: last}",
    )
    errors = refused(tmp_path, text, capsys)
    assert any("无法识别的条件" in e for e in errors)
    assert any("round 只能是 current" in e for e in errors)


# --- the language itself ---------------------------------------------------------------------------


class Facts:
    def __init__(self, values, happened=(), tasks=()):
        self.values, self._happened, self._tasks = values, set(happened), list(tasks)

    def value(self, ref):
        return self.values.get(ref)

    def happened(self, action, any_round):
        return action in self._happened

    def tasks(self, group):
        return [(d, done) for g, d, done in self._tasks if group is None or g == group]


def test_a_join_names_the_departments_still_outstanding():
    cond = {"tasks_done": "joint"}
    facts = Facts({}, tasks=[("joint", "护理部", True), ("joint", "药械科", False),
                             ("other", "财务科", False)])  # fmt: skip
    assert conditions.check(cond, facts) == "还有部门未报告结果：药械科"
    own = {"tasks_done": "joint", "message": "须各科室报告"}
    assert conditions.check(own, facts) == "须各科室报告（还有部门未报告结果：药械科）"
    assert conditions.check({"tasks_done": "joint"}, Facts({})) == "尚未派发需要报告结果的任务"


def test_days_between_dates():
    cond = {"days": ["fields.contract_end", "received_at"], "gt": 90}
    from datetime import datetime, timedelta, timezone

    sh = timezone(timedelta(hours=8))
    received = datetime(2026, 6, 30, 23, 0, tzinfo=sh)
    assert conditions.holds(
        cond, Facts({"fields.contract_end": "2026-03-31", "received_at": received})
    )
    assert not conditions.holds(
        cond, Facts({"fields.contract_end": "2026-04-01", "received_at": received})
    )  # 90 days exactly is not more than 90
    assert not conditions.holds(cond, Facts({"received_at": received}))  # no date: not shown


refs = st.sampled_from(["channel", "anonymous", "complexity", "form.method", "fields.kind"])
values = st.sampled_from(["letter", "phone", "complex", "general", "written", "oral", True, False])
leaves = st.builds(lambda r, op, v: {"of": r, op: v}, refs, st.sampled_from(["is", "is_not"]),
                   values)  # fmt: skip
trees = st.recursive(
    leaves,
    lambda c: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(c, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(c, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, c),
    ),
    max_leaves=8,
)
cases = st.fixed_dictionaries(
    {"channel": st.sampled_from(["letter", "phone"]), "anonymous": st.booleans(),
     "complexity": st.sampled_from(["general", "complex"]),
     "fields.kind": st.sampled_from(["written", "oral"])}
)  # fmt: skip


def _truth(cond, values, form):
    """A second reading of the language, written straight from its definition."""
    if "all" in cond:
        return all(_truth(c, values, form) for c in cond["all"])
    if "any" in cond:
        return any(_truth(c, values, form) for c in cond["any"])
    if "not" in cond:
        return not _truth(cond["not"], values, form)
    ref = cond["of"]
    v = form.get(ref[5:]) if ref.startswith("form.") else values.get(ref)
    return v == cond["is"] if "is" in cond else v != cond["is_not"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(trees, cases, st.sampled_from(["written", "oral"]))
def test_the_engine_reads_any_condition_as_written(cond, values, method):
    form = {"method": method}
    got = conditions.check(cond, Facts(values), form=form)
    assert (got is None) == _truth(cond, values, form)
    if got is not None:
        assert got  # an unmet condition always says something


def test_a_definition_with_conditions_round_trips_through_validation():
    d = load_text(HOSPITAL)
    petition = d.action("petition_register")
    assert petition.when["all"][0] == {"of": "channel", "is": "petition"}
    with pytest.raises(DefinitionError):
        load_text(HOSPITAL.replace("{of: channel, is: petition}", "{of: channel, is: fax}"))
