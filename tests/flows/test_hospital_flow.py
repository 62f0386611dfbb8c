"""The `hospital` flow, branch by branch as F2, F8/F16, F13, F15, F17 and F18 draw them: who could act,
the deadlines' due times on the official calendar (2026: Mid-Autumn 09-25…09-27, National Day
10-01…10-07, Sunday 09-20 and Saturday 10-10 working days), the documents issued, the final state."""

import pytest

from moments import at, end_of
from tousu.cases.errors import Forbidden, Invalid, NotPossible

pytestmark = pytest.mark.django_db

PATIENT = {"patient_name": "王秀英", "relation": "family", "record_number": "ZY2026-0301"}

# F2, F8 and F18: category → responsible department (F8 for ethics: 医德医风 → 纪检室).
CATEGORY_MAP = [
    ("medical_quality", "medical_affairs"),
    ("nursing_quality", "nursing"),
    ("charges", "finance"),
    ("ethics", "discipline_inspection"),
    ("service_attitude", "president_office"),
    ("hospital_management", "president_office"),
    ("outpatient", "outpatient"),
    ("logistics_environment", "general_affairs"),
    ("security_order", "security"),
    ("medical_insurance", "medical_insurance"),
    ("drugs_devices", "pharmacy_devices"),
]


@pytest.fixture
def f(install_flow):
    flow = install_flow("hospital")
    from tousu.accounts.services import create_user

    # The medical-dispute leadership group has several members.
    flow.users["leader2"], _ = create_user("leader2", roles=["leader"], password="pw-leader2-1")
    return flow


def office(f, category="nursing_quality", channel="visit", when=None, **kw):
    c = f.register("输液渗漏无人处理", channel=channel, fields=PATIENT, at=when, **kw)
    c = f.act(c, "officer", "office_register", category=category, situation="已听取家属陈述",
              department_contacted=True, at=when)  # fmt: skip
    assert c.state == "registered"
    return c


def investigated(f, c, departments=("nursing",), lead=None):
    c = f.act(c, "officer", "start_investigation", departments=list(departments),
              lead_department=lead or departments[0], plan="三日内查清")  # fmt: skip
    for dep in departments:
        c = f.act(c, f"handler_{dep}", "submit_findings", findings=f"{dep} 调查意见")
    c = f.act(
        c, "officer", "write_report", report="经联合调查，情况属实", conclusion="true_complaint"
    )
    assert c.state == "replying"
    return c


def replied(f, c):
    c = f.act(c, "officer", "reply_to_complainant", reply="已整改并道歉", method="phone")
    assert c.state == "awaiting_verdict"
    return c


def ward_case(f, ward="surgery", when=None, channel="visit"):
    """A complaint the ward complained about receives and registers first (首诉负责制)."""
    c = f.register("护士态度差", channel=channel, fields=PATIENT, by=f"handler_{ward}", at=when)
    assert c.department.code == ward and c.first_department.code == ward
    assert c.state == "received"
    return c


# --- F15 / F18: first-complaint responsibility ---------------------------------------------------


def test_F18_ward_registers_the_first_complaint_solves_it_on_the_spot_and_the_patient_rates_it(f):
    c = ward_case(f)
    assert f.possible(c, "handler_surgery") >= {"resolve_on_spot", "accept_first_complaint"}
    # Another ward cannot act on it.
    assert not f.possible(c, "handler_nursing") - {"add_note"}
    c = f.act(c, "handler_surgery", "resolve_on_spot", solution="更换护士并当面道歉")
    assert c.state == "awaiting_verdict"
    # The department cannot record the patient's satisfaction and close its own complaint.
    assert "confirm_satisfied" not in f.possible(c, "handler_surgery")
    f.refused(c, "head_surgery", "confirm_satisfied", error=Forbidden, satisfaction="satisfied")
    assert f.who_can(c, "rate_satisfied") == ["complainant"]
    assert "confirm_satisfied" in f.possible(c, "officer")  # the office's follow-up call (回访)
    c = f.act(c, "complainant", "rate_satisfied", satisfaction="satisfied", comment="满意")
    assert c.state == "closed" and f.documents(c) == []


def test_F18_the_front_desk_solves_it_without_a_department_and_must_name_one(f):
    c = f.register("挂号排队太久", channel="visit", fields=PATIENT)
    assert c.department is None
    f.refused(c, "receiver", "resolve_on_spot", error=Invalid, solution="已安排优先就诊")
    c = f.act(c, "receiver", "resolve_on_spot", solution="已安排优先就诊", category="outpatient")
    assert c.department.code == "outpatient" and c.state == "awaiting_verdict"


