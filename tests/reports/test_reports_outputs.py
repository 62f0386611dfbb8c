"""Pages, exports, periodic reports and the commands, on the `september` data set."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook
from reports_helpers import at

from tousu.reports import selectors, services
from tousu.reports.models import ExportLog, Report
from tousu.reports.periods import parse

pytestmark = pytest.mark.django_db
NOW = at("2026-09-24", "12:00")


def client_for(username):
    c = Client()
    assert c.login(username=username, password=f"pw-{username}-123")
    return c


# --- the dashboard page ---------------------------------------------------------------------------


def test_dashboard_page_for_a_leader(september):
    with time_machine.travel(NOW, tick=False):
        page = client_for("leader").get("/staff/reports/?period=2026-09").content.decode()
    assert "统计分析" in page and "2026年9月" in page
    assert page.count("<svg") >= 12  # every chart drawn on the server
    assert "及时率" in page and "满意率" in page and "部门排名" in page
    assert "质量管理部" in page and "答复时限" in page
    assert "<script" not in page.split("</header>", 1)[1]  # no chart library
    assert "13800000001" not in page  # statistics show no personal data


def test_dashboard_access(september):
    assert client_for("receiver").get("/staff/reports/").status_code == 403
    assert Client().get("/staff/reports/").status_code == 302  # to the login page
    with time_machine.travel(NOW, tick=False):
        page = client_for("handler_quality_management").get("/staff/reports/?period=2026-09")
    assert page.status_code == 200
    text = page.content.decode()
    assert "质量管理部" in text and "储运部" not in text.split("部门排名", 1)[1]


def test_bad_filters_are_explained(september):
    with time_machine.travel(NOW, tick=False):
        page = client_for("officer").get(
            "/staff/reports/?period=2026-13&template=nope", follow=True
        )
    text = page.content.decode()
    assert "月份「13」无效" in text and "未知流程「nope」" in text


# --- exports ------------------------------------------------------------------------------------


@pytest.fixture
def secret_case(september):
    """A case whose free text carries a phone number and an ID number, whose complainant has an ID
    number, and whose title starts like a formula."""
    from tousu.cases.services import register_complaint

    process, users, _ = september
    with time_machine.travel(at("2026-09-15"), tick=False):
        c, _ = register_complaint(
            process=process,
            user=users["receiver"],
            channel="phone",
            title='=HYPERLINK("http://evil","点我")',
            content="请回电 13912345678，身份证 110101199003071234，谢谢",
            parties=[
                {
                    "role": "complainant",
                    "name": "李秘密",
                    "phone": "13987654321",
                    "id_number": "320102198807076543",
                }
            ],
            received_at=at("2026-09-15"),
        )
    return c


PERSONAL = ("13912345678", "110101199003071234", "13987654321", "320102198807076543", "李秘密")


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel in China needs the byte-order mark
    return list(csv.reader(io.StringIO(body[1:])))


def _xlsx_rows(response) -> list[list]:
    """The register's header and data rows (under its title and caption rows)."""
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert len(wb.worksheets) == 1  # one template installed: one sheet
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    assert "投诉登记簿" in rows[0][0] and "2026年9月" in rows[1][0]
    return rows[2:]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_without_personal_data_rights_has_no_phone_or_id(secret_case, fmt):
    with time_machine.travel(NOW, tick=False):
        response = client_for("auditor").get(f"/staff/reports/export.{fmt}?period=2026-09")
    assert response.status_code == 200
    rows = _csv_rows(response) if fmt == "csv" else _xlsx_rows(response)
    header = rows[0]
    assert header[:2] == (["投诉编号", "接收时间"] if fmt == "csv" else ["序号", "投诉编号"])
    assert len(rows) == 1 + 7  # A–F and the secret case
    flat = "\n".join(str(v) for row in rows for v in row if v is not None)
    for secret in PERSONAL:
        assert secret not in flat, secret
    assert "139****5678" in flat and "1101**********1234" in flat  # masked, still recognisable
    assert "139****4321" in flat and "3201**********6543" in flat and "李**" in flat
    # The formula is text, not a formula.
    t = header.index("摘要")
    title = next(r[t] for r in rows if str(r[t]).startswith("'="))
    assert title == '\'=HYPERLINK("http://evil","点我")'
    entry = ExportLog.objects.get()
    assert (entry.username, entry.format, entry.rows, entry.personal_data) == (
        "auditor",
        fmt,
        7,
        False,
    )
    assert entry.filters["period"] == "2026-09"


