"""Every branch of the `hospital` flow (F2, F8/F16, F13, F15, F17, F18), walked through the engine."""

import pytest

from tousu.cases.errors import Forbidden, Invalid

pytestmark = pytest.mark.django_db

PATIENT = {"patient_name": "王秀英", "relation": "family", "record_number": "ZY2026-0301"}

# F2, F8 and F18: category → responsible department (codes shared with the triage training data).
CATEGORY_MAP = [
    ("medical_quality", "medical_affairs"),
    ("nursing_quality", "nursing"),
    ("charges", "finance"),
    ("ethics", "party_office"),
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
    return install_flow("hospital")


def registered(f, category="nursing_quality", channel="visit", content="输液渗漏无人处理", **kw):
    c = f.register(content, channel=channel, fields=PATIENT, **kw)
    c = f.act(c, "officer", "office_register", category=category, situation="已听取家属陈述")
    assert c.state == "registered"
    return c


def investigated(f, c, departments=("nursing",)):
    c = f.act(c, "officer", "start_investigation", departments=list(departments), plan="三日内查清")
    assert c.state == "investigating"
    for dep in departments:
        c = f.act(c, f"handler_{dep}", "submit_findings", findings=f"{dep} 调查意见")
    c = f.act(
        c, "officer", "write_report", report="经联合调查，情况属实", conclusion="true_complaint"
    )
    assert c.state == "replying"
    return c


def dispute_concluded(f, c):
    c = f.act(
        c,
        "officer",
        "start_dispute_procedure",
        main_problem="术后纱布残留",
        departments=["surgery"],
        persons="主刀医生张某",
    )
    assert c.state == "dispute_meeting" and "medical_dispute" in c.flags
    assert f.clocks(c)["reply_7d"] == "stopped"  # the dispute procedure has its own limits
    c = f.act(
        c,
        "officer",
        "meeting_no_agreement",
        routes_told=["seal_records", "copy_records", "people_mediation", "litigation", "appraisal"],
        records_sealed=True,
    )
    assert c.state == "awaiting_written_complaint"
    c = f.act(
        c, "officer", "receive_written_complaint", received_on="2026-03-02", summary="要求赔偿"
    )
    assert c.state == "dispute_investigating"
    assert f.clocks(c)["dispute_conclusion_2w"] == "running"
    clock = f.clock(c, "dispute_conclusion_2w")
    assert clock.unit == "calendar_days" and clock.amount == 14
    c = f.act(c, "officer", "propose_dispute_opinion", findings="存在过错", opinion="赔偿并追责")
    assert c.state == "dispute_group_review"
    c = f.act(
        c,
        "leader",
        "conclude_dispute",
        conclusion="医院承担主要责任，补偿五万元",
        compensation=50000,
    )
    assert c.state == "awaiting_dispute_verdict"
    assert f.clocks(c)["dispute_conclusion_2w"] == "stopped"
    return c


# --- category map ------------------------------------------------------------------------------


@pytest.mark.parametrize("category, department", CATEGORY_MAP)
def test_category_decides_the_responsible_department(f, category, department):
    c = registered(f, category=category)
    assert c.category.code == category and c.department.code == department


def test_hospital_may_route_ethics_to_discipline_and_charges_to_the_cashier(f):
    # F8 sends ethics to the discipline inspection office, F2 charges to the cashier.
    c = f.register("医生收红包", channel="letter")
    c = f.act(
        c,
        "officer",
        "office_register",
        category="ethics",
        department="discipline_inspection",
        situation="s",
    )
    assert c.category.code == "ethics" and c.department.code == "discipline_inspection"
    c = f.register("多收费", channel="phone")
    c = f.act(
        c, "officer", "office_register", category="charges", department="cashier", situation="s"
    )
    assert c.department.code == "cashier"


# --- first-complaint responsibility (F15, F17, F18) ----------------------------------------------


def test_department_complained_about_solves_it_on_the_spot(f):
    c = f.register("护士态度生硬", channel="visit", category="nursing_quality", fields=PATIENT)
    assert c.department.code == "nursing" and f.clocks(c) == {}
    f.refused(
        c,
        "handler_finance",
        "resolve_on_spot",
        error=Forbidden,
        solution="x",
        satisfaction="satisfied",
    )
    c = f.act(
        c, "handler_nursing", "resolve_on_spot", solution="护士长当面道歉", satisfaction="satisfied"
    )
    assert c.state == "closed" and c.closed_at is not None
    c = f.act(c, "officer", "archive", summary="加强服务礼仪培训", fed_back_to_department=True)
    assert c.state == "archived"
    assert f.events(c) == ["created", "resolve_on_spot", "archive"]


def test_ours_accepted_and_resolved_in_the_department(f):
    c = f.register("病房卫生间堵塞", channel="visit", category="logistics_environment")
    c = f.act(c, "head_general_affairs", "accept_first_complaint", situation="卫生间堵塞三天")
    assert c.state == "department_handling"
    assert f.tasks(c) == [("general_affairs", "首诉处理", "open")]
    c = f.act(
        c,
        "handler_general_affairs",
        "department_resolve",
        measures="当天疏通",
        result="已修复并道歉",
        reported_to_medical_affairs=True,
    )
    assert c.state == "closed" and f.tasks(c) == [("general_affairs", "首诉处理", "done")]
    assert f.events(c) == ["created", "accept_first_complaint", "department_resolve"]


def test_not_ours_led_to_the_complaint_office(f):
    c = f.register("医保报销比例不对", channel="visit", category="nursing_quality")
    c = f.act(c, "handler_nursing", "refer_to_complaint_office", how="accompanied")
    assert c.state == "awaiting_registration"
    c = f.act(
        c,
        "officer",
        "office_register",
        category="medical_insurance",
        situation="报销比例争议",
        department_contacted=True,
    )
    assert c.state == "registered" and c.department.code == "medical_insurance"
    assert f.clocks(c) == {"reply_7d": "running"}
    c = f.act(
        c,
        "officer",
        "resolve_on_spot",
        solution="医保科当场解释政策并重新结算",
        satisfaction="satisfied",
    )
    assert c.state == "closed" and f.clocks(c) == {"reply_7d": "stopped"}
    assert f.events(c) == [
        "created",
        "refer_to_complaint_office",
        "office_register",
        "resolve_on_spot",
    ]


def test_department_that_cannot_solve_it_leads_the_patient_to_the_office(f):
    c = f.register("检查结果出错", channel="visit", category="outpatient")
    c = f.act(c, "handler_outpatient", "accept_first_complaint", situation="s")
    c = f.act(c, "head_outpatient", "refer_to_complaint_office", how="told_location")
    assert c.state == "awaiting_registration"
    assert f.tasks(c) == [("outpatient", "首诉处理", "done")]


# --- the complaint office (F2, F8, F18) ----------------------------------------------------------


def test_not_true_explained_and_accepted(f):
    c = registered(f)
    c = f.act(c, "officer", "judge_not_true", explanation="经查护理操作符合规范", method="oral")
    assert c.state == "explained" and f.clocks(c) == {"reply_7d": "stopped"}
    c = f.act(c, "officer", "accept_explanation", comment="理解")
    assert c.state == "closed"
    assert f.events(c) == ["created", "office_register", "judge_not_true", "accept_explanation"]


def test_explanation_not_accepted_investigated_and_replied_within_7_days(f):
    c = registered(f)
    c = f.act(c, "officer", "judge_not_true", explanation="不属实", method="written")
    c = f.act(c, "officer", "reject_explanation", comment="家属坚持")
    assert c.state == "registered" and "reopened" in c.flags
    assert f.clocks(c) == {"reply_7d": "running"}  # a new 7-day period
    c = investigated(f, c)
    c = f.act(c, "officer", "reply_to_complainant", reply="经调查部分属实，已整改", method="phone")
    assert f.clocks(c) == {"reply_7d": "stopped"}


def test_true_joint_investigation_written_report_reply_satisfied(f):
    c = registered(f, category="medical_quality", channel="letter")
    assert c.department.code == "medical_affairs"
    clock = f.clock(c, "reply_7d")
    assert clock.unit == "calendar_days" and clock.amount == 7
    c = f.act(c, "officer", "start_investigation", departments=["medical_affairs", "nursing"])
    assert f.tasks(c) == [("medical_affairs", "联合调查", "open"), ("nursing", "联合调查", "open")]
    err = f.refused(
        c, "officer", "write_report", error=Invalid, report="r", conclusion="true_complaint"
    )
    assert "科室提交调查意见" in err.message
    c = f.act(c, "handler_nursing", "submit_findings", findings="夜班护士巡视不到位")
    assert c.state == "investigating"
    assert f.tasks(c) == [("medical_affairs", "联合调查", "open"), ("nursing", "联合调查", "done")]
    c = f.act(c, "head_medical_affairs", "submit_findings", findings="诊疗规范")
    c = f.act(
        c,
        "officer",
        "write_report",
        report="联合调查报告：护理巡视不到位",
        conclusion="partly_true",
    )
    assert c.state == "replying"
    c = f.act(
        c, "officer", "reply_to_complainant", reply="已对护士批评教育并整改", method="written"
    )
    assert c.state == "awaiting_verdict" and f.clocks(c) == {"reply_7d": "stopped"}
    assert f.clock(c, "reply_7d").met
    c = f.act(c, "officer", "confirm_satisfied", satisfaction="satisfied")
    assert c.state == "closed"
    c = f.act(c, "officer", "archive", summary="季度分析：护理巡视", improvement="增加夜间巡视频次")
    assert f.events(c) == [
        "created",
        "office_register",
        "start_investigation",
        "submit_findings",
        "submit_findings",
        "write_report",
        "reply_to_complainant",
        "confirm_satisfied",
        "archive",
    ]


def test_petition_letter_result_goes_to_the_petition_bureau(f):
    c = registered(
        f, category="hospital_management", channel="petition", content="信访件：反映住院难"
    )
    assert c.channel == "petition" and c.department.code == "president_office"
    c = investigated(f, c, departments=["president_office"])
    f.refused(
        c, "officer", "reply_to_petition_bureau", reply="r"
    )  # the petition number is required
    c = f.act(
        c,
        "officer",
        "reply_to_petition_bureau",
        reply="已调查并答复",
        petition_number="XF-2026-118",
    )
    assert c.state == "awaiting_verdict" and f.clocks(c) == {"reply_7d": "stopped"}
    assert c.events.get(action="reply_to_petition_bureau").visibility == "public"
    assert f.events(c)[-1] == "reply_to_petition_bureau"


def test_special_case_reported_to_leadership(f):
    c = registered(f, category="service_attitude")
    c = f.act(c, "officer", "report_to_leadership", reason="涉及多个科室，家属情绪激烈")
    assert (
        c.state == "awaiting_leadership" and c.complexity == "complex" and c.severity == "serious"
    )
    c = f.act(
        c,
        "leader",
        "leadership_instruct",
        departments=["president_office", "outpatient"],
        instruction="院办牵头，三日内答复",
    )
    assert c.state == "investigating" and c.department.code == "president_office"
    assert len(f.tasks(c)) == 2


def test_complex_case_reported_to_leadership_during_the_investigation(f):
    c = registered(f)
    c = f.act(c, "officer", "start_investigation", departments=["nursing"])
    c = f.act(c, "officer", "report_to_leadership", reason="发现系统性问题")
    assert c.state == "awaiting_leadership"


def test_dissatisfied_patient_gets_further_handling(f):
    c = investigated(f, registered(f))
    c = f.act(c, "officer", "reply_to_complainant", reply="答复", method="phone")
    c = f.act(c, "officer", "report_dissatisfied", comment="补偿太少")
    assert c.state == "investigating" and "reopened" in c.flags
    assert f.tasks(c)[-1] == ("nursing", "进一步处理", "open")
    assert f.clocks(c) == {"reply_7d": "running"}


def test_dissatisfied_patient_goes_to_mediation_then_court(f):
    c = investigated(f, registered(f, category="medical_quality"), departments=["medical_affairs"])
    c = f.act(c, "officer", "reply_to_complainant", reply="答复", method="visit")
    c = f.act(
        c, "officer", "apply_mediation", route="mediation_committee", accepted_on="2026-03-09"
    )
    assert c.state == "external_route"
    assert f.clocks(c)["mediation_30wd"] == "running"
    clock = f.clock(c, "mediation_30wd")
    assert clock.unit == "working_days" and clock.amount == 30
    # The appraisal time is not counted: the mediation clock pauses and resumes.
    err = f.refused(
        c, "officer", "receive_appraisal", error=Invalid, conclusion="c", liability="none"
    )
    assert "委托医疗损害鉴定" in err.message
    c = f.act(c, "officer", "request_appraisal", appraisal_body="medical_association")
    assert f.clocks(c)["mediation_30wd"] == "paused"
    assert f.clock(c, "mediation_30wd").remaining is not None
    c = f.act(c, "officer", "receive_appraisal", conclusion="医方存在过错", liability="secondary")
    assert f.clocks(c)["mediation_30wd"] == "running"
    c = f.act(
        c, "officer", "record_route_outcome", outcome="mediation_failed", detail="赔偿金额分歧大"
    )
    assert c.state == "route_concluded" and f.clocks(c)["mediation_30wd"] == "stopped"
    c = f.act(c, "officer", "take_legal_route", route="court", case_number="（2026）民初 123 号")
    assert c.state == "external_route"
    c = f.act(
        c,
        "officer",
        "record_route_outcome",
        outcome="judgement",
        detail="判决医院赔偿",
        amount=80000,
    )
    c = f.act(c, "officer", "close_after_route", note="已履行判决")
    assert c.state == "closed"
    c = f.act(c, "officer", "archive")
    outcomes = [
        e.payload["outcome"] for e in c.events.filter(action="record_route_outcome").order_by("id")
    ]
    assert outcomes == ["mediation_failed", "judgement"]
    assert f.events(c)[-8:] == [
        "apply_mediation",
        "request_appraisal",
        "receive_appraisal",
        "record_route_outcome",
        "take_legal_route",
        "record_route_outcome",
        "close_after_route",
        "archive",
    ]


@pytest.mark.parametrize(
    "action, route",
    [
        ("apply_mediation", "mediation_centre"),
        ("apply_mediation", "mediation_committee"),
        ("apply_mediation", "health_authority"),
        ("apply_mediation", "third_party"),
        ("take_legal_route", "court"),
        ("take_legal_route", "medical_association_appraisal"),
    ],
)
def test_each_external_route_is_recorded_with_its_outcome(f, action, route):
    c = dispute_concluded(f, registered(f, category="medical_quality"))
    if action == "apply_mediation":
        c = f.act(c, "officer", "apply_mediation", route=route)
        assert f.clocks(c)["mediation_30wd"] == "running"
    else:
        c = f.act(c, "officer", "take_legal_route", route=route)
        assert "mediation_30wd" not in f.clocks(c)
    assert c.events.get(action=action).payload["route"] == route
    c = f.act(c, "officer", "record_route_outcome", outcome="settled_by_parties", detail="双方和解")
    assert c.state == "route_concluded"
    assert c.events.get(action="record_route_outcome").payload["outcome"] == "settled_by_parties"


# --- medical disputes (F13, F17) -----------------------------------------------------------------


def test_medical_dispute_concluded_within_two_weeks_and_agreement_signed(f):
    c = dispute_concluded(f, registered(f, category="medical_quality"))
    c = f.act(
        c,
        "leader",
        "hold_accountable",
        persons="主刀医生张某",
        responsibility="primary",
        measures=["warning", "fine", "training"],
        opinion_to_department="外科加强术中清点制度",
    )
    assert c.state == "awaiting_dispute_verdict"
    c = f.act(
        c, "officer", "sign_agreement", agreement="医院补偿五万元，患方息访", compensation=50000
    )
    assert c.state == "settled" and c.closed_at is not None
    c = f.act(c, "officer", "archive", fed_back_to_department=True)
    assert c.state == "archived"
    assert f.events(c) == [
        "created",
        "office_register",
        "start_dispute_procedure",
        "meeting_no_agreement",
        "receive_written_complaint",
        "propose_dispute_opinion",
        "conclude_dispute",
        "hold_accountable",
        "sign_agreement",
        "archive",
    ]
    assert f.clock(c, "dispute_conclusion_2w").met


def test_medical_dispute_meeting_reaches_agreement(f):
    c = registered(f, category="medical_quality")
    c = f.act(
        c, "officer", "start_dispute_procedure", main_problem="术后感染", departments=["surgery"]
    )
    assert f.tasks(c) == [("surgery", "医患沟通", "open")]
    c = f.act(c, "officer", "meeting_agreement", agreement="科室减免部分费用")
    assert c.state == "closed" and f.tasks(c) == [("surgery", "医患沟通", "done")]


def test_no_written_complaint_closes_the_dispute(f):
    c = registered(f, category="medical_quality")
    c = f.act(c, "officer", "start_dispute_procedure", main_problem="p", departments=["surgery"])
    c = f.act(c, "officer", "meeting_no_agreement", routes_told=["seal_records", "litigation"])
    c = f.act(c, "officer", "close_without_written_complaint", note="患方一个月未提交书面投诉")
    assert c.state == "closed" and "dispute_conclusion_2w" not in f.clocks(c)


def test_conclusion_not_accepted_more_talks_then_mediation_agreement(f):
    c = dispute_concluded(f, registered(f, category="medical_quality"))
    c = f.act(c, "officer", "continue_talks", summary="患方认为补偿过低")
    assert c.state == "dispute_group_review"
    c = f.act(c, "leader", "conclude_dispute", conclusion="维持原结论")
    c = f.act(c, "officer", "apply_mediation", route="third_party")
    c = f.act(
        c, "officer", "record_route_outcome", outcome="mediation_agreement", detail="调解补偿六万元"
    )
    c = f.act(
        c,
        "leader",
        "hold_accountable",
        persons="张某",
        responsibility="primary",
        measures=["fine"],
        opinion_to_department="已反馈外科主任",
    )
    c = f.act(c, "officer", "close_after_route")
    assert c.state == "closed"
    assert f.events(c)[-6:] == [
        "continue_talks",
        "conclude_dispute",
        "apply_mediation",
        "record_route_outcome",
        "hold_accountable",
        "close_after_route",
    ]


def test_adverse_event_reported_by_a_department_becomes_a_serious_dispute(f):
    c = f.register(
        "不良事件：患者夜间坠床致腕骨骨折",
        channel="internal_report",
        category="medical_quality",
        parties=[],
        fields={"involved_department": "外科"},
    )
    assert c.channel == "internal_report"
    c = f.act(
        c, "officer", "accept_first_complaint", department="surgery", situation="当班护士报告"
    )
    assert c.state == "department_handling" and c.department.code == "surgery"
    assert f.tasks(c) == [("surgery", "首诉处理", "open")]
    c = f.act(
        c,
        "head_surgery",
        "report_serious_dispute",
        situation="科室讨论：床栏未拉起",
        measures="已请骨科会诊并固定",
        possible_accident=True,
    )
    assert c.state == "dispute_investigating" and c.severity == "serious"
    assert "medical_dispute" in c.flags
    c = f.act(c, "officer", "propose_dispute_opinion", findings="护理不到位", opinion="承担责任")
    c = f.act(c, "leader", "conclude_dispute", conclusion="医院承担医疗费用")
    c = f.act(
        c,
        "leader",
        "hold_accountable",
        persons="当班护士",
        responsibility="primary",
        measures=["criticism", "training"],
        opinion_to_department="外科护理单元整改",
    )
    c = f.act(c, "officer", "apply_mediation", route="mediation_centre")
    c = f.act(
        c,
        "officer",
        "record_route_outcome",
        outcome="mediation_agreement",
        detail="调处中心调解成功",
    )
    assert c.state == "route_concluded"


def test_department_handling_may_open_the_dispute_procedure(f):
    c = f.register("手术并发症", channel="visit", category="medical_quality")
    c = f.act(c, "receiver", "accept_first_complaint", department="surgery", situation="s")
    c = f.act(
        c,
        "officer",
        "start_dispute_procedure",
        main_problem="p",
        departments=["surgery", "medical_affairs"],
    )
    assert c.state == "dispute_meeting"


def test_category_map_matches_the_triage_training_data(f):
    import csv
    from pathlib import Path

    import tousu

    samples = Path(tousu.__file__).parent / "triage" / "samples" / "hospital.csv"
    with samples.open(encoding="utf-8", newline="") as fh:
        trained = {row["category"]: row["department"] for row in csv.DictReader(fh)}
    assert {c.code: c.department for c in f.definition.categories} == trained


def test_note_keeps_the_state(f):
    c = f.register("投诉", channel="phone")
    c = f.act(c, "receiver", "add_note", note="患者家属下午再来")
    assert c.state == "received" and f.events(c) == ["created", "add_note"]


# --- the patient's side on the portal (role complainant) ---------------------------------------


def patient():
    from tousu.cases.engine import Complainant

    return Complainant("李四")


def test_office_asks_for_material_the_patient_uploads_it_and_the_7_day_clock_resumes(f):
    c = registered(f)
    c = f.act(c, "officer", "request_material", materials="请上传出院小结和收费票据")
    assert c.state == "awaiting_material" and f.clocks(c) == {"reply_7d": "paused"}
    f.refused(c, "officer", "provide_material", error=Forbidden, note="代患方提交")
    c = f.act(c, patient(), "provide_material", note="出院小结和票据各一份")
    assert c.state == "registered" and f.clocks(c) == {"reply_7d": "running"}
    c = f.act(c, "officer", "request_material", materials="还需要门诊病历")
    c = f.act(c, "officer", "record_material", note="家属到投诉办送来门诊病历")
    assert c.state == "registered" and f.clocks(c) == {"reply_7d": "running"}


def test_patient_rates_the_reply_online(f):
    c = investigated(f, registered(f))
    c = f.act(c, "officer", "reply_to_complainant", reply="已整改", method="written")
    c = f.act(c, patient(), "rate_satisfied", satisfaction="satisfied", comment="谢谢")
    assert c.state == "closed"


def test_patient_dissatisfied_online_reopens_the_investigation_on_a_new_7_day_clock(f):
    c = investigated(f, registered(f))
    c = f.act(c, "officer", "reply_to_complainant", reply="答复", method="phone")
    c = f.act(c, patient(), "rate_dissatisfied", satisfaction="dissatisfied", comment="没有道歉")
    assert c.state == "investigating" and "reopened" in c.flags
    assert f.tasks(c)[-1] == ("nursing", "进一步处理", "open")
    assert f.clocks(c) == {"reply_7d": "running"}