def test_F18_ours_not_true_the_ward_explains_and_the_patient_accepts(f):
    c = ward_case(f, when=at(2026, 9, 28, 10, 0))
    c = f.act(c, "handler_surgery", "accept_first_complaint", situation="家属反映换药不及时",
              at=at(2026, 9, 28, 11, 0))  # fmt: skip
    assert c.state == "department_handling" and f.tasks(c) == [("surgery", "首诉处理", "open")]
    # F18: reply within 7 days of receipt; the 7th day is a holiday → the day after it ends.
    assert f.due(c, "reply_7d") == end_of(2026, 10, 8)
    c = f.act(c, "handler_surgery", "department_judge_not_true", findings="按医嘱时间换药",
              explanation="换药时间符合医嘱", method="oral")  # fmt: skip
    assert c.state == "department_explained" and f.clocks(c)["reply_7d"] == "stopped"
    assert "accept_department_explanation" not in f.possible(c, "handler_surgery")
    c = f.act(c, "complainant", "accept_department_explanation", comment="理解")
    assert c.state == "closed"


def test_F18_ward_explanation_rejected_goes_to_the_office_in_a_new_round(f):
    c = ward_case(f, when=at(2026, 11, 2, 9, 0))
    c = f.act(c, "handler_surgery", "accept_first_complaint", situation="了解情况")
    c = f.act(c, "head_surgery", "department_judge_not_true", findings="属实度低",
              explanation="解释", method="written")  # fmt: skip
    c = f.act(c, "complainant", "reject_department_explanation", comment="不接受",
              at=at(2026, 11, 5, 10, 0))  # fmt: skip
    assert c.state == "awaiting_registration" and c.round == 2
    assert f.due(c, "further_handling_7d") == end_of(2026, 11, 12)
    c = f.act(c, "officer", "office_register", category="nursing_quality", situation="转来",
              department_contacted=False, at=at(2026, 11, 6, 9, 0))  # fmt: skip
    # The first 7 days were met (explained in time): they do not start again in the new round.
    assert [k.name for k in c.clocks.all()].count("reply_7d") == 1
    assert f.documents(c) == ["registration_form"]


def test_F18_ours_and_true_the_ward_investigates_and_replies_within_7_days(f):
    c = ward_case(f, ward="internal_medicine", when=at(2026, 9, 23, 10, 0))
    c = f.act(c, "handler_internal_medicine", "accept_first_complaint", situation="了解",
              at=at(2026, 9, 24, 9, 0))  # fmt: skip
    assert f.due(c, "reply_7d") == end_of(2026, 9, 30)
    c = f.act(c, "head_internal_medicine", "department_resolve", findings="属实",
              measures="已调整排班", result="向家属道歉并调整护理", at=at(2026, 9, 29, 16, 0))  # fmt: skip
    assert c.state == "awaiting_verdict" and f.clock(c, "reply_7d").met
    # F17: the result is reported to medical affairs on file.
    notified = c.events.get(action="notified")
    assert notified.payload["roles"] == ["officer"]
    from tousu.clocks.models import Notification

    assert Notification.objects.filter(complaint=c, user__username="officer").exists()
    c = f.act(c, "officer", "confirm_satisfied", satisfaction="basically_satisfied")
    assert c.state == "closed"


def test_F18_complex_problem_reported_by_the_ward_to_hospital_leadership(f):
    c = ward_case(f, ward="emergency")
    c = f.act(c, "handler_emergency", "accept_first_complaint", situation="多科室问题")
    c = f.act(c, "head_emergency", "department_report_to_leadership", reason="涉及多科室",
              findings="急诊、检验、收费均有问题")  # fmt: skip
    assert c.state == "awaiting_leadership" and c.complexity == "complex"
    assert f.who_can(c, "leadership_instruct") == ["leader", "leader2"]
    c = f.act(c, "leader", "leadership_instruct", instruction="联合调查",
              departments=["emergency", "finance"], lead_department="emergency")  # fmt: skip
    c = f.act(c, "handler_finance", "submit_findings", findings="多收费属实")
    c = f.act(c, "handler_emergency", "submit_findings", findings="候诊时间过长")
    c = f.act(c, "officer", "write_report", report="报告", conclusion="partly_true")
    c = f.act(c, "officer", "reply_to_complainant", reply="书面答复", method="written")
    assert f.documents(c) == ["written_reply"]


