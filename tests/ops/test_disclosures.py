"""Every personal value carried out is a disclosure on the record of the case it belongs to: a reveal,
a document downloaded with personal data, a bulk export by a role that sees personal data (one row
per case). `tousu privacy reveals` and the auditor's screen list them per case, with whose data it
was (masked); an export with the data masked discloses nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from tousu.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def disclosed(register, staff):
    from tousu.documents.services import issue_on_demand

    a = register(parties=[{"role": "complainant", "name": "欧阳明月", "phone": "13912345678"}])
    b = register(parties=[{"role": "complainant", "name": "司马相如", "phone": "13912345679"}])
    doc = issue_on_demand(a, "registration_form", staff["officer"], "")
    officer = Client()
    officer.force_login(staff["officer"])
    assert officer.post(f"/staff/cases/{a.pk}/reveal/").status_code == 200
    r = officer.get(f"/staff/documents/{doc.pk}/pdf/")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
    r = officer.get("/staff/reports/export.csv")
    assert r.status_code == 200 and "欧阳明月" in b"".join(r.streaming_content).decode("utf-8-sig")
    handler = Client()
    handler.force_login(staff["handler_q"])
    assert handler.get("/staff/reports/export.csv").status_code == 200  # masked: no disclosure
    return a, b


def test_the_log_lists_reveals_documents_and_every_case_of_a_bulk_export(disclosed, capsys):
    a, b = disclosed
    assert main(["privacy", "reveals", "--case", a.tracking_number, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    header, rows = rows[0], rows[1:]
    assert header[:4] == ["时间", "方式", "投诉编号", "投诉人"]
    kinds = sorted((r[1], r[7]) for r in rows)
    assert [k for k, _ in kinds] == ["导出", "导出", "查看"]
    whats = " ".join(w for _, w in kinds)
    assert "投诉登记表" in whats and "批量导出投诉清单" in whats
    assert all(r[2] == a.tracking_number and r[3] == "欧***" and r[4] == "officer" for r in rows)
    # Case b was in the officer's export, not in the handler's masked one.
    assert main(["privacy", "reveals", "--case", b.tracking_number, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert [(r[1], r[4]) for r in rows] == [("导出", "officer")]
    assert main(["privacy", "reveals", "--user", "handler_q"]) == 0
    assert "没有" in capsys.readouterr().out


def test_the_auditor_sees_the_log_per_case_and_nobody_else_does(disclosed, staff):
    a, _ = disclosed
    auditor = Client()
    auditor.force_login(staff["auditor"])
    html = auditor.get("/staff/privacy/disclosures/", {"case": a.tracking_number}).content.decode()
    assert html.count(a.tracking_number) >= 3 and "欧***" in html and "欧阳明月" not in html
    assert "批量导出投诉清单" in html and "投诉登记表" in html and "查看未脱敏个人信息" in html
    assert "个人信息记录" in auditor.get("/staff/").content.decode()  # the way there
    bad = auditor.get("/staff/privacy/disclosures/", {"since": "2026-13-40"})
    assert bad.status_code == 400 and "无效" in bad.content.decode()
    for who in ("officer", "leader", "handler_q", "receiver"):
        c = Client()
        c.force_login(staff[who])
        assert c.get("/staff/privacy/disclosures/").status_code == 403, who
