"""Importing a historical register (tousu.registers): what is read, what is refused and where, what
is written, and that the cases then count like any other."""

from __future__ import annotations

from datetime import datetime

import pytest
from registers_helpers import BAD_ROW, FIRST, SECOND, hospital_register

from tousu.cases.models import Complaint, Event
from tousu.registers import services
from tousu.registers.mapping import Mapping
from tousu.registers.models import ImportedRow
from tousu.reports.models import CaseFact
from tousu.workdays import SHANGHAI

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def analyse(process, data=None, mapping=None, **kw):
    return services.analyse(
        data or hospital_register(), "2024投诉登记表.xlsx", process, mapping or Mapping(), **kw
    )


def test_header_rows_columns_and_rows_are_found(install):
    process, _ = install("hospital")
    a = analyse(process)
    first, second = a.sheets
    assert (first.name, first.header_row, first.rows) == (FIRST, 4, 6)  # blank row, notes left out
    assert (second.name, second.header_row, second.rows) == (SECOND, 2, 2)
    mapped = {c["header"]: c["target"] for c in first.columns}
    assert mapped == {
        "序号": "serial",
        "投诉日期": "received_at",
        "投诉人信息 / 姓名": "complainant_name",
        "投诉人信息 / 联系电话": "complainant_phone",
        "患者信息 / 姓名": "field:patient_name",
        "患者信息 / 住院号": "field:record_number",
        "投诉内容": "content",
        "投诉类别": "category",
        "涉及科室": "department",
        "处理结果": "result",
        "赔偿金额（元）": "compensation",
        "办结日期": "closed_at",
        "满意度": "satisfaction",
    }
    also = {c["header"]: c["also"] for c in first.columns if c["also"]}
    assert also == {"涉及科室": "涉及科室"}  # the department column fills the template's field too
    mapped = {c["header"]: c["target"] for c in second.columns}
    assert mapped["编号"] == "external_ref" and mapped["患者电话"] == "complainant_phone"
    assert mapped["来访人"] == "complainant_name" and mapped["补偿"] == "compensation"
    assert mapped["回访日期"] == "ignore"  # a date, but not the day the complaint came in


def test_every_problem_names_sheet_row_and_column_and_what_is_allowed(install):
    process, _ = install("hospital")
    a = analyse(process)
    got = {(i.sheet, i.row, i.column): i for i in a.errors}
    assert set(got) == {(FIRST, BAD_ROW, col) for col in "BDGHIKM"}
    assert "「2024-02-30」不是有效的日期" in got[FIRST, BAD_ROW, "B"].message
    assert "2025年3月5日" in got[FIRST, BAD_ROW, "B"].allowed
    assert got[FIRST, BAD_ROW, "D"].header == "投诉人信息 / 联系电话"
    assert "「收费问题」不是已有的投诉类别" in got[FIRST, BAD_ROW, "H"].message
    assert "医疗收费" in got[FIRST, BAD_ROW, "H"].allowed  # the template's own labels
    assert "「宇宙科」不是已有的部门" in got[FIRST, BAD_ROW, "I"].message
    assert "投诉内容为空" in got[FIRST, BAD_ROW, "G"].message
    assert "不是可识别的满意度" in got[FIRST, BAD_ROW, "M"].message
    assert str(got[FIRST, BAD_ROW, "K"]).startswith(
        f"工作表「{FIRST}」第 9 行 K 列（赔偿金额（元））"
    )
    c = a.counts()
    assert (c["rows"], c["new"], c["error"], c["closed"], c["open"]) == (8, 7, 1, 6, 1)


def test_a_file_with_errors_writes_nothing_unless_told_to_skip_them(install):
    process, users = install("hospital")
    with pytest.raises(services.Refused, match="7 处错误，未导入任何数据"):
        services.run(analyse(process), user=users["officer"])
    assert not Complaint.objects.exists() and not ImportedRow.objects.exists()
    batch = services.run(analyse(process), user=users["officer"], skip_errors=True)
    assert (batch.created, batch.skipped, batch.status) == (7, 1, "done")
    assert Complaint.objects.count() == 7
    assert not ImportedRow.objects.filter(sheet=FIRST, row_number=BAD_ROW).exists()


