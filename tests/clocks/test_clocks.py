import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from tousu import workdays
from tousu.cases.engine import apply_action
from tousu.cases.errors import Forbidden, Invalid
from tousu.cases.models import Complaint, Event
from tousu.clocks import calendar_admin, services
from tousu.clocks.models import Clock, Notification

SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime(*args, tzinfo=SH)


def act(complaint, user, name, when, **data):
    with time_machine.travel(when, tick=False):
        complaint.refresh_from_db()
        return apply_action(complaint, user, name, data=data, version=complaint.version)[0]


@pytest.mark.django_db
def test_clock_starts_at_receipt_on_the_official_calendar(new_case):
    c = new_case(at(2025, 9, 24, 10))
    clock = Clock.objects.get(complaint=c)
    # 7 working days from the day after receipt, across National Day 2025 and its make-up Sunday.
    assert clock.due_at == at(2025, 10, 10, 23, 59, 59, 999999)
    assert clock.provisional is False
    assert clock.warn_at.date() == date(2025, 10, 8) or clock.warn_at == at(
        2025, 9, 30, 23, 59, 59, 999999
    )


@pytest.mark.django_db
def test_pause_for_three_working_days_moves_the_due_three_working_days(new_case, clockflow):
    _, users = clockflow
    c = new_case(at(2025, 9, 24, 10))
    before = Clock.objects.get(complaint=c).due_at
    c = act(c, users["officer"], "ask_material", at(2025, 9, 26, 10))
    paused = Clock.objects.get(complaint=c)
    assert paused.state == Clock.PAUSED and paused.remaining == 5
    # Three working days later: 09-28 (make-up Sunday), 09-29, 09-30.
    c = act(c, users["officer"], "material_received", at(2025, 9, 30, 10))
    clock = Clock.objects.get(complaint=c)
    assert clock.state == Clock.RUNNING
    assert clock.due_at.date() == workdays.add_workdays(before.date(), 3).date == date(2025, 10, 14)


@pytest.mark.django_db
def test_stop_and_start_follow_the_flow(new_case, clockflow):
    _, users = clockflow
    c = new_case(at(2025, 3, 3, 9))
    c = act(c, users["officer"], "accept", at(2025, 3, 4, 9))
    clocks = {k.name: k for k in Clock.objects.filter(complaint=c)}
    assert clocks["accept_7wd"].state == Clock.STOPPED and clocks["accept_7wd"].met
    assert clocks["conclude_24h"].due_at == at(2025, 3, 5, 9)


@pytest.mark.django_db
def test_extension_within_the_maximum_and_beyond(new_case, clockflow):
    _, users = clockflow
    c = new_case(at(2025, 3, 3, 9))
    clock = Clock.objects.get(complaint=c)
    with pytest.raises(Forbidden):
        services.extend(clock, users["officer"], 1, "需要更多时间")
    with pytest.raises(Invalid, match="理由"):
        services.extend(clock, users["leader"], 1, "  ")
    clock = services.extend(clock, users["leader"], 2, "涉及检测")
    assert clock.due_at.date() == workdays.add_workdays(date(2025, 3, 3), 9).date
    with pytest.raises(Invalid, match="最多可延期 3 个工作日，已延期 2，还可延期 1"):
        services.extend(clock, users["leader"], 2, "再延")
    clock = services.extend(clock, users["leader"], 1, "再延一天")
    assert clock.extended == 3
    assert Event.objects.filter(complaint=c, action="clock_extended").count() == 2


@pytest.mark.django_db(transaction=True)
def test_warning_and_breach_each_once_with_notifications(new_case, clockflow):
    _, users = clockflow
    c = new_case(at(2025, 3, 3, 9))
    clock = Clock.objects.get(complaint=c)
    assert services.sweep(clock.warn_at - timedelta(seconds=1)).warned == 0
    assert services.sweep(clock.warn_at).warned == 1
    assert services.sweep(clock.warn_at + timedelta(hours=1)).warned == 0
    result = services.sweep(clock.due_at + timedelta(seconds=1))
    assert (result.warned, result.breached) == (0, 1)
    assert services.sweep(clock.due_at + timedelta(days=3)).breached == 0
    actions = list(Event.objects.filter(complaint=c).values_list("action", flat=True))
    assert actions.count("clock_warning") == 1 and actions.count("clock_breached") == 1
    assert "escalated" in actions
    kinds = set(Notification.objects.values_list("user__username", "kind"))
    assert ("officer", "clock.breached") in kinds and ("head", "clock.breached") in kinds
    assert ("leader", "clock.escalated") in kinds
    from tousu import worker

    worker.run(once=True)  # the worker sends the outbox's e-mails
    assert any("超时" in m.body for m in mail.outbox)
    assert all(m.to == ["officer@example.org"] for m in mail.outbox)


