"""Clocks that no definition names: a person's deadline (督办) or one an incoming work order carries."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tousu.clocks.models import Clock
from tousu.clocks.services import start_clock

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def case(new_case):
    return new_case(datetime(2026, 9, 29, 9, 0, tzinfo=SH))


def test_a_fixed_due_time_is_kept_exactly(case):
    at = datetime(2026, 9, 30, 10, 0, tzinfo=SH)
    due = datetime(2026, 10, 9, 17, 30, tzinfo=SH)
    clock = start_clock(
        case, name="hotline", label="12345 办理时限", basis="工单", at=at, due_at=due
    )
    clock.refresh_from_db()
    assert clock.due_at == due and clock.unit == "hours"
    case.refresh_from_db()
    assert case.next_due_at <= due


def test_working_days_are_counted_on_the_official_calendar(case):
    # 2026-09-30 (Wed) + 3 working days: the National Day holiday (10-01 … 10-07) is skipped and
    # Saturday 10-10 is a make-up working day (调休): 10-08, 10-09, 10-10.
    at = datetime(2026, 9, 30, 10, 0, tzinfo=SH)
    clock = start_clock(
        case,
        name="supervision",
        label="督办时限",
        basis="领导督办",
        at=at,
        unit="working_days",
        amount=3,
    )
    assert clock.due_at.astimezone(SH).date().isoformat() == "2026-10-10"
    assert Clock.objects.filter(complaint=case, name="supervision").count() == 1


def test_amount_and_due_time_are_exclusive(case):
    at = datetime(2026, 9, 30, 10, 0, tzinfo=SH)
    with pytest.raises(ValueError):
        start_clock(case, name="x", label="x", basis="x", at=at)
