"""Every road to personal data, for every caller: no response body — HTML, JSON, PDF text, CSV,
xlsx — contains a complainant's full phone or ID number, name or address, a patient's name, a 住院号
or any other value a definition marks personal, unless the request itself put a disclosure on the
record (a reveal, a logged download or export). Roles that may not reveal can never do that, so for
them the answer is simply: never.

The roads: every GET route of the authorisation matrix (tests/security/test_authz_matrix.py) filled
for a hospital case walked through many actions, the reveal POSTs, every official document of the
case, the search of the queue and of the API by each personal value, and the CSV and xlsx exports.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from security_helpers import World, fill, patterns
from test_authz_matrix import API_COLUMNS, MATRIX, WEB_COLUMNS, group_of
from walker import COMPLAINANT, PERSONAL_MARK, install, make_staff, register, walk

from tousu.accounts.roles import PERSONAL_DATA_ROLES

CONTENT_PHONE = "13811112222"
CONTENT_ID = "32010219850101654X"
# Staff columns of the matrix that map to a role of their own in the hospital.
COLUMN_ROLES = ("receiver", "officer", "handler", "dept_head", "leader", "verifier", "auditor")


def secrets_of(case) -> set[str]:
    """The case's personal values as written: what no masked body may contain."""
    values = {COMPLAINANT[k] for k in ("name", "phone", "id_number", "address")}
    values |= {CONTENT_PHONE, CONTENT_ID}
    definition = case.definition
    for f in definition.fields:
        if f.personal and case.fields.get(f.name):
            values.add(str(case.fields[f.name]))
    for e in case.events.all():
        action = definition.action(e.action)
        for f in action.form if action else ():
            if f.personal and e.payload.get(f.name):
                values.add(str(e.payload[f.name]))
    return values


PERSONAL_VALUE = re.compile(re.escape(PERSONAL_MARK) + r"\d+")


def leaked(text: str, secrets: set[str]) -> set[str]:
    found = {s for s in secrets if s in text}
    return found | set(PERSONAL_VALUE.findall(text))


def body_text(response) -> str:
    """The body as text a person could read: PDFs and workbooks extracted, JSON unescaped."""
    raw = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    kind = response.get("Content-Type", "")
    if "pdf" in kind or raw.startswith(b"%PDF"):
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(raw)).pages)
        except PdfReadError:  # the matrix's stand-in report file: its bytes are its text
            return raw.decode("latin-1")
    if "spreadsheet" in kind or raw.startswith(b"PK"):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
        )
    text = raw.decode("utf-8-sig", errors="replace")
    if "json" in kind:
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


def disclosures_count() -> int:
    from tousu.cases.models import Event
    from tousu.ops.selectors import DISCLOSURES

    try:
        from tousu.ops.models import ExportedCase
    except ImportError:  # before the per-case export log existed
        exported = 0
    else:
        exported = ExportedCase.objects.count()
    return Event.objects.filter(action__in=DISCLOSURES).count() + exported


class _Rollback(Exception):
    pass


def read(client, method: str, path: str, **kwargs) -> tuple[int, str, bool]:
    """(status, body text, whether the request recorded a disclosure); nothing it wrote is kept."""
    from django.db import transaction

    result = (0, "", False)
    cookies = client.cookies.copy()
    try:
        with transaction.atomic():
            before = disclosures_count()
            response = getattr(client, method.lower())(path, **kwargs)
            result = (response.status_code, body_text(response), disclosures_count() > before)
            raise _Rollback
    except _Rollback:
        pass
    client.cookies = cookies
    return result


@pytest.fixture
def hospital(db, settings):
    """Hospital cases with a history: a patient's name and 住院号, the complainant's contact data,
    a phone and an ID number inside the text, personal values in action forms, documents."""
    from django.test import Client

    from tousu.accounts.services import create_token
    from tousu.documents.services import issuable_kinds, issue_on_demand, seed_templates
    from tousu.reports.models import Report
    from tousu.web.models import SavedFilter

    process = install("hospital", org="测试医院")
    d = process.definition
    users = make_staff(d)
    category = d.categories[0]
    taken: set[str] = set()
    cases, codes = [], []
    for n in range(3):
        content = (
            f"患者{PERSONAL_MARK}{n}住院号{PERSONAL_MARK}{n}，家属电话{CONTENT_PHONE}，"
            f"身份证{CONTENT_ID}，联系人{COMPLAINANT['name']}，要求说明。"
        )
        c, code = register(process, users, content=content, n=n, category=category.code)
        c = walk(c, users, steps=30, seed=10 + n, taken=taken, linger=20)
        cases.append(c)
        codes.append(code)
    a = cases[0]
    dept = a.department.code if a.department_id else category.department
    roles = {
        "receiver": users["receiver"],
        "officer": users["officer"],
        "handler": users[f"handler:{dept}"],
        "dept_head": users[f"dept_head:{dept}"],
        "leader": users["leader"],
        "verifier": users["verifier"],
        "auditor": users["auditor"],
        "admin": users["admin"],
    }
    w = World(users=roles, tokens={}, cases={"A": a}, codes={"A": codes[0]})
    w.department_codes = {"A": dept}
    w.process_name = "hospital"
    seed_templates()
    for c in cases:
        for kind in issuable_kinds(c):
            issue_on_demand(c, kind, users["officer"], "测试")
    w.documents["A"] = a.documents.order_by("pk").first()
    w.attachments["A"] = a.attachments.order_by("pk").first()
    w.clocks["A"] = a.clocks.order_by("pk").first()
    w.saved_filter = SavedFilter.objects.create(user=roles["officer"], name="本周", query="q=x")
    reports = settings.DATA_DIR / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "roads.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    w.report = Report.objects.create(
        period="2026-01", period_label="2026年1月", format="pdf", status="done", file="roads.pdf"
    )
    from tousu.documents.models import DocumentTemplate

    w.template = DocumentTemplate.objects.order_by("pk").first()
    for name, user in roles.items():
        _, w.tokens[name] = create_token(user, name=f"道路 {name}")
    w.all_cases = cases
    w.client_class = Client
    return w