def test_F15_not_ours_or_not_solvable_led_to_the_complaint_office(f):
    c = ward_case(f, ward="outpatient")
    c = f.act(c, "handler_outpatient", "refer_to_complaint_office", how="accompanied")
    assert c.state == "awaiting_registration"
    c = office_after(f, c)
    c2 = ward_case(f, ward="outpatient")
    c2 = f.act(c2, "handler_outpatient", "accept_first_complaint", situation="了解")
    c2 = f.act(c2, "handler_outpatient", "refer_to_complaint_office", how="told_location")
    assert c2.state == "awaiting_registration" and f.tasks(c2)[-1][2] == "done"


def office_after(f, c):
    c = f.act(c, "officer", "office_register", category="outpatient", situation="引导而来",
              department_contacted=True)  # fmt: skip
    assert c.state == "registered"
    return c


def test_F18_the_office_answers_a_general_problem_on_the_spot(f):
    c = office(f, category="logistics_environment")
    c = f.act(c, "officer", "office_resolve", solution="已通知总务科维修卫生间")
    assert c.state == "awaiting_verdict" and f.clocks(c)["reply_7d"] == "stopped"
    c = f.act(c, "complainant", "rate_dissatisfied", satisfaction="dissatisfied", comment="没修")
    assert c.state == "investigating" and c.round == 2
    assert f.tasks(c) == [("general_affairs", "进一步处理", "open")]


# --- F8 / F16 / F2: the complaint office ---------------------------------------------------------


@pytest.mark.parametrize("category,department", CATEGORY_MAP)
def test_F2_F8_F18_the_category_decides_the_responsible_department(f, category, department):
    c = office(f, category=category)
    assert c.department.code == department


def test_F8_the_office_registers_and_issues_the_register_form_and_7_days_count_from_receipt(f):
    c = f.register("投诉", channel="letter", fields=PATIENT, received_at=at(2026, 9, 22, 9, 0),
                   at=at(2026, 9, 24, 9, 0))  # fmt: skip
    c = f.act(c, "officer", "office_register", category="charges", situation="来信",
              department_contacted=False, at=at(2026, 9, 24, 10, 0))  # fmt: skip
    assert f.clock(c, "reply_7d").started_at == at(2026, 9, 22, 9, 0)
    assert f.due(c, "reply_7d") == end_of(2026, 9, 29)
    assert f.documents(c) == ["registration_form"]


def test_F8_petition_letters_registered_by_the_presidents_office_answered_to_the_bureau(f):
    with pytest.raises(Invalid) as exc:
        f.register("信访件", channel="petition", fields=PATIENT)
    assert "fields.petition_number" in exc.value.details["fields"]
    c = f.register("市信访局转来：对诊疗有异议", channel="petition",
                   fields={**PATIENT, "petition_number": "XF-2026-088"})  # fmt: skip
    assert c.department.code == "president_office"  # the channel routes it
    err = f.refused(c, "officer", "office_register", error=NotPossible, category="medical_quality",
                    situation="x", department_contacted=True)  # fmt: skip
    assert "院办" in err.message
    assert "petition_register" not in f.possible(c, "handler_surgery")
    c = f.act(c, "handler_president_office", "petition_register", category="medical_quality",
              situation="患者家属对诊疗过程有异议")  # fmt: skip
    assert c.state == "registered" and c.department.code == "medical_affairs"
    c = investigated(f, c, departments=("medical_affairs", "internal_medicine"))
    assert "reply_to_complainant" not in f.possible(c, "officer")
    c = f.act(c, "officer", "reply_to_petition_bureau", reply="调查处理结果")
    assert c.state == "awaiting_verdict" and f.documents(c) == [
        "registration_form",
        "written_reply",
    ]


