"""The `property` flow, branch by branch as F1, F4 and F12 draw them: who could act, the deadlines'
due times on the official calendar, the documents issued and the final state."""

import pytest

from moments import at, end_of
from tousu.cases.errors import Forbidden, Invalid, NotPossible

pytestmark = pytest.mark.django_db

OWNER = {
    "building": "3 栋",
    "unit": "2 单元",
    "room": "1502",
    "owner_name": "李红",
    "resident_type": "owner",
}


@pytest.fixture
def f(install_flow):
    return install_flow("property")


def later(f, content="卫生间天花板渗水", when=None):
    c = f.register(content, channel="visit", fields=OWNER, at=when)
    c = f.act(c, "receiver", "handle_later", reason="需要上门查看")
    assert c.state == "classifying" and f.documents(c) == ["acceptance_receipt"]
    return c


def work_order(f, c, category="engineering_repair"):
    c = f.act(c, "receiver", "dispatch_work_order", category=category, work="上门检修")
    assert c.state == "in_progress" and c.complexity == "general"
    return c


def test_F12_the_owner_record_form_and_the_10_day_reply(f):
    c = f.register("投诉", channel="phone", fields={**OWNER, "contact_time": "晚上 7 点后"},
                   at=at(2026, 9, 28, 10, 0))  # fmt: skip
    assert c.fields["room"] == "1502" and c.fields["owner_name"] == "李红"
    # 10 days from 09-28: 10-08 (the 10th day, 10-08, is a working day after National Day).
    assert f.due(c, "reply_10d") == end_of(2026, 10, 8)


def test_F12_does_not_stand_answered_and_the_owner_accepts(f):
    c = f.register("要求物业赔偿被风吹落的花盆", channel="phone", fields=OWNER)
    c = f.act(c, "receiver", "judge_invalid", explanation="阳台物品由业主自行管理", method="oral")
    assert c.state == "answered" and f.clocks(c) == {"reply_10d": "stopped"}
    c = f.act(c, "receiver", "accept_answer", comment="理解")
    c = f.act(c, "officer", "archive", summary="加强大风天气提醒")
    assert c.state == "archived"


def test_F1_answer_not_accepted_further_handling_in_a_new_round(f):
    c = f.register("绿化带杂草丛生", channel="web", fields=OWNER)
    c = f.act(c, "receiver", "judge_invalid", explanation="已按计划修剪", method="written")
    c = f.act(c, "officer", "reject_answer", comment="并未修剪", at=at(2026, 11, 2, 10, 0))
    assert c.state == "classifying" and c.round == 2
    assert f.due(c, "reply_10d") == end_of(2026, 11, 12)


def test_F12_handled_now_no_follow_up_visit_and_no_work_order_return(f):
    c = f.register("楼道灯不亮", channel="phone", fields=OWNER)
    c = f.act(c, "receiver", "handle_now", category="engineering_repair", measures="电工已更换灯泡")
    # F12: handled now → result fed back → summary: no 回访 and no 返单 forced on it.
    assert c.state == "awaiting_owner_verdict" and f.clocks(c)["reply_10d"] == "stopped"
    assert "follow_up_visit" not in f.possible(c, "receiver")
    assert "return_work_order" not in f.possible(c, "receiver")
    c = f.act(c, "complainant", "rate_handled_satisfied", satisfaction="satisfied")
    assert c.state == "closed" and f.tasks(c) == []


def test_F1_handled_now_the_owner_is_dissatisfied_and_it_is_analysed_again(f):
    c = f.register("垃圾桶满溢", channel="visit", fields=OWNER)
    c = f.act(c, "receiver", "handle_now", measures="已清理")
    c = f.act(c, "complainant", "rate_handled_dissatisfied", satisfaction="dissatisfied",
              comment="第二天又满了")  # fmt: skip
    assert c.state == "classifying" and c.round == 2
    c = work_order(f, c, category="cleaning_greening")
    assert c.department.code == "cleaning_greening"