def _api(w, column):
    return {"headers": {"Authorization": f"Bearer {w.tokens[column]}"}}


def test_the_world_has_personal_data_everywhere(hospital):
    """The fixture is worth testing against: personal values in fields, text, forms, documents."""
    a = hospital.cases["A"]
    assert a.fields.get("patient_name") and a.fields.get("record_number")
    assert any(
        f.personal and e.payload.get(f.name)
        for c in hospital.all_cases
        for e in c.events.all()
        for action in [c.definition.action(e.action)]
        if action
        for f in action.form
    ), "no walk recorded a personal value in an action's form"
    assert a.events.count() >= 8 and a.documents.count() >= 2


def test_no_road_shows_personal_data_without_a_recorded_disclosure(hospital):
    w = hospital
    problems = []
    web = {c: w.web_client(c) for c in WEB_COLUMNS if c != "complainant"}
    anonymous = web["anonymous"]
    routes = [p.key for p in patterns() if p.key in MATRIX]

    checked = []

    def check(column, method, path, *, client, secrets, **kwargs):
        status, text, disclosed = read(client, method, path, **kwargs)
        checked.append((path, status))
        found = leaked(text, secrets)
        if found and not disclosed:
            problems.append(f"{method} {path} as {column} ({status}): {sorted(found)}")
        return status, text

    # 1. Every GET route of the matrix, and the reveal POSTs, for every caller.
    secrets = secrets_of(w.cases["A"])
    for key in routes:
        route = key.partition("#")[0]
        for name in MATRIX[key]:
            method, _, variant = name.partition("@")
            if variant or (method != "GET" and "reveal" not in key):
                continue
            path = fill(route, "A", w)
            if group_of(key) == "api":
                for column in API_COLUMNS:
                    if column in ("session", "officer_scoped_A"):
                        continue
                    kwargs = {} if column == "anonymous" else _api(w, column)
                    check(column, method, path, client=anonymous, secrets=secrets, **kwargs)
            else:
                for column, client in web.items():
                    check(column, method, path, client=client, secrets=secrets)

    # 2. Every case's pages and every document of it.
    for c in w.all_cases:
        secrets = secrets_of(c)
        for column, client in web.items():
            check(column, "GET", f"/staff/cases/{c.pk}/", client=client, secrets=secrets)
            for doc in c.documents.all():
                check(
                    column, "GET", f"/staff/documents/{doc.pk}/pdf/", client=client, secrets=secrets
                )
        for column in COLUMN_ROLES + ("admin",):
            for path in (
                f"/api/v1/complaints/{c.pk}",
                f"/api/v1/complaints/{c.pk}/events",
                f"/api/v1/complaints/{c.pk}/parties",
            ):
                check(column, "GET", path, client=anonymous, secrets=secrets, **_api(w, column))
            for doc in c.documents.all():
                path = f"/api/v1/complaints/{c.pk}/documents/{doc.pk}"
                check(column, "GET", path, client=anonymous, secrets=secrets, **_api(w, column))

    # 3. The admin's pages that show case data, for the administrator (who may not reveal).
    admin_pages = [
        "/admin/clocks/notification/",
        "/admin/documents/document/",
        "/admin/triage/caselink/",
        "/admin/webhooks/delivery/",
        "/admin/reports/exportlog/",
    ]
    admin_pages += [
        f"/admin/documents/document/{d.pk}/change/" for d in w.cases["A"].documents.all()
    ]
    everything = set().union(*(secrets_of(c) for c in w.all_cases))
    for path in admin_pages:
        status, _ = check("admin", "GET", path, client=web["admin"], secrets=everything)
        assert status == 200, path

    # 4. Exports.
    for column, client in web.items():
        for fmt in ("csv", "xlsx"):
            check(column, "GET", f"/staff/reports/export.{fmt}", client=client, secrets=everything)
    print(f"{len(checked)} responses read, {sum(s == 200 for _, s in checked)} with status 200")
    assert sum(s == 200 for _, s in checked) > 300  # the roads were walked, not refused
    assert not problems, f"{len(problems)} bodies with personal data:\n" + "\n".join(problems)


