"""Deadlines as moments in Asia/Shanghai: hours, working hours, and day periods ending at 24:00.

Naive datetimes are taken as Asia/Shanghai wall time; results are aware, in Asia/Shanghai.
Working-hour maths works on integer microseconds so that pausing and resuming a clock
gives back exactly the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from numbers import Integral
from zoneinfo import ZoneInfo

from .calendar import Calendar, DayResult, default_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNITS = ("hours", "calendar_days", "working_days", "working_hours")

_US_PER_HOUR = 3_600_000_000


def _us_of_day(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


@dataclass(frozen=True)
class BusinessHours:
    """Office hours on working days: sorted, non-overlapping (start, end) local times."""

    intervals: tuple[tuple[time, time], ...] = ((time(8), time(12)), (time(14), time(18)))
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    total_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        intervals = tuple((s, e) for s, e in self.intervals)  # accept any list of pairs
        spans = tuple((_us_of_day(s), _us_of_day(e)) for s, e in intervals)
        if not spans:
            raise ValueError("BusinessHours needs at least one interval")
        prev_end = 0
        for (s, e), (ts, te) in zip(spans, intervals, strict=True):
            if not (prev_end <= s < e):
                raise ValueError(
                    f"business interval {ts}-{te} must be non-empty, sorted and non-overlapping"
                )
            prev_end = e
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "_spans", spans)
        object.__setattr__(self, "total_us", sum(e - s for s, e in spans))

    def elapsed(self, us: int) -> int:
        """Business microseconds in the day before the time-of-day ``us``."""
        return sum(min(max(us - s, 0), e - s) for s, e in self._spans)

    def moment(self, x: int) -> int:
        """Earliest time of day at which ``x`` (0 < x <= total) business microseconds have passed."""
        for s, e in self._spans:
            if x <= e - s:
                return s + x
            x -= e - s
        raise ValueError("more than one day of business time")  # callers keep x <= total_us

    @property
    def first_open(self) -> int:
        return self._spans[0][0]

    def next_open(self, us: int) -> int | None:
        """``us`` if inside an interval, else the next interval start that day (None if none)."""
        for s, e in self._spans:
            if us < e:
                return max(us, s)
        return None


DEFAULT_BUSINESS_HOURS = BusinessHours()


@dataclass(frozen=True, slots=True)
class TimeResult:
    """A computed moment (aware, Asia/Shanghai); ``provisional`` if an estimated day was consulted."""

    at: datetime
    provisional: bool = False

    def __str__(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M") + (" provisional" if self.provisional else "")

    @property
    def date_str(self) -> str:
        """Just the date, for day-unit deadlines (which end at 24:00 of that day)."""
        return self.at.date().isoformat() + (" provisional" if self.provisional else "")


def to_local(dt: datetime) -> datetime:
    """Aware Asia/Shanghai datetime; naive input is taken as Shanghai wall time."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(SHANGHAI)


def _at(day: date, us: int) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI) + timedelta(microseconds=us)


def _end_of(r: DayResult) -> TimeResult:
    # Civil Code art. 203(2): a day period ends at 24:00 of its last day.
    return TimeResult(datetime.combine(r.date, time.max, SHANGHAI), r.provisional)


def _whole(amount, unit: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, Integral):
        raise TypeError(f"{unit} needs a whole number, got {amount!r}")
    return int(amount)


def _calendar(calendar: Calendar | None) -> Calendar:
    return calendar if calendar is not None else default_calendar()


def add_hours(start: datetime, hours: float) -> TimeResult:
    """Plain elapsed hours (never provisional: it does not consult the calendar)."""
    # Go through UTC so the sum is real elapsed time whatever the offset.
    at = (to_local(start).astimezone(UTC) + timedelta(hours=hours)).astimezone(SHANGHAI)
    return TimeResult(at, False)


def add_work_hours(
    start: datetime,
    hours: float,
    business_hours: BusinessHours = DEFAULT_BUSINESS_HOURS,
    *,
    calendar: Calendar | None = None,
) -> TimeResult:
    """Count only business time on working days; outside hours, counting starts at the next interval."""
    if hours < 0:
        raise ValueError(f"add_work_hours needs hours >= 0, got {hours}")
    return _shift_work(start, round(hours * _US_PER_HOUR), business_hours, _calendar(calendar))


