"""Every branch of the `tourism-authority` flow (F7), walked through the engine."""

import pytest

from tousu.cases.errors import Invalid

pytestmark = pytest.mark.django_db

RECORD = {
    "category": "contract_breach",
    "complainant_name": "金敏浩",
    "complainant_nationality": "韩国",
    "complainant_phone": "13900001111",
    "respondent_name": "某国际旅行社有限公司",
    "respondent_location": "北京市东城区",
    "request": "退还未履行部分的费用",
    "reasons": "旅行社擅自变更行程",
    "facts": "合同约定游览长城，实际未安排",
    "evidence": ["tour_contract", "itinerary", "receipts"],
}


@pytest.fixture
def f(install_flow):
    return install_flow("tourism-authority")


def mediating(f, c):
    c = f.act(c, "officer", "accept", **RECORD)
    assert c.state == "accepted" and c.department.code == "management_section"
    assert f.clocks(c) == {
        "acceptance_5wd": "stopped",
        "respondent_notice_5wd": "running",
        "handling_30wd": "running",
    }
    c = f.act(
        c, "handler_management_section", "notify_respondent", served_on="2026-03-03", method="post"
    )
    assert c.state == "mediating"
    assert f.clocks(c)["respondent_notice_5wd"] == "stopped"
    assert f.clocks(c)["respondent_reply_10d"] == "running"
    assert f.clock(c, "respondent_reply_10d").unit == "calendar_days"
    return c


def test_within_scope_accepted_mediated_to_a_voluntary_agreement(f):
    c = f.register(
        "旅行社擅自取消长城游览", channel="letter", fields={"respondent_name": "某旅行社"}
    )
    assert f.clocks(c) == {"acceptance_5wd": "running"}  # 第十五条: 5 working days from receipt
    assert f.clock(c, "acceptance_5wd").unit == "working_days"
    c = mediating(f, c)
    accept = c.events.get(action="accept")
    assert accept.payload["complainant_nationality"] == "韩国"
    assert accept.payload["evidence"] == ["tour_contract", "itinerary", "receipts"]
    c = f.act(
        c, "handler_management_section", "record_respondent_reply", reply="承认变更行程，愿意协商"
    )
    assert f.clocks(c)["respondent_reply_10d"] == "stopped"
    # An agreement rests on established facts: mediation first.
    err = f.refused(c, "officer", "reach_agreement", error=Invalid, agreement="退还 800 元")
    assert "组织调解" in err.message
    c = f.act(
        c,
        "officer",
        "hold_mediation",
        held_on="2026-03-10",
        facts="行程确被变更",
        responsibility="旅行社负主要责任",
    )
    c = f.act(
        c, "officer", "reach_agreement", agreement="旅行社退还 800 元并道歉", compensation=800
    )
    assert c.state == "mediated" and c.closed_at is not None
    assert f.clocks(c) == {
        "acceptance_5wd": "stopped",
        "respondent_notice_5wd": "stopped",
        "handling_30wd": "stopped",
        "respondent_reply_10d": "stopped",
    }
    assert f.tasks(c) == [("management_section", "调解处理", "done")]
    c = f.act(c, "officer", "archive", summary="行程变更类投诉")
    assert c.state == "archived"
    assert f.events(c) == [
        "created",
        "accept",
        "notify_respondent",
        "record_respondent_reply",
        "hold_mediation",
        "reach_agreement",
        "archive",
    ]


def test_complainant_rejects_mediation_and_is_referred(f):
    c = mediating(f, f.register("购物团", channel="visit"))
    c = f.act(
        c,
        "officer",
        "mediation_rejected",
        reason="complainant_rejects",
        routes=["quality_supervision", "consumer_association"],
        explanation="可向市旅游质量监督管理所或消费者协会投诉",
    )
    assert c.state == "referred" and c.closed_at is not None
    assert c.events.get(action="mediation_rejected").payload["routes"] == [
        "quality_supervision",
        "consumer_association",
    ]
    assert f.clocks(c)["handling_30wd"] == "stopped"
    assert f.clocks(c)["respondent_reply_10d"] == "stopped"
    c = f.act(c, "officer", "archive")
    assert f.events(c) == [
        "created",
        "accept",
        "notify_respondent",
        "mediation_rejected",
        "archive",
    ]