def test_export_with_personal_data_rights_is_unmasked_and_logged(secret_case):
    with time_machine.travel(NOW, tick=False):
        response = client_for("officer").get("/staff/reports/export.csv?period=2026-09")
    flat = "\n".join(",".join(r) for r in _csv_rows(response))
    assert "13987654321" in flat and "320102198807076543" in flat and "李秘密" in flat
    assert ExportLog.objects.get().personal_data is True


def test_departmental_export_is_their_department_only(secret_case):
    with time_machine.travel(NOW, tick=False):
        response = client_for("handler_quality_management").get(
            "/staff/reports/export.csv?period=2026-09"
        )
    rows = _csv_rows(response)
    assert len(rows) == 1 + 2  # A and E
    assert {r[5] for r in rows[1:]} == {"质量管理部"}


def test_export_log_is_append_only(secret_case):
    from tousu.reports.models import AppendOnly

    with time_machine.travel(NOW, tick=False):
        client_for("auditor").get("/staff/reports/export.csv?period=2026-09")
    entry = ExportLog.objects.get()
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        ExportLog.objects.all().delete()
    with pytest.raises(AppendOnly):
        ExportLog.objects.update(rows=0)


def test_neutralise():
    assert services.neutralise("=1+1") == "'=1+1"
    assert services.neutralise("+86 138") == "'+86 138"
    assert services.neutralise("-3") == "'-3"
    assert services.neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert services.neutralise("正常文本") == "正常文本"
    assert services.neutralise(-3) == -3  # numbers stay numbers


# --- periodic reports ---------------------------------------------------------------------------


def test_xlsx_report_totals_match_the_dashboard(september):
    d = selectors.dashboard(selectors.make_filters(parse("2026-09")), now=NOW, use_cache=False)
    wb = load_workbook(io.BytesIO(services.xlsx_bytes(d)))
    assert "概览" in wb.sheetnames and "部门排名" in wb.sheetnames
    assert len(wb.sheetnames) == len(set(wb.sheetnames)) >= 15

    def column(sheet, col=1):
        return [r[col] for r in wb[sheet].iter_rows(min_row=2, values_only=True)]

    overview = {r[0]: r[1] for r in wb["概览"].iter_rows(min_row=2, values_only=True)}
    k = d["k"]
    assert overview["受理件数"] == k["received"] == 6
    assert overview["办结件数"] == k["closed"] == 4
    assert overview["及时率"] == pytest.approx(round(k["on_time_rate"], 4))
    for sheet in ("投诉类别", "责任部门", "渠道", "流程", "院区地点"):
        assert sum(column(sheet)) == k["received"], sheet
    assert sum(column("受理趋势")) == k["received"]
    assert sum(column("受理趋势", 2)) == k["closed"]
    assert sum(column("时限及时率", 2)) == k["clocks_met"]
    # The ranking holds departments only: 未分派 is counted in 责任部门 but not ranked.
    unassigned = next(r for r in d["by_department"] if r["key"] is None)["count"]
    assert "未分派" not in column("部门排名", 1)
    assert sum(column("部门排名", 2)) == k["received"] - unassigned == 4
    assert sum(column("部门排名", 3)) == sum(r["closed"] for r in d["league"])
    backlog = dict(wb["积压"].iter_rows(min_row=2, values_only=True))
    assert backlog["合计"] == d["backlog"]["total"] == 2
    assert any(
        "2026年9月共受理投诉 6 件" in (r[0] or "") for r in wb["说明"].iter_rows(values_only=True)
    )


def test_report_command_writes_a_pdf_with_the_narrative(september, tmp_path, settings):
    from tousu.cli import main

    settings.DATA_DIR = tmp_path
    out = tmp_path / "q3.pdf"
    with time_machine.travel(at("2026-10-12"), tick=False):
        assert main(["report", "--period", "2026-Q3", "--format", "pdf", "-o", str(out)]) == 0
    report = Report.objects.get()
    assert (report.status, report.format, report.period) == ("done", "pdf", "2026-Q3")
    assert report.exists() and out.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "2026年第三季度共受理投诉 7 件" in text.replace("\n", "")  # A–G
        assert "部门排名" in text and "及时率" in text
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
        assert "Noto-Sans-CJK-SC" in fonts


def test_report_command_rejects_a_bad_period(capsys):
    from tousu.cli import main

    assert main(["report", "--period", "2026-Q5", "--format", "pdf"]) == 2
    assert "无法识别的期间「2026-Q5」" in capsys.readouterr().err


