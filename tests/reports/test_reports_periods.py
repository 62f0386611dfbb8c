"""Periods: parsing, labels, the period before, trend buckets (pure, no database)."""

from datetime import date

import pytest

from tousu.reports.periods import PeriodError, month_of, parse, quarter_of


def test_month_quarter_year_range():
    m = parse("2026-09")
    assert (m.start, m.end, m.label, m.key) == (
        date(2026, 9, 1),
        date(2026, 10, 1),
        "2026年9月",
        "2026-09",
    )
    q = parse("2026-Q3")
    assert (q.start, q.end, q.label, q.days) == (
        date(2026, 7, 1),
        date(2026, 10, 1),
        "2026年第三季度",
        92,
    )
    assert parse("2026q4").end == date(2027, 1, 1)
    y = parse("2026")
    assert (y.start, y.end, y.label) == (date(2026, 1, 1), date(2027, 1, 1), "2026年")
    r = parse("2026-09-01..2026-09-15")
    assert (r.start, r.last_day, r.days, r.kind) == (
        date(2026, 9, 1),
        date(2026, 9, 15),
        15,
        "range",
    )
    assert parse(r.key) == r


def test_previous_periods():
    assert parse("2026-01").previous.key == "2025-12"
    assert parse("2026-Q1").previous.key == "2025-Q4"
    assert parse("2026").previous.key == "2025"
    assert parse("2026-09-16..2026-09-30").previous.key == "2026-09-01..2026-09-15"
    assert parse("2026-12").following.key == "2027-01"
    assert month_of(date(2026, 11, 27)).key == "2026-11"
    assert quarter_of(date(2026, 11, 27)).key == "2026-Q4"


def test_buckets():
    assert [b[2] for b in parse("2026-09").buckets()][:3] == ["9/1", "9/2", "9/3"]
    weeks = parse("2026-Q3").buckets()  # weeks starting on Mondays, the first one partial
    assert weeks[0][:2] == (date(2026, 7, 1), date(2026, 7, 6)) and weeks[-1][1] == date(
        2026, 10, 1
    )
    assert [b[2] for b in parse("2026").buckets()] == [f"{m}月" for m in range(1, 13)]


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26-09", "2026-09-31..2026-10-01",
                                  "2026-10-01..2026-09-01", "", "下个月"])  # fmt: skip
def test_nonsense_is_refused_with_what_is_allowed(text):
    with pytest.raises(PeriodError) as exc:
        parse(text)
    assert "期间" in str(exc.value) or "日期" in str(exc.value) or "月份" in str(exc.value)
