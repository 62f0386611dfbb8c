"""Issue 17 §5 in a real browser, at a desktop's 1366×768 and a phone's 390×844.

Set TOUSU_SCREENSHOTS=<dir> to keep a screenshot of each screen (docs/screenshots/ holds them)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


def shot(page, name, full_page=False):
    if folder := os.environ.get("TOUSU_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


@pytest.fixture
def busy_case(register, act):
    """A case in a department's hands with a long history: the timeline is many screens tall."""
    c = register("运输途中货物破损，外箱压扁，司机态度恶劣，要求赔偿并道歉。" * 4)
    c = act(c, "officer", "judge_valid", reason="理由充分，有照片为证")
    c = act(c, "officer", "assign_department", category="transport")
    return c


def test_the_phone_case_page_shows_what_to_do_next_on_its_first_screen(
    page, live_server, login, busy_case
):
    page.set_viewport_size(PHONE)
    login(page, "handler_t", "pw-handler_t-123")
    page.goto(f"{live_server.url}/staff/cases/{busy_case.pk}/")
    first = page.locator("#actions details.action summary").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], box
    # ... and before the timeline, which comes further down.
    timeline = page.locator("ol.timeline").bounding_box()
    assert timeline["y"] > box["y"]
    shot(page, "case-phone-390")
    page.set_viewport_size(DESKTOP)
    first = page.locator("#actions details.action summary").first
    assert first.bounding_box()["y"] < DESKTOP["height"]
    shot(page, "case-desktop-1366")


def one_line(locator) -> bool:
    """The element's text sits on one line (its height is one line's, not two or more)."""
    return locator.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getClientRects().length <= 1 || e.getBoundingClientRect().height"
        " < 1.8 * parseFloat(getComputedStyle(e).lineHeight || 20); }"
    )


@pytest.fixture
def cases_with_clocks(register, act):
    for i in range(3):
        c = register(f"第{i + 1}件：送货延误，包装破损，要求赔偿")
        act(c, "officer", "judge_valid", reason="成立")


def test_the_dashboard_and_queue_do_not_wrap_a_word_a_line(
    page, live_server, login, cases_with_clocks
):
    for size, tag in ((PHONE, "390"), (DESKTOP, "1366")):
        page.set_viewport_size(size)
        login(page, "officer", "pw-officer-123")
        page.goto(f"{live_server.url}/staff/reports/")
        section = page.locator("section.card", has=page.locator("h2", has_text="及时率（按时限）"))
        section.scroll_into_view_if_needed()
        for th in section.locator("thead th").all():
            assert one_line(th), th.inner_text()
        label = section.locator("tbody td").first
        assert label.bounding_box()["width"] >= 80  # a label, not a column of single characters
        assert "按院区/地点" not in page.content()  # a generic installation has no 院区
        shot(page, f"dashboard-timeliness-{tag}")
        page.goto(f"{live_server.url}/staff/cases/")
        for a in page.locator("nav.filters a").all():
            assert one_line(a), a.inner_text()
        if size is DESKTOP:
            for th in page.locator("table.list thead th").all():
                assert one_line(th), th.inner_text()
        shot(page, f"queue-{tag}")
        page.get_by_role("button", name="退出").click()


