"""Every branch of the `enterprise-quality` flow (F5, F11, F14), walked through the engine."""

import pytest

from tousu.cases.errors import Forbidden, Invalid
from tousu.cases.models import Complaint

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


def judging(f, content="轴承尺寸超差", **fields):
    c = f.register(content, channel="letter", fields={**FORM, **fields})
    f.attach(c, name="检验报告.pdf")
    c = f.act(c, "receiver", "accept", summary="150 只轴承尺寸超差")
    assert c.state == "sales_judging"
    return c


def to_department(f, c, category="product_quality"):
    c = f.act(c, "receiver", "refer_to_vp", reason="涉及生产工艺，营业部无法处理")
    assert c.state == "awaiting_vp" and c.complexity == "complex"
    c = f.act(c, "leader", "designate_department", category=category, instruction="生产部牵头分析")
    assert c.state == "cause_analysis"
    return c


def planned_and_replied(f, c, dept="production"):
    c = f.act(
        c,
        f"handler_{dept}",
        "propose_plan",
        cause="磨床砂轮磨损未及时更换",
        corrective_action="更换砂轮，全检库存",
        preventive_action="砂轮按班次点检",
        plan="退换不合格品",
    )
    assert c.state == "awaiting_instruction"
    c = f.act(c, "leader", "instruct", instruction="同意，今日答复客户")
    c = f.act(c, "receiver", "reply", reply="已查明原因，退换全部不合格品", method="phone")
    assert c.state == "implementing"
    assert f.clocks(c) == {"reply_24h": "stopped", "implement_5wd": "running"}
    return c


def test_acceptance_is_refused_without_written_proof(f):
    c = f.register("电话说轴承有问题", channel="phone", fields=FORM)
    assert f.clocks(c) == {"reply_24h": "running"}
    assert f.clock(c, "reply_24h").unit == "hours" and f.clock(c, "reply_24h").amount == 24
    err = f.refused(c, "receiver", "accept", error=Invalid, summary="轴承问题")
    assert "书面材料" in err.message and err.details["guard"] == "has_attachment"
    c = f.act(c, "receiver", "request_proof", materials="请提供照片和检验报告")
    assert c.state == "received"
    f.attach(c, name="照片.png")
    c = f.act(c, "receiver", "accept", summary="轴承问题", category="product_quality")
    assert c.state == "sales_judging" and c.category.code == "product_quality"
    assert f.events(c) == ["created", "request_proof", "accept"]


def test_sales_can_handle_it_records_and_satisfies_the_customer(f):
    c = judging(f)
    c = f.act(
        c, "receiver", "sales_resolve", solution="补发 150 只合格品", satisfaction="satisfied"
    )
    assert c.state == "closed" and c.closed_at is not None
    assert f.clocks(c) == {"reply_24h": "stopped"}
    c = f.act(c, "officer", "archive", summary="加强出厂检验")
    assert c.state == "archived"
    assert f.events(c) == ["created", "accept", "sales_resolve", "archive"]


def test_unclear_complaint_without_proof_is_explained_tactfully(f):
    c = f.register("听说你们的产品不好", channel="phone")
    c = f.act(c, "receiver", "explain_and_close", explanation="该批产品检验合格，欢迎提供具体情况")
    assert c.state == "closed" and f.clocks(c) == {"reply_24h": "stopped"}
    assert f.events(c) == ["created", "explain_and_close"]


def test_on_site_verification_then_tactful_explanation(f):
    c = judging(f)
    c = f.act(
        c,
        "officer",
        "dispatch_on_site_verification",
        salesperson="业务员刘强",
        visit_on="2026-03-05",
    )
    assert c.state == "on_site_verification"
    c = f.act(c, "receiver", "record_on_site_findings", findings="客户安装方法错误，产品本身合格")
    assert c.state == "sales_judging"
    c = f.act(
        c, "receiver", "explain_and_close", explanation="经现场确认为安装不当，已指导正确安装"
    )
    assert c.state == "closed"
    assert f.events(c) == [
        "created",
        "accept",
        "dispatch_on_site_verification",
        "record_on_site_findings",
        "explain_and_close",
    ]


def test_vp_designates_department_corrective_action_verified_and_signed_off(f):
    c = to_department(f, judging(f))
    assert c.department.code == "production"
    assert f.tasks(c) == [("production", "原因分析与纠正预防", "open")]
    c = planned_and_replied(f, c)
    assert f.clock(c, "implement_5wd").unit == "working_days"
    c = f.act(
        c,
        "head_production",
        "implement_measures",
        responsible="磨工班长",
        measures="已更换砂轮并全检",
        informed=True,
    )
    assert c.state == "qa_verification"
    assert f.clocks(c) == {"reply_24h": "stopped", "implement_5wd": "stopped"}
    c = f.act(c, "verifier", "verify_measures", qa_opinion="抽检 50 只全部合格，措施有效")
    assert c.state == "vp_signoff"
    c = f.act(c, "leader", "sign_off", opinion="同意品保意见")
    assert c.state == "closed" and c.closed_at is not None
    c = f.act(c, "officer", "archive", summary="砂轮点检纳入作业指导书")
    assert f.events(c) == [
        "created",
        "accept",
        "refer_to_vp",
        "designate_department",
        "propose_plan",
        "instruct",
        "reply",
        "implement_measures",
        "verify_measures",
        "sign_off",
        "archive",
    ]
    assert all(state == "done" for _, _, state in f.tasks(c))


