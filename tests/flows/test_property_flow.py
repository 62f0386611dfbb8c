"""Every branch of the `property` flow (F1, F4, F12), walked through the engine."""

import pytest

from tousu.cases.errors import Forbidden

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


def later(f, content="卫生间天花板渗水"):
    c = f.register(content, channel="visit", fields=OWNER)
    c = f.act(c, "receiver", "handle_later", reason="需要上门查看")
    assert c.state == "classifying"
    return c


def followed_up_and_returned(f, c):
    c = f.act(c, "receiver", "follow_up_visit", satisfaction="satisfied", method="phone")
    assert c.state == "awaiting_return"
    assert f.clocks(c)["reply_10d"] == "stopped"
    c = f.act(c, "receiver", "return_work_order", work_order_number="PG-0312")
    assert c.state == "closed" and c.closed_at is not None
    assert all(state == "done" for _, _, state in f.tasks(c))
    return c


def test_owner_information_sheet_is_kept(f):
    c = f.register("投诉", channel="phone", fields={**OWNER, "contact_time": "晚上 7 点后"})
    assert c.fields["building"] == "3 栋" and c.fields["room"] == "1502"
    assert c.fields["owner_name"] == "李红" and c.fields["resident_type"] == "owner"
    assert f.clocks(c) == {"reply_10d": "running"}
    assert f.clock(c, "reply_10d").unit == "calendar_days" and f.clock(c, "reply_10d").amount == 10


def test_does_not_stand_answered_and_owner_accepts(f):
    c = f.register("要求物业赔偿自家阳台花盆被风吹落", channel="phone", fields=OWNER)
    c = f.act(c, "receiver", "judge_invalid", explanation="阳台物品属业主自行管理", method="oral")
    assert c.state == "answered" and f.clocks(c) == {"reply_10d": "stopped"}
    c = f.act(c, "receiver", "accept_answer", comment="理解")
    assert c.state == "closed"
    c = f.act(c, "officer", "archive", summary="加强大风天气提醒")
    assert c.state == "archived"
    assert f.events(c) == ["created", "judge_invalid", "accept_answer", "archive"]


def test_answer_not_accepted_leads_to_further_handling(f):
    c = f.register("绿化带杂草丛生", channel="web", fields=OWNER)
    c = f.act(c, "receiver", "judge_invalid", explanation="本月已按计划修剪", method="written")
    c = f.act(c, "officer", "reject_answer", comment="业主坚持认为未修剪")
    assert c.state == "classifying" and "reopened" in c.flags
    c = f.act(c, "officer", "dispatch_work_order", category="cleaning_greening", work="修剪绿化带")
    assert c.department.code == "cleaning_greening"


def test_handled_now_then_follow_up_and_work_order_returned(f):
    c = f.register("楼道灯不亮", channel="phone", fields=OWNER)
    c = f.act(
        c, "receiver", "handle_now", category="engineering_repair", measures="值班电工当场更换灯泡"
    )
    assert c.state == "awaiting_followup" and c.department.code == "engineering"
    assert f.clocks(c) == {"reply_10d": "running"}  # no work order: its clock never starts
    c = followed_up_and_returned(f, c)
    c = f.act(c, "officer", "archive")
    assert f.events(c) == [
        "created",
        "handle_now",
        "follow_up_visit",
        "return_work_order",
        "archive",
    ]


@pytest.mark.parametrize(
    "category, department",
    [
        ("engineering_repair", "engineering"),
        ("security", "security"),
        ("customer_service", "customer_service"),
        ("cleaning_greening", "cleaning_greening"),
    ],
)
def test_service_failure_work_order_to_the_department(f, category, department):
    c = later(f)
    c = f.act(
        c,
        "receiver",
        "dispatch_work_order",
        category=category,
        work="上门处理",
        due_on="2026-03-06",
    )
    assert c.state == "in_progress" and c.department.code == department
    assert f.tasks(c) == [(department, "服务派工单", "open")]
    assert f.clocks(c) == {"reply_10d": "running", "work_order_3wd": "running"}
    assert f.clock(c, "work_order_3wd").unit == "working_days"
    c = f.act(c, "receiver", "track", progress="已电话催办")
    c = f.act(
        c, f"handler_{department}", "report_back", result="已处理完毕", completed_on="2026-03-05"
    )
    assert c.state == "awaiting_followup"
    assert f.clocks(c) == {"reply_10d": "running", "work_order_3wd": "stopped"}
    c = followed_up_and_returned(f, c)
    assert f.events(c) == [
        "created",
        "handle_later",
        "dispatch_work_order",
        "track",
        "report_back",
        "follow_up_visit",
        "return_work_order",
    ]


