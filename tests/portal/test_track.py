"""Tracking a case on the portal: its public timeline, deadlines, replies and documents, nothing
internal; wrong codes reveal nothing and are throttled; the complainant's own actions."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tousu.cases.models import Attachment, Complaint
from tousu.clocks.models import Clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(submit, client):
    """A complaint submitted on the portal: (complaint, access code)."""
    response = submit(follow=True)
    code = re.search(r'id="access-code">([^<]+)<', response.content.decode()).group(1)
    client.post(f"/track/{Complaint.objects.get().tracking_number}/leave/")  # start signed out
    return Complaint.objects.get(), code


def internal_code(html: str):
    """A flow code (F14) in the page's text, not in its markup or tokens."""
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>|<[^>]+>", " ", html)
    return re.search(r"(?<![#0-9A-Za-z])F\d+(?![0-9A-Za-z])", text)


def look_up(client, number, secret, **extra):
    return client.post("/track/", {"number": number, "secret": secret}, **extra)


def test_the_access_code_opens_the_case(client, case):
    c, code = case
    response = look_up(client, c.tracking_number.lower(), code.lower())  # case is forgiven
    assert response.status_code == 302 and response.url == f"/track/{c.tracking_number}/"
    html = client.get(response.url).content.decode()
    assert c.tracking_number in html and "投诉已登记" in html and "处理中" in html
    # The deadline and its basis, in the organisation's own words: no internal flow code.
    assert "答复时限" in html and "《通用投诉处理流程》：24 小时内答复客户" in html
    assert not internal_code(html)


def test_the_basis_names_the_organisations_rule_and_the_phone_its_number(client, case):
    from tousu.portal.models import PublicNotice

    PublicNotice.objects.update_or_create(
        pk=PublicNotice.objects.values_list("pk", flat=True).first(),
        defaults={"rule_name": "《测试公司客户投诉管理办法》", "complaint_phone": "0571-88886666"},
    )
    c, code = case
    html = client.get(look_up(client, c.tracking_number, code).url).content.decode()
    assert "依据：《测试公司客户投诉管理办法》：24 小时内答复客户" in html
    assert not internal_code(html)
    signed_out = client.get("/track/").content.decode()
    assert "请拨打投诉电话" in signed_out and "0571-88886666" in signed_out


def test_no_phone_configured_no_call_to_dial(client, db):
    from tousu.portal.models import PublicNotice

    PublicNotice.objects.all().delete()
    html = client.get("/track/").content.decode()
    assert "请拨打投诉电话" not in html and "投诉电话" not in html


def test_internal_codes_are_replaced_or_dropped():
    from tousu.portal.selectors import public_basis

    class P:
        label = "通用投诉处理流程"

    assert (
        public_basis("F14 客户投诉处理流程：5 个工作日内实施", P)
        == "《通用投诉处理流程》：5 个工作日内实施"
    )
    assert public_basis("F17：科内立即汇报", P) == "《通用投诉处理流程》：科内立即汇报"
    assert (
        public_basis("企业内部标准：5 个工作日内（参照 F14 的实施期限）", P)
        == "企业内部标准：5 个工作日内"
    )
    assert public_basis("《旅游投诉处理办法》第十五条：5 个工作日", P) == (
        "《旅游投诉处理办法》第十五条：5 个工作日"
    )


@pytest.mark.parametrize("written", ["13812345678", "138 1234 5678", "+86 138-1234-5678"])
def test_the_phone_number_given_opens_the_case_too(client, case, written):
    c, _ = case
    assert look_up(client, c.tracking_number, written).status_code == 302


def test_a_wrong_code_gets_the_same_answer_as_an_unknown_number(client, case):
    c, code = case
    wrong = look_up(client, c.tracking_number, "ABCDEFGH")
    unknown = look_up(client, "TS-20000101-9999", code)
    wrong_phone = look_up(client, c.tracking_number, "13900000000")
    # Pages differ only in what was typed back into the form and the CSRF token's mask.
    pages = [
        re.sub(r'value="[^"]*"', "", r.content.decode()) for r in (wrong, unknown, wrong_phone)
    ]
    assert {r.status_code for r in (wrong, unknown, wrong_phone)} == {400}
    assert pages[0] == pages[1] == pages[2]  # nothing tells them apart
    assert "投诉编号或查询码（手机号码）不正确" in pages[0]
    for text in ("网上下单", "张三", "已登记", "处理中"):
        assert text not in pages[0]
    # Without a successful look-up the case page is not shown.
    direct = client.get(f"/track/{c.tracking_number}/")
    assert direct.status_code == 302 and direct.url.startswith("/track/?n=")


