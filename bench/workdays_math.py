"""Throughput of tousu.workdays: working-day additions and working-hour additions per second.

Run: PYTHONPATH=src .venv/bin/python bench/workdays_math.py
"""

import random
import time
from datetime import date, datetime, timedelta

from tousu.workdays import Calendar, add_work_hours

N = 200_000
rng = random.Random(20250930)
lo, hi = date(2004, 1, 1).toordinal(), date(2030, 12, 31).toordinal()
days = [date.fromordinal(rng.randint(lo, hi)) for _ in range(N)]
counts = [rng.randint(1, 60) for _ in range(N)]
starts = [
    datetime.combine(d, datetime.min.time()) + timedelta(minutes=rng.randrange(24 * 60))
    for d in days
]
hours = [rng.uniform(0.5, 200.0) for _ in range(N)]

cal = Calendar()
t0 = time.perf_counter()
cal.add_workdays(days[0], 1)
cal.add_workdays(date(2004, 1, 1), 1)
cal.add_workdays(date(2030, 12, 31), 1)
print(f"table build 2004-2030 (first calls): {(time.perf_counter() - t0) * 1000:.1f} ms")


def rate(fn, label):
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    print(f"{label}: {N / dt:,.0f} per second ({dt * 1e6 / N:.2f} us each)")


add = cal.add_workdays
rate(lambda: [add(d, n) for d, n in zip(days, counts, strict=True)], "add_workdays")
between = cal.workdays_between
ends = [d + timedelta(days=n) for d, n in zip(days, counts, strict=True)]
rate(lambda: [between(a, b) for a, b in zip(days, ends, strict=True)], "workdays_between")
rate(
    lambda: [add_work_hours(s, h, calendar=cal) for s, h in zip(starts, hours, strict=True)],
    "add_work_hours",
)
