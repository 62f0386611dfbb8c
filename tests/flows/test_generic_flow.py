"""Every branch of the `generic` flow (F1, F3, F6, F14), walked through the engine."""

import pytest

from tousu.cases.models import Event, Task
from tousu.clocks.models import Clock

pytestmark = pytest.mark.django_db


def actions_of(c):
    return list(c.events.values_list("action", flat=True))


def clocks_of(c):
    return {k.name: k.state for k in Clock.objects.filter(complaint=c)}


def test_solved_on_the_spot_then_archived(register, act):
    c = register()
    assert c.state == "registered" and clocks_of(c) == {"reply_24h": "running"}
    c = act(c, "receiver", "resolve_on_spot", solution="当场更换了配件", satisfaction="satisfied")
    assert c.state == "closed" and c.closed_at is not None
    assert clocks_of(c) == {"reply_24h": "stopped"}
    c = act(c, "officer", "archive", summary="配件质量需抽检")
    assert c.state == "archived"
    assert actions_of(c) == ["created", "resolve_on_spot", "archive"]


def test_not_valid_explained_and_accepted(register, act):
    c = register()
    c = act(
        c,
        "receiver",
        "judge_invalid",
        explanation="产品在保修期外，按合同属于自费维修",
        method="oral",
    )
    assert c.state == "explained"
    assert clocks_of(c) == {"reply_24h": "stopped"}  # the explanation is the answer
    c = act(c, "receiver", "accept_explanation", comment="理解")
    assert c.state == "closed"
    assert c.events.get(action="judge_invalid").visibility == Event.PUBLIC


def test_explanation_rejected_leads_to_further_handling(register, act):
    c = register()
    c = act(c, "receiver", "judge_invalid", explanation="不属于质量问题", method="written")
    c = act(c, "officer", "reject_explanation", comment="客户坚持认为是质量问题")
    assert c.state == "classifying"
    c = act(c, "officer", "assign_department", category="quality")
    assert c.state == "investigating"
    assert c.department.code == "quality_management"  # F3: quality → quality management dept


def test_single_general_complaint_full_path(register, act):
    c = register()
    c = act(c, "officer", "judge_valid", reason="理由充分")
    assert c.state == "classifying"
    c = act(c, "officer", "assign_department", category="transport")
    assert (
        c.department.code == "storage_transport" and c.complexity == "general"
    )  # F3: transport → 储运部
    assert list(c.tasks.values_list("department__code", "state")) == [("storage_transport", "open")]
    c = act(c, "handler_t", "propose_plan", cause="司机未按规定装车", plan="赔偿损失，培训司机")
    assert c.state == "awaiting_instruction"
    assert c.tasks.get().state == Task.DONE
    c = act(c, "leader", "instruct", instruction="同意，今天内答复客户")
    c = act(c, "officer", "reply", reply="已查明原因，将赔偿损失", method="phone")
    assert c.state == "implementing"
    assert clocks_of(c) == {
        "reply_24h": "stopped",
        "implement_5wd": "running",
    }  # F14: 24 h, then 5 WD
    c = act(
        c,
        "handler_t",
        "complete_implementation",
        responsible="司机刘某",
        measures="已赔偿",
        informed=True,
    )
    assert c.state == "awaiting_verdict"
    assert clocks_of(c)["implement_5wd"] == "stopped"
    c = act(c, "officer", "confirm_satisfied", satisfaction="satisfied")
    assert c.state == "closed" and c.closed_at
    c = act(c, "officer", "archive")
    assert c.state == "archived"
    assert actions_of(c) == [
        "created",
        "judge_valid",
        "assign_department",
        "propose_plan",
        "instruct",
        "reply",
        "complete_implementation",
        "confirm_satisfied",
        "archive",
    ]
    assert Clock.objects.filter(complaint=c, breached_at__isnull=False).count() == 0


def test_department_can_be_chosen_over_the_category_map(register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="quality", department="storage_transport")
    assert c.category.code == "quality" and c.department.code == "storage_transport"


def test_complex_complaint_goes_to_the_superior_who_assigns_several_departments(register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "escalate", reason="涉及质量和运输两个部门")
    assert c.state == "awaiting_superior" and c.complexity == "complex" and "escalated" in c.flags
    c = act(
        c,
        "leader",
        "superior_assign",
        departments=["quality_management", "storage_transport"],
        instruction="质量部牵头",
    )
    assert c.department.code == "quality_management"
    tasks = list(c.tasks.order_by("id").values_list("department__code", "is_lead", "state"))
    assert tasks == [("quality_management", True, "open"), ("storage_transport", False, "open")]
    # Joint handling: the transport handler may act, because their department holds a task.
    c = act(c, "handler_t", "propose_plan", cause="包装不合格", plan="改进包装")
    assert c.state == "awaiting_instruction"


def test_leader_returns_the_plan(register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="quality")
    c = act(c, "handler_q", "propose_plan", cause="原因不清", plan="再看看")
    c = act(c, "leader", "return_plan", reason="原因分析不充分")
    assert c.state == "investigating"
    assert c.tasks.filter(state=Task.OPEN).count() == 1  # a new task for the department
    c = act(c, "head_q", "propose_plan", cause="原材料批次不合格", plan="更换供应商，退货")
    assert c.state == "awaiting_instruction"


