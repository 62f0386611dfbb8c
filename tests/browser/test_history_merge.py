"""In a real browser: the case page lists the complainant's other cases, and an officer merges a
duplicate with the workbench's button; the duplicate is closed by the engine, with an event on both.

Set TOUSU_SCREENSHOTS=<dir> to keep a screenshot of the history panel."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PARTY = [{"role": "complainant", "name": "张三", "phone": "13812345678"}]


def test_officer_merges_a_duplicate_from_the_history(page, live_server, login, staff, register):
    from tousu.cases.models import Complaint

    earlier = register("上月买的电饭煲内胆脱漆，要求退货", parties=PARTY)
    primary = register("新买的电饭煲内胆脱漆，要求退货并赔偿", parties=PARTY)
    stranger = register("快递送货时把箱子摔坏了", parties=[{**PARTY[0], "phone": "13900000000"}])

    login(page, "officer", "pw-officer-123")
    page.goto(f"{live_server.url}/staff/cases/{primary.pk}/")
    history = page.locator("#history")
    expect(history).to_contain_text("投诉人的其他投诉")
    row = history.locator("li", has_text=earlier.tracking_number)
    expect(row).to_contain_text("同一电话")
    expect(history).not_to_contain_text(stranger.tracking_number)
    if folder := os.environ.get("TOUSU_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        history.screenshot(path=str(Path(folder) / "workbench-history.png"))

    row.locator("summary", has_text="并入本件").click()
    row.get_by_label("说明").fill("同一事项重复投诉")
    row.get_by_role("button", name="确认并入").click()
    expect(page.locator(".msg.success")).to_contain_text(
        f"{earlier.tracking_number} 已并入本件并结案"
    )
    expect(page.locator("#history")).to_contain_text("已并入本件")
    expect(page.locator("ol.timeline")).to_contain_text(f"投诉 {earlier.tracking_number} 已结案")

    dup = Complaint.objects.get(pk=earlier.pk)
    assert dup.closed_at is not None and "merged" in dup.flags
    page.goto(f"{live_server.url}/staff/cases/{earlier.pk}/")
    expect(page.locator("h1 .state")).to_contain_text("已结案")
    expect(page.locator("ol.timeline")).to_contain_text(
        f"系统结案：已并入投诉 {primary.tracking_number}"
    )
    expect(page.locator("#history")).to_contain_text("本件已并入该投诉")
