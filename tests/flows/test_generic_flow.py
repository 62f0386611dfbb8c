"""The `generic` flow, branch by branch as F1, F3, F6 and F14 draw them: who could act, the deadlines'
due times on the official calendar (2026: National Day 10-01…10-07, Saturday 10-10 a working day),
the documents issued and the final state."""

import pytest

from moments import at, end_of
from tousu.cases.errors import Forbidden, Invalid, NotPossible

pytestmark = pytest.mark.django_db


@pytest.fixture
def f(install_flow):
    return install_flow("generic")


def valid(f, c, when=None):
    c = f.act(c, "officer", "judge_valid", reason="理由充分、要求合理", at=when)
    assert c.state == "classifying"
    return c


def test_F6_receiver_solves_it_on_the_spot_and_it_stays_recorded(f):
    c = f.register("前台收银找零错误", at=at(2026, 9, 30, 16, 0))
    assert f.due(c, "reply_24h") == at(2026, 10, 1, 16, 0)  # 24 hours, holiday or not
    assert "resolve_on_spot" in f.possible(c, "receiver")
    assert "resolve_on_spot" not in f.possible(c, "handler_customer_service")
    c = f.act(
        c, "receiver", "resolve_on_spot", solution="当场补足差额并道歉", satisfaction="satisfied"
    )
    assert c.state == "closed" and f.clocks(c) == {"reply_24h": "stopped"}
    c = f.act(c, "officer", "archive", summary="收银员培训")
    assert c.state == "archived" and f.documents(c) == []


def test_F1_invalid_complaint_explained_customer_satisfied_ends(f):
    c = f.register("要求对已过保修期的产品免费维修")
    c = f.act(
        c, "receiver", "judge_invalid", explanation="已过保修期，按合同属自费维修", method="oral"
    )
    assert c.state == "explained" and f.clocks(c) == {"reply_24h": "stopped"}
    c = f.act(c, "receiver", "accept_explanation", comment="理解")
    assert c.state == "closed" and f.documents(c) == []


def test_F1_explanation_rejected_starts_a_new_round_with_its_own_24_hours(f):
    c = f.register("产品有异味", at=at(2026, 11, 2, 9, 0))
    c = f.act(c, "receiver", "judge_invalid", explanation="属正常现象", method="written",
              at=at(2026, 11, 2, 15, 0))  # fmt: skip
    c = f.act(c, "officer", "reject_explanation", comment="坚持认为是质量问题",
              at=at(2026, 11, 4, 10, 0))  # fmt: skip
    assert c.state == "classifying" and c.round == 2 and "reopened" in c.flags
    # Further handling is timed again, from the moment it was reopened.
    assert f.due(c, "reply_24h") == at(2026, 11, 5, 10, 0)
    c = f.act(c, "officer", "assign_department", category="quality")
    assert c.department.code == "quality_management"  # F3: quality → 质量管理部


@pytest.mark.parametrize(
    "category,department",
    [("transport", "storage_transport"), ("quality", "quality_management"),
     ("service", "customer_service")],
)  # fmt: skip
def test_F3_the_content_decides_the_responsible_department(f, category, department):
    c = valid(f, f.register("投诉"))
    c = f.act(c, "officer", "assign_department", category=category)
    assert c.department.code == department and f.tasks(c) == [(department, "调查处理", "open")]


