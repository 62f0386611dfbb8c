"""The portal in a real browser at a phone's size (390×844): submit with an attachment, keep the
numbers, track, answer a request for material, rate 不满意 and see the case reopened.

Set TOUSU_PORTAL_SCREENSHOTS=<dir> to keep screenshots of each page."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tousu.cases.models import Complaint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    if folder := os.environ.get("TOUSU_PORTAL_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"portal-{name}.png"), full_page=True)


def test_submit_track_provide_material_and_rate_dissatisfied(page, live_server, notice, act, kit):
    assert page.viewport_size == {"width": 390, "height": 844}
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("网上投诉")
    page.get_by_label("姓名").fill("张三")
    page.get_by_label("手机号码").fill("13812345678")
    page.get_by_label("投诉内容").fill(
        "网上下单承诺48小时发货，结果拖了一周还没发，客服只会说在催。"
    )
    page.get_by_label("您的诉求").fill("尽快发货，说明延误原因")
    page.get_by_label("投诉对象").fill("网店客服")
    page.get_by_label("照片或 PDF 文件").set_input_files(
        [{"name": "订单截图.png", "mimeType": "image/png", "buffer": kit.png((60, 40))}]
    )
    page.get_by_label("我已阅读并同意《个人信息处理说明》").check()
    shot(page, "submit")
    page.get_by_role("button", name="提交投诉").click()

    expect(page.locator("h1")).to_have_text("投诉已提交")
    number = page.locator("#tracking-number").inner_text()
    code = page.locator("#access-code").inner_text()
    c = Complaint.objects.get()
    assert c.tracking_number == number and c.check_access_code(code)
    assert c.attachments.get().original_name == "订单截图.png"
    expect(page.get_by_role("button", name="打印回执")).to_be_visible()
    shot(page, "receipt")

    # The department asks for more material; the complainant comes back later and looks it up.
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="transport")
    c = act(c, "handler_t", "request_material", materials="请上传物流单号截图和聊天记录")
    page.get_by_role("link", name="查看办理进度").click()
    page.get_by_role("button", name="退出查询").click()
    expect(page.locator("h1")).to_have_text("查询办理进度")
    page.get_by_label("投诉编号").fill(number)
    page.get_by_label("查询码或手机号码").fill(code)
    shot(page, "track")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#status")).to_have_text("待您补充材料")
    expect(page.locator("#provide")).to_contain_text("请上传物流单号截图和聊天记录")
    expect(page.locator("#clocks")).to_contain_text("已暂停（等待您补充材料）")
    shot(page, "case-material")
    page.get_by_label("材料文件").set_input_files(
        [{"name": "物流截图.png", "mimeType": "image/png", "buffer": kit.png((30, 60))}]
    )
    page.get_by_label("补充说明").fill("物流单号 SF1234567890")
    page.get_by_role("button", name="提交补充材料").click()
    expect(page.locator(".msg.success")).to_contain_text("补充材料已提交")
    expect(page.locator("#status")).to_have_text("处理中")
    expect(page.locator("#files")).to_contain_text("物流截图.png")
    c.refresh_from_db()
    assert c.state == "investigating"

    # The department handles it, the reply goes out; the complainant is not satisfied.
    c = act(c, "handler_t", "propose_plan", cause="仓库漏发", plan="补发并赔偿")
    c = act(
        c,
        "officer",
        "reply",
        reply="经查系仓库漏发，已于今日补发，并赔偿运费 20 元。",
        method="phone",
    )
    c = act(
        c,
        "handler_t",
        "complete_implementation",
        responsible="仓库王某",
        measures="已补发",
        informed=True,
    )
    page.reload()
    expect(page.locator("#status")).to_have_text("待您评价")
    expect(page.locator("#timeline")).to_contain_text("经查系仓库漏发，已于今日补发")
    shot(page, "case-rate")
    page.get_by_label("不满意", exact=True).check()
    page.get_by_label("意见").fill("补发的货也有破损，赔偿太少")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator(".msg.success")).to_contain_text("我们将进一步处理")
    expect(page.locator("#timeline")).to_contain_text("您对处理结果不满意，已转进一步处理")
    expect(page.locator("#status")).to_have_text("处理中")
    c.refresh_from_db()
    assert c.state == "investigating" and "reopened" in c.flags
    shot(page, "case-reopened")


def test_a_20_mb_file_is_refused_with_a_clear_message(page, live_server, notice, generic, kit):
    page.goto(f"{live_server.url}/")
    page.get_by_label("姓名").fill("李四")
    page.get_by_label("手机号码").fill("13900001111")
    page.get_by_label("投诉内容").fill("附件是 20 MB 的照片")
    big = kit.png() + b"\0" * (20 * 1024 * 1024)
    page.get_by_label("照片或 PDF 文件").set_input_files(
        [{"name": "大照片.png", "mimeType": "image/png", "buffer": big}]
    )
    page.get_by_label("我已阅读并同意《个人信息处理说明》").check()
    page.get_by_role("button", name="提交投诉").click()
    expect(page.locator(".msg.error")).to_contain_text(
        "文件「大照片.png」太大（20.0 MB），每个附件最大 10 MB"
    )
    expect(page.get_by_label("投诉内容")).to_have_value("附件是 20 MB 的照片")
    assert Complaint.objects.count() == 0


def test_the_notice_page_on_a_phone(page, live_server, notice, generic):
    page.goto(f"{live_server.url}/notice/")
    expect(page.locator("h1")).to_have_text("投诉须知")
    expect(page.locator("main").get_by_text("0510-86809999")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    shot(page, "notice")