def test_outside_the_scope_not_accepted_with_a_written_notice(f):
    c = f.register("与旅行社员工的劳动纠纷", channel="letter")
    err = f.refused(c, "officer", "not_accept", explanation="x", method="written", reason="bored")
    assert "reason" in err.details["fields"]
    c = f.act(
        c,
        "officer",
        "not_accept",
        reason="outside_scope",
        explanation="劳动争议不属于旅游投诉",
        method="written",
    )
    assert c.state == "not_accepted" and c.closed_at is not None
    assert f.clocks(c) == {"acceptance_5wd": "stopped"}
    assert c.events.get(action="not_accept").visibility == "public"
    c = f.act(c, "officer", "archive")
    assert f.events(c) == ["created", "not_accept", "archive"]


def test_oral_complaint_past_the_time_bar_refused_orally(f):
    c = f.register("去年的旅游团问题", channel="phone", fields={"contract_end": "2025-01-10"})
    c = f.act(
        c,
        "officer",
        "not_accept",
        reason="over_90_days",
        explanation="已超过合同结束之日 90 天",
        method="oral",
    )
    assert c.state == "not_accepted"
    assert c.events.get(action="not_accept").payload["method"] == "oral"


def test_another_body_competent_transfer_with_written_notice(f):
    c = f.register("外省旅行社组团", channel="web")
    f.refused(c, "officer", "transfer", informed_in_writing=True)  # the competent body is required
    c = f.act(c, "officer", "transfer", competent_body="某省旅游质监所", informed_in_writing=True)
    assert c.state == "transferred" and f.clocks(c) == {"acceptance_5wd": "stopped"}
    c = f.act(c, "officer", "archive")
    assert f.events(c) == ["created", "transfer", "archive"]


def test_acceptance_record_needs_nationality_and_evidence(f):
    c = f.register("投诉", channel="letter")
    record = {k: v for k, v in RECORD.items() if k not in ("complainant_nationality", "evidence")}
    err = f.refused(c, "officer", "accept", error=Invalid, **record)
    assert {"complainant_nationality", "evidence"} <= set(err.details["fields"])


def test_handling_limit_may_be_extended_by_leadership_within_the_maximum(f):
    from tousu.clocks.services import extend

    c = mediating(f, f.register("投诉", channel="letter"))
    clock = f.clock(c, "handling_30wd")
    before = clock.due_at
    clock = extend(clock, f.user("leader"), 5, "案情复杂，需调查取证")
    assert clock.due_at > before
    with pytest.raises(Invalid):
        extend(clock, f.user("leader"), 6, "再延")


@pytest.mark.parametrize(
    "category", ["contract_breach", "operator_damage", "force_majeure", "other_harm"]
)
def test_every_accepted_matter_goes_to_the_management_section(f, category):
    c = f.act(
        f.register("投诉", channel="letter"),
        "officer",
        "accept",
        **{**RECORD, "category": category},
    )
    assert c.department.code == "management_section"
    assert f.tasks(c) == [("management_section", "调解处理", "open")]


def test_note_keeps_the_state(f):
    c = f.register("投诉", channel="letter")
    c = f.act(c, "receiver", "add_note", note="投诉人下午补交合同")
    assert c.state == "received"


def test_incomplete_material_the_complainant_supplies_it_online_while_the_review_clock_waits(f):
    from tousu.cases.engine import Complainant

    c = f.register("导游强制购物", channel="letter")
    c = f.act(c, "officer", "request_material", materials="请补充旅游合同和付款凭证")
    assert c.state == "awaiting_material" and f.clocks(c) == {"acceptance_5wd": "paused"}
    c = f.act(c, Complainant("游客赵某"), "provide_material", note="合同和付款截图")
    assert c.state == "received" and f.clocks(c) == {"acceptance_5wd": "running"}
    c = f.act(c, "officer", "request_material", materials="请写明被投诉旅行社的全称")
    c = f.act(c, "officer", "record_material", note="投诉人来电补充：某某国际旅行社")
    assert c.state == "received" and f.clocks(c) == {"acceptance_5wd": "running"}
