"""The Content-Security-Policy in a real browser: Chromium enforces it (an injected inline script
does not run), and the workbench with its htmx fragments, the dashboard, the admin, the API docs and
the portal work under it without a single violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INJECT = """() => {
    const s = document.createElement("script");
    s.textContent = "window.__inline_ran = true";
    document.head.appendChild(s);
    const d = document.createElement("div");
    d.innerHTML = '<img src="x" onerror="window.__handler_ran = true">';
    document.body.appendChild(d);
    return new Promise(r => setTimeout(() => r([!!window.__inline_ran, !!window.__handler_ran]), 300));
}"""


def test_pages_work_under_the_policy(page, live_server, register, staff):
    from tousu.accounts.services import create_user

    create_user("root", roles=["admin"], password="pw-root-123", is_superuser=True)
    c = register()
    violations = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text
            else None
        ),
    )
    url = live_server.url

    def login(username, password):
        page.context.clear_cookies()
        page.goto(f"{url}/staff/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{url}/staff/")

    def assert_enforced():
        seen = len(violations)
        assert page.evaluate(INJECT) == [False, False]  # neither ran
        assert len(violations) > seen  # and the browser said why
        del violations[seen:]

    login("officer", "pw-officer-123")
    assert_enforced()

    page.goto(f"{url}/staff/cases/{c.pk}/")
    # The documents part is an htmx fragment loaded after the page: htmx runs under the policy.
    expect(page.get_by_text("正在加载公文")).to_have_count(0)
    page.goto(f"{url}/staff/cases/")
    page.goto(f"{url}/staff/reports/")
    expect(page.locator("svg").first).to_be_visible()

    login("receiver", "pw-receiver-123")
    page.goto(f"{url}/staff/cases/new/")
    content = page.get_by_label("投诉内容")
    content.fill("再不处理我就找媒体曝光，还要去法院起诉你们")
    content.press("End")  # htmx listens for keyup
    expect(page.locator("#triage")).to_contain_text("风险提示")  # htmx POST with the CSRF token

    page.goto(f"{url}/api/v1/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    page.context.clear_cookies()
    page.goto(f"{url}/admin/login/")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill("pw-root-123")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"{url}/admin/accounts/department/add/")

    page.goto(f"{url}/")
    page.goto(f"{url}/notice/")
    assert_enforced()
    assert not violations, "\n".join(violations)
