"""Calendar sources, official 2025/2026 schedules, estimated years and overrides."""

from datetime import date, timedelta

import chinese_calendar
import holidays
import pytest

from tousu.workdays import (
    ESTIMATED,
    OFFICIAL,
    OVERRIDE,
    Calendar,
    DayResult,
    add_days,
    add_workdays,
    parse_schedule,
    workdays_between,
)

MAKEUP_2025 = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"]
MAKEUP_2026 = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_required_examples():
    # Oct 1-8 off, Oct 9 Thu, Oct 10 Fri, Oct 11 Sat make-up day.
    assert add_workdays(d("2025-09-30"), 3) == DayResult(d("2025-10-11"), False)
    assert add_workdays(d("2026-02-13"), 1).date == d("2026-02-14")
    # 2025-10-01 is a holiday: the period rolls to the first working day after the holiday.
    assert add_days(d("2025-09-24"), 7).date == d("2025-10-09")


@pytest.mark.parametrize("day", MAKEUP_2025 + MAKEUP_2026)
def test_makeup_days_are_working_days(day):
    assert d(day).weekday() >= 5
    assert Calendar().is_workday(d(day))


@pytest.mark.parametrize("year", [2025, 2026])
def test_working_days_per_year(year):
    cal = Calendar()
    assert cal.workdays_between(date(year - 1, 12, 31), date(year, 12, 31)) == 248
    assert sum(cal.is_workday(date(year, 1, 1) + timedelta(i)) for i in range(365)) == 248


def test_agrees_with_chinese_calendar_on_all_official_years():
    cal = Calendar()
    day, end = date(2004, 1, 1), date(2026, 12, 31)
    while day <= end:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        assert not cal.is_provisional(day)
        day += timedelta(days=1)


def test_holidays_are_days_off():
    cal = Calendar()
    for day in ["2025-10-01", "2025-10-08", "2026-02-23", "2026-01-02", "2025-01-01"]:
        assert not cal.is_workday(d(day))


def test_n_zero():
    assert add_workdays(d("2025-10-09"), 0).date == d("2025-10-09")
    assert add_workdays(d("2025-10-01"), 0).date == d("2025-10-09")
    assert add_days(d("2025-10-09"), 0).date == d("2025-10-09")


def test_negative_n_rejected():
    with pytest.raises(ValueError, match="n >= 0"):
        add_workdays(d("2025-10-09"), -1)
    with pytest.raises(ValueError, match="n >= 0"):
        add_days(d("2025-10-09"), -1)


def test_workdays_between_is_half_open_and_symmetric():
    assert workdays_between(d("2025-09-30"), d("2025-10-11")) == 3
    assert workdays_between(d("2025-10-11"), d("2025-09-30")) == -3
    assert workdays_between(d("2025-10-01"), d("2025-10-08")) == 0
    assert workdays_between(d("2025-10-09"), d("2025-10-09")) == 0


def test_year_status():
    cal = Calendar(complete_years=[2027])
    assert cal.year_status(2025) == OFFICIAL
    assert cal.year_status(2004) == OFFICIAL
    assert cal.year_status(2026) == OFFICIAL
    assert cal.year_status(2027) == OVERRIDE
    assert cal.year_status(2028) == ESTIMATED
    assert cal.year_status(2003) == ESTIMATED


def test_chinese_calendar_raises_where_we_do_not():
    with pytest.raises(NotImplementedError):
        chinese_calendar.find_workday(1, d("2026-12-31"))
    r = add_workdays(d("2026-12-31"), 1)
    # 2027-01-01 Fri is New Year's Day in the estimate; then the weekend.
    assert r == DayResult(d("2027-01-04"), True)
    assert str(r) == "2027-01-04 provisional"


def test_official_result_is_not_provisional():
    r = add_workdays(d("2026-12-30"), 1)
    assert r == DayResult(d("2026-12-31"), False)
    assert str(r) == "2026-12-31"


