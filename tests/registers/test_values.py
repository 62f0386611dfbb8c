"""Cell values as people type them (registers.values): dates, phones, amounts, numbers."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tousu.registers import values
from tousu.registers.values import Problem


@pytest.mark.parametrize(
    "raw, expected, has_time",
    [
        ("2025-03-05", datetime(2025, 3, 5), False),
        ("2025/3/5", datetime(2025, 3, 5), False),
        ("2025.3.5", datetime(2025, 3, 5), False),
        ("2025年3月5日", datetime(2025, 3, 5), False),
        ("２０２５年３月５日", datetime(2025, 3, 5), False),  # full-width digits
        ("20250305", datetime(2025, 3, 5), False),
        ("2025-03-05 10:30", datetime(2025, 3, 5, 10, 30), True),
        ("2025/3/5 9:05:07", datetime(2025, 3, 5, 9, 5, 7), True),
        ("2025年3月5日 14时20分", datetime(2025, 3, 5, 14, 20), True),
        ("2025年3月5日下午3点", datetime(2025, 3, 5, 15, 0), True),
        ("2025-03-05T08:00:00", datetime(2025, 3, 5, 8), True),
        (45721, datetime(2025, 3, 5), False),  # an Excel serial number
        (45721.4375, datetime(2025, 3, 5, 10, 30), True),
        ("45721", datetime(2025, 3, 5), False),
        (datetime(2025, 3, 5, 10, 30), datetime(2025, 3, 5, 10, 30), True),
        (date(2025, 3, 5), datetime(2025, 3, 5), False),
    ],
)
def test_dates_as_people_type_them(raw, expected, has_time):
    assert values.when(raw) == (expected, has_time)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("2025-02-30", "不是有效的日期"),
        ("2025-13-01", "不是有效的日期"),
        ("3月5日", "缺少年份"),
        ("25/3/5", "年份应写四位"),
        ("下周三", "不是可识别的日期"),
        (123, "不是日期"),
        ("1899-01-01", "年份不在"),
    ],
)
def test_bad_dates_say_what_is_allowed(raw, message):
    with pytest.raises(Problem) as exc:
        values.when(raw)
    assert message in exc.value.message
    assert "2025年3月5日" in exc.value.allowed


@pytest.mark.parametrize("blank", [None, "", "  ", "无", "/", "-", "——", "　"])
def test_blank_markers_read_as_nothing(blank):
    assert values.when(blank) is None
    assert values.phone(blank) is None
    assert values.money(blank) is None
    assert values.text(blank) is None


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)),
    st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "{y}年{m}月{d}日", "%Y%m%d", "serial"]),
)
def test_every_date_style_reads_back_the_same_day(moment, style):
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if style == "serial":
        raw = (day - datetime(1899, 12, 30)).days
    elif "{" in style:
        raw = style.format(y=day.year, m=day.month, d=day.day)
    else:
        raw = day.strftime(style)
    assert values.when(raw) == (day, False)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)))
def test_dates_with_minutes_keep_them(moment):
    moment = moment.replace(second=0, microsecond=0)
    assert values.when(moment.strftime("%Y/%m/%d %H:%M")) == (moment, True)
    serial = (moment - datetime(1899, 12, 30)) / timedelta(days=1)
    got, _ = values.when(serial)
    assert abs(got - moment) <= timedelta(seconds=1)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        (13812345678.0, "13812345678"),  # a number cell
        ("0571-88886666", "0571-88886666"),
        ("(0571) 8888 6666", "0571-88886666"),
        ("010-12345678", "010-12345678"),
        ("88886666", "88886666"),  # a local number, as registers write them
        ("13812345678 / 0571-88886666", "13812345678"),  # the first of several
        ("0571-88886666转123", "0571-88886666"),
    ],
)
def test_phones(raw, expected):
    assert values.phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "1381234567", "电话不详", "138****5678"])
def test_bad_phones(raw):
    with pytest.raises(Problem) as exc:
        values.phone(raw)
    assert "手机号 11 位" in exc.value.allowed


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1200", "1200.00"),
        ("1,200元", "1200.00"),
        ("¥1,200.50", "1200.50"),
        ("￥300", "300.00"),
        ("人民币500元整", "500.00"),
        ("1.2万", "12000.00"),
        ("3万元", "30000.00"),
        (800, "800.00"),
        (99.5, "99.50"),
    ],
)
def test_money(raw, expected):
    assert values.money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["abc", "-100", "壹仟元"])
def test_bad_money(raw):
    with pytest.raises(Problem):
        values.money(raw)


def test_text_of_number_cells_has_no_trailing_zero():
    assert values.text(123456.0) == "123456"
    assert values.text(datetime(2025, 3, 5)) == "2025-03-05"
    assert values.text(" 门诊 ") == "门诊"


def test_integers_and_booleans():
    assert values.integer("3人") == 3
    assert values.integer(4.0) == 4
    with pytest.raises(Problem):
        values.integer("三")
    assert values.boolean("是") is True and values.boolean("×") is False
    with pytest.raises(Problem):
        values.boolean("也许")