def test_F8_joint_investigation_waits_for_every_department_and_the_lead_is_named(f):
    c = office(f, category="medical_quality")
    f.refused(c, "officer", "start_investigation", error=Invalid,
              departments=["medical_affairs", "nursing", "pharmacy_devices"])  # fmt: skip
    c = f.act(c, "officer", "start_investigation", departments=["medical_affairs", "nursing",
              "pharmacy_devices"], lead_department="nursing")  # fmt: skip
    assert c.department.code == "nursing"
    assert c.tasks.get(is_lead=True).department.code == "nursing"
    c = f.act(c, "handler_medical_affairs", "submit_findings", findings="诊疗规范")
    err = f.refused(c, "officer", "write_report", error=Invalid, report="报告",
                    conclusion="true_complaint")  # fmt: skip
    assert "护理部" in err.message and "药械科" in err.message and "医务科" not in err.message
    c = f.act(c, "handler_nursing", "submit_findings", findings="巡视不到位")
    c = f.act(c, "handler_pharmacy_devices", "submit_findings", findings="药品无误")
    c = f.act(c, "officer", "write_report", report="联合调查报告", conclusion="partly_true")
    assert c.state == "replying"


def test_F18_not_true_the_office_explains(f):
    c = office(f)
    c = f.act(c, "officer", "judge_not_true", explanation="输液操作规范", method="oral")
    assert c.state == "explained" and f.clocks(c)["reply_7d"] == "stopped"
    c = f.act(c, "officer", "accept_explanation", comment="家属理解")
    assert c.state == "closed"


def test_F18_not_true_rejected_investigated_in_a_new_round(f):
    c = office(f, when=at(2026, 11, 2, 9, 0))
    c = f.act(c, "officer", "judge_not_true", explanation="规范", method="written")
    c = f.act(c, "complainant", "reject_explanation", comment="不接受", at=at(2026, 11, 3, 9, 0))
    assert c.state == "registered" and c.round == 2
    assert f.due(c, "further_handling_7d") == end_of(2026, 11, 10)
    c = investigated(f, c)
    c = replied(f, c)
    assert f.clocks(c)["further_handling_7d"] == "stopped"


def test_F2_F18_special_or_complex_cases_go_to_hospital_leadership(f):
    c = office(f, category="medical_quality")
    c = f.act(c, "officer", "report_to_leadership", reason="患者死亡，家属情绪激烈")
    assert c.state == "awaiting_leadership" and "escalated" in c.flags
    c = f.act(c, "leader", "leadership_instruct", instruction="立即调查",
              departments=["medical_affairs"])  # fmt: skip
    assert c.state == "investigating"
    c = f.act(c, "officer", "report_to_leadership", reason="调查中发现涉及多科室")
    c = f.act(c, "leader2", "leadership_instruct", instruction="扩大调查",
              departments=["medical_affairs", "surgery"], lead_department="medical_affairs")  # fmt: skip
    assert c.tasks.filter(state="open").count() == 2


def test_F2_a_later_instruction_names_the_lead_of_the_investigation(f):
    c = office(f, category="medical_quality")
    c = f.act(c, "officer", "report_to_leadership", reason="患者死亡")
    c = f.act(c, "leader", "leadership_instruct", instruction="调查",
              departments=["medical_affairs", "nursing"], lead_department="nursing")  # fmt: skip
    c = f.act(c, "officer", "report_to_leadership", reason="涉及收费")
    c = f.act(c, "leader2", "leadership_instruct", instruction="财务科牵头",
              departments=["finance", "surgery"], lead_department="finance")  # fmt: skip
    leads = c.tasks.filter(state="open", is_lead=True)
    assert [t.department.code for t in leads] == ["finance"]
    assert c.tasks.filter(state="open").count() == 4


def test_F18_material_asked_for_pauses_the_7_days_and_the_patient_uploads_it(f):
    c = office(f, when=at(2026, 11, 2, 9, 0))
    c = f.act(c, "officer", "request_material", materials="病历复印件", at=at(2026, 11, 3, 9, 0))
    assert f.clocks(c) == {"reply_7d": "paused"}
    c = f.act(c, "complainant", "provide_material", note="已上传", at=at(2026, 11, 6, 9, 0))
    # 6 days were left on 11-03; they run again from 11-06.
    assert f.due(c, "reply_7d") == end_of(2026, 11, 12)
    c = f.act(c, "officer", "request_material", materials="票据")
    c = f.act(c, "officer", "record_material", note="家属送来票据")
    assert c.state == "registered"


