"""Every branch of the `tourism-company` flow as F10 draws it, walked through the engine: who could act,
the deadlines on the official calendar, the documents issued and the final state."""

import pytest

from moments import at, end_of
from tousu.cases.errors import Invalid, NotPossible

pytestmark = pytest.mark.django_db


@pytest.fixture
def f(install_flow):
    return install_flow("tourism-company")


def filed(f, c, category="guide", **extra):
    c = f.act(
        c,
        "officer",
        "file_case",
        category=category,
        case_number="LT-2026-007",
        respondent_name="导游王某",
        request="道歉并退还自费项目费用",
        facts="导游强制参加自费项目",
        **extra,
    )
    assert c.state == "filed"
    return c


def test_letter_in_duplicate_filed_mediated_to_agreement(f):
    c = f.register(
        "导游强制参加自费项目",
        channel="letter",
        fields={
            "letter_in_duplicate": True,
            "respondent_name": "某旅行社",
            "complainant_gender": "female",
        },
    )
    assert c.fields["letter_in_duplicate"] is True
    assert f.clocks(c) == {"review_5wd": "running"}
    assert f.clock(c, "review_5wd").unit == "working_days" and f.clock(c, "review_5wd").amount == 5
    c = filed(f, c)
    assert c.department.code == "guide_service"
    assert f.clocks(c) == {
        "review_5wd": "stopped",
        "respondent_notice_5wd": "running",
        "mediation_60d": "running",
    }
    assert c.events.get(action="file_case").payload["case_number"] == "LT-2026-007"
    c = f.act(c, "head_guide_service", "inform_respondent", informed_on="2026-03-04")
    assert c.state == "mediating" and f.clocks(c)["respondent_notice_5wd"] == "stopped"
    err = f.refused(c, "officer", "reach_agreement", error=Invalid, agreement="退费")
    assert "旅游投诉记录" in err.message
    c = f.act(
        c, "handler_guide_service", "record_mediation", held_on="2026-03-06", record="双方到场"
    )
    c = f.act(c, "officer", "reach_agreement", agreement="退还 300 元，导游书面道歉")
    assert c.state == "mediated" and c.closed_at is not None
    assert f.clocks(c)["mediation_60d"] == "stopped"
    assert f.tasks(c) == [("guide_service", "调解处理", "done")]
    c = f.act(c, "officer", "archive")
    assert c.state == "archived"
    assert f.events(c) == [
        "created",
        "file_case",
        "inform_respondent",
        "record_mediation",
        "reach_agreement",
        "archive",
    ]


def test_mediation_fails_and_ends(f):
    c = filed(f, f.register("住宿不达标", channel="visit"), category="accommodation_meals")
    assert c.department.code == "operations"
    c = f.act(c, "officer", "inform_respondent", informed_on="2026-03-04")
    c = f.act(
        c,
        "handler_operations",
        "terminate_mediation",
        reason="被投诉方拒绝赔偿",
        routes=["tourism_authority", "court"],
    )
    assert c.state == "mediation_ended" and c.closed_at is not None
    assert f.clocks(c)["mediation_60d"] == "stopped"
    c = f.act(c, "officer", "archive")
    assert f.events(c) == [
        "created",
        "file_case",
        "inform_respondent",
        "terminate_mediation",
        "archive",
    ]


def test_simple_matter_handled_at_once(f):
    c = f.register("导游讲解时使用扩音器太吵", channel="phone")
    c = f.act(
        c,
        "receiver",
        "handle_at_once",
        category="guide",
        solution="已提醒导游调低音量",
        satisfaction="satisfied",
    )
    assert c.state == "handled_at_once" and c.closed_at is not None
    assert c.category.code == "guide" and c.department.code == "guide_service"
    assert f.clocks(c) == {}  # the 5-working-day review is for written complaints (F10)
    c = f.act(c, "officer", "archive")
    assert f.events(c) == ["created", "handle_at_once", "archive"]


def test_does_not_meet_the_conditions_written_notice_for_a_letter(f):
    c = f.register(
        "已经起诉了，也向你们投诉", channel="letter", fields={"letter_in_duplicate": True}
    )
    c = f.act(
        c,
        "officer",
        "not_accept",
        reason="court_or_arbitration",
        explanation="已向人民法院起诉，不予受理",
        method="written",
    )
    assert c.state == "not_accepted" and f.clocks(c) == {"review_5wd": "stopped"}
    e = c.events.get(action="not_accept")
    assert e.visibility == "public" and e.payload["method"] == "written"
    assert f.documents(c) == ["non_acceptance_notice"]
    c = f.act(c, "officer", "archive")
    assert f.events(c) == ["created", "not_accept", "archive"]


