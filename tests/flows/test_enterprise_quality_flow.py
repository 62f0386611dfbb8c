"""The `enterprise-quality` flow, branch by branch as F5 and F11 draw them (with F14's 24-hour answer):
who could act, the deadlines on the official calendar, the documents issued and the final state."""

import pytest

from moments import at, end_of
from tousu.cases.errors import Forbidden, Invalid, NotPossible

pytestmark = pytest.mark.django_db

FORM = {
    "customer_company": "某机械厂",
    "product": "6204 轴承",
    "batch_number": "B2603",
    "quantity": 2000,
}


@pytest.fixture
def f(install_flow):
    return install_flow("enterprise-quality")


def judging(f, content="轴承尺寸超差", when=None, **fields):
    c = f.register(content, channel="letter", fields={**FORM, **fields}, by="salesperson", at=when)
    f.attach(c, name="检验报告.pdf", who="salesperson")
    c = f.act(c, "salesperson", "accept", summary="150 只轴承尺寸超差", at=when)
    assert c.state == "sales_judging" and f.documents(c) == ["acceptance_receipt"]
    return c


def test_F11_no_written_material_no_acceptance_and_the_customer_may_send_it_online(f):
    c = f.register("轴承有问题", channel="phone", fields=FORM, at=at(2026, 11, 2, 9, 0))
    err = f.refused(c, "receiver", "accept", error=Invalid, summary="x")
    assert "书面材料" in err.message
    c = f.act(c, "receiver", "request_proof", materials="检验报告和照片", at=at(2026, 11, 2, 10, 0))
    assert f.clocks(c) == {"reply_24h": "paused"}
    c = f.act(
        c, "complainant", "provide_material", note="已上传检验报告", at=at(2026, 11, 3, 10, 0)
    )
    # 23 hours were left when it paused; from the material's arrival they run again.
    assert f.due(c, "reply_24h") == at(2026, 11, 4, 9, 0)
    f.attach(c, name="检验报告.pdf")
    c = f.act(c, "receiver", "accept", summary="有检验报告")
    assert c.state == "sales_judging"


def test_F5_sales_can_handle_it_record_and_satisfy_the_customer(f):
    c = judging(f)
    assert "sales_resolve" in f.possible(c, "salesperson")
    c = f.act(c, "salesperson", "sales_resolve", solution="补发 150 只", satisfaction="satisfied")
    assert c.state == "closed" and f.clocks(c) == {"reply_24h": "stopped"}
    c = f.act(c, "officer", "archive", summary="来料检验加严")
    assert c.state == "archived"


def test_F11_on_site_verification_pauses_the_24_hours_then_a_tactful_explanation(f):
    c = judging(f, when=at(2026, 11, 2, 9, 0))
    c = f.act(c, "salesperson", "dispatch_on_site_verification", salesperson_sent=["salesperson"],
              visit_on="2026-11-03", at=at(2026, 11, 2, 11, 0))  # fmt: skip
    assert c.state == "on_site_verification" and f.clocks(c) == {"reply_24h": "paused"}
    c = f.act(c, "salesperson", "record_on_site_findings", findings="客户安装方法错误",
              at=at(2026, 11, 4, 11, 0))  # fmt: skip
    # The site visit (two days) does not count: 22 hours were left when it began.
    assert f.due(c, "reply_24h") == at(2026, 11, 5, 9, 0)
    c = f.act(c, "salesperson", "explain_and_close", explanation="安装方法错误，已现场指导")
    assert c.state == "closed"


def test_F11_unclear_complaint_explained_at_once(f):
    c = f.register("价格不对", channel="phone", fields=FORM)
    c = f.act(c, "receiver", "explain_and_close", explanation="按合同价格执行")
    assert c.state == "closed"


