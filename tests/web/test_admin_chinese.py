"""The admin is Chinese throughout: headings, column titles, field labels, filters and the
permission widget of every page an administrator opens."""

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

# Words that are Chinese administrators' own (names of standards, formats and products).
ALLOWED = {
    "API", "PDF", "Webhook", "URL", "HTTP", "HTTPS", "HTML", "SMS", "SMTP", "IP", "CSV", "JSON",
    "YAML", "ID", "SHA", "Excel", "TS", "HMAC", "QR", "Django", "CSRF", "MB", "KB", "Ctrl",
    "Command", "Mac",
}  # fmt: skip


# The page's own words: headings, column titles, labels, help, buttons, filters and the sidebar.
# Cells of the lists are data (a flow's code, a user's name) and are left out.
CHROME = re.compile(
    r"(?s)<(h1|h2|h3|caption|label|button|summary)\b[^>]*>(.*?)</\1>"
    r"|<th\b[^>]*scope=\"col\"[^>]*>(.*?)</th>"
    r"|<div class=\"help\"[^>]*>(.*?)</div>"
    r"|<input type=\"submit\"[^>]*value=\"([^\"]*)\""
    r"|<a [^>]*(?:class=\"(?:addlink|changelink|viewlink)\")[^>]*>(.*?)</a>"
    r"|<li><a href=\"\\?[^\"]*\"[^>]*title=\"([^\"]*)\""
)


def chrome_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|template|select|textarea)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    parts = []
    for m in CHROME.finditer(html):
        text = " ".join(g for g in m.groups()[1:] if g)
        if m.group(4):  # help names code as it is written: variables, flow names, template IDs
            text = re.sub(r"https?://\S+|\b(?:[a-z][a-z_-]*|[A-Z][A-Z_0-9]+)\b", " ", text)
        parts.append(text)
    text = re.sub(r"(?s)<[^>]+>", " ", " ".join(parts))
    text = re.sub(r"\{\{.*?\}\}|\{[a-z_]+\}", " ", text)  # template placeholders are code
    return re.sub(r"&[a-z]+;|&#\d+;", " ", text)


def english_words(html: str) -> set[str]:
    words = set(re.findall(r"\b[A-Za-z][A-Za-z]{2,}\b", chrome_text(html)))
    return {w for w in words if w not in ALLOWED and w.upper() not in ALLOWED}


@pytest.fixture
def superuser(generic):
    from tousu.accounts.models import User

    User.objects.create_superuser("root", password="pw-root-123")
    c = Client()
    assert c.login(username="root", password="pw-root-123")
    return c


def admin_pages():
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        yield reverse("admin:{}_{}_changelist".format(*info))
        yield reverse("admin:{}_{}_add".format(*info))  # 403 where adding is not offered


def test_every_admin_list_and_form_is_chinese(superuser):
    pages = ["/admin/", "/admin/accounts/user/add/", *admin_pages()]
    found = {}
    for url in pages:
        r = superuser.get(url)
        if r.status_code != 200:
            continue
        if words := english_words(r.content.decode()):
            found[url] = sorted(words)
    assert not found, found


def test_every_field_an_administrator_sees_has_a_chinese_name():
    from django.utils import translation

    cjk = re.compile(r"[\u4e00-\u9fff]")
    missing = []
    with translation.override("zh-hans"):
        for model in admin.site._registry:
            meta = model._meta
            names = [meta.verbose_name, meta.verbose_name_plural, meta.app_config.verbose_name]
            if meta.label != "django_tasks_database.DBTaskResult":  # its admin names the columns
                names += [f.verbose_name for f in meta.fields if f.name != "id"]
            missing += [f"{meta.label}: {n}" for n in names if not cjk.search(str(n))]
            # No 「公文 / 公文」: an app is not named like its only or first model.
            if str(meta.app_config.verbose_name) == str(meta.verbose_name_plural):
                missing.append(f"{meta.label}: 与所属应用同名")
    assert not missing, missing


def test_the_permission_widget_is_chinese(superuser):
    html = superuser.get("/admin/auth/group/add/").content.decode()
    options = re.findall(r"<option [^>]*>([^<]*)</option>", html)
    assert "组织与账号 | 部门 | 修改部门" in options
    assert not [o for o in options if re.search(r"\bCan (add|change|delete|view)\b", o)]


def test_every_kind_of_page_links_the_favicon_served_from_here(superuser, client):
    from django.contrib.staticfiles import finders

    assert finders.find("web/favicon.svg")
    for c, url in [
        (superuser, "/admin/"),
        (superuser, "/staff/"),
        (client, "/"),
        (client, "/staff/login/"),
    ]:
        html = c.get(url).content.decode()
        assert re.search(r'<link rel="icon" href="/static/web/favicon\.svg', html), url


def test_notification_and_document_kinds_show_in_words(superuser, staff, register, act):
    from tousu.clocks.models import Notification

    c = register()
    Notification.objects.create(
        user=staff["officer"], complaint=c, kind="triage.risk", message="风险"
    )
    Notification.objects.create(
        user=staff["officer"], complaint=c, kind="clock.breached", message="超时"
    )
    html = superuser.get("/admin/clocks/notification/").content.decode()
    assert "风险预警" in html and "时限预警与超时" in html
    assert "triage.risk" not in html and "clock.breached" not in html
    act(c, "officer", "judge_valid")  # issues the 受理回执
    html = superuser.get("/admin/documents/document/").content.decode()
    assert "投诉受理回执" in html and ">acceptance_receipt<" not in html


def test_the_permission_widgets_script_speaks_chinese(superuser):
    import json

    js = superuser.get("/admin/jsi18n/").content.decode()
    for english, chinese in [("Choose all %s", "全选%s"), ("Remove all %s", "全部移除%s")]:
        assert f"{json.dumps(english)}: {json.dumps(chinese)}" in js
