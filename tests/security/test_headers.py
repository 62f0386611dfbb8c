"""Security headers: a Content-Security-Policy without inline script or style on every kind of
response (workbench, portal, API, admin), framing forbidden, no MIME sniffing, a same-origin
referrer; pages that keep to the policy (no inline script, handler attribute or style); and the
HTTPS-only settings production turns on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from test_xss import Page

import tousu
from tousu.settings import production_security

SRC = Path(tousu.__file__).resolve().parent
# Rendered by WeasyPrint into PDFs, never served to a browser: their <style> blocks are fine.
PDF_TEMPLATES = {"documents/pdf.html", "reports/report_pdf.html", "portal/poster.html"}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    out = {}
    for part in header.split(";"):
        if part.strip():
            name, *values = part.split()
            out[name] = values
    return out


def assert_secure_headers(response, where: str) -> None:
    p = policy(response)
    assert p["default-src"] == ["'self'"], where
    assert p["script-src"] == ["'self'"], where  # no 'unsafe-inline', no 'unsafe-eval'
    assert p["style-src"] == ["'self'"], where
    assert p["img-src"] == ["'self'", "data:"], where
    assert p["frame-ancestors"] == ["'none'"], where
    assert p["form-action"] == ["'self'"], where
    assert p["object-src"] == ["'none'"] and p["base-uri"] == ["'self'"], where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where


@pytest.fixture
def officer(staff) -> Client:
    client = Client()
    client.force_login(staff["officer"])
    return client


def test_headers_on_workbench_portal_api_and_admin(staff, register, officer):
    from tousu.accounts.services import create_token

    c = register()
    admin = Client()
    admin.force_login(staff["officer"].__class__.objects.create_superuser("root", "", "pw-root-1"))
    _, token = create_token(staff["officer"])
    responses = {
        "workbench": officer.get("/staff/"),
        "case page": officer.get(f"/staff/cases/{c.pk}/"),
        "login": Client().get("/staff/login/"),
        "portal": Client().get("/"),
        "portal notice": Client().get("/notice/"),
        "API": Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
        "API error": Client().get("/api/v1/me"),
        "API docs": Client().get("/api/v1/docs"),
        "admin": admin.get("/admin/"),
    }
    for where, response in responses.items():
        assert response.status_code in (200, 401), where
        assert_secure_headers(response, where)


def test_pages_keep_to_the_policy(staff, register, officer):
    """No inline script, event handler attribute, javascript: URL, style attribute or <style> on
    the pages a browser gets: the policy would block them."""
    c = register()
    leader = Client()
    leader.force_login(staff["leader"])
    pages = {
        "/staff/": officer,
        "/staff/cases/": officer,
        f"/staff/cases/{c.pk}/": officer,
        "/staff/cases/new/": officer,
        "/staff/notifications/": officer,
        f"/staff/documents/cases/{c.pk}/": officer,
        "/staff/reports/": officer,
        "/staff/reports/periodic/": officer,
        "/staff/leader/": leader,
        "/staff/login/": Client(),
        "/": Client(),
        "/track/": Client(),
        "/notice/": Client(),
        "/api/v1/docs": Client(),
    }
    for path, client in pages.items():
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.content.decode()
        assert not Page(html).problems, (path, Page(html).problems)
        assert not re.search(r"<style\b|\sstyle\s*=", html), path
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all("src=" in s or 'type="application/json"' in s for s in scripts), (path, scripts)


def test_templates_have_no_inline_script_or_style():
    problems = []
    for path in sorted(SRC.glob("*/templates/**/*.html")):
        app = path.relative_to(SRC).parts[0]
        name = path.relative_to(SRC / app / "templates").as_posix()  # as the loader names it
        text = path.read_text(encoding="utf-8")
        for pattern, what in (
            (r"\son[a-z]+\s*=", "event handler attribute"),
            (r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)", "inline <script>"),
            (r"javascript:", "javascript: URL"),
        ):
            if re.search(pattern, text, re.IGNORECASE):
                problems.append(f"{name}: {what}")
        if name not in PDF_TEMPLATES and re.search(r"<style\b|\sstyle\s*=", text):
            problems.append(f"{name}: inline style")
    assert not problems, problems


def test_receipt_print_button_uses_the_static_script(generic):
    from django.contrib.staticfiles import finders

    html = (SRC / "portal/templates/portal/receipt.html").read_text(encoding="utf-8")
    assert "data-print" in html and "portal/receipt.js" in html
    script = Path(finders.find("portal/receipt.js")).read_text(encoding="utf-8")
    assert "[data-print]" in script and "window.print()" in script
    r = Client().get("/static/portal/receipt.js")
    assert r.status_code == 200 and "javascript" in r["Content-Type"]


def test_htmx_is_an_external_script_without_inline_style_or_eval(officer):
    html = officer.get("/staff/").content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(re.search(r'src="/static/django_htmx/[^"]+\.js"', s) for s in scripts)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
    assert config, "htmx would add an inline <style> the policy blocks"
    assert '"includeIndicatorStyles": false' in config[1] and '"allowEval": false' in config[1]


# --- production ---------------------------------------------------------------------------------


def test_development_is_plain_http():
    for env in ({}, {"TOUSU_PRODUCTION": "0"}, {"TOUSU_PRODUCTION": "1", "TOUSU_DEBUG": "1"}):
        assert production_security(env) == {"SILENCED_SYSTEM_CHECKS": []}, env


def test_production_turns_on_hsts_https_and_secure_cookies():
    s = production_security({"TOUSU_PRODUCTION": "1"})
    assert s["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False and s["SECURE_HSTS_PRELOAD"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] is None
    assert s["SILENCED_SYSTEM_CHECKS"] == ["security.W021", "security.W005"]


def test_production_options():
    s = production_security(
        {
            "TOUSU_PRODUCTION": "1",
            "TOUSU_HSTS_SECONDS": "3600",
            "TOUSU_HSTS_INCLUDE_SUBDOMAINS": "1",
            "TOUSU_SSL_REDIRECT": "0",
            "TOUSU_BEHIND_PROXY": "1",
        }
    )
    assert s["SECURE_HSTS_SECONDS"] == 3600 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SILENCED_SYSTEM_CHECKS"] == ["security.W021", "security.W008"]