def test_work_order_may_go_to_a_chosen_department(f):
    c = later(f)
    c = f.act(
        c,
        "receiver",
        "dispatch_work_order",
        category="customer_service",
        department="security",
        work="核查门岗服务",
    )
    assert c.department.code == "security"


@pytest.mark.parametrize("cause", ["developer_legacy", "building_quality"])
def test_developer_legacy_or_building_quality_goes_to_engineering_repair(f, cause):
    c = later(f, "外墙裂缝渗水")
    c = f.act(
        c,
        "officer",
        "start_engineering_repair",
        category="building_quality",
        cause=cause,
        defect="外墙裂缝导致室内渗水",
        developer_notified=True,
    )
    assert c.state == "in_progress" and c.department.code == "engineering"
    assert "engineering_repair" in c.flags
    assert f.tasks(c) == [("engineering", "工程返修", "open")]
    c = f.act(c, "head_engineering", "report_back", result="已完成外墙修补")
    c = followed_up_and_returned(f, c)
    assert f.events(c) == [
        "created",
        "handle_later",
        "start_engineering_repair",
        "report_back",
        "follow_up_visit",
        "return_work_order",
    ]


def test_outside_our_powers_coordinated_with_leadership_help(f):
    c = later(f, "隔壁工地夜间施工噪音")
    c = f.act(
        c,
        "officer",
        "coordinate_externally",
        category="external",
        reason="external_environment",
        outside_body="某建筑公司项目部",
        approach="jointly",
    )
    assert c.state == "coordinating" and c.department.code == "customer_service"
    c = f.act(c, "officer", "ask_leadership_to_coordinate", matter="请总经理联系街道办")
    assert c.state == "coordinating" and "leadership_coordination" in c.flags
    c = f.act(c, "officer", "communicate_with_owner", summary="已告知业主协调进展")
    c = f.act(c, "leader", "record_coordination_result", result="工地承诺晚十点后停工")
    assert c.state == "awaiting_followup"
    c = followed_up_and_returned(f, c)
    assert f.events(c) == [
        "created",
        "handle_later",
        "coordinate_externally",
        "ask_leadership_to_coordinate",
        "communicate_with_owner",
        "record_coordination_result",
        "follow_up_visit",
        "return_work_order",
    ]


def test_other_requests_go_to_the_request_procedure(f):
    c = later(f, "想申请装修")
    c = f.act(
        c,
        "receiver",
        "refer_to_request_procedure",
        category="customer_service",
        request_type="decoration",
        note="按装修管理规定办理",
    )
    assert c.state == "request_procedure" and c.closed_at is not None
    assert f.clocks(c) == {"reply_10d": "stopped"}
    c = f.act(c, "officer", "archive")
    assert f.events(c) == ["created", "handle_later", "refer_to_request_procedure", "archive"]


def test_complex_problem_escalated_and_planned_jointly(f):
    c = later(f, "电梯频繁故障且楼道堆物")
    c = f.act(c, "officer", "escalate", reason="涉及工程和清洁两个部门")
    assert c.state == "planning" and c.complexity == "complex" and "escalated" in c.flags
    c = f.act(c, "leader", "communicate_with_owner", summary="经理与业主面谈")
    c = f.act(
        c,
        "leader",
        "make_plan",
        departments=["engineering", "cleaning_greening"],
        plan="工程部牵头维保，清洁部清理楼道",
    )
    assert c.state == "in_progress" and c.department.code == "engineering"
    assert f.tasks(c) == [
        ("engineering", "疑难问题处理", "open"),
        ("cleaning_greening", "疑难问题处理", "open"),
    ]
    # Joint handling: the cleaning department holds a task, so it may report back.
    c = f.act(c, "handler_cleaning_greening", "report_back", result="楼道已清理")
    assert c.state == "awaiting_followup"


def test_department_asks_for_a_plan_for_a_hard_problem(f):
    c = later(f)
    c = f.act(c, "receiver", "dispatch_work_order", category="engineering_repair", work="查渗漏点")
    c = f.act(c, "handler_engineering", "request_plan", difficulty="渗漏点在楼上住户家中，需入户")
    assert c.state == "planning" and f.clocks(c)["work_order_3wd"] == "stopped"
    c = f.act(
        c, "leader", "make_plan", departments=["engineering"], plan="协调楼上业主，约定入户时间"
    )
    assert f.clocks(c)["work_order_3wd"] == "running"
    assert f.events(c) == [
        "created",
        "handle_later",
        "dispatch_work_order",
        "request_plan",
        "make_plan",
    ]