def test_failed_verification_goes_back_to_the_department(f):
    c = planned_and_replied(f, to_department(f, judging(f)))
    c = f.act(
        c, "handler_production", "implement_measures", responsible="某", measures="m", informed=True
    )
    f.refused(c, "handler_production", "verify_measures", error=Forbidden, qa_opinion="自己验证")
    c = f.act(c, "verifier", "reject_measures", qa_opinion="复检仍有超差，措施无效")
    assert c.state == "implementing" and "verification_failed" in c.flags
    assert f.tasks(c)[-1] == ("production", "重新落实纠正预防措施", "open")
    assert f.clocks(c)["implement_5wd"] == "running"  # a new 5-working-day period for the rework
    c = f.act(
        c,
        "handler_production",
        "implement_measures",
        responsible="某",
        measures="m2",
        informed=True,
    )
    c = f.act(c, "verifier", "verify_measures", qa_opinion="有效")
    c = f.act(c, "leader", "sign_off")
    assert c.state == "closed"
    assert f.events(c)[-5:] == [
        "implement_measures",
        "reject_measures",
        "implement_measures",
        "verify_measures",
        "sign_off",
    ]
    history = list(
        c.clocks.filter(name="implement_5wd").order_by("id").values_list("state", flat=True)
    )
    assert history == ["stopped", "stopped"]


def test_vp_returns_the_plan(f):
    c = to_department(f, judging(f), category="inspection")
    assert c.department.code == "quality_control"
    c = f.act(
        c,
        "handler_quality_control",
        "propose_plan",
        cause="不清",
        corrective_action="c",
        preventive_action="p",
        plan="p",
    )
    c = f.act(c, "leader", "return_plan", reason="原因分析不充分")
    assert c.state == "cause_analysis"
    assert f.tasks(c)[-1] == ("quality_control", "修改方案", "open")


def test_reply_needs_the_vp_instruction(f):
    c = judging(f)
    Complaint.objects.filter(pk=c.pk).update(state="replying")
    c.refresh_from_db()
    err = f.refused(c, "receiver", "reply", error=Invalid, reply="r", method="phone")
    assert "主管副总批示" in err.message


def test_quality_anomaly_form_approved_recall_and_notify(f):
    c = judging(f, "整批电机异响，要求退货", return_requested=True)
    c = f.act(
        c,
        "receiver",
        "file_anomaly_form",
        category="packaging",
        product="YE3 电机 B2603",
        quantity=80,
        anomaly="运输中包装破损导致异响",
    )
    assert c.state == "anomaly_approval" and c.department.code == "stock_group"
    c = f.act(c, "leader", "approve_recall", opinion="同意回收", customer_informed=True)
    assert c.state == "recalling"
    assert f.clocks(c) == {"reply_24h": "stopped"}
    assert f.tasks(c) == [("stock_group", "回收产品", "open")]
    c = f.act(
        c,
        "handler_stock_group",
        "complete_recall",
        recalled_quantity=80,
        notified=["customer", "production", "quality_assurance"],
    )
    assert c.state == "closed" and f.tasks(c) == [("stock_group", "回收产品", "done")]
    assert f.events(c) == [
        "created",
        "accept",
        "file_anomaly_form",
        "approve_recall",
        "complete_recall",
    ]


def test_anomaly_without_return_goes_to_corrective_action(f):
    c = judging(f, return_requested=False)
    c = f.act(
        c,
        "receiver",
        "file_anomaly_form",
        category="delivery",
        product="p",
        quantity=1,
        anomaly="交期延误",
    )
    c = f.act(c, "leader", "decline_recall", opinion="客户不要求退货，跟单组采取纠正预防措施")
    assert c.state == "cause_analysis" and c.department.code == "merchandising"
    assert f.tasks(c) == [("merchandising", "原因分析与纠正预防", "open")]
    c = f.act(
        c,
        "handler_merchandising",
        "propose_plan",
        cause="排产失误",
        corrective_action="加急",
        preventive_action="周排产评审",
        plan="赔偿",
    )
    assert c.state == "awaiting_instruction"


@pytest.mark.parametrize(
    "category, department",
    [
        ("product_quality", "production"),
        ("inspection", "quality_control"),
        ("packaging", "stock_group"),
        ("wrong_goods", "stock_group"),
        ("delivery", "merchandising"),
        ("documents", "sales"),
        ("service", "sales"),
    ],
)
def test_category_decides_the_responsible_department(f, category, department):
    c = to_department(f, judging(f), category=category)
    assert c.department.code == department


def test_note_keeps_the_state(f):
    c = f.register("投诉", channel="web")
    c = f.act(c, "verifier", "add_note", note="品保部关注该批次")
    assert c.state == "received"


def test_the_customer_sends_the_written_proof_online_while_the_reply_clock_waits(f):
    from tousu.cases.engine import Complainant

    c = f.register("电话说轴承有问题", channel="phone", fields=FORM)
    c = f.act(c, "receiver", "request_proof", materials="请上传照片和检验报告")
    assert c.state == "received" and f.clocks(c) == {"reply_24h": "paused"}
    f.refused(c, "receiver", "provide_material", error=Forbidden, note="代客户提交")
    f.attach(c, name="检验报告.pdf", who=None)  # uploaded on the portal: no staff user
    c = f.act(c, Complainant("王经理"), "provide_material", note="检验报告一份")
    assert c.state == "received" and f.clocks(c) == {"reply_24h": "running"}
    f.refused(c, Complainant("王经理"), "accept", error=Forbidden, summary="自己受理")
    c = f.act(c, "receiver", "accept", summary="轴承尺寸超差")
    assert c.state == "sales_judging"
    assert f.events(c) == ["created", "request_proof", "provide_material", "accept"]