def test_does_not_meet_the_conditions_oral_answer_for_an_oral_complaint(f):
    c = f.register("去年的团，想投诉", channel="phone")
    c = f.act(
        c,
        "officer",
        "not_accept",
        reason="over_90_days",
        explanation="超过合同结束之日 90 天",
        method="oral",
    )
    assert c.events.get(action="not_accept").payload == {
        "reason": "over_90_days",
        "explanation": "超过合同结束之日 90 天",
        "method": "oral",
    }
    # An oral decision is recorded, not printed as a written notice.
    assert f.documents(c) == []


def test_F10_a_written_complaint_is_never_answered_orally(f):
    c = f.register("书面投诉", channel="letter")
    err = f.refused(c, "officer", "not_accept", error=Invalid, reason="outside_scope",
                    explanation="不属于受理范围", method="oral")  # fmt: skip
    assert "书面投诉须送达" in err.message


def test_F10_not_ours_a_written_complaint_materials_transferred_and_told_in_writing(f):
    c = f.register("航空公司航班延误", channel="letter", at=at(2026, 9, 28, 10, 0))
    # Reviewed within 5 working days of receipt: 09-29, 09-30, 10-08, 10-09, Saturday 10-10.
    assert f.due(c, "review_5wd") == end_of(2026, 10, 10)
    err = f.refused(c, "officer", "transfer", competent_body="民航")
    assert "materials_transferred" in err.details["fields"]
    f.refused(c, "officer", "transfer", error=Invalid, competent_body="民航",
              materials_transferred=False)  # fmt: skip
    c = f.act(c, "officer", "transfer", competent_body="民航局消费者事务中心",
              materials_transferred=True)  # fmt: skip
    assert c.state == "transferred" and f.clocks(c) == {"review_5wd": "stopped"}
    assert f.documents(c) == ["transfer_notice"]
    c = f.act(c, "officer", "archive")
    assert f.events(c) == ["created", "transfer", "archive"]


def test_F10_not_ours_an_oral_complaint_is_told_orally_nothing_to_transfer(f):
    c = f.register("航空公司航班延误", channel="visit")
    err = f.refused(c, "officer", "transfer", error=NotPossible, competent_body="民航",
                    materials_transferred=True)  # fmt: skip
    assert "口头" in err.message
    c = f.act(c, "receiver", "refer_orally", competent_body="民航局消费者事务中心",
              note="已当面告知投诉电话")  # fmt: skip
    assert c.state == "referred_orally" and f.documents(c) == []
    c = f.act(c, "officer", "archive")
    assert c.state == "archived"


def test_F10_meets_the_conditions_mediated_without_being_filed(f):
    c = f.register("导游中途甩团", channel="phone", by="handler_reception_centre")
    assert c.first_department.code == "reception_centre"
    c = f.act(c, "officer", "inform_and_mediate", category="guide", respondent_name="导游李某",
              informed_on="2026-11-05", record="投诉人要求道歉", at=at(2026, 11, 5, 10, 0))  # fmt: skip
    assert c.state == "mediating" and c.department.code == "guide_service"
    assert f.due(c, "mediation_60d") == end_of(2027, 1, 4)
    c = f.act(c, "handler_guide_service", "reach_agreement", agreement="导游当面道歉")
    assert c.state == "mediated" and f.documents(c) == ["mediation_agreement"]
    c = f.act(c, "officer", "archive")
    assert c.state == "archived"


def test_the_handling_department_may_be_chosen(f):
    c = filed(f, f.register("投诉", channel="letter"), category="other", department="fleet")
    assert c.category.code == "other" and c.department.code == "fleet"
    assert f.tasks(c) == [("fleet", "调解处理", "open")]


@pytest.mark.parametrize(
    "category, department",
    [
        ("itinerary", "operations"),
        ("accommodation_meals", "operations"),
        ("guide", "guide_service"),
        ("shopping", "guide_service"),
        ("contract_price", "tour_sales"),
        ("transport", "fleet"),
        ("other", "quality_service"),
    ],
)
def test_category_decides_the_department(f, category, department):
    c = filed(f, f.register("投诉", channel="letter"), category=category)
    assert c.department.code == department


def test_note_keeps_the_state(f):
    c = f.register("投诉", channel="transfer")
    c = f.act(c, "receiver", "add_note", note="转办单位：市旅游局")
    assert c.state == "received"


def test_incomplete_material_the_complainant_supplies_it_online_while_the_review_clock_waits(f):
    from tousu.cases.engine import Complainant

    c = f.register("导游强制购物", channel="letter")
    c = f.act(c, "officer", "request_material", materials="请补充旅游合同和付款凭证")
    assert c.state == "awaiting_material" and f.clocks(c) == {"review_5wd": "paused"}
    c = f.act(c, Complainant("游客赵某"), "provide_material", note="合同和付款截图")
    assert c.state == "received" and f.clocks(c) == {"review_5wd": "running"}
    c = f.act(c, "officer", "request_material", materials="请写明被投诉旅行社的全称")
    c = f.act(c, "officer", "record_material", note="投诉人来电补充：某某国际旅行社")
    assert c.state == "received" and f.clocks(c) == {"review_5wd": "running"}