def test_F1_F3_F14_single_general_complaint_needs_no_leader(f):
    c = f.register("送货延误三天", at=at(2026, 9, 29, 9, 0))
    c = valid(f, c, at(2026, 9, 29, 10, 0))
    assert f.documents(c) == ["acceptance_receipt"]
    c = f.act(c, "officer", "assign_department", category="transport")
    assert c.complexity == "general"
    # General: the department's plan goes to the reply; the leader has nothing to instruct (F1).
    assert "propose_plan" in f.possible(c, "handler_storage_transport")
    assert "submit_plan_for_instruction" not in f.possible(c, "handler_storage_transport")
    c = f.act(c, "handler_storage_transport", "propose_plan", cause="司机绕路", plan="赔偿运费")
    assert c.state == "replying" and f.who_can(c, "reply") == ["officer"]
    c = f.act(c, "officer", "reply", reply="已查明原因，赔偿运费", method="phone",
              at=at(2026, 9, 30, 8, 30))  # fmt: skip
    assert f.clocks(c) == {"reply_24h": "stopped", "implement_5wd": "running"}
    assert f.clock(c, "reply_24h").breached_at is None  # 24 h from receipt: met
    # F14: implement within 5 working days, across National Day and the make-up Saturday.
    assert f.due(c, "implement_5wd") == end_of(2026, 10, 13)
    assert f.documents(c) == ["acceptance_receipt"]  # answered by phone: no written reply
    f.refused(c, "handler_storage_transport", "complete_implementation", error=Invalid,
                  responsible="司机刘某", measures="已赔偿", informed=False)  # fmt: skip
    c = f.act(c, "handler_storage_transport", "complete_implementation", responsible="司机刘某",
              measures="已赔偿运费", informed=True)  # fmt: skip
    assert c.state == "awaiting_verdict"
    c = f.act(c, "officer", "confirm_satisfied", satisfaction="satisfied")
    assert c.state == "closed"


def test_F1_F14_multiple_complex_complaint_goes_to_the_superior_and_every_department_reports(f):
    c = valid(f, f.register("运输损坏且质量不合格，客服推诿"))
    f.refused(c, "officer", "escalate", error=Invalid, reason="多项投诉")  # which kind?
    c = f.act(c, "officer", "escalate", nature="multiple_items", reason="运输、质量、服务三项")
    assert c.state == "awaiting_superior" and f.who_can(c, "superior_assign") == ["leader"]
    # Several departments: the lead is named, never taken from the list's order.
    f.refused(c, "leader", "superior_assign", error=Invalid, instruction="共同处理",
              departments=["storage_transport", "quality_management"])  # fmt: skip
    c = f.act(c, "leader", "superior_assign", instruction="三部门共同处理，质量部牵头",
              departments=["storage_transport", "quality_management", "customer_service"],
              lead_department="quality_management")  # fmt: skip
    assert c.department.code == "quality_management"
    lead = c.tasks.get(is_lead=True)
    assert lead.department.code == "quality_management" and c.tasks.count() == 3
    # The general path's plan is closed to a complex case.
    assert "propose_plan" not in f.possible(c, "handler_quality_management")
    c = f.act(c, "handler_storage_transport", "submit_findings", findings="装车不规范")
    err = f.refused(c, "officer", "submit_plan_for_instruction", error=Invalid, cause="多因",
                    plan="综合方案")  # fmt: skip
    assert "还有部门未报告结果" in err.message
    assert "质量管理部" in err.message and "客户服务部" in err.message
    c = f.act(c, "handler_customer_service", "submit_findings", findings="接待推诿属实")
    # The lead department's own report completes the set.
    c = f.act(c, "head_quality_management", "submit_plan_for_instruction", cause="多因",
              plan="赔偿、返工、培训")  # fmt: skip
    assert c.state == "awaiting_instruction"
    c = f.act(c, "leader", "return_plan", reason="赔偿标准需细化")
    assert c.state == "investigating" and f.tasks(c)[-1] == (
        "quality_management",
        "修改方案",
        "open",
    )
    c = f.act(c, "head_quality_management", "submit_plan_for_instruction", cause="多因",
              plan="按合同赔偿")  # fmt: skip
    c = f.act(c, "leader", "instruct", instruction="同意")
    c = f.act(c, "officer", "reply", reply="书面答复处理方案", method="written")
    assert f.documents(c) == ["acceptance_receipt", "written_reply"]


def test_F14_the_24_hours_count_from_receipt_and_a_late_registration_is_breached_at_once(f):
    # A letter received on Tuesday morning, registered on Wednesday: the 24 hours were over.
    c = f.register("来信投诉", channel="letter", received_at=at(2026, 9, 29, 9, 0),
                   at=at(2026, 9, 30, 10, 0))  # fmt: skip
    clock = f.clock(c, "reply_24h")
    assert clock.started_at == at(2026, 9, 29, 9, 0) and clock.due_at == at(2026, 9, 30, 9, 0)
    assert clock.breached_at == at(2026, 9, 30, 10, 0)
    breach = c.events.get(action="clock_breached")
    assert "开始计时时已超过期限" in breach.comment and "2026-09-29 09:00" in breach.comment


