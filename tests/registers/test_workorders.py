"""12345 hotline work orders, round trip: import the platform's export, handle orders through the
engine, send back the reply sheet (回单) and read it with openpyxl."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import time_machine
from openpyxl import load_workbook
from registers_helpers import workbook

from tousu.cases.engine import apply_action
from tousu.cases.models import Complaint
from tousu.cli import main
from tousu.clocks.models import Clock
from tousu.registers import replies, services
from tousu.registers.mapping import preset
from tousu.registers.models import ImportedRow
from tousu.reports.models import ExportLog
from tousu.reports.periods import parse
from tousu.triage.models import CaseLink
from tousu.workdays import SHANGHAI

pytestmark = pytest.mark.django_db
HEAD = ["工单编号", "来电时间", "诉求人", "联系电话", "诉求内容", "诉求类型", "区域", "办理时限",
        "转办意见", "关联工单编号"]  # fmt: skip
KETTLE = "购买的电热水壶使用一周就漏电，差点伤到孩子，要求退货并赔偿损失"
ORDERS = [
    ["12345-0901-001", "2026-09-01 09:12", "陈女士", "138 0000 1001", KETTLE, "质量问题", "西湖区",
     "2026-09-04 17:00", "请核实处理并回复市民", None],
    ["12345-0901-002", "2026-09-01 10:30", "林先生", "13800001002", "快递送货时包装破损，送货员态度恶劣",
     "投诉", "上城区", "3个工作日", "请于3个工作日内回复", None],
    ["12345-0902-003", "2026-09-02 08:40", "陈女士", "13800001001", KETTLE + "！", "质量问题",
     "西湖区", "2026-09-07", "重复来电，请加快处理", None],
    ["12345-0902-004", "2026-09-02 09:00", "王先生", "13800001004", "上次反映的送货问题仍未解决，再次投诉",
     "投诉", "上城区", "2026-09-08 17:00", "原工单未办结", "12345-0901-002"],
]  # fmt: skip


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=SHANGHAI)


def orders_file() -> bytes:
    return workbook(
        {"工单": [["12345热线工单导出（2026-09-01 至 2026-09-02）"], HEAD, *ORDERS]},
        merges={"工单": ["A1:J1"]},
    )


@pytest.fixture
def hotline(install, tmp_path):
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user

    process, users = install("generic")
    quality = Department.objects.get(code="quality_management")
    users["handler_q"] = create_user("handler_q", roles=["handler"], department=quality)[0]
    users["leader"] = create_user("leader", roles=["leader"])[0]
    path = tmp_path / "12345工单-0902.xlsx"
    path.write_bytes(orders_file())
    return process, users, path


def act(case, user, action, when, **data):
    with time_machine.travel(when, tick=False):
        case, _ = apply_action(case, user, action, data=data, version=case.version)
    return case


def order(number: str) -> Complaint:
    return ImportedRow.objects.get(source="12345", key=number).complaint


def test_round_trip(hotline, tmp_path, capsys):
    process, users, path = hotline
    with time_machine.travel(at("2026-09-02", "12:00"), tick=False):
        code = main(
            ["import", "workorders", str(path), "--template", "generic", "--user", "officer"]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "新建 4 件" in out and "关联重复投诉 2 件" in out
    # Every order is an open case on the transfer channel, numbered by its 工单编号.
    first, second, third, fourth = (order(r[0]) for r in ORDERS)
    for case in (first, second, third, fourth):
        assert (case.channel, case.state, case.closed_at) == ("transfer", "registered", None)
    assert first.received_at == at("2026-09-01", "09:12")
    assert first.category.code == "quality" and first.department.code == "quality_management"
    assert second.category is None  # 投诉 is a hotline type, not one of our categories: reported
    assert "「投诉」不是已有的投诉类别，已留空" in out
    imported = first.events.get(action="imported")
    assert imported.payload["transfer_note"] == "请核实处理并回复市民"
    assert imported.payload["area"] == "西湖区" and imported.payload["ref"] == "12345-0901-001"
    # The order's own deadline is a clock of its own, beside the flow's.
    hotline_clocks = {
        c.complaint_id: c for c in Clock.objects.filter(name="hotline_12345", state="running")
    }
    assert hotline_clocks[first.pk].due_at == at("2026-09-04", "17:00")
    assert hotline_clocks[third.pk].due_at == at("2026-09-07", "23:59:59")  # a day: until its end
    assert (hotline_clocks[second.pk].unit, hotline_clocks[second.pk].amount) == (
        "working_days",
        3,
    )
    assert hotline_clocks[second.pk].label == "12345 工单办理时限"
    assert first.clocks.filter(name="reply_24h").exists()
    # Duplicates of earlier orders are linked: by the number an order names, and by the same
    # caller with the same text.
    pairs = {tuple(sorted(p)) for p in CaseLink.objects.values_list("source_id", "target_id")}
    assert pairs == {(first.pk, third.pk), (second.pk, fourth.pk)}

    # Two orders handled through the engine.
    o, hq = users["officer"], users["handler_q"]
    second = act(second, o, "resolve_on_spot", at("2026-09-02", "15:00"),
                 solution="已联系快递公司重新配送并向市民致歉", satisfaction="basically_satisfied")  # fmt: skip
    first = act(first, o, "judge_valid", at("2026-09-02", "16:00"), reason="属实")
    first = act(first, o, "assign_department", at("2026-09-02", "16:10"), category="quality")
    first = act(first, hq, "propose_plan", at("2026-09-03", "09:00"), cause="批次质量问题",
                plan="退货并赔偿")  # fmt: skip
    first = act(first, o, "reply", at("2026-09-03", "11:00"),
                reply="已为市民办理退货，并赔偿检测费用200元", method="phone")  # fmt: skip
    first = act(first, hq, "complete_implementation", at("2026-09-03", "15:00"),
                responsible="质检员张某", measures="已退货赔偿", informed=True)  # fmt: skip
    first = act(first, o, "confirm_satisfied", at("2026-09-03", "16:00"), satisfaction="satisfied")
    assert first.state == "closed" and second.state == "closed"
    # Concluding a case meets its order's deadline; the others still run.
    states = dict(Clock.objects.filter(name="hotline_12345").values_list("complaint_id", "state"))
    assert states == {first.pk: "stopped", second.pk: "stopped", third.pk: "running",
                      fourth.pk: "running"}  # fmt: skip

    # The reply sheet for September: the two closed orders, read back with openpyxl.
    out_file = tmp_path / "回单.xlsx"
    with time_machine.travel(at("2026-09-04", "09:00"), tick=False):
        code = main(["export", "replies", "--period", "2026-09", "--user", "officer",
                     "-o", str(out_file)])  # fmt: skip
    assert code == 0
    sheet = load_workbook(out_file)["回单"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["工单编号", "办理结果", "办结时间", "联系情况", "满意度"]
    assert rows[1] == [
        "12345-0901-002",
        "已联系快递公司重新配送并向市民致歉",
        datetime(2026, 9, 2, 15, 0),
        "已联系（现场解决）",
        "基本满意",
    ]
    assert rows[2][:3] == ["12345-0901-001", "已为市民办理退货，并赔偿检测费用200元",
                           datetime(2026, 9, 3, 16, 0)]  # fmt: skip
    assert rows[2][3] == "已联系（电话，答复客户）" and rows[2][4] == "满意"
    assert len(rows) == 3
    assert sheet["C2"].is_date and sheet.freeze_panes == "A2"
    log = ExportLog.objects.get()
    assert (log.username, log.rows, log.filters["kind"], log.via) == ("officer", 2, "回单", "cli")
    # Nothing closed in August.
    content, count = replies.reply_sheet(parse("2026-08"), user=o)
    assert count == 0
    assert [c.value for c in load_workbook(io.BytesIO(content))["回单"][1]] == rows[0]

    # The same export imported again the next day: nothing new, nothing changed.
    with time_machine.travel(at("2026-09-04", "12:00"), tick=False):
        assert (
            main(["import", "workorders", str(path), "--template", "generic", "--user", "officer"])
            == 0
        )
    assert "新建 0 件，更正 0 件，未变 4 件" in capsys.readouterr().out
    assert Complaint.objects.count() == 4


def test_without_a_user_who_may_link_duplicates_are_reported_not_linked(hotline):
    process, users, path = hotline
    with time_machine.travel(at("2026-09-02", "12:00"), tick=False):
        a = services.analyse(path.read_bytes(), path.name, process, preset("12345"))
        batch = services.run(a, user=None)
    assert batch.created == 4 and batch.linked == 0 and not CaseLink.objects.exists()
    notes = [i["message"] for i in batch.issues]
    assert sum("未关联" in m for m in notes) == 2


def test_an_order_naming_an_unknown_earlier_order_is_imported_and_reported(hotline):
    process, users, _ = hotline
    data = workbook({"工单": [HEAD, [*ORDERS[3][:9], "12345-0101-999"]]})
    with time_machine.travel(at("2026-09-02", "12:00"), tick=False):
        a = services.analyse(data, "x.xlsx", process, preset("12345"))
        batch = services.run(a, user=users["officer"])
    assert batch.created == 1
    assert any("「12345-0101-999」没有导入过" in i["message"] for i in batch.issues)


def test_a_template_without_the_transfer_channel_is_told(install):
    from tousu.processes.services import install_definition, template_path

    install("hospital")
    # An organisation's own flow that takes no transferred complaints.
    text = template_path("hospital").read_text(encoding="utf-8")
    text = text.replace("  - {value: transfer, label: 转办（12345 热线等）}\n", "")
    process = install_definition(text.replace("name: hospital", "name: hospital-local"))
    with (
        time_machine.travel(at("2026-09-02", "12:00"), tick=False),
        pytest.raises(
            services.ImportProblem, match="渠道「transfer」不在流程「医院投诉与医疗纠纷处理流程」中"
        ),
    ):
        services.analyse(orders_file(), "x.xlsx", process, preset("12345"))


def test_bad_deadlines_are_errors_with_what_is_allowed(hotline):
    process, _, _ = hotline
    rows = [HEAD, [*ORDERS[0][:7], "尽快", *ORDERS[0][8:]],
            [*ORDERS[1][:7], "2026-08-30", *ORDERS[1][8:]]]  # fmt: skip
    with time_machine.travel(at("2026-09-02", "12:00"), tick=False):
        a = services.analyse(workbook({"工单": rows}), "x.xlsx", process, preset("12345"))
    got = {(i.row, i.column): i for i in a.errors}
    assert set(got) == {(2, "H"), (3, "H")}
    assert "不是截止时间或时长" in got[2, "H"].message and "5个工作日" in got[2, "H"].allowed
    assert "办理时限早于来电时间" in got[3, "H"].message
