"""The workbench's import pages: upload, preview, correct the mapping, confirm — and who may."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook
from registers_helpers import BAD_ROW, FIRST, hospital_register

from tousu.cases.models import Complaint
from tousu.registers import views
from tousu.registers.models import ImportBatch, ImportedRow, SavedMapping

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def upload(client, data=None, name="2024投诉登记表.xlsx", **fields):
    f = SimpleUploadedFile(name, data or hospital_register(), content_type=XLSX)
    return client.post("/staff/import/", {"file": f, "template": "hospital", **fields})


def test_upload_preview_correct_confirm(install):
    process, users = install("hospital")
    officer = client_for(users["officer"])
    assert "导入" in officer.get("/staff/").content.decode()  # in the navigation
    r = upload(officer)
    assert r.status_code == 302
    batch = ImportBatch.objects.get()
    assert r["Location"] == f"/staff/import/{batch.pk}/"
    assert not Complaint.objects.exists()  # the preview writes nothing
    page = officer.get(r["Location"]).content.decode()
    assert "导入预览" in page and "将新建" in page
    # Every problem with its sheet, row and column, and what is allowed there.
    assert f"<td>{FIRST}</td><td>{BAD_ROW}</td><td>B</td>" in page
    assert "「2024-02-30」不是有效的日期或时间" in page and "2025年3月5日" in page
    # The first rows as they will be stored, in the template's words.
    assert "护理质量" in page and "护理部" in page and "患者姓名：张小三" in page
    # The columns as recognised, each one changeable; the unknown values listed once each.
    assert 'name="col:' in page and "同时填入「涉及科室」" in page
    assert "val:category:收费问题" in page and "val:department:宇宙科" in page

    # Confirming a file with errors needs the explicit choice.
    r = officer.post(f"/staff/import/{batch.pk}/confirm/", follow=True)
    assert "请改正后重新上传" in r.content.decode() and not Complaint.objects.exists()

    # Map the unknown values and save the mapping for next time.
    r = officer.post(
        f"/staff/import/{batch.pk}/mapping/",
        {
            "val:category:收费问题": "charges",
            "val:department:宇宙科": "__blank__",
            "save_as": "医务科登记本",
            "source": "医务科投诉登记本",
        },
        follow=True,
    )
    text = r.content.decode()
    assert "已保存对应关系「医务科登记本」" in text
    batch.refresh_from_db()
    assert batch.source == "医务科投诉登记本"
    remaining = {(i["column"]) for i in batch.issues if i["level"] == "error"}
    assert remaining == {"B", "D", "G", "K", "M"}  # H and I are answered now
    assert SavedMapping.objects.get(name="医务科登记本").process_name == "hospital"

    r = officer.post(f"/staff/import/{batch.pk}/confirm/", {"skip_errors": "1"}, follow=True)
    text = r.content.decode()
    assert "导入完成" in text and "导入结果" in text
    assert Complaint.objects.count() == 7
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.skipped) == ("done", 7, 1)
    assert batch.stored_file == ""  # the upload is not kept once imported
    first = ImportedRow.objects.get(sheet=FIRST, row_number=5)
    assert f"/staff/cases/{first.complaint_id}/" in text
    # A retried confirmation creates nothing twice.
    officer.post(f"/staff/import/{batch.pk}/confirm/", {"skip_errors": "1"})
    assert Complaint.objects.count() == 7
    # The case page shows where the case came from, and the row as it was typed: its personal
    # cells masked like the parties until they are shown in full (which is recorded).
    case_page = officer.get(f"/staff/cases/{first.complaint_id}/").content.decode()
    head = f"导入时的原始记录（2024投诉登记表.xlsx · 工作表「{FIRST}」第 5 行）"
    block = case_page[case_page.index(head) :].split("</details>")[0]
    assert "已道歉并加强培训" in block and "1,200元" in block
    assert "138 1234 5678" not in case_page and "138******5678" in block
    assert "<dd>张**</dd>" in block and "张小三" not in block
    shown = officer.post(f"/staff/cases/{first.complaint_id}/reveal/").content.decode()
    block = shown[shown.index(head) :].split("</details>")[0]
    assert "138 1234 5678" in block and "张小三" in block


def test_a_saved_mapping_is_offered_and_used(install):
    process, users = install("hospital")
    officer = client_for(users["officer"])
    SavedMapping.objects.create(
        process_name="hospital",
        name="医务科登记本",
        text="values:\n  category: {收费问题: charges}\nsource: 医务科登记本\n",
    )
    assert "医务科登记本" in officer.get("/staff/import/").content.decode()
    saved = SavedMapping.objects.get()
    upload(officer, saved=saved.pk)
    batch = ImportBatch.objects.get()
    assert batch.source == "医务科登记本"
    assert "H" not in {i["column"] for i in batch.issues if i["level"] == "error"}


def test_large_files_are_imported_by_the_worker(install, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from tousu.registers.tasks import run_import_task

    process, users = install("hospital")
    officer = client_for(users["officer"])
    monkeypatch.setattr(views, "INLINE_ROWS", 3)
    upload(officer)
    batch = ImportBatch.objects.get()
    r = officer.post(f"/staff/import/{batch.pk}/confirm/", {"skip_errors": "1"}, follow=True)
    assert "已交由后台导入" in r.content.decode() and 'hx-trigger="every 3s"' in r.content.decode()
    batch.refresh_from_db()
    assert batch.status == "queued" and not Complaint.objects.exists()
    queued = DBTaskResult.objects.get(task_path__endswith="run_import_task")
    assert queued.args_kwargs["args"] == [batch.pk, True]
    run_import_task.call(*queued.args_kwargs["args"])  # what the worker does with it
    batch.refresh_from_db()
    assert (batch.status, batch.created) == ("done", 7)


def test_bad_uploads_are_refused_with_what_is_allowed(install):
    process, users = install("hospital")
    officer = client_for(users["officer"])
    r = upload(officer, b"%PDF-1.4", name="登记表.pdf")
    assert r.status_code == 400 and "请上传 xlsx、xls、xlsm、ods 或 csv 文件" in r.content.decode()
    r = upload(officer, b"garbage", name="登记表.xlsx")
    assert r.status_code == 400 and "无法读取文件" in r.content.decode()
    r = officer.post("/staff/import/", {"template": "hospital"})
    assert r.status_code == 400 and "请选择要导入的文件" in r.content.decode()
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("role", ["handler", "auditor", "receiver"])
def test_only_officers_and_administrators_import(install, role):
    process, users = install("hospital")
    officer = client_for(users["officer"])
    upload(officer)
    batch = ImportBatch.objects.get()
    other = client_for(users[role])
    assert other.get("/staff/import/").status_code == 403
    assert upload(other).status_code == 403
    assert other.get(f"/staff/import/{batch.pk}/").status_code == 403
    assert other.post(f"/staff/import/{batch.pk}/mapping/", {}).status_code == 403
    assert other.post(f"/staff/import/{batch.pk}/confirm/", {"skip_errors": "1"}).status_code == 403
    assert not Complaint.objects.exists() and ImportBatch.objects.count() == 1
    assert "/staff/import/" not in other.get("/staff/").content.decode()


def test_administrators_import_too_and_anonymous_users_are_sent_to_log_in(install):
    process, users = install("hospital")
    assert client_for(users["admin"]).get("/staff/import/").status_code == 200
    r = Client().get("/staff/import/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_reply_sheet_download_and_who_may(install):
    process, users = install("generic")
    r = client_for(users["officer"]).get("/staff/import/replies.xlsx?period=2026-09")
    assert r.status_code == 200 and r["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(r.content))["回单"]
    assert [c.value for c in sheet[1]] == ["工单编号", "办理结果", "办结时间", "联系情况", "满意度"]
    assert (
        client_for(users["handler"]).get("/staff/import/replies.xlsx?period=2026-09").status_code
        == 403
    )
    r = client_for(users["officer"]).get("/staff/import/replies.xlsx?period=2026-13", follow=True)
    assert "月份「13」无效" in r.content.decode()


def test_uploads_never_confirmed_are_not_kept(install):
    from datetime import timedelta

    from django.utils import timezone

    from tousu.registers.services import imports_dir

    process, users = install("hospital")
    officer = client_for(users["officer"])
    upload(officer)
    old = ImportBatch.objects.get()
    stored = imports_dir() / old.stored_file
    assert stored.is_file()
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    upload(officer)  # the next upload clears what was left
    old.refresh_from_db()
    assert old.stored_file == "" and not stored.exists()
    r = officer.post(f"/staff/import/{old.pk}/confirm/", {"skip_errors": "1"}, follow=True)
    assert "上传的文件已不在服务器上，请重新上传" in r.content.decode()
    assert not Complaint.objects.exists()
