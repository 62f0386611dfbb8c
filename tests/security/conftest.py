"""Fixtures for the security tests: one user per role, a case in department A (quality management)
and one in department B (storage/transport), with the objects their URLs name (an attachment, a
clock, an issued document), API tokens, and a complainant's portal session for case A."""

from __future__ import annotations

import pytest
from security_helpers import PNG, World

# Roles a column of the authorisation matrix stands for, in the order the matrix rows list them.
STAFF_ROLES = (
    "receiver",
    "officer",
    "handler",
    "dept_head",
    "leader",
    "verifier",
    "auditor",
    "admin",
)


@pytest.fixture
def staff_roles():
    return STAFF_ROLES


@pytest.fixture
def world(generic, settings, tmp_path):
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_token, create_user
    from tousu.cases.attachments import add_attachment
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint
    from tousu.documents.models import DocumentTemplate
    from tousu.documents.services import ensure_pdf, issue_on_demand, seed_templates
    from tousu.reports.models import Report
    from tousu.web.models import SavedFilter

    quality = Department.objects.get(code="quality_management")
    transport = Department.objects.get(code="storage_transport")
    specs = {
        "receiver": (["receiver"], None),
        "officer": (["officer"], None),
        "handler": (["handler"], quality),
        "dept_head": (["dept_head"], quality),
        "leader": (["leader"], None),
        "verifier": (["verifier"], None),
        "auditor": (["auditor"], None),
        "admin": (["admin"], None),
    }
    users = {}
    for name, (roles, dept) in specs.items():
        # `tousu createuser --role admin` makes a superuser: the matrix tests that account.
        users[name], _ = create_user(
            name,
            roles=roles,
            department=dept,
            password=f"pw-{name}-123",
            is_superuser="admin" in roles,
        )

    def make(category: str, content: str):
        complaint, code = register_complaint(
            process=generic,
            user=users["receiver"],
            channel="phone",
            content=content,
            parties=[{"role": "complainant", "name": "张三", "phone": "13812345678"}],
        )
        for action, data in (("judge_valid", {}), ("assign_department", {"category": category})):
            complaint, _ = apply_action(
                complaint, users["officer"], action, data=data, version=complaint.version
            )
        return complaint, code

    a, code_a = make("quality", "产品质量有问题，要求退货")
    b, code_b = make("transport", "运输途中包装破损，货物摔坏")
    a2, _ = make("quality", "同一批次产品又出现质量问题")
    assert a.department_id == quality.pk and b.department_id == transport.pk
    # Case A waits for the complainant's material, so the portal has something they may do.
    a, _ = apply_action(
        a,
        users["handler"],
        "request_material",
        data={"materials": "请提供购买凭证"},
        version=a.version,
    )
    # Case R is valid and not yet assigned: what bulk assignment acts on.
    r, _ = register_complaint(
        process=generic,
        user=users["receiver"],
        channel="phone",
        content="服务态度差，待分派",
        parties=[{"role": "complainant", "name": "赵六", "phone": "13600001111"}],
    )
    r, _ = apply_action(r, users["officer"], "judge_valid", data={}, version=r.version)

    w = World(
        users=users,
        tokens={},
        cases={"A": a, "B": b, "A2": a2, "R": r},
        codes={"A": code_a, "B": code_b},
    )
    for key, case in (("A", a), ("B", b)):
        w.attachments[key] = add_attachment(
            case, name="照片.png", content=PNG, user=users["officer"], is_public=True
        )
        w.clocks[key] = case.clocks.order_by("pk").first()
        assert w.clocks[key] is not None, "the generic flow starts a clock at registration"
        doc = issue_on_demand(case, "acceptance_receipt", users["officer"], "授权测试")
        ensure_pdf(doc)  # printed once here, not once per request
        w.documents[key] = doc
        case.refresh_from_db()

    # Owners and 督办 (tousu.owners, tousu.supervision): each case's open task, and an open 督办 on
    # a second case of each department, for the department to answer.
    from tousu.supervision.services import place

    b2, _ = make("transport", "同一家快递又把货物摔坏")
    for key, case in (("A", a), ("B", b)):
        w.tasks[key] = case.tasks.get(state="open")
    for key, case in (("A", a2), ("B", b2)):
        w.supervisions[key] = place(case, users["leader"], instruction="矩阵督办", workdays=3)

    w.saved_filter = SavedFilter.objects.create(user=users["officer"], name="本周", query="q=x")
    reports = settings.DATA_DIR / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "security-test.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    w.report = Report.objects.create(
        period="2026-01",
        period_label="2026年1月",
        format="pdf",
        status=Report.DONE,
        file="security-test.pdf",
        size=15,
    )
    seed_templates()
    w.template = DocumentTemplate.objects.order_by("pk").first()
    assert w.template is not None

    for name, user in users.items():
        _, w.tokens[name] = create_token(user, name=f"矩阵 {name}")
    _, w.tokens["officer_scoped_A"] = create_token(
        users["officer"], name="限定质量管理部", departments=["quality_management"]
    )
    return w


# --- the browser test (test_csp_browser.py) ------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    import os
    import shutil

    if shutil.which(CHROMIUM):
        return
    if os.environ.get("TOUSU_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"TOUSU_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed")
    for item in items:
        if "browser" in item.keywords and "security" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium; Playwright's own browser download is not available offline.
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}