def test_F5_sales_cannot_handle_vp_designates_qa_verifies_vp_signs_and_sales_returns_the_form(f):
    c = judging(f, when=at(2026, 9, 29, 9, 0))
    c = f.act(c, "salesperson", "inform_customer", reply="已受理，生产部分析原因", method="phone",
              at=at(2026, 9, 29, 15, 0))  # fmt: skip
    assert f.clocks(c) == {"reply_24h": "stopped"} and f.clock(c, "reply_24h").met
    c = f.act(c, "salesperson", "refer_to_vp", reason="涉及生产工艺")
    assert c.state == "awaiting_vp" and f.who_can(c, "designate_department") == ["leader"]
    # F5 draws no plan for the VP's instruction and no 24-hour reply in between (F14's steps).
    assert not {"propose_plan", "instruct", "reply"} & {a.name for a in f.definition.actions}
    c = f.act(c, "leader", "designate_department", category="product_quality",
              instruction="生产部分析原因", at=at(2026, 9, 30, 10, 0))  # fmt: skip
    assert c.department.code == "production"
    # 5 working days from 09-30: 10-08, 10-09, Saturday 10-10, 10-12, 10-13.
    assert f.due(c, "corrective_action_5wd") == end_of(2026, 10, 13)
    c = f.act(c, "handler_production", "record_corrective_action", cause="模具磨损",
              corrective_action="更换模具", preventive_action="模具定期点检", responsible="班长")  # fmt: skip
    assert c.state == "qa_verification" and f.who_can(c, "verify_measures") == ["verifier"]
    c = f.act(c, "verifier", "reject_measures", qa_opinion="点检周期不明确")
    assert c.state == "cause_analysis" and "verification_failed" in c.flags
    c = f.act(c, "head_production", "record_corrective_action", cause="模具磨损",
              corrective_action="更换模具", preventive_action="每班点检", responsible="班长")  # fmt: skip
    c = f.act(c, "verifier", "verify_measures", qa_opinion="措施有效")
    c = f.act(c, "leader", "sign_off", opinion="同意品保意见")
    assert c.state == "form_returned"
    c = f.act(c, "salesperson", "return_feedback_form", reply="原因和纠正预防措施见反馈表")
    assert c.state == "closed" and f.documents(c) == ["acceptance_receipt", "written_reply"]


def test_F11_no_return_requested_the_merchandiser_issues_corrective_action(f):
    c = judging(f, return_requested=False)
    assert f.who_can(c, "open_capa") == ["merchandiser"]
    c = f.act(c, "merchandiser", "open_capa", category="packaging", request="改进包装")
    assert c.state == "cause_analysis" and c.department.code == "stock_group"
    assert f.tasks(c) == [("stock_group", "纠正预防措施", "open")]
    c2 = judging(f, return_requested=True)
    err = f.refused(c2, "merchandiser", "open_capa", error=NotPossible, category="packaging",
                    request="x")  # fmt: skip
    assert "品质异常反馈处理表" in err.message


def test_F11_return_requested_anomaly_form_approved_recalled_and_notified(f):
    c = judging(f, return_requested=True)
    c = f.act(c, "salesperson", "file_anomaly_form", category="product_quality", product="6204",
              quantity=150, anomaly="尺寸超差")  # fmt: skip
    assert c.state == "anomaly_approval" and "quality_anomaly_form" in f.documents(c)
    assert set(f.who_can(c, "approve_recall")) == {"merch_lead", "merch_supervisor",
                                                   "production_manager"}  # fmt: skip
    f.refused(c, "leader", "approve_recall", error=Forbidden, department="stock_group", opinion="x")
    c = f.act(c, "salesperson", "inform_customer", reply="审批中", method="email")
    c = f.act(c, "production_manager", "approve_recall", department="stock_group", opinion="同意")
    assert c.state == "recalling" and f.tasks(c) == [("stock_group", "回收产品", "open")]
    c = f.act(c, "receiver", "inform_customer", reply="理货组明天上门回收", method="phone")
    c = f.act(c, "handler_stock_group", "complete_recall", recalled_quantity=150,
              notified=["customer", "sales", "merchandising"])  # fmt: skip
    assert c.state == "closed"


def test_F11_recall_declined_the_department_takes_corrective_action(f):
    c = judging(f, return_requested=True)
    c = f.act(c, "merchandiser", "file_anomaly_form", category="product_quality", product="6204",
              quantity=10, anomaly="外观")  # fmt: skip
    c = f.act(c, "merch_lead", "decline_recall", opinion="不影响使用，不回收")
    assert c.state == "cause_analysis" and f.tasks(c) == [
        ("production", "原因分析与纠正预防", "open")
    ]


def test_the_customer_is_answered_at_every_waiting_point(f):
    c = judging(f)
    c = f.act(c, "salesperson", "dispatch_on_site_verification", salesperson_sent=["salesperson"])
    c = f.act(c, "receiver", "inform_customer", reply="业务员明天到现场", method="phone")
    c = f.act(c, "salesperson", "record_on_site_findings", findings="确有问题")
    c = f.act(c, "salesperson", "refer_to_vp", reason="需副总决定")
    c = f.act(c, "officer", "inform_customer", reply="已呈报副总", method="written")
    c = f.act(c, "leader", "designate_department", category="product_quality")
    c = f.act(c, "salesperson", "inform_customer", reply="生产部正在分析", method="visit")
    c = f.act(c, "salesperson", "add_note", note="客户催问")
    assert c.state == "cause_analysis"


def test_the_salesperson_sent_must_be_sales_staff(f):
    c = judging(f)
    f.refused(c, "salesperson", "dispatch_on_site_verification", error=Invalid,
              salesperson_sent=["handler_production"])  # fmt: skip
