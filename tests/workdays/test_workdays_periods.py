"""Hours, working hours, due moments and pause/resume of clocks."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tousu.workdays import (
    SHANGHAI,
    BusinessHours,
    Calendar,
    TimeResult,
    add_hours,
    add_work_hours,
    add_workdays,
    due,
    remaining,
    resume,
    work_hours_between,
)

CAL = Calendar()
settings.register_profile("workdays-periods", max_examples=200, deadline=None)
settings.load_profile("workdays-periods")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# ---- plain and working hours --------------------------------------------------------


def test_add_hours_is_elapsed_time_and_localised():
    assert add_hours(sh(2025, 9, 30, 20), 10) == TimeResult(sh(2025, 10, 1, 6), False)
    # Naive = Shanghai wall time; aware input is converted.
    assert add_hours(datetime(2025, 9, 30, 20), 10).at == sh(2025, 10, 1, 6)
    r = add_hours(datetime(2025, 9, 30, 12, tzinfo=UTC), 1)
    assert r.at == sh(2025, 9, 30, 21) and r.at.tzinfo == SHANGHAI


def test_friday_evening_to_monday_morning():
    # 2025-11-14 is an ordinary Friday; Sat/Sun off.
    assert add_work_hours(sh(2025, 11, 14, 17), 2).at == sh(2025, 11, 17, 9)


def test_lunch_break_start_counts_from_afternoon():
    assert add_work_hours(sh(2025, 11, 14, 12, 30), 1).at == sh(2025, 11, 14, 15)
    assert add_work_hours(sh(2025, 11, 14, 12, 30), 0).at == sh(2025, 11, 14, 14)


def test_across_a_holiday_and_onto_a_makeup_saturday():
    assert add_work_hours(sh(2025, 9, 30, 17), 2).at == sh(2025, 10, 9, 9)
    # Oct 9 + Oct 10 = 16 h, so 1 + 16 + 1 h lands on Saturday Oct 11 (make-up day).
    assert add_work_hours(sh(2025, 9, 30, 17), 18).at == sh(2025, 10, 11, 9)


def test_ends_at_interval_end_not_next_start():
    assert add_work_hours(sh(2025, 11, 14, 10), 2).at == sh(2025, 11, 14, 12)
    assert add_work_hours(sh(2025, 11, 10, 8), 40).at == sh(2025, 11, 14, 18)


def test_start_outside_hours_and_on_rest_days():
    assert add_work_hours(sh(2025, 11, 14, 19), 1).at == sh(2025, 11, 17, 9)
    assert add_work_hours(sh(2025, 11, 15, 10), 1).at == sh(2025, 11, 17, 9)
    assert add_work_hours(sh(2025, 11, 14, 6), 1).at == sh(2025, 11, 14, 9)
    assert add_work_hours(sh(2025, 11, 14, 19), 0).at == sh(2025, 11, 17, 8)


def test_custom_business_hours():
    bh = BusinessHours([(time(9), time(17))])
    assert add_work_hours(sh(2025, 11, 14, 16), 2, bh).at == sh(2025, 11, 17, 10)
    with pytest.raises(ValueError):
        BusinessHours([(time(14), time(18)), (time(8), time(12))])
    with pytest.raises(ValueError):
        BusinessHours([(time(9), time(9))])
    with pytest.raises(ValueError):
        BusinessHours([])


def test_negative_hours_rejected():
    with pytest.raises(ValueError, match="hours >= 0"):
        add_work_hours(sh(2025, 11, 14, 10), -1)


def test_work_hours_reaching_into_estimated_year_is_provisional():
    r = add_work_hours(sh(2026, 12, 31, 17), 2)
    assert r == TimeResult(sh(2027, 1, 4, 9), True)
    assert str(r) == "2027-01-04 09:00 provisional"
    assert not add_work_hours(sh(2026, 12, 31, 10), 2).provisional


# ---- due ------------------------------------------------------------------------------


def test_due_day_units_end_at_midnight():
    start = sh(2025, 9, 30, 10, 15)
    r = due(start, "working_days", 3)
    assert r.at == datetime.combine(date(2025, 10, 11), time.max, SHANGHAI)
    assert r.date_str == "2025-10-11"
    assert str(r) == "2025-10-11 23:59"
    assert due(sh(2025, 9, 24, 9), "calendar_days", 7).at.date() == date(2025, 10, 9)
    assert due(sh(2025, 9, 24, 9), "hours", 24).at == sh(2025, 9, 25, 9)
    assert due(sh(2025, 11, 14, 17), "working_hours", 2).at == sh(2025, 11, 17, 9)


def test_due_uses_shanghai_date_of_start():
    # 2025-09-30 17:00 UTC is already 2025-10-01 01:00 in Shanghai.
    r = due(datetime(2025, 9, 30, 17, tzinfo=UTC), "working_days", 1)
    assert r.at.date() == date(2025, 10, 9)


def test_due_provisional_and_errors():
    r = due(sh(2026, 12, 31, 9), "working_days", 1)
    assert r.provisional and r.date_str == "2027-01-04 provisional"
    with pytest.raises(ValueError, match="unknown unit"):
        due(sh(2025, 1, 2), "weeks", 1)
    with pytest.raises(TypeError):
        due(sh(2025, 1, 2), "working_days", 1.5)


# ---- pause / resume -------------------------------------------------------------------


def test_pause_resume_over_national_day():
    start = sh(2025, 9, 22, 9)  # Monday
    d0 = due(start, "working_days", 7).at  # Sep 23-26, Sun 28 (make-up), 29, 30
    assert d0.date() == date(2025, 9, 30)
    paused = sh(2025, 9, 25, 11)
    left = remaining("working_days", paused, d0)
    assert left == 4  # 26, 28, 29, 30
    resumed = sh(2025, 9, 29, 15)  # 3 working days later: 26, 28, 29
    new = resume("working_days", resumed, left)
    assert new.at.date() == date(2025, 10, 11) == add_workdays(d0.date(), 3).date


def test_pause_resume_over_spring_festival_2026():
    d0 = due(sh(2026, 2, 9, 9), "working_days", 10).at
    # 10-13, 14 (Sat make-up), 15-23 off, 24-27, 28 (Sat make-up)
    assert d0.date() == date(2026, 2, 28)
    paused = sh(2026, 2, 12, 10)
    left = remaining("working_days", paused, d0)
    resumed = datetime.combine(add_workdays(paused.date(), 3).date, time(9), SHANGHAI)
    assert resumed.date() == date(2026, 2, 24)
    new = resume("working_days", resumed, left).at.date()
    assert new == add_workdays(d0.date(), 3).date == date(2026, 3, 4)


def test_overdue_clock_stays_overdue():
    d0 = due(sh(2025, 11, 3, 9), "working_days", 2).at  # Wed 11-05
    left = remaining("working_days", sh(2025, 11, 7, 9), d0)
    assert left == -2
    new = resume("working_days", sh(2025, 11, 12, 9), left)
    assert new.at.date() == date(2025, 11, 10)
    assert remaining("working_days", sh(2025, 11, 12, 9), new.at) == -2
    assert resume("calendar_days", sh(2025, 11, 12, 9), -3).at.date() == date(2025, 11, 9)
    assert resume("hours", sh(2025, 11, 12, 9), -3).at == sh(2025, 11, 12, 6)
    assert resume("working_hours", sh(2025, 11, 17, 9), -2).at == sh(2025, 11, 14, 17)


def test_remaining_units():
    a, b = sh(2025, 11, 14, 17), sh(2025, 11, 17, 9)
    assert remaining("hours", a, b) == 64
    assert remaining("working_hours", a, b) == 2
    assert remaining("working_hours", b, a) == -2
    assert remaining("calendar_days", a, b) == 3
    assert remaining("working_days", a, b) == 1
    with pytest.raises(ValueError, match="unknown unit"):
        remaining("weeks", a, b)


moments = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda t: t.replace(tzinfo=SHANGHAI)
)


@given(moments, st.integers(1, 60), st.integers(0, 60), st.integers(0, 20))
def test_pause_resume_working_days_property(start, n, pause_after, delay):
    d0 = due(start, "working_days", n, calendar=CAL).at
    paused_day = start.date() + timedelta(days=pause_after)
    if paused_day > d0.date():
        paused_day = d0.date()
    paused = datetime.combine(paused_day, time(10), SHANGHAI)
    left = remaining("working_days", paused, d0, calendar=CAL)
    resumed_day = CAL.add_workdays(paused_day, delay).date if delay else paused_day
    new = resume(
        "working_days", datetime.combine(resumed_day, time(15), SHANGHAI), left, calendar=CAL
    )
    assert new.at.date() == CAL.add_workdays(d0.date(), delay).date
    assert new.at.time() == time.max


@given(moments, st.floats(0.01, 300), st.floats(0, 1))
def test_work_hours_round_trip(start, hours, fraction):
    d0 = add_work_hours(start, hours, calendar=CAL).at
    assert work_hours_between(start, d0, calendar=CAL) == pytest.approx(hours, abs=1e-6)
    # Pause somewhere before the due moment, resume at the same moment: same due.
    paused = start + (d0 - start) * fraction
    left = remaining("working_hours", paused, d0, calendar=CAL)
    if left > 0:
        assert resume("working_hours", paused, left, calendar=CAL).at == d0


@given(moments, st.floats(-300, 300))
def test_work_hours_shift_is_inverse_of_between(at, hours):
    new = resume("working_hours", at, hours, calendar=CAL).at
    if hours != 0:
        assert work_hours_between(at, new, calendar=CAL) == pytest.approx(hours, abs=1e-6)


@given(moments, st.floats(0, 100))
def test_work_hours_result_is_inside_business_time_on_working_day(start, hours):
    r = add_work_hours(start, hours, calendar=CAL).at
    assert r >= start
    assert CAL.is_workday(r.date())
    assert time(8) <= r.time() <= time(12) or time(14) <= r.time() <= time(18)