def test_rows_are_stored_as_they_were_read(install):
    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)
    r5 = ImportedRow.objects.get(sheet=FIRST, row_number=5).complaint
    assert r5.received_at == at(2024, 1, 8, 9, 30) and r5.closed_at == at(2024, 1, 10)
    assert (r5.state, r5.channel) == ("closed", "phone")  # no channel column: the first channel
    assert (r5.category.code, r5.department.code) == ("nursing_quality", "nursing")
    assert r5.fields == {
        "patient_name": "张小三",
        "record_number": "ZY2024001",
        "involved_department": "护理部",
    }
    assert r5.tracking_number.startswith("TS-20240108-")  # numbered by the day it came in
    person = r5.parties.get(role="complainant")
    assert (person.name, person.phone) == ("张三", "13812345678")
    event = r5.events.get()
    assert (event.action, event.label, event.to_state, event.actor) == (
        "imported",
        "导入",
        "closed",
        users["officer"],
    )
    assert event.comment == f"从「2024投诉登记表.xlsx」工作表「{FIRST}」第 5 行导入"
    assert event.payload["result"] == "已道歉并加强培训"
    assert event.payload["compensation"] == "1200.00"
    assert event.payload["satisfaction"] == "satisfied"
    row = ImportedRow.objects.get(complaint=r5)
    assert row.original["投诉人信息 / 联系电话"] == "138 1234 5678"  # the row as it was typed
    assert row.original["赔偿金额（元）"] == "1,200元"
    # An Excel serial number, 2024年1月12日, and a date merged over two rows.
    r6 = ImportedRow.objects.get(sheet=FIRST, row_number=6).complaint
    assert r6.received_at == at(2024, 1, 8) and r6.closed_at == at(2024, 1, 12)
    assert r6.fields["record_number"] == "123456"
    r11 = ImportedRow.objects.get(sheet=FIRST, row_number=11).complaint
    assert r11.received_at == at(2024, 3, 2)
    # No result, no closing date: open, in the flow's first state, ready for the next step.
    r7 = ImportedRow.objects.get(sheet=FIRST, row_number=7).complaint
    assert (r7.state, r7.closed_at) == ("received", None)
    # The second sheet: numbered rows, the department from the category's.
    h2 = ImportedRow.objects.get(source="2024投诉登记表", key="2024-H2-002").complaint
    assert (h2.category.code, h2.department.code) == ("security_order", "security")
    assert h2.received_at == at(2024, 7, 15) and h2.closed_at == at(2024, 7, 20)


def test_open_rows_run_through_the_flow_from_the_state_the_mapping_names(install):
    from tousu.cases.engine import apply_action, possible_actions

    process, users = install("hospital")
    mapping = Mapping.from_data({"open_state": "registered"})
    services.run(analyse(process, mapping=mapping), user=users["officer"], skip_errors=True)
    case = ImportedRow.objects.get(sheet=FIRST, row_number=7).complaint
    assert case.state == "registered"
    assert "judge_not_true" in {a.name for a in possible_actions(case, users["officer"])}
    case, _ = apply_action(
        case,
        users["officer"],
        "judge_not_true",
        data={"explanation": "已调阅病历说明", "method": "oral"},
        version=case.version,
    )
    assert case.state == "explained"
    with pytest.raises(services.ImportProblem, match="open_state「closed」是结案状态"):
        analyse(process, mapping=Mapping.from_data({"open_state": "closed"}))


def test_importing_the_same_file_again_creates_nothing(install):
    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)
    before = (Complaint.objects.count(), Event.objects.count(), CaseFact.objects.count())
    versions = dict(Complaint.objects.values_list("pk", "version"))
    again = analyse(process)
    assert again.counts()["unchanged"] == 7 and again.counts()["new"] == 0
    batch = services.run(again, user=users["officer"], skip_errors=True)
    assert (batch.created, batch.updated, batch.unchanged) == (0, 0, 7)
    assert (Complaint.objects.count(), Event.objects.count(), CaseFact.objects.count()) == before
    assert dict(Complaint.objects.values_list("pk", "version")) == versions