def test_wrong_tries_throttle_the_guessing_address_only(client, case):
    c, code = case
    for _ in range(5):
        assert look_up(client, c.tracking_number, "WRONG123").status_code == 400
    # Five failures on one number from one address: that pair is throttled, even the right code.
    throttled = look_up(client, c.tracking_number, code)
    assert throttled.status_code == 429
    assert "查询失败次数过多：15 分钟内最多输错 5 次" in throttled.content.decode()
    # Ten failures from one address, whatever the numbers: the address is throttled.
    for i in range(5):
        assert look_up(client, f"TS-20000101-{i:04d}", "X").status_code == 400
    html = look_up(client, "TS-20000101-9999", "X").content.decode()
    assert "15 分钟内最多输错 10 次" in html
    # Another address is not affected.
    assert look_up(client, c.tracking_number, code, REMOTE_ADDR="10.9.8.7").status_code == 302


def test_others_wrong_guesses_never_lock_the_complainant_out(client, case, settings):
    """Many addresses guessing one number: the access code still opens the case from a new
    address; only the weaker phone-number route is paused for that number."""
    settings.TOUSU_PORTAL_LIMITS = {"track_fail_number": (5, 60)}
    c, code = case
    for i in range(5):
        look_up(client, c.tracking_number, "WRONG123", REMOTE_ADDR=f"10.0.0.{i}")
    assert look_up(client, c.tracking_number, code, REMOTE_ADDR="10.0.1.1").status_code == 302
    paused = look_up(client, c.tracking_number, "13812345678", REMOTE_ADDR="10.0.1.2")
    assert paused.status_code == 400 and "暂时只能用查询码查询" in paused.content.decode()


def test_the_public_timeline_shows_public_fields_and_nothing_internal(client, case, act, staff):
    c, code = case
    c = act(c, "receiver", "add_note", note="内部备注：此人多次投诉")
    c = act(c, "officer", "judge_valid", reason="内部判断理由XYZ")
    c = act(c, "officer", "assign_department", category="transport")
    c = act(c, "leader", "add_note", note="领导批示内容QQQ")
    c = act(c, "handler_t", "propose_plan", cause="内部原因分析ABC", plan="内部方案")
    c = act(c, "officer", "reply", reply="已查明原因，今日发货并补偿运费", method="sms")
    look_up(client, c.tracking_number, code)
    html = client.get(f"/track/{c.tracking_number}/").content.decode()
    assert "投诉已受理" in html and "处理结果已答复" in html
    assert "已查明原因，今日发货并补偿运费" in html  # the reply: a public field
    for internal in (
        "内部备注",
        "内部判断理由XYZ",  # judge_valid is public, but its reason field is not
        "内部原因分析ABC",
        "领导批示内容QQQ",
        "储运部",
        "officer",
        "handler_t",
        "短信",  # the reply's method is not a public field
        "分派责任部门",
    ):
        assert internal not in html, internal
    assert "落实时限" in html  # the deadline started by the reply


def investigating(c, act):
    c = act(c, "officer", "judge_valid")
    return act(c, "officer", "assign_department", category="transport")


def test_material_asked_for_is_uploaded_and_the_waiting_clock_resumes(client, case, act, kit):
    c, code = case
    c = investigating(c, act)
    c = act(c, "handler_t", "request_material", materials="请上传订单截图", due_on="2026-12-10")
    assert Clock.objects.get(complaint=c, name="reply_24h").state == Clock.PAUSED
    look_up(client, c.tracking_number, code)
    url = f"/track/{c.tracking_number}/"
    html = client.get(url).content.decode()
    assert "待您补充材料" in html and "请上传订单截图" in html and "2026年12月10日" in html
    assert "已暂停（等待您补充材料）" in html
    # An executable is refused and nothing changes.
    bad = client.post(
        f"{url}respond/provide_material/",
        {"version": c.version, "note": "截图", "files": [SimpleUploadedFile("a.jpg", kit.ELF)]},
        follow=True,
    )
    assert "类型不被接受" in bad.content.decode()
    c.refresh_from_db()
    assert c.state == "awaiting_material" and Attachment.objects.count() == 0
    done = client.post(
        f"{url}respond/provide_material/",
        {
            "version": c.version,
            "note": "订单截图两张",
            "files": [
                SimpleUploadedFile("订单1.png", kit.png()),
                SimpleUploadedFile("订单2.png", kit.png()),
            ],
        },
        follow=True,
    )
    html = done.content.decode()
    assert "补充材料已提交" in html and "订单1.png" in html and "订单截图两张" in html
    c.refresh_from_db()
    assert c.state == "investigating"
    assert Clock.objects.get(complaint=c, name="reply_24h").state == Clock.RUNNING
    event = c.events.get(action="provide_material")
    assert event.via == "portal" and event.actor is None and event.actor_name == "张三"
    assert Attachment.objects.filter(complaint=c, is_public=True).count() == 2
    # The files are theirs to download again.
    a = Attachment.objects.filter(complaint=c).first()
    assert client.get(f"{url}files/{a.pk}/").status_code == 200