def _sweep_concurrently(now, workers=2):
    from django.db import connection

    barrier = threading.Barrier(workers)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(services.sweep(now, batch=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_breach_recorded_once_with_two_workers_sweeping_at_once(new_case, backend):
    cases = [new_case(at(2025, 3, 3, 9)) for _ in range(30)]
    results = _sweep_concurrently(at(2025, 4, 1, 9))
    assert sum(r.breached for r in results) == 30
    assert Event.objects.filter(action="clock_breached").count() == 30
    for c in cases:
        assert Event.objects.filter(complaint=c, action="clock_breached").count() == 1
    assert sum(r.breached for r in _sweep_concurrently(at(2025, 4, 2, 9))) == 0


@pytest.mark.django_db
def test_estimated_year_is_provisional_and_an_import_recomputes(new_case, tmp_path):
    c = new_case(at(2026, 12, 28, 9))
    clock = Clock.objects.get(complaint=c)
    assert clock.provisional
    # Estimate: 2027-01-01 off, then Mon 01-04 … Thu 01-07 is the 7th working day.
    assert clock.due_at.date() == date(2027, 1, 7)
    schedule = tmp_path / "2027.yaml"
    schedule.write_text(
        "year: 2027\nholidays: ['2027-01-01..2027-01-04']\nworkdays: []\n", encoding="utf-8"
    )
    message = calendar_admin.import_schedule_file(str(schedule))
    assert "重算了 1 个暂定时限" in message
    clock.refresh_from_db()
    assert clock.due_at.date() == date(2027, 1, 8) and not clock.provisional
    event = Event.objects.get(complaint=c, action="clock_recomputed")
    assert event.payload["old_due"].startswith("2027-01-07") and event.payload[
        "new_due"
    ].startswith("2027-01-08")
    # A second import of the same schedule changes nothing.
    assert "重算了 0 个" in calendar_admin.import_schedule_file(str(schedule))


@pytest.mark.django_db
def test_estimated_dates_never_fall_on_a_statutory_holiday(new_case):
    import holidays

    off = holidays.China(years=[2027, 2028])
    for day in range(1, 28, 3):
        c = new_case(at(2027, 9, day, 10))
        due = Clock.objects.get(complaint=c).due_at.date()
        assert due not in off and due.weekday() < 5


@pytest.mark.django_db
def test_overrides_win(new_case):
    from tousu.clocks.models import CalendarOverride

    CalendarOverride.objects.create(date=date(2025, 3, 4), is_workday=False, note="临时停工")
    services.invalidate_calendar()
    c = new_case(at(2025, 3, 3, 9))
    assert Clock.objects.get(complaint=c).due_at.date() == date(2025, 3, 13)
    services.invalidate_calendar()


@pytest.mark.django_db
def test_case_unaffected_when_extension_refused(new_case, clockflow):
    _, users = clockflow
    c = new_case(at(2025, 3, 3, 9))
    clock = Clock.objects.get(complaint=c)
    due = clock.due_at
    with pytest.raises(Invalid):
        services.extend(clock, users["leader"], 10, "太多")
    clock.refresh_from_db()
    assert clock.due_at == due and clock.extended == 0
    assert not Complaint.objects.get(pk=c.pk).flags


@pytest.mark.django_db
def test_case_keeps_its_nearest_running_due(new_case, clockflow):
    _, users = clockflow
    c = new_case(at(2025, 3, 3, 9))
    clock = Clock.objects.get(complaint=c)
    c.refresh_from_db()
    assert c.next_due_at == clock.due_at
    c = act(c, users["officer"], "ask_material", at(2025, 3, 4, 9))
    c.refresh_from_db()
    assert c.next_due_at is None  # paused: nothing is running
    c = act(c, users["officer"], "material_received", at(2025, 3, 6, 9))
    clock.refresh_from_db()
    c.refresh_from_db()
    assert c.next_due_at == clock.due_at
    services.extend(clock, users["leader"], 1, "检测")
    clock.refresh_from_db()
    c.refresh_from_db()
    assert c.next_due_at == clock.due_at
    c = act(c, users["officer"], "accept", at(2025, 3, 7, 9))
    c.refresh_from_db()
    assert c.next_due_at == Clock.objects.get(complaint=c, name="conclude_24h").due_at
