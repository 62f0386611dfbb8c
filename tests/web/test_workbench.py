"""The workbench: to-do, queues, search, saved filters, bulk assign, leader inbox, reveal,
attachments, registration, lock-out."""

import pytest
from django.test import Client

from tousu.cases.models import Complaint, Event

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_search_finds_two_character_terms(staff, register):
    hit = register("医生服务态度差，还多收了挂号费")
    miss = register("电梯坏了三天没人修")
    officer = client_for(staff["officer"])
    for term in ("态度", "挂号费", "态度差"):
        page = officer.get("/staff/cases/", {"q": term}).content.decode()
        assert hit.tracking_number in page and miss.tracking_number not in page, term
    page = officer.get("/staff/cases/", {"q": "13812345678"}).content.decode()
    assert hit.tracking_number in page  # parties are searchable too


def test_search_survives_hostile_queries(staff, register):
    register()
    officer = client_for(staff["officer"])
    for q in ['"', "AND OR NOT", "*", "态度' OR 1=1 --", "NEAR(", "()", "🙂"]:
        assert officer.get("/staff/cases/", {"q": q}).status_code == 200


def test_queue_filters(staff, register, act):
    a = register("运输途中货物破损")
    a = act(a, "officer", "judge_valid")
    a = act(a, "officer", "assign_department", category="transport")
    b = register("质量问题")
    officer = client_for(staff["officer"])

    def listed(**params):
        page = officer.get("/staff/cases/", params).content.decode()
        return {c.tracking_number for c in (a, b) if c.tracking_number in page}

    assert listed(state="investigating") == {a.tracking_number}
    assert listed(category="transport") == {a.tracking_number}
    assert listed(department="storage_transport") == {a.tracking_number}
    assert listed(channel="phone") == {a.tracking_number, b.tracking_number}
    assert listed(date_from="2000-01-01", date_to="2000-01-02") == set()
    assert (
        "日期「2026-13-40」无效"
        in officer.get("/staff/cases/", {"date_from": "2026-13-40"}).content.decode()
    )
    handler = client_for(staff["handler_t"])
    page = handler.get("/staff/cases/", {"scope": "mine"}).content.decode()
    assert a.tracking_number in page and b.tracking_number not in page


def test_home_lists_actions_waiting_for_me(staff, register, act):
    mine = register("待判断")
    assigned = act(register("运输问题"), "officer", "judge_valid")
    assigned = act(assigned, "officer", "assign_department", category="transport")
    page = client_for(staff["handler_t"]).get("/staff/").content.decode()
    assert assigned.tracking_number in page and mine.tracking_number not in page
    page = client_for(staff["receiver"]).get("/staff/").content.decode()
    assert mine.tracking_number in page and assigned.tracking_number not in page


def test_saved_filters(staff, register):
    officer = client_for(staff["officer"])
    r = officer.post(
        "/staff/cases/", {"save_filter": "1", "filter_name": "本周超时", "query": "clock=overdue"}
    )
    assert r.status_code == 302
    assert "本周超时" in officer.get("/staff/cases/").content.decode()
    assert staff["officer"].saved_filters.get().query == "clock=overdue"


def test_bulk_assign(staff, register, act):
    cases = [act(register(f"投诉 {i}"), "officer", "judge_valid") for i in range(3)]
    untouched = register("还没判断")
    r = client_for(staff["officer"]).post(
        "/staff/cases/bulk-assign/",
        {"ids": [c.pk for c in cases] + [untouched.pk], "department": "quality_management"},
        follow=True,
    )
    assert "已分派 3 件" in r.content.decode() and "不能分派" in r.content.decode()
    for c in cases:
        c.refresh_from_db()
        assert c.state == "investigating" and c.department.code == "quality_management"
    untouched.refresh_from_db()
    assert untouched.state == "registered"
    assert (
        client_for(staff["receiver"]).get("/staff/cases/").content.decode().count('name="ids"') == 0
    )


def test_leader_inbox_shows_the_plan_and_instructs_in_one_step(staff, register, act):
    # A complex complaint's plan waits for the leader; a general one never reaches the inbox.
    general = act(register(), "officer", "judge_valid")
    general = act(general, "officer", "assign_department", category="transport")
    c = act(register(), "officer", "judge_valid")
    c = act(c, "officer", "escalate", nature="complex", reason="多项")
    c = act(c, "leader", "superior_assign", departments=["quality_management"], instruction="处理")
    c = act(c, "handler_q", "submit_plan_for_instruction", cause="批次不合格", plan="全部退货")
    leader = client_for(staff["leader"])
    page = leader.get("/staff/leader/").content.decode()
    assert (
        c.tracking_number in page
        and "全部退货" in page
        and "领导批示" in page
        and "退回方案" in page
    )
    assert general.tracking_number not in page
    leader.post(
        f"/staff/cases/{c.pk}/actions/instruct/",
        {"version": c.version, "instruct-instruction": "同意", "next": "/staff/leader/"},
    )
    c.refresh_from_db()
    assert c.state == "replying"
    assert client_for(staff["officer"]).get("/staff/leader/").status_code == 403


def test_reveal_is_allowed_by_role_and_logged(staff, register):
    c = register()
    page = client_for(staff["officer"]).post(f"/staff/cases/{c.pk}/reveal/").content.decode()
    assert "13812345678" in page and "张三" in page
    event = Event.objects.get(complaint=c, action="personal_data_revealed")
    assert event.actor == staff["officer"] and event.visibility == "internal"
    assert client_for(staff["auditor"]).post(f"/staff/cases/{c.pk}/reveal/").status_code == 403
    assert Event.objects.filter(action="personal_data_revealed").count() == 1
    # Masked again on the next view.
    assert (
        "13812345678"
        not in client_for(staff["officer"]).get(f"/staff/cases/{c.pk}/").content.decode()
    )