def test_F2_satisfied_settled_by_consultation_dissatisfied_handled_again(f):
    c = replied(f, investigated(f, office(f)))
    c = f.act(c, "officer", "report_dissatisfied", comment="赔偿不够", at=at(2026, 11, 9, 9, 0))
    assert c.state == "investigating" and c.round == 2
    assert f.due(c, "further_handling_7d") == end_of(2026, 11, 16)
    c = f.act(c, "handler_nursing", "submit_findings", findings="补充调查")
    c = f.act(c, "officer", "write_report", report="补充报告", conclusion="true_complaint")
    c = replied(f, c)
    c = f.act(c, "officer", "confirm_satisfied", satisfaction="satisfied")
    assert c.state == "closed"
    c = f.act(c, "officer", "archive", summary="加强巡视", fed_back_to_department=True)
    assert c.state == "archived"


# --- F2 / F13 / F15 / F17: external routes --------------------------------------------------------


def test_F2_not_accepted_mediation_30_working_days_from_acceptance_appraisal_excluded(f):
    c = replied(f, investigated(f, office(f)))
    f.refused(c, "officer", "apply_mediation", error=Invalid, route="mediation_committee")
    c = f.act(c, "officer", "apply_mediation", route="mediation_committee",
              accepted_on="2026-09-24", at=at(2026, 9, 25, 10, 0))  # fmt: skip
    assert c.state == "external_route"
    # 30 working days from the day mediation was accepted, Mid-Autumn and National Day skipped.
    assert f.due(c, "mediation_30wd") == end_of(2026, 11, 12)
    assert "receive_appraisal" not in f.possible(c, "officer")  # nothing asked for yet
    c = f.act(c, "officer", "request_appraisal", appraisal_body="medical_association",
              at=at(2026, 10, 12, 10, 0))  # fmt: skip
    assert f.clocks(c)["mediation_30wd"] == "paused"
    c = f.act(c, "officer", "receive_appraisal", conclusion="轻微责任", liability="minor",
              at=at(2026, 10, 26, 10, 0))  # fmt: skip
    # Paused on 10-12 with 23 working days left (10-13 … 11-12); resumed 10-26: 23 more.
    assert f.due(c, "mediation_30wd") == end_of(2026, 11, 26)
    c = f.act(c, "officer", "record_route_outcome", outcome="mediation_agreement",
              detail="调解委员会主持达成协议", amount=20000)  # fmt: skip
    assert c.state == "route_concluded"
    c = f.act(c, "officer", "take_legal_route", route="court", case_number="（2026）民初 1 号")
    c = f.act(c, "officer", "record_route_outcome", outcome="judgement", detail="判决")
    c = f.act(c, "officer", "apply_mediation", route="health_authority", accepted_on="2026-12-01")
    c = f.act(c, "officer", "record_route_outcome", outcome="withdrawn", detail="撤回")
    c = f.act(c, "officer", "close_after_route", note="结案")
    assert c.state == "closed"


def test_F2_patient_goes_to_court_directly(f):
    c = replied(f, investigated(f, office(f)))
    c = f.act(c, "officer", "take_legal_route", route="medical_association_appraisal")
    assert c.state == "external_route" and "mediation_30wd" not in f.clocks(c)


# --- F13: medical disputes ------------------------------------------------------------------------


def dispute(f, c):
    c = f.act(c, "officer", "start_dispute_procedure", main_problem="术后纱布残留",
              departments=["surgery"], persons="主刀医生张某")  # fmt: skip
    assert c.state == "dispute_meeting" and "medical_dispute" in c.flags
    return c


def test_F13_the_meeting_reaches_agreement(f):
    c = dispute(f, office(f, category="medical_quality"))
    assert f.clocks(c)["reply_7d"] == "stopped"  # the dispute procedure has its own limits
    c = f.act(c, "officer", "meeting_agreement", agreement="医院承担复查费用")
    assert c.state == "closed"