def test_a_corrected_row_changes_only_what_changed_with_an_event(install):
    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)
    r5 = ImportedRow.objects.get(sheet=FIRST, row_number=5).complaint
    others = dict(Complaint.objects.exclude(pk=r5.pk).values_list("pk", "version"))
    corrected = hospital_register(r5_content="输液渗漏无人理会，手背肿胀三天，要求道歉")
    a = analyse(process, corrected)
    assert a.counts()["changed"] == 1 and a.counts()["unchanged"] == 6
    batch = services.run(a, user=users["officer"], skip_errors=True)
    assert (batch.created, batch.updated) == (0, 1)
    r5.refresh_from_db()
    assert r5.content == "输液渗漏无人理会，手背肿胀三天，要求道歉"
    assert r5.received_at == at(2024, 1, 8, 9, 30)  # untouched
    fix = r5.events.get(label="导入更正")
    assert fix.payload["changes"].startswith("摘要：") or "投诉内容：" in fix.payload["changes"]
    assert "手背肿胀三天" in fix.payload["changes"] and "满意度" not in fix.payload["changes"]
    assert dict(Complaint.objects.exclude(pk=r5.pk).values_list("pk", "version")) == others
    row = ImportedRow.objects.get(complaint=r5)
    assert row.last_batch == batch and row.batch != batch


def test_a_case_handled_since_its_import_is_not_corrected(install):
    from tousu.cases.engine import apply_action

    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)
    r5 = ImportedRow.objects.get(sheet=FIRST, row_number=5).complaint
    apply_action(r5, users["officer"], "archive", data={"summary": "归档"}, version=r5.version)
    a = analyse(process, hospital_register(r5_content="改过的内容"))
    assert a.counts()["locked"] == 1
    assert any("已有人办理" in w.message for w in a.warnings)
    services.run(a, user=users["officer"], skip_errors=True)
    r5.refresh_from_db()
    assert r5.content == "输液渗漏无人理会，要求道歉" and r5.state == "archived"


def test_imported_cases_count_in_statistics_for_their_dates(install):
    from tousu.reports import selectors
    from tousu.reports.periods import parse

    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)

    def figures(period):
        return selectors.dashboard(
            selectors.make_filters(parse(period)), now=at(2026, 1, 5), use_cache=False
        )

    d = figures("2024")
    k = d["k"]
    assert (k["received"], k["closed"]) == (7, 6)
    # First verdicts from the register's 满意度: r5, r11, H2-001 satisfied; r6 basically; r10 not.
    assert (k["satisfied"], k["basically"], k["dissatisfied"]) == (3, 1, 1)
    by_category = {r["label"]: r["count"] for r in d["by_category"]}
    assert by_category == {
        "护理质量": 2,
        "医疗收费": 1,
        "服务态度": 1,
        "医疗质量": 1,
        "药品器械质量": 1,
        "安全秩序": 1,
    }
    assert figures("2024-01")["k"]["received"] == 2
    assert figures("2024-07")["k"]["received"] == 2
    assert figures("2025")["k"]["received"] == 0
    # Handling time in working days: r5 2024-01-08 → 01-10 is 2.
    fact = CaseFact.objects.get(complaint__imported__sheet=FIRST, complaint__imported__row_number=5)
    assert fact.handling_days == 2


def test_imported_cases_train_triage(install):
    from tousu.triage.selectors import learned_cases, training_data

    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)
    imported = set(ImportedRow.objects.values_list("complaint_id", flat=True))
    learned = set(learned_cases("hospital").values_list("pk", flat=True))
    # The six closed, categorised cases, and the open one whose category the register gives (as
    # a category chosen at registration is).
    assert learned == imported and len(learned) == 7
    data = training_data("hospital", with_samples=False)
    assert data.n_cases == 7 and "nursing_quality" in data.labels


def test_imported_cases_are_found_by_search(install):
    from tousu.cases.search import filter_text

    process, users = install("hospital")
    services.run(analyse(process), user=users["officer"], skip_errors=True)
    found = filter_text(Complaint.objects.all(), "误服")
    assert [c.imported.key for c in found] == ["2024-H2-001"]