def test_departments_are_ticked_and_one_is_chosen_to_lead(page, live_server, login, register, act):
    c = register("多个部门的问题：运输破损、质量不合格、客服推诿")
    c = act(c, "officer", "judge_valid", reason="成立")
    c = act(c, "officer", "escalate", nature="multiple_items", reason="涉及三个部门")
    for size, tag in ((DESKTOP, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        login(page, "leader", "pw-leader-123")
        page.goto(f"{live_server.url}/staff/cases/{c.pk}/")
        box = page.locator(
            "details.action", has=page.locator("summary", has_text="上级决定处理部门")
        )
        box.locator("summary").click()
        boxes = box.locator('input[type="checkbox"][name$="-departments"]')
        radios = box.locator('input[type="radio"][name$="-lead_department"]')
        expect(boxes).to_have_count(4)
        expect(radios).to_have_count(4)
        assert box.locator("select").count() == 0 and "——" not in box.inner_text()
        box.get_by_label("储运部").first.check()
        box.get_by_label("质量管理部").first.check()
        box.locator("summary").scroll_into_view_if_needed()
        shot(page, f"departments-lead-{tag}")
        page.get_by_role("button", name="退出").click()
    login(page, "leader", "pw-leader-123")
    page.goto(f"{live_server.url}/staff/cases/{c.pk}/")
    box = page.locator("details.action", has=page.locator("summary", has_text="上级决定处理部门"))
    box.locator("summary").click()
    box.locator('input[type="checkbox"][value="storage_transport"]').check()
    box.locator('input[type="checkbox"][value="quality_management"]').check()
    box.locator('input[type="radio"][value="quality_management"]').check()
    box.get_by_label("处理意见").fill("质量管理部牵头，储运部配合")
    box.get_by_role("button", name="上级决定处理部门").click()
    expect(page.locator(".msg.success")).to_contain_text("上级决定处理部门")
    expect(page.locator(".case-head")).to_contain_text("质量管理部")


def test_registration_form_at_both_sizes(page, live_server, login, staff):
    for size, tag in ((DESKTOP, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        login(page, "officer", "pw-officer-123")
        page.goto(f"{live_server.url}/staff/cases/new/")
        expect(page.get_by_label("被投诉部门/人员")).to_have_count(0)
        expect(page.get_by_label("投诉对象")).to_have_count(1)
        page.get_by_role("checkbox", name="聆听", exact=True).check()
        page.get_by_role("checkbox", name="询问", exact=True).check()
        shot(page, f"register-{tag}", full_page=True)
        page.get_by_role("button", name="退出").click()
    login(page, "officer", "pw-officer-123")
    page.goto(f"{live_server.url}/staff/cases/new/")
    page.get_by_label("渠道").select_option(label="来信/书面")
    page.get_by_label("收到时间").fill("2026-01-05T09:30")
    page.get_by_label("投诉人姓名").fill("张三")
    page.get_by_label("投诉内容").fill("去年底寄出的信：冰箱送货时撞坏门框，要求赔偿")
    page.get_by_label("投诉对象").fill("储运部送货司机")
    page.get_by_role("checkbox", name="聆听", exact=True).check()
    page.get_by_role("checkbox", name="记录", exact=True).check()
    page.get_by_role("button", name="登记").click()
    expect(page.locator("h1")).to_contain_text("已登记")
    expect(page.locator(".case-head")).to_contain_text("接收：2026-01-05 09:30")
    expect(page.locator("ol.timeline")).to_contain_text("聆听、记录")


def test_the_portal_names_the_rule_and_the_phone(page, live_server, staff, generic):
    from tousu.cases.services import register_complaint
    from tousu.portal.models import PublicNotice

    PublicNotice.objects.create(
        display_name="测试公司",
        complaint_phone="0571-88886666",
        rule_name="《测试公司客户投诉管理办法》",
    )
    c, code = register_complaint(
        process=generic,
        user=staff["receiver"],
        channel="phone",
        content="电饭煲内胆脱漆，要求退货",
        parties=[{"role": "complainant", "name": "张三", "phone": "13812345678"}],
    )
    for size, tag in ((PHONE, "390"), (DESKTOP, "1366")):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/track/")
        expect(page.locator("main")).to_contain_text("请拨打投诉电话 0571-88886666")
        page.locator('input[name="number"]').fill(c.tracking_number)
        page.locator('input[name="secret"]').fill(code)
        page.get_by_role("button", name="查询").click()
        expect(page.locator("main")).to_contain_text(
            "依据：《测试公司客户投诉管理办法》：24 小时内答复客户"
        )
        assert "F14" not in page.locator("body").inner_text()
        shot(page, f"portal-track-rule-{tag}", full_page=True)
        page.context.clear_cookies()


def test_the_admin_in_chinese(page, live_server, generic):
    from tousu.accounts.models import User

    User.objects.create_superuser("root", password="pw-root-123")
    for size, tag in ((DESKTOP, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/admin/login/")
        page.locator("#id_username").fill("root")
        page.locator("#id_password").fill("pw-root-123")
        page.locator('input[type="submit"]').click()
        expect(page.locator("#content h1")).to_be_visible()
        assert "Axes" not in page.content() and "Tasks Database" not in page.content()
        shot(page, f"admin-index-{tag}", full_page=size is PHONE)
        page.goto(f"{live_server.url}/admin/auth/group/add/")
        expect(page.locator("body")).to_contain_text("组织与账号 | 部门 | 修改部门")
        shot(page, f"admin-permissions-{tag}")
        page.context.clear_cookies()