def test_F13_no_agreement_the_group_concludes_within_two_weeks_of_the_written_complaint(f):
    c = dispute(f, office(f, category="medical_quality"))
    c = f.act(c, "officer", "meeting_no_agreement", routes_told=["seal_records", "litigation"],
              records_sealed=True)  # fmt: skip
    assert c.state == "awaiting_written_complaint"
    c = f.act(c, "officer", "receive_written_complaint", received_on="2026-09-14",
              summary="要求赔偿", at=at(2026, 9, 16, 10, 0))  # fmt: skip
    # Two weeks from the date the written complaint was made, not from the click.
    assert f.clock(c, "dispute_conclusion_2w").started_at == at(2026, 9, 14)
    assert f.due(c, "dispute_conclusion_2w") == end_of(2026, 9, 28)
    assert "medical_affairs_opinion" not in f.possible(c, "officer")
    c = f.act(c, "officer", "propose_dispute_opinion", findings="存在过错", opinion="赔偿并追责")
    # A group decision: two different members of the leadership group, recorded.
    f.refused(c, "leader", "conclude_dispute", error=Invalid, participants=["leader", "leader"],
              conclusion="赔偿")  # fmt: skip
    f.refused(c, "leader", "conclude_dispute", error=Invalid, participants=["leader", "officer"],
              conclusion="赔偿")  # fmt: skip
    c = f.act(c, "officer", "conclude_dispute", participants=["leader", "leader2"],
              conclusion="医院承担主要责任，赔偿 5 万元", compensation=50000)  # fmt: skip
    assert (
        c.state == "awaiting_dispute_verdict" and f.clocks(c)["dispute_conclusion_2w"] == "stopped"
    )
    c = f.act(c, "officer", "sign_agreement", agreement="一次性赔偿", compensation=50000)
    assert c.state == "settled" and f.documents(c) == ["registration_form", "mediation_agreement"]
    c = f.act(c, "officer", "archive", summary="手术清点制度")
    assert c.state == "archived"


def test_F13_not_accepted_keep_talking_sets_a_new_deadline(f):
    c = dispute(f, office(f, category="medical_quality"))
    c = f.act(c, "officer", "meeting_no_agreement", routes_told=["people_mediation"],
              records_sealed=False)  # fmt: skip
    c = f.act(c, "officer", "receive_written_complaint", received_on="2026-11-02", summary="书面")
    c = f.act(c, "officer", "propose_dispute_opinion", findings="查明", opinion="意见")
    c = f.act(
        c, "leader", "conclude_dispute", participants=["leader", "leader2"], conclusion="结论"
    )
    c = f.act(c, "officer", "continue_talks", summary="家属要求再议", next_deadline="2026-11-20")
    assert f.due(c, "talks_deadline") == end_of(2026, 11, 20)
    c = f.act(c, "officer", "continue_talks", summary="再约", next_deadline="2026-11-27")
    assert f.due(c, "talks_deadline") == end_of(2026, 11, 27)
    assert [k.state for k in c.clocks.filter(name="talks_deadline")] == ["stopped", "running"]
    c = f.act(c, "officer", "apply_mediation", route="mediation_centre", accepted_on="2026-11-26")
    assert f.clocks(c)["talks_deadline"] == "stopped"


def test_F13_no_written_complaint_the_dispute_is_closed(f):
    c = dispute(f, office(f, category="medical_quality"))
    c = f.act(c, "officer", "meeting_no_agreement", routes_told=["copy_records"],
              records_sealed=False)  # fmt: skip
    c = f.act(c, "officer", "close_without_written_complaint", note="患方未再提出")
    assert c.state == "closed"


def test_F13_the_ward_may_ask_the_office_to_open_the_dispute_procedure(f):
    c = ward_case(f)
    c = f.act(c, "handler_surgery", "accept_first_complaint", situation="手术并发症")
    c = dispute(f, c)
    assert f.clocks(c)["reply_7d"] == "stopped"


# --- F17: adverse events ---------------------------------------------------------------------------


def test_F17_adverse_event_reported_at_once_investigated_and_fed_back(f):
    from tousu.clocks.models import Notification

    c = f.register("住院患者夜间坠床致右腕骨折", channel="internal_report", fields=PATIENT,
                   by="handler_internal_medicine", at=at(2026, 9, 29, 2, 0))  # fmt: skip
    # The person involved reports to the department head and medical affairs at once.
    told = c.events.get(action="notified")
    assert set(told.payload["roles"]) == {"dept_head", "officer"}
    recipients = set(
        Notification.objects.filter(complaint=c).values_list("user__username", flat=True)
    )
    assert {"head_internal_medicine", "officer"} <= recipients
    assert "head_surgery" not in recipients
    # The department investigates and reports within 5 working days; no 7-day reply clock here.
    assert set(f.clocks(c)) == {"adverse_event_report"}
    # 09-30, then 10-08, 10-09, Saturday 10-10 (a working day) and 10-12.
    assert f.due(c, "adverse_event_report") == end_of(2026, 10, 12)
    c = f.act(c, "head_internal_medicine", "accept_first_complaint", situation="已上报")
    c = f.act(c, "head_internal_medicine", "report_serious_dispute", situation="科内讨论",
              measures="已固定骨折", possible_accident=True)  # fmt: skip
    assert c.state == "dispute_investigating" and c.severity == "serious"
    assert f.clocks(c)["adverse_event_report"] == "stopped"
    # A serious dispute reported by the department need not go through F13's group.
    assert "propose_dispute_opinion" not in f.possible(c, "officer")
    c = f.act(c, "leader", "hold_accountable", persons="当班护士", responsibility="secondary",
              measures=["criticism", "training"], opinion_to_department="加强夜间巡视")  # fmt: skip
    c = f.act(c, "officer", "medical_affairs_opinion", findings="护理巡视不到位",
              opinion="赔偿医疗费")  # fmt: skip
    assert c.state == "awaiting_dispute_verdict"
    assert c.events.filter(action="notified", payload__roles=["dept_head"]).count() == 2
    c = f.act(c, "officer", "sign_agreement", agreement="医院承担医疗费")
    assert c.state == "settled"


