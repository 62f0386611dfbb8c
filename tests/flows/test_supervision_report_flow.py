"""Every branch of the `supervision-report` flow (F9), walked through the engine."""

import pytest

from tousu.cases.errors import Forbidden, Invalid

pytestmark = pytest.mark.django_db


@pytest.fixture
def f(install_flow):
    return install_flow("supervision-report")


def accepted(f, c, category="food_safety", contact="has_contact"):
    c = f.act(
        c,
        "receiver",
        "accept_report",
        category=category,
        summary="饭店后厨卫生差",
        violation="从业人员无健康证",
        reporter_contact=contact,
    )
    assert c.state == "awaiting_approval"
    return c


def investigating(f, c, section="food_hygiene"):
    c = f.act(c, "leader", "approve", instruction="同意受理，食品科承办")
    assert c.state == "assigning"
    assert f.tasks(c) == [(section, "调查处理", "open")]
    c = f.act(
        c,
        f"head_{section}",
        "assign_inspectors",
        inspectors=[f"handler_{section}", f"head_{section}"],
        plan="三日内现场检查",
    )
    assert c.state == "investigating"
    return c


def test_not_our_jurisdiction_is_explained_with_the_competent_body(f):
    c = f.register("小区噪音扰民，晚上施工", channel="phone")
    assert f.clocks(c) == {}  # F9 has no clock before the written result
    err = f.refused(
        c, "receiver", "refer_to_competent_body", reason="噪声不属卫生监督", method="oral"
    )
    assert "competent_body" in err.details["fields"]  # naming the competent body is required
    c = f.act(
        c,
        "receiver",
        "refer_to_competent_body",
        reason="施工噪声不属卫生监督职责",
        competent_body="区生态环境局",
        method="oral",
    )
    assert c.state == "not_ours" and c.closed_at is not None
    e = c.events.get(action="refer_to_competent_body")
    assert e.visibility == "public" and e.payload["competent_body"] == "区生态环境局"
    c = f.act(c, "officer", "archive", summary="已告知")
    assert c.state == "archived"
    assert f.events(c) == ["created", "refer_to_competent_body", "archive"]


def test_handed_down_report_established_case_filed_and_prosecuted(f):
    c = f.register(
        "上级交办：某饭店后厨卫生差",
        channel="superior",
        fields={
            "reported_party": "某饭店",
            "source_body": "市卫生健康委",
            "source_reference": "卫交〔2026〕3号",
        },
    )
    c = accepted(f, c)
    assert c.department.code == "food_hygiene" and c.category.code == "food_safety"
    c = investigating(f, c)
    # The linked routine inspection: two inspectors, uniform, credentials.
    c = f.act(
        c,
        "handler_food_hygiene",
        "record_site_inspection",
        inspectors=["handler_food_hygiene", "head_food_hygiene"],
        in_uniform=True,
        credentials_shown=True,
        inspected_at="2026-03-02",
        findings="后厨有鼠迹，三名员工无健康证",
    )
    assert c.state == "investigating"
    c = f.act(
        c,
        "handler_food_hygiene",
        "file_case",
        findings="违法事实清楚",
        legal_basis="《食品安全法》第四十五条",
        case_number="卫立〔2026〕12号",
    )
    assert c.state == "prosecuting"
    c = f.act(
        c,
        "head_food_hygiene",
        "record_site_inspection",
        inspectors=["handler_food_hygiene", "head_food_hygiene"],
        in_uniform=True,
        credentials_shown=True,
        inspected_at="2026-03-09",
        findings="复查：已整改",
    )
    assert f.clocks(c) == {}
    c = f.act(c, "head_food_hygiene", "report_result", result="警告并罚款", penalty="罚款五千元")
    assert c.state == "result_reported"
    assert f.tasks(c) == [("food_hygiene", "调查处理", "done")]
    assert f.clocks(c) == {"reply_3wd": "running"}
    assert f.clock(c, "reply_3wd").unit == "working_days" and f.clock(c, "reply_3wd").amount == 3
    c = f.act(c, "officer", "reply_to_reporter", reply="经查属实，已立案处罚", method="phone")
    assert c.state == "replied" and c.closed_at is not None
    assert f.clocks(c) == {"reply_3wd": "stopped"}
    assert f.clock(c, "reply_3wd").met
    c = f.act(c, "officer", "archive")
    assert c.state == "archived"
    assert f.events(c) == [
        "created",
        "accept_report",
        "approve",
        "assign_inspectors",
        "record_site_inspection",
        "file_case",
        "record_site_inspection",
        "report_result",
        "reply_to_reporter",
        "archive",
    ]