def test_search_finds_nothing_by_a_value_the_reader_sees_masked(hospital):
    """The queue's and the API's search, by each personal value: a role that sees it masked finds
    no case; a role that may see it finds the case (the last four digits of a phone number too)."""
    w = hospital
    a = w.cases["A"]
    terms = {
        COMPLAINANT["phone"],
        COMPLAINANT["phone"][-4:],
        "139-1234-5678",
        COMPLAINANT["id_number"],
        COMPLAINANT["name"],
        CONTENT_PHONE,
        CONTENT_ID,
        a.fields["patient_name"],
        a.fields["record_number"],
    }
    problems = []
    for column, user in w.users.items():
        client = w.web_client(column)
        for term in sorted(terms):
            html = client.get("/staff/cases/", {"q": term, "scope": "all"}).content.decode()
            listed = client.get("/api/v1/complaints", {"q": term}, **_api(w, column))
            ok = listed.status_code == 200
            numbers = {x["tracking_number"] for x in listed.json()} if ok else set()
            found = a.tracking_number in html, a.tracking_number in numbers
            if user.has_role(*PERSONAL_DATA_ROLES):
                if found != (True, True):
                    problems.append(f"{column} does not find the case by {term}: {found}")
            elif any(found):
                problems.append(f"{column} finds the case by {term}: {found}")
    assert not problems, "\n".join(problems)


def test_search_by_template_fields_and_category_words(hospital):
    """Issue 17 §4: non-personal template fields and a word of the category's name find cases for
    everyone who sees the case."""
    w = hospital
    a = w.cases["A"]
    handler = w.web_client("handler")
    word = a.category.label[-2:]  # 医疗质量 → 质量: a word inside the category's name
    html = handler.get("/staff/cases/", {"q": word, "scope": "all"}).content.decode()
    assert a.tracking_number in html
    department_text = a.fields.get("involved_department")
    assert department_text
    html = handler.get("/staff/cases/", {"q": department_text, "scope": "all"}).content.decode()
    assert a.tracking_number in html


def test_a_word_of_the_category_finds_the_case(hospital):
    """收费 finds the cases of 医疗收费, for anyone who may see them."""
    from tousu.processes.models import Category

    w = hospital
    charges = Category.objects.get(process_name="hospital", label="医疗收费")
    a = w.cases["A"]
    a.category = charges
    a.save(update_fields=["category"])
    for column in ("officer", "auditor"):
        html = w.web_client(column).get("/staff/cases/", {"q": "收费", "scope": "all"})
        assert a.tracking_number in html.content.decode(), column


def test_an_owners_room_number_is_searchable_by_those_who_may_see_it(db):
    """Property: 房号 (personal) and 楼栋 (not) as search terms."""
    from django.test import Client

    process = install("property")
    users = make_staff(process.definition)
    c, _ = register(process, users)
    room = c.fields["room"]
    building = c.fields["building"]
    officer, auditor = Client(), Client()
    officer.force_login(users["officer"])
    auditor.force_login(users["auditor"])
    for client, finds_room in ((officer, True), (auditor, False)):
        html = client.get("/staff/cases/", {"q": room, "scope": "all"}).content.decode()
        assert (c.tracking_number in html) is finds_room
        html = client.get("/staff/cases/", {"q": building, "scope": "all"}).content.decode()
        assert c.tracking_number in html


def test_naming_the_personal_tokens_finds_nothing(hospital):
    """The index keeps personal values as prefixed tokens: typing the prefix finds nothing for
    anyone, and a phrase that runs from the text into them answers the same whether the number is
    right or wrong."""
    w = hospital
    a = w.cases["A"]
    phone, wrong = COMPLAINANT["phone"], "13900000000"

    def found(client, term):
        html = client.get("/staff/cases/", {"q": term, "scope": "all"}).content.decode()
        return set(re.findall(r"TS-\d{8}-\d{4}", html))

    for column in ("auditor", "handler", "officer"):
        client = w.web_client(column)
        for term in (f"pii{phone}", f"PII{phone}", f"pii{phone[-4:]}"):
            assert a.tracking_number not in found(client, term), (column, term)
        for prefix in ("说明-", "要求说明 ", "说明pii"):
            right, other = (
                found(client, f"{prefix}pii{phone}"),
                found(client, f"{prefix}pii{wrong}"),
            )
            assert right == other, (column, prefix)
