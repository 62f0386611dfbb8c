import pytest
from django.test import Client

from tousu.cases.models import Event

pytestmark = pytest.mark.django_db


def client_for(username):
    c = Client()
    assert c.login(username=username, password=f"pw-{username}-123")
    return c


def test_login_required_and_chinese_login_page(staff):
    r = Client().get("/staff/cases/")
    assert r.status_code == 302 and "/staff/login/" in r["Location"]
    page = Client().get("/staff/login/").content.decode()
    assert "登录" in page and 'lang="zh-CN"' in page


def test_list_and_detail_mask_personal_data(staff, register):
    c = register()
    officer = client_for("officer")
    listing = officer.get("/staff/cases/").content.decode()
    assert c.tracking_number in listing
    detail = officer.get(f"/staff/cases/{c.pk}/").content.decode()
    assert "13812345678" not in detail and "138****5678" in detail
    assert "张三" not in detail and "张*" in detail
    assert "答复时限" in detail and "现场解决" in detail


def test_other_department_gets_403(staff, register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="quality")
    assert client_for("handler_q").get(f"/staff/cases/{c.pk}/").status_code == 200
    assert client_for("handler_t").get(f"/staff/cases/{c.pk}/").status_code == 403
    assert (
        client_for("handler_t")
        .post(f"/staff/cases/{c.pk}/actions/propose_plan/", {"version": c.version})
        .status_code
        == 403
    )


def test_apply_action_from_the_page(staff, register):
    c = register()
    officer = client_for("officer")
    r = officer.post(
        f"/staff/cases/{c.pk}/actions/judge_valid/", {"version": 1, "judge_valid-reason": "成立"}
    )
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.state == "classifying"
    assert Event.objects.filter(complaint=c, action="judge_valid", via="web").exists()
    # A stale page: the same form again is refused, nothing changes.
    r = officer.post(f"/staff/cases/{c.pk}/actions/judge_valid/", {"version": 1}, follow=True)
    assert "已被他人更新" in r.content.decode()
    c.refresh_from_db()
    assert c.version == 2


def test_csrf_is_enforced(staff, register):
    c = register()
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="officer", password="pw-officer-123")
    assert (
        strict.post(f"/staff/cases/{c.pk}/actions/judge_valid/", {"version": 1}).status_code == 403
    )


def test_registration_page_shows_the_conduct_checklist(staff):
    page = client_for("receiver").get("/staff/cases/new/").content.decode()
    for word in ("聆听", "尊重", "询问", "解释", "解决", "增值", "记录"):
        assert word in page
    assert client_for("leader").get("/staff/cases/new/").status_code == 403


def test_admin_in_chinese(staff):
    from tousu.accounts.services import create_user

    create_user("boss", roles=["admin"], password="pw-boss-123", is_superuser=True)
    c = Client()
    c.login(username="boss", password="pw-boss-123")
    page = c.get("/admin/").content.decode()
    assert "部门" in page and "用户" in page and "投诉类别" in page


def test_case_page_shows_the_diagram_with_the_path_taken(staff, register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    page = client_for("officer").get(f"/staff/cases/{c.pk}/").content.decode()
    assert 'class="flow-diagram"' in page
    assert 'data-state="classifying"' in page and "state current visited" in page
    assert 'class="edge taken" data-from="registered" data-to="classifying"' in page


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_next_after_an_action_stays_on_the_site(staff, register, act, target):
    c = register()
    r = client_for("officer").post(
        f"/staff/cases/{c.pk}/actions/judge_valid/",
        {"version": 1, "judge_valid-reason": "成立", "next": target},
    )
    assert r.status_code == 302 and r["Location"] == f"/staff/cases/{c.pk}/"
    cases = [act(register("分派"), "officer", "judge_valid")]
    r = client_for("officer").post(
        "/staff/cases/bulk-assign/",
        {"ids": [x.pk for x in cases], "department": "quality_management", "next": target},
    )
    assert r.status_code == 302 and r["Location"] == "/staff/cases/"
    r = client_for("officer").post(
        "/staff/cases/bulk-assign/",
        {"ids": [x.pk for x in cases], "department": "quality_management", "next": "/staff/?q=1"},
    )
    assert r["Location"] == "/staff/?q=1"  # a page of this site is still honoured
