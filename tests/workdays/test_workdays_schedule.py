"""Importing one year's official schedule from YAML or CSV."""

from datetime import date

import pytest

from tousu.workdays import Schedule, ScheduleError, parse_schedule

GOOD_YAML = """\
year: 2027
source: 国办发明电〔2026〕X号
holidays:
  - 2027-01-01
  - "2027-02-05..2027-02-11"
  - 2027-10-01..2027-10-07
workdays: [2027-02-14, "2027-10-09"]
"""

GOOD_CSV = """\
date,kind,note
2027-01-01,holiday,元旦
2027-02-05,放假,"春节, 除夕"
2027-02-06,holiday,
2027-02-14,上班,调休

2027-10-09,workday
"""


def test_yaml_text():
    s = parse_schedule(GOOD_YAML, "yaml")
    assert s.year == 2027
    assert len(s.holidays) == 1 + 7 + 7
    assert date(2027, 2, 8) in s.holidays
    assert s.workdays == {date(2027, 2, 14), date(2027, 10, 9)}
    assert s.overrides()[date(2027, 2, 14)] is True
    assert s.overrides()[date(2027, 1, 1)] is False


def test_csv_text():
    s = parse_schedule(GOOD_CSV, "csv")
    assert s == Schedule(
        2027,
        frozenset({date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6)}),
        frozenset({date(2027, 2, 14), date(2027, 10, 9)}),
    )


def test_csv_two_columns_and_excel_dates():
    s = parse_schedule("date,kind\n2027/1/1,holiday\n", "csv")
    assert s.holidays == {date(2027, 1, 1)}


def test_files_and_bytes(tmp_path):
    y = tmp_path / "2027.yaml"
    y.write_text(GOOD_YAML, encoding="utf-8")
    c = tmp_path / "2027.csv"
    c.write_bytes(GOOD_CSV.encode("gb18030"))  # as saved by Excel on Chinese Windows
    assert parse_schedule(y) == parse_schedule(str(y)) == parse_schedule(GOOD_YAML, "yaml")
    assert parse_schedule(c) == parse_schedule(GOOD_CSV, "csv")
    bom = ("\ufeff" + GOOD_CSV).encode("utf-8")
    assert parse_schedule(bom, "csv") == parse_schedule(GOOD_CSV, "csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "date,kind\n2027-01-01,holiday\n2026-13-01,holiday\n",
            "第3行：日期 2026-13-01 无效，应为 YYYY-MM-DD",
        ),
        ("date,kind\n2027-01-01,holiday\n01/02/2027,holiday\n", "第3行：日期 01/02/2027 无效"),
        (
            "date,kind\n2027-01-01,holiday\n2028-01-01,holiday\n",
            "第3行：日期 2028-01-01 不在 2027 年内",
        ),
        (
            "date,kind\n2027-01-01,holiday\n2027-01-02,vacation\n",
            "第3行：类型 vacation 无效，应为 holiday、workday、放假 或 上班",
        ),
        ("date,kind\n2027-01-01,holiday,x,y\n", "第2行：应有 2 列"),
        ("date,kind\n2027-01-01\n", "第2行：应有 2 列"),
        ("day,type\n2027-01-01,holiday\n", "第1行：表头应为 date,kind 或 date,kind,note"),
        ("", "第1行：表头"),
        ("date,kind\n", "没有任何日期行"),
        ("date,kind\n2027-02-14,workday\n", "没有任何放假日期"),
        (
            "date,kind\n2027-01-01,holiday\n2027-01-01,workday\n",
            "第3行：2027-01-01 已列为放假日（第2行），不能同时是上班日",
        ),
    ],
)
def test_bad_csv(text, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text, "csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "year: 2027\nholidays: [2027-01-01, 2027-02-30]\n",
            "holidays 第2项：日期 2027-02-30 无效，应为 YYYY-MM-DD",
        ),
        ("year: 2027\nholidays: [2026-12-31]\n", "holidays 第1项：日期 2026-12-31 不在 2027 年内"),
        (
            "year: 2027\nholidays: [2027-01-01..2027-02-30]\n",
            "holidays 第1项：日期 2027-02-30 无效",
        ),
        (
            "year: 2027\nholidays: [2027-12-30..2028-01-02]\n",
            "holidays 第1项：日期 2028-01-01 不在 2027 年内",
        ),
        (
            "year: 2027\nholidays: [2027-02-11..2027-02-05]\n",
            "holidays 第1项：范围 2027-02-11..2027-02-05 的结束日期早于开始日期",
        ),
        ("year: 2027\nholidays: [20270101]\n", "holidays 第1项：20270101 无效"),
        ("year: 2027\nholidays: 2027-01-01\n", "holidays：应为日期列表"),
        (
            "year: 2027\nholidays: [2027-01-01]\nworkdays: [2027-01-01]\n",
            "workdays 第1项：2027-01-01 已列为放假日（holidays 第1项）",
        ),
        (
            'year: 2027\nholidays: ["2027-02-05..2027-02-11"]\nworkdays: [2027-02-06]\n',
            "workdays 第1项：2027-02-06 已列为放假日",
        ),
        ("year: 2027\nholiday: [2027-01-01]\n", "未知的项 holiday；允许的项"),
        ("year: next\nholidays: [2027-01-01]\n", "year：'next' 无效，应为四位年份"),
        ("holidays: [2027-01-01]\n", "year：None 无效"),
        ("year: 2027\n", "没有任何放假日期"),
        ("- 2027-01-01\n", "文件内容应为包含 year、holidays、workdays 的映射"),
        ("year: 2027\nholidays: [2027-01-01\n", "YAML 格式错误"),
        (
            "year: 2027\nholidays: [2027-01-01 08:00:00]\n",
            "holidays 第1项：日期 2027-01-01 08:00:00 无效",
        ),
    ],
)
def test_bad_yaml(text, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text, "yaml")


def test_unknown_format():
    with pytest.raises(ScheduleError, match="应为 yaml 或 csv"):
        parse_schedule("year: 2027\n")
    with pytest.raises(ScheduleError, match="应为 yaml 或 csv"):
        parse_schedule("year: 2027\n", "xlsx")


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)
