"""Statistical periods: a month (2026-09), a quarter (2026-Q3), a year (2026) or a date range
(2026-09-01..2026-09-15, both days included), each with the period before it for comparison.
Pure Python, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|~|至)\s*(\d{4}-\d{2}-\d{2})$")
MAX_RANGE_DAYS = 3 * 366


class PeriodError(ValueError):
    """A period the operator wrote that means nothing; the message says what is allowed."""


HELP = "期间应为 2026-09（月）、2026-Q3（季度）、2026（年）或 2026-09-01..2026-09-15（日期范围）"


def _month_start(y: int, m: int) -> date:
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return date(y, m, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | year | range
    start: date  # first day
    end: date  # the day after the last

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def key(self) -> str:
        s = self.start
        if self.kind == "month":
            return f"{s.year}-{s.month:02d}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(s.year)
        return f"{s.isoformat()}..{self.last_day.isoformat()}"

    @property
    def label(self) -> str:
        s = self.start
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        if self.kind == "quarter":
            return f"{s.year}年第{QUARTER_NAMES[(s.month - 1) // 3 + 1]}季度"
        if self.kind == "year":
            return f"{s.year}年"
        return f"{s.isoformat()} 至 {self.last_day.isoformat()}"

    @property
    def previous(self) -> Period:
        s = self.start
        if self.kind == "month":
            return Period("month", _month_start(s.year, s.month - 1), s)
        if self.kind == "quarter":
            return Period("quarter", _month_start(s.year, s.month - 3), s)
        if self.kind == "year":
            return Period("year", date(s.year - 1, 1, 1), s)
        return Period("range", s - timedelta(days=self.days), s)

    @property
    def following(self) -> Period:
        s = self.start
        if self.kind == "month":
            return Period("month", self.end, _month_start(s.year, s.month + 2))
        if self.kind == "quarter":
            return Period("quarter", self.end, _month_start(s.year, s.month + 6))
        if self.kind == "year":
            return Period("year", self.end, date(s.year + 2, 1, 1))
        return Period("range", self.end, self.end + timedelta(days=self.days))

    @property
    def comparison_label(self) -> str:
        return {"month": "上月", "quarter": "上季度", "year": "上年"}.get(self.kind, "上一期间")

    @property
    def granularity(self) -> str:
        """How the trend chart divides the period: days, weeks or months."""
        if self.days <= 62:
            return "day"
        if self.days <= 190:
            return "week"
        return "month"

    def buckets(self) -> list[tuple[date, date, str]]:
        """(first day, day after the last, label) of each trend bucket."""
        out = []
        if self.granularity == "day":
            d = self.start
            while d < self.end:
                out.append((d, d + timedelta(days=1), f"{d.month}/{d.day}"))
                d += timedelta(days=1)
        elif self.granularity == "week":
            d = self.start
            while d < self.end:
                nxt = min(d + timedelta(days=7 - d.weekday()), self.end)
                out.append((d, nxt, f"{d.month}/{d.day}"))
                d = nxt
        else:
            d = self.start
            while d < self.end:
                nxt = min(_month_start(d.year, d.month + 1), self.end)
                label = (
                    f"{d.month}月" if self.kind == "year" else f"{d.year % 100:02d}年{d.month}月"
                )
                out.append((d, nxt, label))
                d = nxt
        return out


def parse(text: str) -> Period:
    text = (text or "").strip()
    if m := _MONTH.match(text):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise PeriodError(f"月份「{mo}」无效；{HELP}")
        return Period("month", date(y, mo, 1), _month_start(y, mo + 1))
    if m := _QUARTER.match(text):
        y, q = int(m[1]), int(m[2])
        return Period("quarter", date(y, 3 * q - 2, 1), _month_start(y, 3 * q + 1))
    if m := _YEAR.match(text):
        y = int(m[1])
        if y < 1900:
            raise PeriodError(f"年份「{y}」无效；{HELP}")
        return Period("year", date(y, 1, 1), date(y + 1, 1, 1))
    if m := _RANGE.match(text):
        try:
            a, b = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            raise PeriodError(f"日期无效：「{text}」；{HELP}") from None
        if b < a:
            raise PeriodError(f"结束日期 {b} 早于开始日期 {a}")
        if (b - a).days >= MAX_RANGE_DAYS:
            raise PeriodError("日期范围最长三年")
        return Period("range", a, b + timedelta(days=1))
    raise PeriodError(f"无法识别的期间「{text}」；{HELP}")


def month_of(d: date) -> Period:
    return Period("month", date(d.year, d.month, 1), _month_start(d.year, d.month + 1))


def quarter_of(d: date) -> Period:
    q = (d.month - 1) // 3
    return Period("quarter", date(d.year, 3 * q + 1, 1), _month_start(d.year, 3 * q + 4))