def test_a_mapping_names_columns_and_values_the_synonyms_do_not_know(install):
    from registers_helpers import register_with, rows_first

    process, users = install("hospital")
    rows = rows_first()
    rows[2] = [*rows[2], "病区"]  # a column the synonym table does not know …
    rows[4] = [*rows[4], "3病区"]
    rows[8] = [4, "2024-02-20", "赵六", "13900004444", None, None, "多收检查费", "收费问题",
               "医务处", "已退费", None, "2024-02-22", None]  # fmt: skip
    data = register_with({"登记": rows})
    a = analyse(process, data)
    assert {c["header"]: c["how"] for c in a.sheets[0].columns}["病区"] == "未识别"
    assert {(i.column, i.value) for i in a.errors} == {("H", "收费问题"), ("I", "医务处")}
    mapping = Mapping.from_yaml(
        """
columns: {病区: 涉及人员}
values:
  category: {收费问题: charges}
  department: {医务处: 医务科}
source: 住院部投诉登记本
"""
    )
    a = analyse(process, data, mapping)
    assert not a.errors and a.source == "住院部投诉登记本"
    assert {c["header"]: c["target"] for c in a.sheets[0].columns}["病区"] == "field:involved_staff"
    batch = services.run(a, user=users["officer"])
    case = ImportedRow.objects.get(key="登记#4").complaint
    assert (case.category.code, case.department.code) == ("charges", "medical_affairs")
    assert ImportedRow.objects.get(key="登记#1").complaint.fields["involved_staff"] == "3病区"
    assert batch.source == "住院部投诉登记本"
    # Kept for the next file, and found again by its name.
    services.save_mapping("hospital", "住院部登记本", mapping, a.headers, users["officer"])
    again = services.mapping_from("住院部登记本", "hospital")
    assert again.values["category"] == {"收费问题": "charges"}
    assert again.columns["病区"] == "涉及人员"


def test_only_the_chosen_sheet_is_read(install):
    process, _ = install("hospital")
    a = analyse(process, sheets=[SECOND])
    assert [s.name for s in a.sheets] == [SECOND] and not a.errors
    with pytest.raises(services.ImportProblem, match="没有工作表「三季度」"):
        analyse(process, sheets=["三季度"])


def test_a_file_that_is_not_a_spreadsheet_is_refused(install):
    process, _ = install("hospital")
    with pytest.raises(services.ImportProblem, match="请上传 xlsx、xls、xlsm、ods 或 csv"):
        services.analyse(b"not a workbook", "x.xlsx", process, Mapping())
    with pytest.raises(services.ImportProblem, match="不支持的文件类型"):
        services.analyse(b"%PDF-1.4", "x.pdf", process, Mapping())


def test_a_register_laid_out_differently_as_csv_from_excel_in_china(install):
    """A property company's register, saved from Excel as CSV (GB18030), its header under four
    lines of titles, columns named in its own words, one register with two tables pasted one
    under the other."""
    process, users = install("property")
    lines = [
        "某某物业服务中心",
        "业主投诉登记表",
        "2025年度",
        "",
        "登记日期,业主姓名,楼栋,房号,联系方式,问题描述,投诉分类,处理部门,处理情况,完成时间,回访情况",
        "2025/4/1,陈大明,3栋,1203,139-1111-2222,电梯停运两天无人处理,设备维修,工程部,已维修并致歉,2025/4/2,满意",
        "2025年4月3日,刘小红,5栋,601,13922223333,楼上装修噪音扰民,,客服部,,,",
        "登记日期,业主姓名,楼栋,房号,联系方式,问题描述,投诉分类,处理部门,处理情况,完成时间,回访情况",
        "2025.5.6,黄先生,1栋,302,0571 8888 6666,地下车库漏水,,工程部,已修补,2025.5.9,基本满意",
        "合计：3 件,,,,,,,,,,",
    ]
    data = "\r\n".join(lines).encode("gb18030")
    a = services.analyse(data, "物业投诉登记.csv", process, Mapping())
    sheet = a.sheets[0]
    assert sheet.header_row == 5 and sheet.rows == 3
    mapped = {c["header"]: c["target"] for c in sheet.columns}
    assert mapped["登记日期"] == "received_at" and mapped["业主姓名"] == "complainant_name"
    assert mapped["楼栋"] == "field:building" and mapped["房号"] == "field:room"
    assert mapped["问题描述"] == "content" and mapped["处理情况"] == "result"
    assert mapped["完成时间"] == "closed_at" and mapped["回访情况"] == "satisfaction"
    also = {c["header"]: c["also"] for c in sheet.columns if c["also"]}
    assert also == {
        "业主姓名": "业主姓名"
    }  # the owner is the complainant, and the template's field
    # 设备维修 is not one of the property template's categories: reported, with what is.
    assert [(i.row, i.column, i.value) for i in a.errors] == [(6, "G", "设备维修")]
    allowed = a.errors[0].allowed
    code = next(c.code for c in a.lookups.categories if c.label in allowed)
    mapping = Mapping.from_data({"values": {"category": {"设备维修": code}}})
    a = services.analyse(data, "物业投诉登记.csv", process, mapping)
    assert not a.errors
    services.run(a, user=users["officer"])
    chen = ImportedRow.objects.get(row_number=6).complaint
    assert chen.fields == {"owner_name": "陈大明", "building": "3栋", "room": "1203"}
    assert chen.closed_at == at(2025, 4, 2) and chen.department.code == "engineering"
    liu = ImportedRow.objects.get(row_number=7).complaint
    assert liu.closed_at is None and liu.state == process.definition.initial_state.name
    huang = ImportedRow.objects.get(row_number=9).complaint
    assert huang.parties.get().phone == "0571-88886666"


