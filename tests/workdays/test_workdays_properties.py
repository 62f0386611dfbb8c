"""Property tests of the day maths over 2004-2030 (official and estimated years)."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tousu.workdays import Calendar

CAL = Calendar()
days = st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=400)
positive = st.integers(min_value=1, max_value=400)

settings.register_profile("workdays", max_examples=300, deadline=None)
settings.load_profile("workdays")


@given(days, positive)
def test_add_then_count_agree(d, n):
    r = CAL.add_workdays(d, n)
    assert CAL.workdays_between(d, r.date) == n
    assert CAL.workdays_between(r.date, d) == -n


@given(days, counts)
def test_result_is_a_working_day_after_start(d, n):
    r = CAL.add_workdays(d, n)
    assert CAL.is_workday(r.date)
    assert r.date >= d if n == 0 else r.date > d


@given(days, counts, counts)
def test_monotonic_in_n(d, a, b):
    lo, hi = sorted((a, b))
    assert CAL.add_workdays(d, lo).date <= CAL.add_workdays(d, hi).date
    if lo < hi:
        assert CAL.add_workdays(d, lo).date < CAL.add_workdays(d, hi).date


@given(days, days, counts)
def test_monotonic_in_start(a, b, n):
    lo, hi = sorted((a, b))
    assert CAL.add_workdays(lo, n).date <= CAL.add_workdays(hi, n).date


@given(days, counts)
def test_add_days_lands_on_working_day_not_before_end(d, n):
    r = CAL.add_days(d, n)
    assert CAL.is_workday(r.date)
    assert r.date >= d + timedelta(days=n)
    # Only rest days are skipped.
    day = d + timedelta(days=n)
    while day < r.date:
        assert not CAL.is_workday(day)
        day += timedelta(days=1)


@given(days, counts)
def test_provisional_exactly_when_an_estimated_day_is_consulted(d, n):
    r = CAL.add_workdays(d, n)
    first = d if n == 0 else d + timedelta(days=1)
    span = [first + timedelta(i) for i in range((r.date - first).days + 1)]
    assert r.provisional == any(CAL.is_provisional(x) for x in span)


@given(days, days)
def test_between_matches_day_by_day_count(a, b):
    if abs((b - a).days) > 800:
        b = a + timedelta(days=(b - a).days % 800)
    lo, hi = sorted((a, b))
    brute = sum(CAL.is_workday(lo + timedelta(i)) for i in range(1, (hi - lo).days + 1))
    assert CAL.workdays_between(lo, hi) == brute


@given(days, counts)
def test_fresh_calendar_built_from_other_side_agrees(d, n):
    # Tables grow lazily in both directions; results must not depend on the build order.
    fresh = Calendar()
    fresh.is_workday(date(2030, 12, 31))
    assert fresh.add_workdays(d, n) == CAL.add_workdays(d, n)
