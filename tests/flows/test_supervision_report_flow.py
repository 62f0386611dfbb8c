"""The `supervision-report` flow, branch by branch as F9 draws it (with its linked routine inspection
flow): who could act, the deadlines on the official calendar, the documents issued, the final state."""

import pytest

from moments import at, end_of
from tousu.cases.errors import Forbidden, Invalid, NotPossible

pytestmark = pytest.mark.django_db

REPORTER = [{"role": "complainant", "name": "赵敏", "phone": "13700001111"}]


@pytest.fixture
def f(install_flow):
    return install_flow("supervision-report")


def accepted(f, c, category="food_safety"):
    c = f.act(c, "receiver", "accept_report", category=category, summary="餐馆后厨脏乱",
              violation="无健康证上岗")  # fmt: skip
    assert c.state == "awaiting_approval" and f.documents(c) == ["registration_form"]
    return c


def investigating(f, c, section="food_hygiene"):
    c = f.act(c, "leader", "approve", instruction="同意，食品科承办")
    assert c.state == "assigning" and c.department.code == section
    assert f.who_can(c, "assign_inspectors") == [f"head_{section}"]
    c = f.act(c, f"head_{section}", "assign_inspectors",
              inspectors=[f"inspector1_{section}", f"inspector2_{section}"])  # fmt: skip
    assert c.state == "investigating"
    return c


def test_F9_at_least_two_different_inspectors_of_the_section(f):
    c = accepted(f, f.register("举报", channel="phone", parties=REPORTER))
    c = f.act(c, "leader", "approve", instruction="同意")
    head = "head_food_hygiene"
    one = "inspector1_food_hygiene"
    # One person listed twice is one inspector.
    err = f.refused(c, head, "assign_inspectors", error=Invalid, inspectors=[one, one])
    assert "重复" in err.message
    # Staff who do not hold the inspector role, or read-only staff, do not count.
    f.refused(c, head, "assign_inspectors", error=Invalid, inspectors=[one, "handler_food_hygiene"])
    f.refused(c, head, "assign_inspectors", error=Invalid, inspectors=[one, "auditor"])
    # Inspectors of another section are not this section's.
    f.refused(c, head, "assign_inspectors", error=Invalid,
              inspectors=[one, "inspector1_public_places"])  # fmt: skip
    f.refused(c, head, "assign_inspectors", error=Invalid, inspectors=[one])
    c = f.act(c, head, "assign_inspectors", inspectors=[one, "inspector2_food_hygiene"])
    assert c.state == "investigating"


def test_F9_not_our_jurisdiction_explained_and_the_competent_body_named(f):
    c = f.register("小区噪音扰民", channel="phone", parties=REPORTER)
    c = f.act(c, "receiver", "refer_to_competent_body", reason="噪音不属卫生监督",
              competent_body="生态环境局", method="phone")  # fmt: skip
    assert c.state == "not_ours" and f.documents(c) == []  # told by phone: no written notice
    c2 = f.register("物业乱收费", channel="letter", parties=REPORTER)
    c2 = f.act(c2, "officer", "refer_to_competent_body", reason="价格问题", competent_body="市场监管局",
               method="written")  # fmt: skip
    assert f.documents(c2) == ["transfer_notice"]
    c2 = f.act(c2, "officer", "archive", summary="已告知")
    assert c2.state == "archived"


def test_F9_established_case_filed_prosecuted_reply_within_3_working_days(f):
    c = f.register("后厨老鼠乱窜", channel="superior", parties=REPORTER,
                   fields={"source_body": "市卫健委", "source_reference": "卫监交〔2026〕12号"})  # fmt: skip
    c = investigating(f, accepted(f, c))
    c = f.act(c, "inspector1_food_hygiene", "record_site_inspection", in_uniform=True,
              credentials_shown=True, inspected_at="2026-09-28", findings="发现鼠迹",
              inspectors=["inspector1_food_hygiene", "inspector2_food_hygiene"])  # fmt: skip
    c = f.act(c, "handler_food_hygiene", "file_case", findings="违法属实", legal_basis="食品安全法")
    assert c.state == "prosecuting"
    c = f.act(c, "inspector2_food_hygiene", "record_site_inspection", in_uniform=True,
              credentials_shown=True, inspected_at="2026-09-29", findings="复查",
              inspectors=["inspector1_food_hygiene", "inspector2_food_hygiene"])  # fmt: skip
    c = f.act(c, "head_food_hygiene", "report_result", result="罚款五千元",
              at=at(2026, 9, 30, 10, 0))  # fmt: skip
    # The reporter left a phone number and is not anonymous: 3 working days, 09-30 not counted.
    assert f.due(c, "reply_3wd") == end_of(2026, 10, 10)
    c = f.act(c, "officer", "reply_to_reporter", reply="已立案查处", method="letter")
    assert c.state == "replied" and f.documents(c) == ["registration_form", "written_reply"]
    c = f.act(c, "officer", "archive", summary="归档")
    assert c.state == "archived"


