"""The office's daily work in a real browser: a department head assigns the case to a handler, a
leader places it under 督办, the handler answers; the complainant receives the acknowledgement and
the reply by e-mail (a real SMTP server on a local port, the worker sending)."""

import os
import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "office"))
from smtp_server import SmtpServer  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EMAIL = "zhang.san@example.com"


@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    yield server
    server.stop()


def act(page, label: str, fields: dict[str, str] | None = None):
    box = page.locator(
        "details.action",
        has=page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$")),
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


def shot(page, name):
    # TOUSU_SCREENSHOTS=<dir> keeps the screens this walk passes (docs/screenshots/ holds them).
    if folder := os.environ.get("TOUSU_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def logout(page):
    page.get_by_role("button", name="退出").click()


def test_assign_supervise_answer_and_the_complainant_hears(page, live_server, login, staff, smtp):
    from tousu import worker
    from tousu.accounts.models import User

    User.objects.filter(username="handler_q").update(display_name="王经办")
    # The officer registers the complaint with the complainant's e-mail address.
    login(page, "officer", "pw-officer-123")
    page.get_by_role("link", name="登记投诉").first.click()
    page.get_by_label("渠道").select_option(label="来电")
    page.get_by_label("投诉人姓名").fill("张三")
    page.get_by_label("联系电话").fill("13812345678")
    page.get_by_label("电子邮箱").fill(EMAIL)
    page.get_by_label("投诉内容").fill("新买的电饭煲内胆脱漆，要求退货")
    page.get_by_role("button", name="登记").click()
    expect(page.locator("h1")).to_contain_text("已登记")
    number = re.search(r"TS-\d{8}-\d{4}", page.locator("h1").inner_text()).group(0)
    case_url = page.url
    act(page, "投诉成立", {"判断理由": "理由充分"})
    act(page, "单项、一般投诉：送相关部门", {"投诉类别": "质量问题"})
    logout(page)

    # The head of quality management assigns it to a handler.
    login(page, "head_q", "pw-head_q-123")
    page.goto(case_url)
    panel = page.locator("#owners")
    expect(panel).to_contain_text("未指派")
    panel.locator("summary", has_text="指派承办人").click()
    panel.get_by_label("承办人", exact=True).first.select_option(label="王经办")
    panel.get_by_role("button", name="指派").first.click()
    expect(page.locator(".msg.success")).to_contain_text("已指派承办人：王经办")
    expect(panel).to_contain_text("投诉承办人：王经办")
    expect(page.locator("ol.timeline")).to_contain_text("指派承办人：王经办")
    logout(page)

    # A leader places it under 督办.
    login(page, "leader", "pw-leader-123")
    page.goto(case_url)
    box = page.locator("#chase-supervise")
    box.locator("summary", has_text="督办").click()
    box.get_by_label("督办要求").fill("请三个工作日内查明原因并答复客户")
    box.get_by_label("督办时限（工作日）").fill("3")
    box.get_by_role("button", name="督办").click()
    banner = page.locator("#supervision")
    expect(banner).to_contain_text("督办件")
    expect(banner).to_contain_text("请三个工作日内查明原因并答复客户")
    expect(banner).to_contain_text("等待承办部门回复")
    shot(page, "supervision-case-1366")
    page.goto(live_server.url + "/staff/work/workload/")
    page.locator("select[name=department]").select_option(label="质量管理部")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("main")).to_contain_text("王经办")
    shot(page, "workload-1366")
    logout(page)

    # The handler sees it first on the to-do, then answers on the case page.
    login(page, "handler_q", "pw-handler_q-123")
    expect(page.locator("table.list")).to_contain_text(number)
    expect(page.locator("table.list")).to_contain_text("督办")
    page.goto(case_url)
    banner = page.locator("#supervision")
    banner.get_by_label("督办回复").fill("已查明为批次涂层问题，同意退货，今日联系客户")
    banner.get_by_role("button", name="提交督办回复").click()
    expect(page.locator(".msg.success")).to_contain_text("已提交督办回复")
    expect(page.locator(".supervision-done")).to_contain_text("按时")
    # A single, general complaint: the plan goes to the reply without a leader's instruction (F1).
    act(page, "分析原因并提出处理方案", {"原因分析": "批次涂层问题", "处理方案": "退货并补偿"})
    logout(page)
    login(page, "officer", "pw-officer-123")
    page.goto(case_url)
    act(
        page,
        "答复客户",
        {"答复内容": "经查为批次质量问题，同意为您退货并补偿运费", "答复方式": "电话"},
    )

    # The worker sends: the complainant has the acknowledgement and the reply.
    worker.run(once=True)
    mails = smtp.sink.bodies_to(EMAIL)
    subjects = [s for s, _ in mails]
    assert any("已登记" in s and number in s for s in subjects), subjects
    reply = next(b for s, b in mails if "答复" in s)
    assert number in reply and "同意为您退货并补偿运费" in reply
    # Staff see the deliveries on the case.
    page.reload()
    messages = page.locator("#complainant-messages")
    expect(messages).to_contain_text("登记回执")
    expect(messages).to_contain_text("答复")
    expect(messages).to_contain_text("已发送")
    shot(page, "complainant-messages-1366")
