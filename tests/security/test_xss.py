"""XSS: script, attribute-breaking and javascript: payloads typed into every free-text field of a
complaint (and into the labels administrators type) come out as text, never as markup: on the
workbench list and case page (masked and revealed), the leader's inbox, the dashboard, the documents
page, the complainant's tracking page, an issued document's HTML, and the CSV/xlsx exports."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from django.test import Client
from security_helpers import PNG

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(document.cookie)"
TEMPLATE = "{{ request }}{% debug %}"  # documents are rendered by a template engine

# What each field gets: a marker of the field, then a payload.
TEXT = {
    "title": "题" + SCRIPT,  # the list shows 28 characters of it
    "content": "内容" + SCRIPT + IMG + JS + TEMPLATE,
    "request": "诉求" + IMG,
    "name": "姓名" + IMG,
    "address": "地址" + SCRIPT,
    "respondent": "被投诉方" + SCRIPT,
    "target": "对象" + IMG,
    "note": "备注" + SCRIPT,
    "comment": "意见" + IMG,
    "materials": "材料" + SCRIPT,
    "file": "附件" + IMG + ".png",
    "category": "类别" + SCRIPT,
    "department": "部门" + IMG,
    "organisation": "组织" + SCRIPT,
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}


class Page(HTMLParser):
    """The page as a browser would build it: its text, and anything that could run."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.problems: list[str] = []
        self._script: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler attribute")
            if name in URL_ATTRIBUTES and value:
                squeezed = "".join(value.split()).lower()
                if squeezed.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            attributes = dict(attrs)
            inline = not attributes.get("src")
            data_only = attributes.get("type") == "application/json"
            self._script = "" if inline and not data_only else None
        if tag in ("iframe", "object", "embed", "base"):
            self.problems.append(f"<{tag}> element")

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.problems.append(f"inline <script>: {self._script[:80]!r}")
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script += data
        self.text.append(data)

    @property
    def plain(self) -> str:
        return "".join(self.text)


def assert_inert(html: str, shows: list[str], where: str) -> None:
    page = Page(html)
    assert not page.problems, f"{where}: {page.problems}"
    missing = [TEXT[k] for k in shows if TEXT[k] not in page.plain]
    assert not missing, f"{where} should show these as text: {missing}"


@pytest.fixture
def hostile(generic, staff):
    """A complaint with a payload in every free-text field, through the real services."""
    from tousu.accounts.models import Department, Organisation
    from tousu.cases.attachments import add_attachment
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint
    from tousu.processes.models import Category

    Organisation.objects.update(name=TEXT["organisation"])
    Category.objects.filter(process_name="generic", code="quality").update(label=TEXT["category"])
    Department.objects.filter(code="quality_management").update(name=TEXT["department"])
    complaint, code = register_complaint(
        process=generic,
        user=staff["receiver"],
        channel="phone",
        title=TEXT["title"],
        content=TEXT["content"],
        request=TEXT["request"],
        fields={"target": TEXT["target"]},
        parties=[
            {
                "role": "complainant",
                "name": TEXT["name"],
                "phone": "13812345678",
                "address": TEXT["address"],
            },
            {"role": "respondent", "kind": "organisation", "name": TEXT["respondent"]},
        ],
    )

    def act(user, name, comment="", **data):
        nonlocal complaint
        complaint, _ = apply_action(
            complaint, staff[user], name, data=data, version=complaint.version, comment=comment
        )

    act("officer", "judge_valid")
    act("officer", "assign_department", category="quality")
    act("handler_q", "add_note", comment=TEXT["comment"], note=TEXT["note"])
    act("handler_q", "request_material", materials=TEXT["materials"])
    add_attachment(complaint, name=TEXT["file"], content=PNG, user=staff["officer"], is_public=True)
    return complaint, code


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_workbench_pages_show_payloads_as_text(staff, hostile):
    complaint, _ = hostile
    officer = _client(staff["officer"])
    pk = complaint.pk
    assert_inert(
        officer.get("/staff/cases/").content.decode(),
        ["title", "category", "department"],
        "case list",
    )
    assert_inert(
        officer.get(f"/staff/cases/{pk}/").content.decode(),
        ["content", "request", "target", "note", "comment", "materials", "file"]
        + ["category", "department", "respondent"],
        "case page",
    )
    revealed = officer.post(f"/staff/cases/{pk}/reveal/")
    assert_inert(revealed.content.decode(), ["name", "address"], "case page, revealed")
    assert_inert(
        _client(staff["handler_q"]).get("/staff/").content.decode(), ["title"], "handler's to-do"
    )
    assert_inert(
        officer.get(f"/staff/documents/cases/{pk}/").content.decode(), [], "documents page"
    )
    assert_inert(
        officer.get("/staff/reports/").content.decode(),
        ["category", "department"],  # and the respondents chart, whose text is escaped too
        "dashboard",
    )


def test_leader_inbox_shows_payloads_as_text(staff, generic):
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint

    complaint, _ = register_complaint(
        process=generic,
        user=staff["receiver"],
        channel="phone",
        title=TEXT["title"],
        content=TEXT["content"],
    )
    for name, data in (
        ("judge_valid", {}),
        ("escalate", {"nature": "complex", "reason": TEXT["note"]}),
    ):
        complaint, _ = apply_action(
            complaint, staff["officer"], name, data=data, version=complaint.version
        )
    html = _client(staff["leader"]).get("/staff/leader/").content.decode()
    assert_inert(html, ["content", "note"], "leader's inbox")


def test_portal_tracking_page_shows_payloads_as_text(hostile):
    complaint, code = hostile
    client = Client()
    r = client.post("/track/", {"number": complaint.tracking_number, "secret": code})
    assert r.status_code == 302
    html = client.get(f"/track/{complaint.tracking_number}/").content.decode()
    assert_inert(html, ["organisation", "materials", "file"], "tracking page")


def test_issued_document_html_escapes_payloads(staff, hostile):
    from tousu.documents.services import ensure_pdf, issue_on_demand

    complaint, _ = hostile
    doc = issue_on_demand(complaint, "registration_form", staff["officer"], TEXT["comment"])
    assert_inert(
        doc.html,
        ["content", "request", "name", "address", "respondent", "organisation"],
        "registration form",
    )
    assert TEMPLATE in Page(doc.html).plain  # printed as typed, not evaluated
    pdf = ensure_pdf(doc).file.open("rb").read()
    assert pdf.startswith(b"%PDF")


def test_exports_are_downloads_with_payloads_as_plain_cells(staff, hostile):
    from openpyxl import load_workbook

    officer = _client(staff["officer"])
    r = officer.get("/staff/reports/export.csv")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert r["Content-Disposition"].startswith("attachment;")
    assert r["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert TEXT["content"] in rows[1]  # data, downloaded, never rendered as a page

    r = officer.get("/staff/reports/export.xlsx")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert TEXT["content"] in {c.value for c in cells}