def test_report_pages(september, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    officer = client_for("officer")
    assert officer.get("/staff/reports/periodic/").status_code == 200
    assert (
        client_for("handler_quality_management").get("/staff/reports/periodic/").status_code == 403
    )
    r = officer.post("/staff/reports/periodic/new/", {"period": "2026-09", "format": "xlsx"})
    assert r.status_code == 302
    report = Report.objects.get()
    assert report.status == "pending" and report.created_by.username == "officer"
    from tousu.reports.services import build_report

    build_report(report)
    page = officer.get("/staff/reports/periodic/").content.decode()
    assert "2026年9月" in page and "下载" in page
    download = officer.get(f"/staff/reports/periodic/{report.pk}/download/")
    assert download.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert "概览" in wb.sheetnames


def test_scheduled_reports_are_made_once(db, django_capture_on_commit_callbacks):
    from tousu.reports import tasks

    tasks._done.clear()
    # 2026-10-01 05:00: September and Q3 are over, but reports wait until 06:00.
    assert tasks.schedule_reports(at("2026-10-01", "05:00")) == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        made = tasks.schedule_reports(at("2026-10-01", "06:30"))
    assert sorted((r.period, r.format) for r in made) == [
        ("2026-09", "pdf"),
        ("2026-09", "xlsx"),
        ("2026-Q3", "pdf"),
        ("2026-Q3", "xlsx"),
    ]
    assert len(callbacks) == 4  # one queued task each
    tasks._done.clear()  # another worker process: the database says they exist
    assert tasks.schedule_reports(at("2026-10-01", "07:00")) == []
    assert Report.objects.filter(scheduled=True).count() == 4
    # The queued task builds the report.
    report = Report.objects.get(period="2026-09", format="xlsx")
    tasks.build_report_task.call(report.pk)
    report.refresh_from_db()
    assert report.status == "done" and report.size > 0


def test_reports_are_mailed_to_leaders(september, tmp_path, settings, mailoutbox):
    from tousu.reports.services import build_report, request_report

    settings.DATA_DIR = tmp_path
    _, users, _ = september
    users["leader"].email = "leader@example.cn"
    users["leader"].save()
    report = build_report(request_report(parse("2026-09"), "xlsx"), email=True)
    assert report.emailed_to == "leader@example.cn"
    assert mailoutbox[0].subject == "【投诉系统】2026年9月投诉统计分析报告"
    assert mailoutbox[0].attachments[0][0].endswith(".xlsx")


# --- the generator command ------------------------------------------------------------------------


def test_demo_generate_command(db, capsys):
    from tousu.cases.models import Complaint
    from tousu.cli import main
    from tousu.reports.models import CaseFact

    assert main(["demo", "generate", "--cases", "120", "--template", "hospital",
                 "--start", "2026-01-01", "--end", "2026-07-01"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "已生成 120 件投诉（hospital" in out
    assert Complaint.objects.count() == CaseFact.objects.count() == 120
    assert main(["demo", "generate", "--cases", "5", "--template", "nope"]) == 2


def test_worker_snapshots_serve_the_organisation_wide_dashboard(september):
    from datetime import timedelta

    from django.core.cache import cache

    from tousu.reports import tasks
    from tousu.reports.models import Snapshot

    with time_machine.travel(NOW, tick=False):
        done = services.refresh_snapshots()
        assert [p for p, _ in done] == ["2026-09", "2026-08", "2026-Q3", "2026-Q2", "2026", "2025"]
        f = selectors.make_filters(parse("2026-09"))
        d = selectors.dashboard(f)
        assert d.get("snapshot") and d["k"]["received"] == 6
        # A filtered view is computed when asked for.
        assert not selectors.dashboard(
            selectors.make_filters(parse("2026-09"), template="generic")
        ).get("snapshot")
        page = client_for("leader").get("/staff/reports/?period=2026-09").content.decode()
        assert "后台每 5 分钟更新" in page
    # A snapshot the worker stopped refreshing is not used.
    Snapshot.objects.update(computed_at=NOW - timedelta(hours=1))
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        assert not selectors.dashboard(f).get("snapshot")
    # The worker's hook queues the refresh at most every few minutes.
    from django_tasks_db.models import DBTaskResult

    tasks._last_snapshot = -tasks.SNAPSHOT_EVERY
    tasks._done.clear()
    with time_machine.travel(NOW, tick=False):
        tasks.tick()
        tasks.tick()
    names = list(DBTaskResult.objects.values_list("task_path", flat=True))
    assert names.count("tousu.reports.tasks.refresh_snapshots_task") == 1


def test_the_worker_calls_the_reports_hook(db, monkeypatch):
    from tousu import worker
    from tousu.reports import tasks

    calls = []
    monkeypatch.setattr(tasks, "tick", lambda now=None: calls.append(now))
    assert "tousu.reports.tasks.tick" in worker.PERIODIC
    worker._periodic()
    assert calls == [None]
