"""The official Chinese working-day calendar and day-count maths.

Day periods follow the Civil Code: the starting day is not counted (art. 201) and a
period whose last day is a rest day ends on the next working day (art. 203).

Where a day's status comes from, highest priority first:
  1. administrator overrides (True = working day, False = day off);
  2. the official State Council schedule shipped in ``chinese_calendar`` (2004-2026 in 1.11.0);
  3. otherwise an ESTIMATE: statutory holidays per ``holidays.China`` plus Mon-Fri.
Results that depend on an estimated day are flagged ``provisional``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import accumulate
from typing import NamedTuple

import chinese_calendar
import holidays as holidays_lib

OFFICIAL = "official"
OVERRIDE = "override"
ESTIMATED = "estimated"

_MIN_ORD = date.min.toordinal()
_MAX_ORD = date.max.toordinal()


@dataclass(frozen=True, slots=True)
class DayResult:
    """A computed day; ``provisional`` if any day consulted lies in an estimated year."""

    date: date
    provisional: bool = False

    def __str__(self) -> str:
        return self.date.isoformat() + (" provisional" if self.provisional else "")


class _Table(NamedTuple):
    """Contiguous run of whole years, indexed by ``ordinal - base``.

    ``cum[k]`` = working days among indices [0, k); ``pcum[k]`` = provisional days among them.
    """

    base: int  # ordinal of 1 January of the first year
    end: int  # ordinal just past 31 December of the last year
    first_year: int
    last_year: int
    cum: list[int]
    pcum: list[int]


@cache
def _official_covers(year: int) -> bool:
    # chinese_calendar raises NotImplementedError outside its data range; ask once per year.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _year_days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(i) for i in range((date(year, 12, 31) - first).days + 1)]


def _official_flags(days: list[date]) -> list[bool]:
    # Same rule as chinese_calendar.is_workday, read from its exported tables: is_workday
    # re-validates the year on every call (~50 us), which made a year cost ~20 ms.
    off, makeup = chinese_calendar.holidays, chinese_calendar.workdays
    return [d in makeup or (d.weekday() < 5 and d not in off) for d in days]


def _weekday_flags(days: list[date]) -> list[bool]:
    return [d.weekday() < 5 for d in days]


def _estimated_flags(year: int, days: list[date]) -> list[bool]:
    try:
        h = holidays_lib.China(years=year)
        # Iterate only this year's entries: `d in h` would silently expand to other years.
        off = {d for d in h if d.year == year}
        # Non-empty only for historical years the library knows (e.g. 2002-2003); never for future ones.
        makeup = {d for d in getattr(h, "weekend_workdays", ()) if d.year == year}
    except Exception:  # a gap in the guess must never break deadline maths
        off, makeup = set(), set()
    return [d not in off and (d.weekday() < 5 or d in makeup) for d in days]


class Calendar:
    """Working-day calendar; immutable after construction (build a new one when overrides change).

    Per-year tables are computed lazily and cached, so construction is cheap.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        complete_years: Iterable[int] = (),
    ) -> None:
        by_year: dict[int, dict[int, bool]] = {}
        for d, working in (overrides or {}).items():
            by_year.setdefault(d.year, {})[d.toordinal()] = bool(working)
        self._overrides = by_year
        self._complete_years = frozenset(int(y) for y in complete_years)
        self._years: dict[int, tuple[bytes, bytes]] = {}
        self._table: _Table | None = None
        self._lock = threading.Lock()

    # ---- status of single days -------------------------------------------------------

    def year_status(self, year: int) -> str:
        """Where the year comes from: "override" (administrator imported a full schedule),
        "official" (chinese_calendar) or "estimated"."""
        if year in self._complete_years:
            return OVERRIDE
        if _official_covers(year):
            return OFFICIAL
        return ESTIMATED

    def is_workday(self, d: date) -> bool:
        t, i = self._locate(d.toordinal())
        return t.cum[i + 1] != t.cum[i]

    def is_provisional(self, d: date) -> bool:
        """True if d's year is estimated and no override fixes d."""
        t, i = self._locate(d.toordinal())
        return t.pcum[i + 1] != t.pcum[i]

    # ---- day periods --------------------------------------------------------------------

    def add_workdays(self, d: date, n: int) -> DayResult:
        """The n-th working day after d; n == 0 gives d itself or the next working day."""
        if n < 0:
            raise ValueError(f"add_workdays needs n >= 0, got {n}")
        return self._nth_workday(d, n)

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (symmetric) when b < a."""
        oa, ob = a.toordinal(), b.toordinal()
        t = self._cover(min(oa, ob), max(oa, ob))
        return t.cum[ob - t.base + 1] - t.cum[oa - t.base + 1]

    def add_days(self, d: date, n: int) -> DayResult:
        """Calendar-day period: d + n, moved to the next working day if that is a rest day."""
        if n < 0:
            raise ValueError(f"add_days needs n >= 0, got {n}")
        # Only the last day and the roll-forward are consulted, so provisional follows them.
        return self._nth_workday(d + timedelta(days=n), 0)

    # ---- internals ----------------------------------------------------------------------

    def _nth_workday(self, d: date, n: int) -> DayResult:
        """n >= 1: n-th working day after d.  n == 0: d if working, else the next one.
        n < 0: the working day r before d with exactly -n working days in (r, d],
        i.e. the inverse of workdays_between (used to resume overdue clocks).
        """
        o = d.toordinal()
        t, i = self._locate(o)
        if n >= 0:
            reach = 2 * n + 400  # generous: every year has ~250 working days
            while True:
                s = i + 1 if n else i
                target = t.cum[s] + (n or 1)
                if target <= t.cum[-1]:
                    break
                if t.end > _MAX_ORD:
                    raise OverflowError("result is beyond the last representable date")
                t = self._cover(o, min(t.end + reach, _MAX_ORD))
                i = o - t.base
                reach *= 2
            j = bisect_left(t.cum, target, s)  # cum jumps at j, so index j-1 is the working day
            return DayResult(date.fromordinal(t.base + j - 1), t.pcum[j] > t.pcum[s])
        reach = -2 * n + 400
        while True:
            target = t.cum[i + 1] + n
            if target >= 1:
                break
            if t.base <= _MIN_ORD:
                raise OverflowError("result is before the first representable date")
            t = self._cover(max(t.base - reach, _MIN_ORD), o)
            i = o - t.base
            reach *= 2
        j = bisect_left(t.cum, target)
        return DayResult(date.fromordinal(t.base + j - 1), t.pcum[i + 1] > t.pcum[j - 1])

    def _locate(self, o: int) -> tuple[_Table, int]:
        t = self._table
        if t is None or not (t.base <= o < t.end):
            t = self._cover(o, o)
        return t, o - t.base

    def _cover(self, lo: int, hi: int) -> _Table:
        """A table covering ordinals lo..hi, extending (and swapping in) the cached one if needed."""
        t = self._table
        if t is not None and t.base <= lo and hi < t.end:
            return t
        with self._lock:
            t = self._table
            first = date.fromordinal(lo).year
            last = date.fromordinal(hi).year
            if t is not None:
                if t.base <= lo and hi < t.end:
                    return t
                # Stay contiguous so one prefix sum answers any span.
                first, last = min(first, t.first_year), max(last, t.last_year)
            parts = [self._year(y) for y in range(first, last + 1)]
            work = b"".join(p[0] for p in parts)
            prov = b"".join(p[1] for p in parts)
            base = date(first, 1, 1).toordinal()
            t = _Table(
                base=base,
                end=base + len(work),
                first_year=first,
                last_year=last,
                cum=[0, *accumulate(work)],
                pcum=[0, *accumulate(prov)],
            )
            # Single attribute swap: readers see either the old or the new table, both valid.
            self._table = t
            return t

    def _year(self, year: int) -> tuple[bytes, bytes]:
        """(working-day flags, provisional flags) for every day of the year; cached."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        days = _year_days(year)
        status = self.year_status(year)
        if status == ESTIMATED:
            flags = _estimated_flags(year, days)
        elif _official_covers(year):
            flags = _official_flags(days)
        else:
            # A complete imported schedule lists every holiday and make-up day;
            # all other days follow the plain Mon-Fri week.
            flags = _weekday_flags(days)
        ov = self._overrides.get(year, {})
        work = bytes(ov.get(d.toordinal(), f) for d, f in zip(days, flags, strict=True))
        estimated = status == ESTIMATED
        prov = bytes(estimated and d.toordinal() not in ov for d in days)
        self._years[year] = (work, prov)
        return work, prov


# The built-in calendar (official schedule + estimate, no overrides) behind the module functions.
_DEFAULT = Calendar()


def default_calendar() -> Calendar:
    return _DEFAULT


def add_workdays(d: date, n: int, *, calendar: Calendar | None = None) -> DayResult:
    return (calendar or _DEFAULT).add_workdays(d, n)


def workdays_between(a: date, b: date, *, calendar: Calendar | None = None) -> int:
    return (calendar or _DEFAULT).workdays_between(a, b)


def add_days(d: date, n: int, *, calendar: Calendar | None = None) -> DayResult:
    return (calendar or _DEFAULT).add_days(d, n)