def test_dissatisfied_at_the_follow_up_visit_sends_the_work_back(f):
    c = later(f)
    c = f.act(c, "receiver", "dispatch_work_order", category="engineering_repair", work="修补防水")
    c = f.act(c, "handler_engineering", "report_back", result="已修补")
    c = f.act(c, "receiver", "follow_up_dissatisfied", comment="仍然渗水")
    assert c.state == "in_progress" and "reopened" in c.flags
    assert f.tasks(c)[-1] == ("engineering", "返工", "open")
    assert f.clocks(c) == {"reply_10d": "running", "work_order_3wd": "running"}
    f.refused(c, "handler_security", "report_back", error=Forbidden, result="不是我们的")
    c = f.act(c, "handler_engineering", "report_back", result="重新做防水")
    c = followed_up_and_returned(f, c)
    assert f.events(c) == [
        "created",
        "handle_later",
        "dispatch_work_order",
        "report_back",
        "follow_up_dissatisfied",
        "report_back",
        "follow_up_visit",
        "return_work_order",
    ]


@pytest.mark.parametrize(
    "category, department",
    [
        ("engineering_repair", "engineering"),
        ("security", "security"),
        ("customer_service", "customer_service"),
        ("cleaning_greening", "cleaning_greening"),
        ("building_quality", "engineering"),
        ("fees", "customer_service"),
        ("external", "customer_service"),
        ("neighbour_disputes", "customer_service"),
    ],
)
def test_category_decides_the_department(f, category, department):
    # The map shared with the triage training data (src/tousu/triage/samples/property.csv).
    c = f.register("投诉", channel="phone", category=category)
    assert c.category.code == category and c.department.code == department


def test_category_map_matches_the_triage_training_data(f):
    import csv
    from pathlib import Path

    import tousu

    samples = Path(tousu.__file__).parent / "triage" / "samples" / "property.csv"
    with samples.open(encoding="utf-8", newline="") as fh:
        trained = {row["category"]: row["department"] for row in csv.DictReader(fh)}
    assert {c.code: c.department for c in f.definition.categories} == trained


def test_note_keeps_the_state(f):
    c = f.register("投诉", channel="letter")
    c = f.act(c, "receiver", "add_note", note="业主来信已存档")
    assert c.state == "received"


# --- the owner on the portal (role complainant) ------------------------------------------------


def owner():
    from tousu.cases.engine import Complainant

    return Complainant("业主王女士")


def test_front_desk_asks_for_photos_the_owner_uploads_them_and_the_reply_clock_resumes(f):
    c = f.register("卫生间天花板渗水", channel="web", fields=OWNER)
    c = f.act(c, "receiver", "request_material", materials="请上传渗水部位的照片")
    assert c.state == "awaiting_material" and f.clocks(c) == {"reply_10d": "paused"}
    c = f.act(c, owner(), "provide_material", note="照片三张")
    assert c.state == "received" and f.clocks(c) == {"reply_10d": "running"}
    c = f.act(c, "receiver", "request_material", materials="请提供楼上住户房号")
    c = f.act(c, "receiver", "record_material", note="业主电话告知 3-2-1502")
    assert c.state == "received"


def test_owner_rates_online_instead_of_the_follow_up_call(f):
    c = later(f)
    c = f.act(c, "receiver", "dispatch_work_order", category="engineering_repair", work="修补防水")
    c = f.act(c, "handler_engineering", "report_back", result="已修补")
    c = f.act(c, owner(), "rate_dissatisfied", satisfaction="dissatisfied", comment="仍然渗水")
    assert c.state == "in_progress" and "reopened" in c.flags
    assert f.tasks(c)[-1] == ("engineering", "返工", "open")
    assert f.clocks(c) == {"reply_10d": "running", "work_order_3wd": "running"}
    c = f.act(c, "handler_engineering", "report_back", result="重新做防水")
    c = f.act(c, owner(), "rate_satisfied", satisfaction="satisfied", comment="不漏了")
    assert c.state == "awaiting_return" and f.clocks(c)["reply_10d"] == "stopped"
    c = f.act(c, "receiver", "return_work_order", work_order_number="PG-0313")
    assert c.state == "closed"