def test_an_interrupted_import_leaves_no_half_rows_and_runs_again(install, monkeypatch):
    from tousu.cases.models import Party
    from tousu.registers import writing
    from tousu.registers.models import ImportBatch
    from tousu.reports import facts

    process, users = install("hospital")
    monkeypatch.setattr(writing, "CHUNK", 3)  # history is written three rows at a time
    calls = {"n": 0}
    refresh = facts.refresh

    def failing(complaint, **kw):
        calls["n"] += 1
        if calls["n"] == 5:  # the second row of the second chunk
            raise OSError("disk full")
        return refresh(complaint, **kw)

    monkeypatch.setattr(facts, "refresh", failing)
    with pytest.raises(OSError):
        services.run(analyse(process), user=users["officer"], skip_errors=True)
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and "disk full" in batch.message
    # The first chunk is whole; nothing of the second is left.
    assert Complaint.objects.count() == ImportedRow.objects.count() == 3
    assert Event.objects.count() == CaseFact.objects.count() == 3
    assert set(Party.objects.values_list("complaint_id", flat=True)) == set(
        Complaint.objects.values_list("pk", flat=True)
    )
    monkeypatch.setattr(facts, "refresh", refresh)
    again = services.run(analyse(process), user=users["officer"], skip_errors=True)
    assert (again.created, again.unchanged) == (4, 3)
    assert Complaint.objects.count() == CaseFact.objects.count() == 7


def test_the_command_line_dry_run_writes_nothing(install, tmp_path, capsys):
    from tousu.cli import main

    install("hospital")
    path = tmp_path / "登记表.xlsx"
    path.write_bytes(hospital_register())
    base = ["import", "register", str(path), "--template", "hospital"]
    assert main([*base, "--dry-run"]) == 2  # errors: the exit code says so
    out = capsys.readouterr().out
    assert (
        "试运行，未写入任何数据" in out
        and f"错误：工作表「{FIRST}」第 9 行 B 列（投诉日期）" in out
    )
    assert main([*base, "--dry-run", "--skip-errors"]) == 0
    assert not Complaint.objects.exists() and not ImportedRow.objects.exists()
    assert main(base) == 2
    assert "未导入任何数据" in capsys.readouterr().err
    assert main([*base, "--skip-errors", "--sheet", SECOND, "--user", "officer"]) == 0
    assert "新建 2 件" in capsys.readouterr().out and Complaint.objects.count() == 2
    assert main([*base, "--template", "nope"]) == 2
    assert "流程「nope」未安装" in capsys.readouterr().err
    assert main(["import", "register", str(tmp_path / "无.xlsx"), "--template", "hospital"]) == 2


def test_an_open_row_corrected_to_concluded_closes_its_case_and_stops_its_clocks(install):
    from tousu.clocks.models import Clock

    process, users = install("hospital")
    mapping = Mapping.from_data({"open_state": "registered"})
    services.run(analyse(process, mapping=mapping), user=users["officer"], skip_errors=True)
    r7 = ImportedRow.objects.get(sheet=FIRST, row_number=7).complaint
    # Registered by the office: the 7-day reply clock runs from receipt.
    clock = r7.clocks.get()
    assert (clock.name, clock.state) == ("reply_7d", "running")
    a = analyse(process, hospital_register(r7_done=True), mapping)
    assert a.counts()["changed"] == 1
    services.run(a, user=users["officer"], skip_errors=True)
    r7.refresh_from_db()
    assert (r7.state, r7.closed_at) == ("closed", at(2024, 2, 6))
    assert Clock.objects.get(pk=clock.pk).state == "stopped" and r7.next_due_at is None
    fact = CaseFact.objects.get(complaint=r7)
    assert fact.closed_day == 20240206 and fact.satisfaction == 1
    assert "处理结果：（空） → 已约谈医生" in r7.events.get(label="导入更正").payload["changes"]