def test_F1_handled_now_front_desk_records_the_verdict(f):
    c = f.register("电梯按钮失灵", channel="phone", fields=OWNER)
    c = f.act(c, "receiver", "handle_now", category="engineering_repair", measures="已修")
    c = f.act(c, "receiver", "communicate_with_owner", summary="电话确认已修好")
    c = f.act(c, "receiver", "owner_dissatisfied", comment="又坏了")
    c = f.act(c, "receiver", "handle_later" if False else "dispatch_work_order",
              category="engineering_repair", work="彻底检修")  # fmt: skip
    c = f.act(c, "handler_engineering", "report_back", result="更换主板")
    c = f.act(c, "receiver", "follow_up_visit", satisfaction="satisfied", method="phone")
    c = f.act(c, "receiver", "return_work_order", work_order_number="PG-1")
    c2 = f.register("门禁卡失效", channel="phone", fields=OWNER)
    c2 = f.act(c2, "receiver", "handle_now", measures="已补卡")
    c2 = f.act(c2, "officer", "confirm_owner_satisfied", satisfaction="satisfied")
    assert c.state == c2.state == "closed"


@pytest.mark.parametrize(
    "category,department",
    [("engineering_repair", "engineering"), ("security", "security"),
     ("customer_service", "customer_service"), ("cleaning_greening", "cleaning_greening")],
)  # fmt: skip
def test_F4_service_failure_work_order_to_the_department(f, category, department):
    c = work_order(f, later(f), category=category)
    assert f.tasks(c) == [(department, "服务派工单", "open")]
    assert f.documents(c) == ["acceptance_receipt", "work_order"]


def test_F4_work_order_handled_tracked_reported_back_visited_and_returned(f):
    c = later(f, when=at(2026, 9, 29, 9, 0))
    c = f.act(c, "receiver", "dispatch_work_order", category="engineering_repair",
              work="查漏水", at=at(2026, 9, 29, 10, 0))  # fmt: skip
    # 3 working days: 09-30, 10-08, 10-09.
    assert f.due(c, "work_order_3wd") == end_of(2026, 10, 9)
    c = f.act(c, "receiver", "track", progress="已联系楼上业主")
    c = f.act(c, "handler_engineering", "communicate_with_owner", summary="约定明早上门")
    assert "report_part" not in f.possible(c, "handler_engineering")
    c = f.act(c, "handler_engineering", "report_back", result="楼上防水层破损，已修复")
    assert c.state == "awaiting_followup"
    c = f.act(c, "officer", "communicate_with_owner", summary="告知处理结果")
    c = f.act(c, "receiver", "follow_up_dissatisfied", comment="还在漏", at=at(2026, 10, 12, 9, 0))
    assert c.state == "in_progress" and c.round == 2
    assert f.tasks(c)[-1] == ("engineering", "返工", "open")
    assert f.due(c, "work_order_3wd") == end_of(2026, 10, 15)
    c = f.act(c, "head_engineering", "report_back", result="返工完成")
    c = f.act(c, "complainant", "rate_dissatisfied", satisfaction="dissatisfied", comment="仍漏")
    c = f.act(c, "handler_engineering", "report_back", result="再次返工")
    c = f.act(c, "complainant", "rate_satisfied", satisfaction="satisfied")
    assert c.state == "awaiting_return"
    c = f.act(c, "receiver", "return_work_order", work_order_number="PG-0312")
    assert c.state == "closed" and all(state == "done" for *_, state in f.tasks(c))
    c = f.act(c, "officer", "archive", summary="防水专项检查")
    assert c.state == "archived"


def test_F4_developer_legacy_goes_to_the_engineering_repair_procedure(f):
    c = later(f, "外墙裂缝，开发商不管")
    c = f.act(c, "officer", "start_engineering_repair", category="building_quality",
              cause="developer_legacy", defect="外墙竖向裂缝", developer_notified=True)  # fmt: skip
    assert c.state == "in_progress" and "engineering_repair" in c.flags
    assert f.tasks(c) == [("engineering", "工程返修", "open")]