def _shift_work(start: datetime, h: int, bh: BusinessHours, cal: Calendar) -> TimeResult:
    """Move ``h`` business microseconds from ``start`` (either sign).

    Business time is a running total F(t); the answer is the earliest t with F(t) = F(start) + h.
    Whole days are skipped with the working-day table, never walked.
    """
    t = to_local(start)
    d = t.date()
    first = cal.add_workdays(d, 0)  # d itself or the next working day
    pos = bh.elapsed(_us_of_day(t.time())) if first.date == d else 0
    if h == 0:
        # Zero time: the next business moment (start itself when inside hours).
        us = bh.next_open(_us_of_day(t.time())) if first.date == d else bh.first_open
        if us is not None:
            return TimeResult(_at(first.date, us), first.provisional)
        nxt = cal.add_workdays(d, 1)
        return TimeResult(_at(nxt.date, bh.first_open), first.provisional or nxt.provisional)
    total = bh.total_us
    x = pos + h
    k = -((-x) // total) - 1  # working days to move so that x - k*total falls in (0, total]
    day = first if k == 0 else cal._nth_workday(first.date, k)
    return TimeResult(_at(day.date, bh.moment(x - k * total)), first.provisional or day.provisional)


def work_hours_between(
    a: datetime,
    b: datetime,
    business_hours: BusinessHours = DEFAULT_BUSINESS_HOURS,
    *,
    calendar: Calendar | None = None,
) -> float:
    """Business hours from a to b (negative if b < a)."""
    cal = _calendar(calendar)
    ta, tb = to_local(a), to_local(b)
    da, db = ta.date(), tb.date()
    # Working days in [da, db) contribute whole days; the two ends contribute partial days.
    days = cal.workdays_between(da - timedelta(days=1), db - timedelta(days=1))
    ea = business_hours.elapsed(_us_of_day(ta.time())) if cal.is_workday(da) else 0
    eb = business_hours.elapsed(_us_of_day(tb.time())) if cal.is_workday(db) else 0
    return (days * business_hours.total_us + eb - ea) / _US_PER_HOUR


def due(
    start: datetime,
    unit: str,
    amount,
    *,
    business_hours: BusinessHours = DEFAULT_BUSINESS_HOURS,
    calendar: Calendar | None = None,
) -> TimeResult:
    """Due moment of a period of ``amount`` ``unit`` starting at ``start``.

    Day units: the starting day is not counted and the period ends at 24:00 of its last day.
    """
    cal = _calendar(calendar)
    if unit == "hours":
        return add_hours(start, amount)
    if unit == "working_hours":
        return add_work_hours(start, amount, business_hours, calendar=cal)
    if unit == "calendar_days":
        return _end_of(cal.add_days(to_local(start).date(), _whole(amount, unit)))
    if unit == "working_days":
        return _end_of(cal.add_workdays(to_local(start).date(), _whole(amount, unit)))
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def remaining(
    unit: str,
    at: datetime,
    due: datetime,
    *,
    business_hours: BusinessHours = DEFAULT_BUSINESS_HOURS,
    calendar: Calendar | None = None,
) -> float | int:
    """Amount of ``unit`` left from ``at`` until ``due`` (negative when overdue)."""
    cal = _calendar(calendar)
    if unit == "hours":
        return (to_local(due) - to_local(at)).total_seconds() / 3600
    if unit == "working_hours":
        return work_hours_between(at, due, business_hours, calendar=cal)
    if unit == "calendar_days":
        return (to_local(due).date() - to_local(at).date()).days
    if unit == "working_days":
        return cal.workdays_between(to_local(at).date(), to_local(due).date())
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def resume(
    unit: str,
    at: datetime,
    remaining: float | int,
    *,
    business_hours: BusinessHours = DEFAULT_BUSINESS_HOURS,
    calendar: Calendar | None = None,
) -> TimeResult:
    """New due moment for a clock resumed at ``at`` with ``remaining`` units left.

    A negative ``remaining`` (paused while overdue) stays overdue by the same amount.
    """
    cal = _calendar(calendar)
    if unit == "hours":
        return add_hours(at, remaining)
    if unit == "working_hours":
        return _shift_work(at, round(remaining * _US_PER_HOUR), business_hours, cal)
    day = to_local(at).date()
    if unit == "calendar_days":
        n = _whole(remaining, unit)
        if n < 0:  # already overdue: keep the count exact, no roll-forward into the past
            return _end_of(
                DayResult(day + timedelta(days=n), cal.is_provisional(day + timedelta(days=n)))
            )
        return _end_of(cal.add_days(day, n))
    if unit == "working_days":
        return _end_of(cal._nth_workday(day, _whole(remaining, unit)))
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
