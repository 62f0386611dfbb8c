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