def test_F4_F12_outside_our_powers_coordinated_and_the_leader_asked(f):
    c = later(f, "隔壁工地夜间施工噪音")
    c = f.act(c, "receiver", "coordinate_externally", category="external",
              reason="other_organisation", outside_body="城管执法", approach="jointly")  # fmt: skip
    assert c.state == "coordinating"
    c = f.act(c, "receiver", "communicate_with_owner", summary="告知正在协调")
    c = f.act(c, "receiver", "ask_leadership_to_coordinate", matter="请总经理出面")
    assert "leadership_coordination" in c.flags
    assert c.events.get(action="notified").payload["roles"] == ["leader"]
    c = f.act(c, "leader", "record_coordination_result", result="工地承诺 22 点后停工")
    # No work order was issued: the owner gives the verdict; no 返单.
    assert c.state == "awaiting_owner_verdict"
    c = f.act(c, "receiver", "confirm_owner_satisfied", satisfaction="basically_satisfied")
    assert c.state == "closed"


def test_F4_other_requests_go_to_the_request_procedure(f):
    c = later(f, "想申请装修")
    c = f.act(c, "receiver", "refer_to_request_procedure", request_type="decoration")
    assert c.state == "request_procedure" and f.clocks(c)["reply_10d"] == "stopped"
    c = f.act(c, "officer", "archive", summary="转诉求")
    assert c.state == "archived"


def test_F1_only_multiple_or_complex_complaints_go_up_and_the_plan_waits_for_every_department(f):
    c = later(f, "电梯、门禁、监控同时故障")
    f.refused(c, "receiver", "escalate", error=Invalid, reason="多项")  # the kind must be said
    c = f.act(c, "receiver", "escalate", nature="multiple_items", reason="三项问题")
    assert c.state == "planning" and c.complexity == "complex"
    assert f.who_can(c, "make_plan") == ["leader"]
    c = f.act(c, "leader", "communicate_with_owner", summary="领导约见业主")
    c = f.act(c, "leader", "make_plan", plan="工程部牵头，保安部配合",
              departments=["engineering", "security"], lead_department="engineering")  # fmt: skip
    assert (
        c.department.code == "engineering"
        and c.tasks.get(is_lead=True).department.code == "engineering"
    )
    err = f.refused(c, "handler_engineering", "report_back", error=Invalid, result="工程部完成")
    assert "保安部" in err.message
    c = f.act(c, "handler_security", "report_part", result="监控已修复")
    c = f.act(c, "handler_engineering", "report_back", result="电梯、门禁已修复")
    assert c.state == "awaiting_followup"


def test_F4_a_hard_problem_in_the_department_gets_a_plan(f):
    c = work_order(f, later(f))
    c = f.act(c, "handler_engineering", "request_plan", difficulty="需要停水施工")
    assert c.state == "planning" and c.complexity == "complex"
    c = f.act(c, "leader", "make_plan", plan="周末停水施工", departments=["engineering"])
    assert c.state == "in_progress"


def test_F1_material_requested_pauses_the_reply(f):
    c = f.register("漏水", channel="web", fields=OWNER, at=at(2026, 11, 2, 9, 0))
    c = f.act(c, "receiver", "request_material", materials="漏水照片", at=at(2026, 11, 3, 9, 0))
    assert f.clocks(c) == {"reply_10d": "paused"}
    c = f.act(c, "complainant", "provide_material", note="已上传", at=at(2026, 11, 6, 9, 0))
    # 9 days were left on 11-03; from 11-06 they end on Sunday 11-15, a rest day: Monday 11-16.
    assert f.due(c, "reply_10d") == end_of(2026, 11, 16)
    c = f.act(c, "receiver", "request_material", materials="维修单")
    c = f.act(c, "officer", "record_material", note="当面交来")
    assert c.state == "received"


def test_who_may_not_act(f):
    c = work_order(f, later(f))
    f.refused(c, "handler_security", "report_back", error=Forbidden, result="x")
    f.refused(c, "complainant", "report_back", error=Forbidden, result="x")
    f.refused(c, "leader", "make_plan", error=NotPossible, plan="x", departments=["security"])
    c = f.act(c, "head_engineering", "add_note", note="材料已订购")
    assert c.state == "in_progress"