def test_material_without_files_or_note_is_refused(client, case, act):
    c, code = case
    c = act(investigating(c, act), "officer", "request_material", materials="请上传订单截图")
    look_up(client, c.tracking_number, code)
    url = f"/track/{c.tracking_number}/"
    response = client.post(f"{url}respond/provide_material/", {"version": c.version}, follow=True)
    assert "请上传补充材料，或写明补充说明" in response.content.decode()


def to_verdict(c, act):
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="transport")
    c = act(c, "handler_t", "propose_plan", cause="c", plan="p")
    c = act(c, "officer", "reply", reply="今日发货", method="phone")
    return act(
        c,
        "handler_t",
        "complete_implementation",
        responsible="某",
        measures="已发货",
        informed=True,
    )


def test_dissatisfied_rating_needs_a_reason_then_reopens_the_case(client, case, act):
    c, code = case
    c = to_verdict(c, act)
    look_up(client, c.tracking_number, code)
    url = f"/track/{c.tracking_number}/"
    assert "待您评价" in client.get(url).content.decode()
    no_reason = client.post(
        f"{url}respond/rate/", {"version": c.version, "verdict": "dissatisfied"}
    )
    assert no_reason.status_code == 400
    assert "选择不满意时，请写明不满意的原因" in no_reason.content.decode()
    response = client.post(
        f"{url}respond/rate/",
        {"version": c.version, "verdict": "dissatisfied", "comment": "只发了一半"},
        follow=True,
    )
    html = response.content.decode()
    assert "已收到您的意见，我们将进一步处理" in html
    assert "您对处理结果不满意，已转进一步处理" in html and "只发了一半" in html
    c.refresh_from_db()
    assert c.state == "investigating" and "reopened" in c.flags
    assert c.events.get(action="rate_dissatisfied").payload == {
        "satisfaction": "dissatisfied",
        "comment": "只发了一半",
    }


def test_satisfied_rating_closes_the_case(client, case, act):
    c, code = case
    c = to_verdict(c, act)
    look_up(client, c.tracking_number, code)
    url = f"/track/{c.tracking_number}/"
    response = client.post(
        f"{url}respond/rate/", {"version": c.version, "verdict": "basically_satisfied"}, follow=True
    )
    assert "已办结" in response.content.decode()
    c.refresh_from_db()
    assert c.state == "closed"


def test_a_stale_page_is_told_to_look_again(client, case, act):
    c, code = case
    c = to_verdict(c, act)
    look_up(client, c.tracking_number, code)
    response = client.post(
        f"/track/{c.tracking_number}/respond/rate/",
        {"version": c.version - 1, "verdict": "satisfied"},
        follow=True,
    )
    assert "办理情况已更新" in response.content.decode()
    c.refresh_from_db()
    assert c.state == "awaiting_verdict"


def test_the_complainant_cannot_take_staff_actions(client, case):
    c, code = case
    look_up(client, c.tracking_number, code)
    response = client.post(
        f"/track/{c.tracking_number}/respond/judge_valid/", {"version": c.version}, follow=True
    )
    assert "不能执行" in response.content.decode()
    c.refresh_from_db()
    assert c.state == "registered"


def test_documents_served_to_the_complainant_are_downloadable_others_are_not(
    client, case, act, staff
):
    from tousu.documents.models import Document
    from tousu.documents.services import issue_on_demand

    c, code = case
    c = act(c, "officer", "judge_valid")  # issues the acceptance receipt
    internal = issue_on_demand(c, "registration_form", staff["officer"])
    receipt = Document.objects.get(complaint=c, kind="acceptance_receipt")
    look_up(client, c.tracking_number, code)
    url = f"/track/{c.tracking_number}/"
    html = client.get(url).content.decode()
    assert "《投诉受理回执》" in html and "投诉登记表" not in html
    pdf = client.get(f"{url}documents/{receipt.pk}/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert client.get(f"{url}documents/{internal.pk}/").status_code == 404


def test_leaving_closes_the_case_page(client, case):
    c, code = case
    look_up(client, c.tracking_number, code)
    client.post(f"/track/{c.tracking_number}/leave/")
    assert client.get(f"/track/{c.tracking_number}/").status_code == 302


def test_a_note_beyond_its_limit_is_refused_with_the_limit(client, case, act):
    c, code = case
    c = act(investigating(c, act), "officer", "request_material", materials="请上传订单截图")
    look_up(client, c.tracking_number, code)
    response = client.post(
        f"/track/{c.tracking_number}/respond/provide_material/",
        {"version": c.version, "note": "长" * 2001},
        follow=True,
    )
    assert "2000" in response.content.decode() and "表单数据有误" in response.content.decode()
    c.refresh_from_db()
    assert c.state == "awaiting_material"