def test_masked_in_lists_and_pages(staff, register):
    c = register()
    for url in ("/staff/", "/staff/cases/", f"/staff/cases/{c.pk}/"):
        html = client_for(staff["officer"]).get(url).content.decode()
        assert "13812345678" not in html and "张三" not in html


def test_auditor_sees_all_and_changes_nothing(staff, register, act):
    c = act(register(), "officer", "judge_valid")
    auditor = client_for(staff["auditor"])
    assert auditor.get(f"/staff/cases/{c.pk}/").status_code == 200
    assert "当前没有您可以执行的动作" in auditor.get(f"/staff/cases/{c.pk}/").content.decode()
    auditor.post(
        f"/staff/cases/{c.pk}/actions/assign_department/",
        {"version": c.version, "assign_department-category": "quality"},
    )
    c.refresh_from_db()
    assert c.state == "classifying"
    assert auditor.post(f"/staff/cases/{c.pk}/attachments/", {}).status_code == 403
    assert auditor.get("/staff/cases/new/").status_code == 403


def test_attachments_upload_and_download(staff, register):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = register()
    officer = client_for(staff["officer"])
    officer.post(
        f"/staff/cases/{c.pk}/attachments/",
        {"files": [SimpleUploadedFile("照片.png", PNG, "image/png")]},
    )
    bad = officer.post(
        f"/staff/cases/{c.pk}/attachments/",
        {"files": [SimpleUploadedFile("virus.jpg", b"MZ\x90\x00" + b"\x00" * 100, "image/jpeg")]},
        follow=True,
    )
    assert "类型不被接受" in bad.content.decode()
    attachment = c.attachments.get()
    r = officer.get(f"/staff/cases/{c.pk}/attachments/{attachment.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    assert "attachment;" in r["Content-Disposition"] and r["X-Content-Type-Options"] == "nosniff"
    assert (
        client_for(staff["handler_t"])
        .get(f"/staff/cases/{c.pk}/attachments/{attachment.pk}/")
        .status_code
        == 403
    )


def test_register_with_on_the_spot_resolution_in_one_step(staff, generic):
    from django.core.files.uploadedfile import SimpleUploadedFile

    receiver = client_for(staff["receiver"])
    r = receiver.post(
        "/staff/cases/new/",
        {
            "channel": "visit",
            "complainant_name": "李四",
            "complainant_phone": "13900001111",
            "content": "发票开错了抬头",
            "on_the_spot": "on",
            "spot_solution": "当场重开发票",
            "spot_satisfaction": "satisfied",
            "attachments": [SimpleUploadedFile("发票.png", PNG, "image/png")],
        },
    )
    assert r.status_code == 302
    c = Complaint.objects.get()
    assert c.state == "closed" and c.attachments.count() == 1
    assert list(c.events.values_list("action", flat=True)) == [
        "created",
        "attachment_added",
        "resolve_on_spot",
    ]
    missing = receiver.post(
        "/staff/cases/new/", {"channel": "visit", "content": "又一件", "on_the_spot": "on"}
    )
    assert "当场解决时必填" in missing.content.decode() and Complaint.objects.count() == 1


def test_duplicate_warning_before_registering(staff, register):
    register("物业不修电梯，已经三天了，老人上下楼很困难")
    receiver = client_for(staff["receiver"])
    data = {"channel": "phone", "complainant_phone": "13812345678", "content": "电梯又坏了"}
    r = receiver.post("/staff/cases/new/", data)
    assert "近期可能重复的投诉" in r.content.decode() and Complaint.objects.count() == 1
    r = receiver.post("/staff/cases/new/", {**data, "confirm_new": "on"})
    assert r.status_code == 302 and Complaint.objects.count() == 2


def test_lockout_after_repeated_failures(staff, settings):
    settings.AXES_ENABLED = True
    c = Client()
    for _ in range(5):
        c.post("/staff/login/", {"username": "officer", "password": "wrong"})
    r = c.post("/staff/login/", {"username": "officer", "password": "pw-officer-123"})
    assert r.status_code == 429 and "暂时锁定" in r.content.decode()
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert (
        other.post(
            "/staff/login/", {"username": "officer", "password": "pw-officer-123"}
        ).status_code
        == 302
    )


def test_sessions_expire_and_csrf_is_required(staff, settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    strict = Client(enforce_csrf_checks=True)
    assert (
        strict.post(
            "/staff/login/", {"username": "officer", "password": "pw-officer-123"}
        ).status_code
        == 403
    )


def test_suggestions_while_typing(staff, register):
    register("物业不修电梯，已经三天了，老人上下楼很困难")
    receiver = client_for(staff["receiver"])
    r = receiver.post(
        "/staff/cases/new/suggest/",
        {
            "content": "送货司机把货摔坏了，运输途中包装破损",
            "complainant_phone": "13812345678",
            "category": "",
        },
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert "近期可能相关的投诉" in html  # the same phone
    threat = receiver.post(
        "/staff/cases/new/suggest/", {"content": "再不处理我就找媒体曝光，还要去法院起诉你们"}
    )
    assert "风险提示" in threat.content.decode()
    assert (
        client_for(staff["leader"])
        .post("/staff/cases/new/suggest/", {"content": "x"})
        .content.decode()
        .strip()
        == ""
    )