def test_dissatisfied_customer_reopens_for_further_handling(register, act):
    c = register()
    for user, name, data in [
        ("officer", "judge_valid", {}),
        ("officer", "assign_department", {"category": "service"}),
    ]:
        c = act(c, user, name, **data)
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user

    cs_handler, _ = create_user(
        "handler_cs", roles=["handler"], department=Department.objects.get(code="customer_service")
    )
    c = act(c, cs_handler, "propose_plan", cause="c", plan="p")
    c = act(c, "leader", "instruct", instruction="同意")
    c = act(c, "officer", "reply", reply="答复", method="written")
    c = act(c, cs_handler, "complete_implementation", responsible="某", measures="m", informed=True)
    c = act(
        c, "officer", "confirm_satisfied" if False else "report_dissatisfied", comment="赔偿太少"
    )
    assert c.state == "investigating" and "reopened" in c.flags
    assert c.tasks.filter(state=Task.OPEN, kind="进一步处理").exists()
    c = act(c, cs_handler, "propose_plan", cause="c2", plan="p2")
    c = act(c, "leader", "instruct", instruction="同意")
    c = act(c, "officer", "reply", reply="答复2", method="phone")
    assert Clock.objects.filter(complaint=c, name="implement_5wd", state="running").count() == 1


def test_note_keeps_the_state(register, act):
    c = register()
    c = act(c, "receiver", "add_note", note="客户下午再来电")
    assert c.state == "registered" and c.version == 2
    e = c.events.get(action="add_note")
    assert e.from_state == e.to_state == "registered"


# --- the complainant on the portal (role complainant) ------------------------------------------


def customer():
    from tousu.cases.engine import Complainant

    return Complainant("张三")


def to_verdict(register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="transport")
    c = act(c, "handler_t", "propose_plan", cause="装车不当", plan="赔偿")
    c = act(c, "leader", "instruct", instruction="同意")
    c = act(c, "officer", "reply", reply="将赔偿损失", method="written")
    c = act(
        c,
        "handler_t",
        "complete_implementation",
        responsible="刘某",
        measures="已赔",
        informed=True,
    )
    assert c.state == "awaiting_verdict"
    return c


def investigating(register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="transport")
    assert c.state == "investigating"
    return c


def test_department_asks_for_material_the_customer_provides_it_online_the_clock_waits(
    register, act
):
    from tousu.cases.errors import Forbidden

    c = investigating(register, act)
    due_before = Clock.objects.get(complaint=c, name="reply_24h").due_at
    c = act(
        c, "handler_t", "request_material", materials="请上传损坏部位的照片", due_on="2026-03-10"
    )
    assert c.state == "awaiting_material" and clocks_of(c) == {"reply_24h": "paused"}
    assert c.events.get(action="request_material").visibility == Event.PUBLIC
    with pytest.raises(Forbidden):  # staff cannot speak for the customer
        act(c, "officer", "provide_material", note="照片")
    c = act(c, customer(), "provide_material", note="照片两张")
    assert c.state == "investigating" and clocks_of(c) == {"reply_24h": "running"}
    assert Clock.objects.get(complaint=c, name="reply_24h").due_at >= due_before
    assert c.tasks.get().state == Task.OPEN  # the department's work goes on
    c = act(c, "handler_t", "propose_plan", cause="司机装车不当", plan="赔偿")
    assert actions_of(c)[-4:] == [
        "assign_department",
        "request_material",
        "provide_material",
        "propose_plan",
    ]


def test_material_received_another_way_is_recorded_by_staff(register, act):
    c = investigating(register, act)
    c = act(c, "officer", "request_material", materials="请提供购买凭证")
    c = act(c, "handler_t", "record_material", note="客户到前台交来发票复印件")
    assert c.state == "investigating" and clocks_of(c) == {"reply_24h": "running"}


def test_customer_rates_online_satisfied_and_the_case_closes(register, act):
    c = to_verdict(register, act)
    c = act(c, customer(), "rate_satisfied", satisfaction="basically_satisfied", comment="还行")
    assert c.state == "closed" and c.closed_at is not None
    event = c.events.get(action="rate_satisfied")
    assert event.actor is None and event.actor_name == "张三"
    assert event.payload == {"satisfaction": "basically_satisfied", "comment": "还行"}


def test_customer_rates_online_dissatisfied_and_the_case_is_reopened(register, act):
    from tousu.cases.errors import Invalid

    c = to_verdict(register, act)
    with pytest.raises(Invalid):  # "dissatisfied" is not a verdict that closes the case
        act(c, customer(), "rate_satisfied", satisfaction="dissatisfied")
    c = act(c, customer(), "rate_dissatisfied", satisfaction="dissatisfied", comment="赔偿太少")
    assert c.state == "investigating" and "reopened" in c.flags and c.closed_at is None
    assert c.tasks.filter(state=Task.OPEN, kind="进一步处理").exists()