# --- internal accountability wherever the seed draws it (F17) ------------------------------------


def _to(f, state):
    if state in ("replying", "awaiting_verdict", "closed"):
        c = investigated(f, office(f))
        if state != "replying":
            c = replied(f, c)
        if state == "closed":
            c = f.act(c, "complainant", "rate_satisfied", satisfaction="satisfied")
        return c
    c = dispute(f, office(f, category="medical_quality"))
    c = f.act(c, "officer", "meeting_no_agreement", routes_told=["litigation"], records_sealed=True)
    c = f.act(c, "officer", "receive_written_complaint", received_on="2026-11-02", summary="书面")
    if state == "dispute_investigating":
        return c
    c = f.act(c, "officer", "propose_dispute_opinion", findings="查明", opinion="意见")
    if state == "dispute_group_review":
        return c
    c = f.act(
        c, "leader", "conclude_dispute", participants=["leader", "leader2"], conclusion="结论"
    )
    if state == "awaiting_dispute_verdict":
        return c
    if state == "settled":
        return f.act(c, "officer", "sign_agreement", agreement="协议")
    c = f.act(c, "officer", "take_legal_route", route="court")
    if state == "external_route":
        return c
    return f.act(c, "officer", "record_route_outcome", outcome="judgement", detail="判决")


@pytest.mark.parametrize(
    "state",
    ["dispute_investigating", "dispute_group_review", "awaiting_dispute_verdict", "external_route",
     "route_concluded", "replying", "awaiting_verdict", "closed", "settled"],
)  # fmt: skip
def test_F17_internal_accountability_reachable_where_drawn(f, state):
    c = _to(f, state)
    assert c.state == state and f.who_can(c, "hold_accountable") == ["leader", "leader2"]
    c = f.act(c, "leader", "hold_accountable", persons="责任医生", responsibility="minor",
              measures=["criticism"], opinion_to_department="意见已反馈")  # fmt: skip
    assert c.state == state  # a record beside the flow, and the ward is told
    assert c.events.filter(action="notified").exists()


def test_F17_accountability_is_no_leader_to_do(f):
    """Optional, routine: a closed case does not sit in a leader's queue because of it."""
    from tousu.cases.engine import is_routine

    action = f.definition.action("hold_accountable")
    assert is_routine(action)


def test_a_note_is_allowed_anywhere_and_changes_nothing(f):
    c = office(f)
    c = f.act(c, "head_nursing", "add_note", note="已约谈当班护士")
    assert c.state == "registered"


def test_F15_the_ward_leads_a_patient_who_disputes_its_explanation_to_the_office(f):
    c = ward_case(f)
    c = f.act(c, "handler_surgery", "accept_first_complaint", situation="了解")
    c = f.act(c, "handler_surgery", "department_judge_not_true", findings="f", explanation="e",
              method="oral")  # fmt: skip
    c = f.act(c, "head_surgery", "refer_to_complaint_office", how="accompanied")
    assert c.state == "awaiting_registration"


def test_F8_a_petition_brought_to_the_front_desk_is_led_to_the_presidents_office(f):
    c = f.register("信访件", channel="petition", fields={**PATIENT, "petition_number": "XF-1"})
    c = f.act(c, "receiver", "refer_to_complaint_office", how="told_location")
    c = f.act(c, "head_president_office", "petition_register", category="ethics", situation="信访")
    assert c.state == "registered" and c.department.code == "discipline_inspection"
