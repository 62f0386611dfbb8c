"""The xlsx export as the register an office files (reports/register.py), opened with openpyxl:
one sheet per template, title and filter rows, the template's own columns, owners and results,
real date and number cells, widths, a frozen header, an autofilter; masking by role as before."""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from tousu.reports.services import EXPORT_COLUMNS
from tousu.workdays import SHANGHAI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "registers"))

pytestmark = pytest.mark.django_db
NOW = datetime(2024, 12, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def two_templates(db):
    """A hospital register imported for 2024, and a generic case handled through the flow."""
    from registers_helpers import hospital_register

    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint
    from tousu.processes.services import install_template
    from tousu.registers import services
    from tousu.registers.mapping import Mapping

    ensure_roles()
    hospital = install_template("hospital")
    generic = install_template("generic")
    Organisation.objects.create(name="某市人民医院", default_process="hospital")
    users = {
        "officer": create_user(
            "officer", roles=["officer"], display_name="周专员", password="pw-officer-123"
        )[0],  # fmt: skip
        "auditor": create_user("auditor", roles=["auditor"], password="pw-auditor-123")[0],
        "handler": create_user(
            "handler",
            roles=["handler"],
            department=Department.objects.get(code="nursing"),
            password="pw-handler-123",
        )[0],  # fmt: skip
    }
    with time_machine.travel(NOW, tick=False):
        a = services.analyse(hospital_register(), "登记表.xlsx", hospital, Mapping())
        services.run(a, user=users["officer"], skip_errors=True)
        case, _ = register_complaint(
            process=generic,
            user=users["officer"],
            channel="visit",
            content="买的电饭煲内胆涂层脱落",
            fields={"target": "家电卖场", "occurred_at": "2024-03-09"},
            parties=[{"role": "complainant", "name": "郑十一", "phone": "13500005555"}],
            received_at=datetime(2024, 3, 10, 14, 5, tzinfo=SHANGHAI),
        )
        apply_action(
            case,
            users["officer"],
            "resolve_on_spot",
            data={"solution": "当场更换新品", "satisfaction": "satisfied"},
            version=case.version,
        )
    return users


def export(user, query="period=2024"):
    client = Client()
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        r = client.get(f"/staff/reports/export.xlsx?{query}")
    assert r.status_code == 200
    assert (
        "投诉登记簿" in r["Content-Disposition"]
        or "%E7%99%BB%E8%AE%B0%E7%B0%BF" in r["Content-Disposition"]
    )
    return load_workbook(io.BytesIO(b"".join(r.streaming_content)))


def table(ws) -> list[dict]:
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_one_sheet_per_template_with_title_filters_and_template_columns(two_templates):
    wb = export(two_templates["officer"])
    assert wb.sheetnames == ["医院投诉与医疗纠纷处理流程", "通用投诉处理流程"]
    ws = wb["医院投诉与医疗纠纷处理流程"]
    assert ws["A1"].value == "某市人民医院投诉登记簿（医院投诉与医疗纠纷处理流程）"
    assert ws["A1"].font.bold and "A1:" in str(ws.merged_cells)
    caption = ws["A2"].value
    assert "期间：2024年（2024-01-01 至 2024-12-31）" in caption and "共 7 件" in caption
    assert "个人信息未遮盖" in caption and "导出：2024-12-20 10:00 周专员" in caption
    header = [c.value for c in ws[3]]
    # The template's registration fields, its amounts, and owners and results.
    for title in ("患者姓名", "投诉人与患者关系", "门诊号或住院号", "就诊日期", "涉及科室",
                  "补偿金额（元）", "赔偿或补偿金额（元）", "登记人", "承办人", "处理结果",
                  "结案方式", "外部编号", "满意度", "办理工作日"):  # fmt: skip
        assert title in header, title
    assert "投诉对象" not in header  # the generic template's field is on its own sheet
    generic_header = [c.value for c in wb["通用投诉处理流程"][3]]
    assert "投诉对象" in generic_header and "发生时间" in generic_header
    assert "患者姓名" not in generic_header and "外部编号" not in generic_header


def test_cells_are_dates_and_numbers_and_results_are_filled(two_templates):
    wb = export(two_templates["officer"])
    ws = wb["医院投诉与医疗纠纷处理流程"]
    rows = table(ws)
    first = next(r for r in rows if r["患者姓名"] == "张小三")
    assert first["接收时间"] == datetime(2024, 1, 8, 9, 30)
    assert first["结案时间"] == datetime(2024, 1, 10, 0, 0)
    assert first["补偿金额（元）"] == 1200 and first["门诊号或住院号"] == "ZY2024001"
    assert (first["处理结果"], first["结案方式"], first["满意度"]) == (
        "已道歉并加强培训",
        "按登记表导入",
        "满意",
    )
    assert (first["登记人"], first["办理工作日"], first["投诉人"]) == ("周专员", 2, "张三")
    numbered = next(r for r in rows if r["外部编号"] == "2024-H2-001")
    assert numbered["处理结果"] == "已更正并道歉"
    header = [c.value for c in ws[3]]
    row = 4 + rows.index(first)
    received = ws.cell(row, header.index("接收时间") + 1)
    assert received.is_date and received.number_format == "yyyy-mm-dd hh:mm"
    amount = ws.cell(row, header.index("补偿金额（元）") + 1)
    assert amount.data_type == "n" and amount.number_format == "#,##0.00"
    assert ws.cell(row, header.index("办理工作日") + 1).data_type == "n"
    generic = table(wb["通用投诉处理流程"])
    assert len(generic) == 1
    g = generic[0]
    assert (g["处理结果"], g["结案方式"], g["承办人"]) == ("当场更换新品", "现场解决", "周专员")
    assert g["投诉对象"] == "家电卖场" and g["发生时间"] == datetime(2024, 3, 9)
    occurred = wb["通用投诉处理流程"].cell(4, generic_header_index(wb, "发生时间"))
    assert occurred.is_date and occurred.number_format == "yyyy-mm-dd"


def generic_header_index(wb, title) -> int:
    return [c.value for c in wb["通用投诉处理流程"][3]].index(title) + 1


def test_widths_frozen_header_autofilter_and_print_titles(two_templates):
    wb = export(two_templates["officer"])
    for ws in wb.worksheets:
        header = [c.value for c in ws[3]]
        last = ws.cell(3, len(header)).column_letter
        assert ws.freeze_panes == "C4"  # the header and the case numbers stay in view
        assert ws.auto_filter.ref == f"A3:{last}{ws.max_row}"
        assert ws.print_title_rows == "$3:$3"
        widths = {
            title: ws.column_dimensions[ws.cell(3, i + 1).column_letter].width
            for i, title in enumerate(header)
        }
        assert widths["投诉内容"] >= 40 and widths["接收时间"] >= 16 and widths["序号"] <= 8
        assert all(w and w >= 6 for w in widths.values())
        assert ws.page_setup.orientation == "landscape"


def test_masked_for_roles_that_may_not_see_personal_data(two_templates):
    ws = export(two_templates["auditor"])["医院投诉与医疗纠纷处理流程"]
    assert "个人信息已按导出人权限遮盖" in ws["A2"].value
    rows = table(ws)
    first = next(r for r in rows if r["接收时间"] == datetime(2024, 1, 8, 9, 30))
    # Fields the template marks personal: a name keeps its first character, a number its last
    # four.
    # The one masking rule (cases/privacy.masker_for): a record number keeps its first and last.
    assert (first["患者姓名"], first["门诊号或住院号"]) == ("张**", "Z*******1")
    assert first["投诉人"] == "张*" and first["联系电话"] == "138****5678"
    flat = str(rows)
    for secret in ("张小三", "13812345678", "ZY2024001"):
        assert secret not in flat


def test_a_department_exports_its_own_cases_only(two_templates):
    wb = export(two_templates["handler"])
    assert wb.sheetnames == ["医院投诉与医疗纠纷处理流程"]
    rows = table(wb.worksheets[0])
    assert {r["责任部门"] for r in rows} == {"护理部"} and len(rows) == 2


def test_filtered_by_template_one_sheet_and_the_filters_in_the_caption(two_templates):
    wb = export(two_templates["officer"], "period=2024-01&template=hospital")
    assert wb.sheetnames == ["医院投诉与医疗纠纷处理流程"]
    ws = wb.worksheets[0]
    assert "期间：2024年1月（2024-01-01 至 2024-01-31）" in ws["A2"].value
    assert len(table(ws)) == 2


def test_csv_keeps_its_plain_form(two_templates):
    client = Client()
    client.force_login(two_templates["officer"])
    with time_machine.travel(NOW, tick=False):
        r = client.get("/staff/reports/export.csv?period=2024")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == EXPORT_COLUMNS and len(rows) == 1 + 8
