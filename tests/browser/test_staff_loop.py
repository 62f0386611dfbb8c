"""The minimal staff loop in a real browser: log in, register, see the list and the case page with
its timeline, and move the case with the engine's actions as forms."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def act(page, label: str, fields: dict[str, str] | None = None):
    box = page.locator(
        "details", has=page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$"))
    )
    box.locator("summary").click()
    for name, value in (fields or {}).items():
        field = box.get_by_label(name)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    box.get_by_role("button", name=label).click()
    expect(page.locator(".msg.success")).to_contain_text(label)


def test_register_and_move_a_case_through_the_browser(page, live_server, login, staff):
    login(page, "officer", "pw-officer-123")
    page.get_by_role("link", name="登记投诉").first.click()
    page.get_by_label("渠道").select_option(label="来电")
    page.get_by_label("投诉人姓名").fill("张三")
    page.get_by_label("联系电话").fill("13812345678")
    page.get_by_label("投诉内容").fill("运输途中货物破损，司机态度恶劣")
    page.get_by_role("button", name="登记").click()

    expect(page.locator("h1")).to_contain_text("已登记")
    expect(page.locator(".msg.success")).to_contain_text("查询码")
    # Personal data is masked on the page.
    expect(page.locator(".pii").first).to_have_text("张*")
    expect(page.get_by_text("138****5678")).to_be_visible()
    expect(page.locator(".clock")).to_contain_text("答复时限")

    act(page, "投诉成立", {"判断理由": "理由充分"})
    expect(page.locator("h1")).to_contain_text("待分派")
    act(page, "单项、一般投诉：送相关部门", {"投诉类别": "运输问题"})
    expect(page.locator("h1")).to_contain_text("部门处理中")
    expect(page.locator(".case-head")).to_contain_text("储运部")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("登记")
    expect(timeline).to_contain_text("投诉成立")
    case_url = page.url

    page.get_by_role("button", name="退出").click()
    login(page, "handler_t", "pw-handler_t-123")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    page.goto(case_url)
    act(page, "分析原因并提出处理方案", {"原因分析": "司机未按规定装车", "处理方案": "赔偿并培训"})
    expect(page.locator("h1")).to_contain_text("待答复客户")  # a general complaint: no leader (F1)


def test_form_errors_are_shown_and_nothing_changes(page, live_server, login, staff, register):
    c = register()
    login(page, "receiver", "pw-receiver-123")
    page.goto(f"{live_server.url}/staff/cases/{c.pk}/")
    box = page.locator("details", has=page.locator("summary", has_text="现场解决"))
    box.locator("summary").click()
    box.get_by_label("解决办法").fill("已解决")
    # Leave 客户意见 empty: the browser's own check is bypassed to reach the server's.
    box.locator("form").evaluate("f => f.noValidate = true")
    box.get_by_role("button", name="现场解决").click()
    expect(page.locator(".msg.error")).to_contain_text("客户意见")
    expect(page.locator("h1")).to_contain_text("已登记")
