"""Moments in Beijing time for the flow scenarios' deadline assertions."""

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    """A moment in Beijing time."""
    return datetime(*args, tzinfo=SH)


def end_of(year, month, day) -> datetime:
    """The last moment of a day: a period counted in days ends at 24:00 (民法典 第二百零三条)."""
    return datetime(year, month, day, 23, 59, 59, 999999, tzinfo=SH)