def test_transferred_report_not_established_investigation_ends(f):
    c = f.register("其他部门转来：游泳池水浑浊", channel="transfer")
    c = accepted(f, c, category="public_place_hygiene")
    assert c.department.code == "public_places"
    c = investigating(f, c, section="public_places")
    c = f.act(
        c,
        "handler_public_places",
        "end_investigation",
        findings="现场检测水质合格",
        proposal="不予立案，告知举报人",
    )
    assert c.state == "investigation_ended"
    c = f.act(c, "handler_public_places", "report_result", result="违法行为不成立")
    assert f.clocks(c) == {"reply_3wd": "running"}
    c = f.act(c, "officer", "reply_to_reporter", reply="经检测水质合格", method="letter")
    assert c.state == "replied" and f.clocks(c) == {"reply_3wd": "stopped"}
    assert f.events(c) == [
        "created",
        "accept_report",
        "approve",
        "assign_inspectors",
        "end_investigation",
        "report_result",
        "reply_to_reporter",
    ]


def test_anonymous_reporter_without_contact_goes_straight_to_archive(f):
    c = f.register("匿名举报：某诊所非法行医", channel="phone", is_anonymous=True)
    assert c.is_anonymous and not c.parties.exists()
    c = accepted(f, c, category="illegal_practice", contact="anonymous_no_contact")
    assert c.department.code == "medical_practice"
    c = investigating(f, c, section="medical_practice")
    c = f.act(
        c, "handler_medical_practice", "end_investigation", findings="已停业", proposal="终止调查"
    )
    c = f.act(c, "handler_medical_practice", "report_result", result="诊所已关闭")
    assert f.clocks(c) == {"reply_3wd": "running"}
    c = f.act(c, "officer", "archive_without_reply", reason="anonymous_no_contact")
    assert c.state == "archived" and c.is_final
    assert f.clocks(c) == {"reply_3wd": "stopped"}  # nobody to reply to: the clock does not breach
    assert f.events(c) == [
        "created",
        "accept_report",
        "approve",
        "assign_inspectors",
        "end_investigation",
        "report_result",
        "archive_without_reply",
    ]


def test_fewer_than_two_inspectors_are_refused(f):
    c = accepted(f, f.register("学校食堂饭菜变质", channel="visit"), category="school_hygiene")
    c = f.act(c, "leader", "approve", instruction="同意")
    err = f.refused(
        c,
        "head_school_health",
        "assign_inspectors",
        error=Invalid,
        inspectors=["handler_school_health"],
    )
    assert "至少需要 2" in err.message
    c = f.act(
        c,
        "head_school_health",
        "assign_inspectors",
        inspectors=["handler_school_health", "head_school_health"],
    )
    err = f.refused(
        c,
        "handler_school_health",
        "record_site_inspection",
        error=Invalid,
        inspectors=["handler_school_health"],
        in_uniform=True,
        credentials_shown=True,
        inspected_at="2026-03-02",
        findings="一人到场",
    )
    assert "至少需要 2" in err.message


def test_only_the_handling_section_assigns_inspectors(f):
    c = accepted(f, f.register("职业病危害", channel="letter"), category="occupational_hazard")
    c = f.act(c, "leader", "approve", instruction="同意")
    f.refused(
        c,
        "head_food_hygiene",
        "assign_inspectors",
        error=Forbidden,
        inspectors=["handler_food_hygiene", "head_food_hygiene"],
    )
    assert "assign_inspectors" in f.possible(c, "head_occupational_health")


def test_leadership_may_choose_another_section(f):
    c = accepted(f, f.register("宾馆床单不换洗", channel="direct"), category="food_safety")
    c = f.act(c, "leader", "approve", instruction="由公共场所科承办", department="public_places")
    assert c.department.code == "public_places"
    assert f.tasks(c) == [("public_places", "调查处理", "open")]


@pytest.mark.parametrize(
    "category, section",
    [
        ("food_safety", "food_hygiene"),
        ("public_place_hygiene", "public_places"),
        ("occupational_hazard", "occupational_health"),
        ("illegal_practice", "medical_practice"),
        ("school_hygiene", "school_health"),
        ("water_safety", "drinking_water"),
        ("disease_control", "infectious_disease"),
    ],
)
def test_category_decides_the_handling_section(f, category, section):
    c = accepted(f, f.register("举报", channel="web"), category=category)
    assert c.department.code == section


def test_note_keeps_the_state(f):
    c = f.register("举报", channel="letter")
    c = f.act(c, "officer", "add_note", note="举报人要求保密")
    assert c.state == "received" and f.events(c) == ["created", "add_note"]