def test_estimated_year_avoids_statutory_holidays():
    cal = Calendar()
    guess = {h for h in holidays.China(years=2027) if h.year == 2027}
    assert date(2027, 10, 1) in guess
    day = date(2026, 12, 1)
    for n in range(0, 300):
        r = cal.add_workdays(day, n)
        if r.date.year == 2027:
            assert r.provisional
            assert r.date not in guess
            assert r.date.weekday() < 5  # the estimate has no make-up Saturdays


def test_years_before_2004_are_estimated():
    cal = Calendar()
    assert cal.is_provisional(d("2003-10-01"))
    assert not cal.is_workday(d("2003-10-01"))
    # holidays.China knows this historical make-up Saturday; used when present.
    assert cal.is_workday(d("2003-09-27"))
    r = cal.add_workdays(d("2003-12-30"), 3)
    assert r == DayResult(d("2004-01-05"), True)  # 2003-12-31 Wed, 2004-01-02 Fri, 2004-01-05 Mon
    # Nothing consulted lies in 2003, so this one is firm.
    assert cal.add_workdays(d("2003-12-31"), 1) == DayResult(d("2004-01-02"), False)


def test_far_years_fall_back_to_weekdays():
    cal = Calendar()
    assert cal.year_status(2200) == ESTIMATED
    r = cal.add_workdays(date(2200, 1, 3), 1)  # Friday -> Monday
    assert r == DayResult(date(2200, 1, 6), True)


def test_overrides_win():
    cal = Calendar({d("2025-10-08"): True, d("2025-10-09"): False})
    assert cal.is_workday(d("2025-10-08"))
    assert not cal.is_workday(d("2025-10-09"))
    assert cal.add_workdays(d("2025-09-30"), 1).date == d("2025-10-08")
    assert cal.add_workdays(d("2025-09-30"), 2).date == d("2025-10-10")
    # The default calendar is untouched.
    assert add_workdays(d("2025-09-30"), 1).date == d("2025-10-09")


def test_override_in_estimated_year_is_not_provisional():
    cal = Calendar({d("2027-02-20"): True})
    assert cal.is_workday(d("2027-02-20"))
    assert not cal.is_provisional(d("2027-02-20"))
    assert cal.is_provisional(d("2027-02-22"))


def test_complete_year_from_imported_schedule():
    sched = parse_schedule(
        """
year: 2027
holidays: [2027-01-01, "2027-02-05..2027-02-13", "2027-10-01..2027-10-07"]
workdays: [2027-02-14, 2027-09-26, 2027-10-09]
""",
        "yaml",
    )
    cal = Calendar(sched.overrides(), complete_years=[sched.year])
    assert cal.year_status(2027) == OVERRIDE
    assert cal.is_workday(d("2027-02-14"))  # Sunday make-up day
    assert not cal.is_workday(d("2027-02-12"))
    # holidays.China guesses 2027-05-03 off; the imported schedule does not, so it is a working day.
    assert cal.is_workday(d("2027-05-03"))
    r = cal.add_workdays(d("2027-02-04"), 1)
    assert r == DayResult(d("2027-02-14"), False)
    assert not cal.is_provisional(d("2027-07-01"))
    # Leaving 2027 for the estimated 2028 makes results provisional again.
    assert cal.add_workdays(d("2027-12-31"), 1).provisional


def test_complete_official_year_keeps_official_base():
    cal = Calendar({d("2025-10-10"): False}, complete_years=[2025])
    assert cal.year_status(2025) == OVERRIDE
    assert not cal.is_workday(d("2025-10-01"))
    assert cal.is_workday(d("2025-10-11"))
    assert not cal.is_workday(d("2025-10-10"))


def test_datetime_keys_are_accepted_as_days():
    from datetime import datetime

    cal = Calendar({datetime(2025, 10, 8, 9, 0): True})
    assert cal.is_workday(d("2025-10-08"))