def test_F9_site_inspection_needs_uniforms_and_credentials(f):
    c = investigating(f, accepted(f, f.register("举报", channel="phone", parties=REPORTER)))
    err = f.refused(c, "handler_food_hygiene", "record_site_inspection", error=Invalid,
                    in_uniform=True, credentials_shown=False, inspected_at="2026-09-28",
                    findings="x", inspectors=["inspector1_food_hygiene", "inspector2_food_hygiene"])  # fmt: skip
    assert "执法证件" in err.message


def test_F9_not_established_the_investigation_ends(f):
    c = investigating(f, accepted(f, f.register("举报", channel="transfer", parties=REPORTER)))
    c = f.act(c, "handler_food_hygiene", "end_investigation", findings="未发现", proposal="终止")
    c = f.act(c, "handler_food_hygiene", "report_result", result="调查终结")
    c = f.act(c, "officer", "reply_to_reporter", reply="未查实", method="phone")
    assert c.state == "replied" and f.documents(c) == ["registration_form"]


def test_F9_anonymous_or_no_contact_no_reply_and_no_reply_clock(f):
    c = f.register("匿名举报诊所非法行医", channel="letter", is_anonymous=True)
    c = investigating(f, accepted(f, c, category="illegal_practice"), section="medical_practice")
    c = f.act(c, "handler_medical_practice", "end_investigation", findings="无", proposal="终止")
    c = f.act(c, "handler_medical_practice", "report_result", result="终结")
    assert "reply_3wd" not in f.clocks(c)
    err = f.refused(c, "officer", "reply_to_reporter", error=NotPossible, reply="x", method="phone")
    assert "无法答复" in err.message
    c = f.act(c, "officer", "archive_without_reply", reason="anonymous_no_contact")
    assert c.state == "archived"
    # Named but without any contact detail: no one to reply to either.
    c2 = f.register("举报", channel="visit", parties=[{"role": "complainant", "name": "某人"}])
    c2 = investigating(f, accepted(f, c2))
    c2 = f.act(c2, "handler_food_hygiene", "end_investigation", findings="无", proposal="终止")
    c2 = f.act(c2, "handler_food_hygiene", "report_result", result="终结")
    assert "reply_3wd" not in f.clocks(c2) and "reply_to_reporter" not in f.possible(c2, "officer")


def test_F9_first_question_responsibility_a_section_registers_what_it_receives(f):
    c = f.register("举报", channel="direct", parties=REPORTER, by="handler_school_health")
    assert c.first_department.code == "school_health"


def test_F9_routine_inspection_no_problem_found(f):
    c = f.register("季度经常性卫生监督：某宾馆", channel="routine_inspection",
                   by="head_public_places", parties=[])  # fmt: skip
    assert "accept_report" not in f.possible(c, "receiver")
    assert "refer_to_competent_body" not in f.possible(c, "receiver")
    c = f.act(c, "head_public_places", "plan_routine_inspection", category="public_place_hygiene",
              inspectors=["inspector1_public_places", "inspector2_public_places"])  # fmt: skip
    assert c.state == "inspection_planned"
    c = f.act(c, "inspector1_public_places", "inspection_no_problem", in_uniform=True,
              credentials_shown=True, inspected_at="2026-11-10", findings="卫生许可证有效",
              inspectors=["inspector1_public_places", "inspector2_public_places"])  # fmt: skip
    assert c.state == "inspection_closed"
    c = f.act(c, "officer", "archive", summary="例行检查")
    assert c.state == "archived"


def test_F9_routine_inspection_problem_found_becomes_a_case(f):
    c = f.register("经常性卫生监督：游泳馆", channel="routine_inspection", by="head_public_places",
                   parties=[])  # fmt: skip
    c = f.act(c, "head_public_places", "plan_routine_inspection", category="public_place_hygiene",
              inspectors=["inspector1_public_places", "inspector2_public_places"])  # fmt: skip
    f.refused(c, "handler_public_places", "inspection_problem_found", error=Invalid, in_uniform=False,
              credentials_shown=True, inspected_at="2026-11-10", findings="x",
              inspectors=["inspector1_public_places", "inspector2_public_places"])  # fmt: skip
    c = f.act(c, "handler_public_places", "inspection_problem_found", in_uniform=True,
              credentials_shown=True, inspected_at="2026-11-10", findings="余氯超标",
              inspectors=["inspector1_public_places", "inspector2_public_places"])  # fmt: skip
    c = f.act(
        c, "handler_public_places", "file_case", findings="超标", legal_basis="公共场所卫生管理条例"
    )
    c = f.act(c, "handler_public_places", "report_result", result="责令整改")
    c = f.act(c, "officer", "archive_without_reply", reason="routine_inspection")
    assert c.state == "archived"


def test_who_may_not_act(f):
    c = accepted(f, f.register("举报", channel="phone", parties=REPORTER))
    f.refused(c, "officer", "approve", error=Forbidden, instruction="越权")
    c = f.act(c, "officer", "add_note", note="待审批")
    assert c.state == "awaiting_approval"