def test_F14_material_requested_pauses_the_reply_and_the_customer_sends_it(f):
    c = f.register("包装破损", at=at(2026, 11, 2, 9, 0))
    c = f.act(valid(f, c), "officer", "assign_department", category="transport")
    c = f.act(c, "handler_storage_transport", "request_material", materials="破损照片",
              at=at(2026, 11, 2, 15, 0))  # fmt: skip
    assert f.clocks(c) == {"reply_24h": "paused"}
    c = f.act(c, "complainant", "provide_material", note="已上传照片", at=at(2026, 11, 4, 15, 0))
    # 18 hours were left when it paused; they run again from the moment the material came.
    assert f.due(c, "reply_24h") == at(2026, 11, 5, 9, 0)
    c = f.act(c, "handler_storage_transport", "request_material", materials="签收单")
    c = f.act(c, "handler_storage_transport", "record_material", note="客户当面交来签收单")
    assert c.state == "investigating"


def test_F1_dissatisfied_customer_further_handling_in_a_new_round(f):
    c = f.act(
        valid(f, f.register("售后不上门")), "officer", "assign_department", category="service"
    )
    c = f.act(c, "handler_customer_service", "propose_plan", cause="排班", plan="改期上门")
    c = f.act(c, "officer", "reply", reply="明天上门", method="sms")
    c = f.act(c, "handler_customer_service", "complete_implementation", responsible="王师傅",
              measures="已上门", informed=True, at=at(2026, 11, 10, 10, 0))  # fmt: skip
    c = f.act(c, "officer", "report_dissatisfied", comment="上门后仍未修好",
              at=at(2026, 11, 10, 14, 0))  # fmt: skip
    assert c.state == "investigating" and c.round == 2
    assert f.due(c, "reply_24h") == at(2026, 11, 11, 14, 0)
    assert f.tasks(c)[-1] == ("customer_service", "进一步处理", "open")
    c = f.act(c, "handler_customer_service", "propose_plan", cause="配件缺货", plan="换新机")
    c = f.act(c, "officer", "reply", reply="换新机", method="visit")
    c = f.act(c, "handler_customer_service", "complete_implementation", responsible="王师傅",
              measures="已换新", informed=True)  # fmt: skip
    c = f.act(c, "complainant", "rate_satisfied", satisfaction="basically_satisfied")
    assert c.state == "closed"


def test_F1_the_customer_rates_dissatisfied_on_the_portal(f):
    c = f.act(valid(f, f.register("质量")), "officer", "assign_department", category="quality")
    c = f.act(c, "handler_quality_management", "propose_plan", cause="批次", plan="退货")
    c = f.act(c, "officer", "reply", reply="退货", method="phone")
    c = f.act(c, "handler_quality_management", "complete_implementation", responsible="质检员",
              measures="已退货", informed=True)  # fmt: skip
    assert f.who_can(c, "rate_dissatisfied") == ["complainant"]
    c = f.act(c, "complainant", "rate_dissatisfied", satisfaction="dissatisfied", comment="太慢")
    assert c.state == "investigating" and c.round == 2 and f.clocks(c)["reply_24h"] == "running"


def test_who_may_not_act(f):
    c = f.act(valid(f, f.register("质量")), "officer", "assign_department", category="quality")
    # Another department's staff, the auditor and the complainant cannot take the department's step.
    f.refused(c, "handler_storage_transport", "propose_plan", error=Forbidden, cause="x", plan="y")
    f.refused(c, "auditor", "propose_plan", error=Forbidden, cause="x", plan="y")
    f.refused(c, "complainant", "propose_plan", error=Forbidden, cause="x", plan="y")
    f.refused(c, "leader", "instruct", error=NotPossible, instruction="越级")
    c = f.act(c, "leader", "add_note", note="请加快处理")
    assert c.state == "investigating"
