"""`tousu privacy reveals` (who saw or exported which case's personal data, when, through what) and
`tousu privacy export` (one person's data on request, recorded on each case)."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import date, datetime

import pytest
import time_machine
from ops_helpers import png

from tousu.cases.attachments import add_attachment
from tousu.cases.engine import apply_action
from tousu.cases.models import Event
from tousu.cases.services import record_reveal, register_complaint
from tousu.cli import main
from tousu.ops.selectors import EXPORTED, disclosures
from tousu.workdays import SHANGHAI

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=SHANGHAI)


@pytest.fixture
def people(generic, staff):
    """Zhang San complains twice (his phone written two ways, once with his ID number) and is the
    respondent in a third case; Li Si complains once."""
    from tousu.portal.services import submit_complaint

    receiver = staff["receiver"]
    with time_machine.travel(at("2026-02-02"), tick=False):
        first, _ = register_complaint(
            process=generic,
            user=receiver,
            channel="phone",
            content="张三：空调安装后漏水",
            parties=[{"role": "complainant", "name": "张三", "phone": "138-1234-5678"}],
        )
        add_attachment(first, name="内部记录.png", content=png(1), user=receiver)
        first, _ = apply_action(
            first,
            staff["officer"],
            "judge_invalid",
            data={"explanation": "安装符合规范，漏水系排水管堵塞", "method": "oral"},
            version=first.version,
        )
        second = submit_complaint(
            token="t-zhang",
            address="127.0.0.1",
            process=generic,
            channel="web",
            content="张三：售后上门迟到",
            parties=[
                {
                    "role": "complainant",
                    "name": "张三",
                    "phone": "+86 13812345678",
                    "id_number": "11010519491231002X",
                }
            ],
            files=[("发票.png", png(2))],
        ).complaint
        third, _ = register_complaint(
            process=generic,
            user=receiver,
            channel="visit",
            content="王五投诉邻居张三装修噪音",
            parties=[
                {"role": "complainant", "name": "王五", "phone": "13900009999"},
                {"role": "respondent", "kind": "person", "name": "张三", "phone": "13812345678"},
            ],
        )
        other, _ = register_complaint(
            process=generic,
            user=receiver,
            channel="phone",
            content="李四：配送慢",
            parties=[{"role": "complainant", "name": "李四", "phone": "13700001111"}],
        )
    return {"first": first, "second": second, "third": third, "other": other}


def test_reveal_log_lists_who_saw_what_when_and_how(people, staff, capsys):
    first, other = people["first"], people["other"]
    with time_machine.travel(at("2026-03-01", "09:15"), tick=False):
        record_reveal(first, staff["officer"], via="web")
    with time_machine.travel(at("2026-03-05", "23:50"), tick=False):
        record_reveal(other, staff["leader"], via="api", actor_name="领导（API）")
    with time_machine.travel(at("2026-03-06", "08:00"), tick=False):
        record_reveal(first, staff["receiver"], via="web")

    rows = disclosures()
    assert [(d.tracking_number, d.username, d.via, d.kind) for d in rows] == [
        (first.tracking_number, "officer", "web", "查看"),
        (other.tracking_number, "leader", "api", "查看"),
        (first.tracking_number, "receiver", "web", "查看"),
    ]
    # Both ends included, in local days.
    picked = disclosures(since=date(2026, 3, 2), until=date(2026, 3, 5))
    assert [d.username for d in picked] == ["leader"]

    assert main(["privacy", "reveals"]) == 0
    out = capsys.readouterr().out
    assert "时间" in out and "2026-03-01 09:15:00" in out and "工作台" in out and "共 3 条" in out

    assert (
        main(
            [
                "privacy",
                "reveals",
                "--since",
                "2026-03-02",
                "--until",
                "2026-03-05",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table == [
        ["时间", "方式", "投诉编号", "投诉人", "用户名", "操作人", "途径", "内容"],
        [
            "2026-03-05 23:50:00",
            "查看",
            other.tracking_number,
            "李*",
            "leader",
            "领导（API）",
            "API",
            "查看未脱敏个人信息",
        ],
    ]

    assert main(["privacy", "reveals", "--since", "2026-03-07"]) == 0
    assert "没有" in capsys.readouterr().out
    assert main(["privacy", "reveals", "--since", "2026-13-01"]) == 2
    assert main(["privacy", "reveals", "--since", "2026-03-05", "--until", "2026-03-01"]) == 2
    err = capsys.readouterr().err
    assert "YYYY-MM-DD" in err and "不能晚于" in err


def test_reveal_log_as_csv_file_opens_in_excel(people, staff, tmp_path, capsys):
    record_reveal(people["first"], staff["officer"], via="web")
    out = tmp_path / "reveals.csv"
    assert main(["privacy", "reveals", "--format", "csv", "-o", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert len(list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) == 2


def test_export_gathers_one_persons_data_and_records_it(people, tmp_path, capsys):
    first, second, third, other = (people[k] for k in ("first", "second", "third", "other"))
    out = tmp_path / "张三.json"
    assert (
        main(
            ["privacy", "export", "--phone", "138 1234 5678", "-o", str(out), "--by", "档案员小林"]
        )
        == 0
    )
    assert "投诉 2 件" in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))

    numbers = [c["tracking_number"] for c in data["complaints"]]
    assert numbers == sorted([first.tracking_number, second.tracking_number])
    by_number = {c["tracking_number"]: c for c in data["complaints"]}
    mine = by_number[first.tracking_number]
    assert mine["content"] == "张三：空调安装后漏水"
    assert mine["parties"][0]["phone"] == "138-1234-5678"  # their own data, unmasked
    labels = [e["label"] for e in mine["timeline"]]
    assert labels == [
        "投诉已登记",
        "已向您说明情况",
    ]  # what the portal shows them, nothing internal
    assert any("排水管" in r["value"] for e in mine["timeline"] for r in e["rows"])
    assert mine["attachments"] == []  # the staff's internal file is not theirs to see
    portal = by_number[second.tracking_number]
    assert [a["name"] for a in portal["attachments"]] == ["发票.png"]
    assert portal["parties"][0]["id_number"] == "11010519491231002X"
    # Where they are the respondent: their own record only, not the neighbour's complaint.
    assert data["as_respondent"] == [
        {
            "tracking_number": third.tracking_number,
            "received_at": data["as_respondent"][0]["received_at"],
            "parties": [data["as_respondent"][0]["parties"][0]],
        }
    ]
    assert data["as_respondent"][0]["parties"][0]["name"] == "张三"
    assert "王五" not in out.read_text(encoding="utf-8") and "李四" not in out.read_text(
        encoding="utf-8"
    )

    # Each case it came from records the export; the unrelated case does not.
    exported = Event.objects.filter(action=EXPORTED)
    assert sorted(exported.values_list("complaint_id", flat=True)) == sorted(
        [first.pk, second.pk, third.pk]
    )
    assert set(exported.values_list("actor_name", "via")) == {("档案员小林", "cli")}
    assert [d.kind for d in disclosures()] == ["导出"] * 3


def test_export_by_id_number_or_tracking_number(people, tmp_path, capsys):
    first, second, third = people["first"], people["second"], people["third"]
    out = tmp_path / "a.json"
    assert main(["privacy", "export", "--id-number", "11010519491231002x", "-o", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [c["tracking_number"] for c in data["complaints"]] == [second.tracking_number]
    # A tracking number: that case's complainant, and their other cases by phone or ID number.
    assert (
        main(["privacy", "export", "--tracking-number", first.tracking_number, "-o", str(out)]) == 0
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {c["tracking_number"] for c in data["complaints"]} == {
        first.tracking_number,
        second.tracking_number,
    }
    assert [r["tracking_number"] for r in data["as_respondent"]] == [third.tracking_number]


def test_export_refuses_bad_requests_and_writes_nothing(people, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert main(["privacy", "export", "-o", str(out)]) == 2
    assert main(["privacy", "export", "--phone", "1", "--id-number", "2", "-o", str(out)]) == 2
    assert "只给出一个" in capsys.readouterr().err
    assert main(["privacy", "export", "--phone", "13000000000", "-o", str(out)]) == 2
    assert "没有找到" in capsys.readouterr().err
    assert not out.exists() and not Event.objects.filter(action=EXPORTED).exists()
    assert (
        main(["privacy", "export", "--phone", "13812345678", "-o", str(tmp_path / "no" / "x.json")])
        == 1
    )
    assert "无法写入" in capsys.readouterr().err
    assert not Event.objects.filter(action=EXPORTED).exists()  # no record without the file
