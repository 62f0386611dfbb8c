"""Official Chinese working days and deadline maths (Asia/Shanghai). Pure Python, no Django.

Module-level functions use the built-in calendar (official schedule + estimate); pass
``calendar=Calendar(overrides, complete_years)`` to apply administrator overrides.
"""

from .calendar import (
    ESTIMATED,
    OFFICIAL,
    OVERRIDE,
    Calendar,
    DayResult,
    add_days,
    add_workdays,
    default_calendar,
    workdays_between,
)
from .periods import (
    DEFAULT_BUSINESS_HOURS,
    SHANGHAI,
    UNITS,
    BusinessHours,
    TimeResult,
    add_hours,
    add_work_hours,
    due,
    remaining,
    resume,
    to_local,
    work_hours_between,
)
from .schedule import Schedule, ScheduleError, parse_schedule

__all__ = [
    "ESTIMATED",
    "OFFICIAL",
    "OVERRIDE",
    "Calendar",
    "DayResult",
    "add_days",
    "add_workdays",
    "default_calendar",
    "workdays_between",
    "DEFAULT_BUSINESS_HOURS",
    "SHANGHAI",
    "UNITS",
    "BusinessHours",
    "TimeResult",
    "add_hours",
    "add_work_hours",
    "due",
    "remaining",
    "resume",
    "to_local",
    "work_hours_between",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
]
