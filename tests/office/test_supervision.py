"""催办 and 督办: who may, who hears, the chase count, the 督办 clock on the working-day calendar, the
department's answer, the sweep's warning and breach, and the dashboard's figures."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from office_helpers import mails, notes

from tousu import workdays
from tousu.cases.errors import Conflict, Forbidden, Invalid
from tousu.cases.models import Complaint, Event
from tousu.clocks import services as clocks
from tousu.clocks.models import Clock
from tousu.owners import services as owners
from tousu.supervision import selectors, services
from tousu.supervision.models import Supervision

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime(*args, tzinfo=SH)


def _owned(people, dispatched, **kw):
    c = dispatched(**kw)
    owners.assign(c, people["handler_q"], by=people["head_q"])
    return Complaint.objects.get(pk=c.pk)


def test_chase_counts_records_and_tells_the_owner_and_the_head(people, dispatched):
    c = _owned(people, dispatched)
    e1 = services.chase(c, people["officer"], "请今天答复")
    e2 = services.chase(Complaint.objects.get(pk=c.pk), people["leader"])
    c.refresh_from_db()
    assert c.chase_count == 2
    assert (e1.action, e1.label, e1.comment) == ("chased", "催办（第 1 次）", "请今天答复")
    assert e2.label == "催办（第 2 次）"
    for who in ("handler_q", "head_q"):
        assert notes(people[who], c, "chased").count() == 2  # one per chase
        assert mails(people[who], c, "chased").count() == 2
    for who in ("handler_q2", "head_t", "receiver"):
        assert not notes(people[who], c, "chased").exists()


@pytest.mark.parametrize("who", ["handler_q", "head_q", "receiver", "auditor"])
def test_only_the_office_and_leaders_chase(people, dispatched, who):
    c = _owned(people, dispatched)
    with pytest.raises(Forbidden):
        services.chase(c, people[who])
    c.refresh_from_db()
    assert c.chase_count == 0 and not Event.objects.filter(complaint=c, action="chased").exists()


def test_a_closed_case_is_not_chased(people, register, act):
    c = register()
    c = act(c, "receiver", "resolve_on_spot", solution="已退货", satisfaction="satisfied")
    with pytest.raises(Invalid, match="已结案"):
        services.chase(c, people["officer"])


def test_supervision_runs_on_the_working_day_calendar(people, dispatched):
    # Placed on Tuesday 30 September 2025, before the National Day holiday: three working days end
    # on Saturday 11 October, a make-up working day (调休), not on 3 October.
    with time_machine.travel(at(2025, 9, 30, 10), tick=False):
        c = _owned(people, dispatched)
        s = services.place(c, people["leader"], instruction="请三个工作日内办结并回复", workdays=3)
    assert s.clock.name == "supervision" and s.clock.unit == "working_days"
    expected = workdays.resume("working_days", at(2025, 9, 30, 10), 3).at
    assert s.due_at == s.clock.due_at == expected
    assert timezone_date(s.due_at) == "2025-10-11"
    event = Event.objects.get(complaint=c, action="supervised")
    assert event.comment == "请三个工作日内办结并回复" and event.actor == people["leader"]
    for who in ("handler_q", "head_q"):
        assert notes(people[who], c, "supervised").count() == 1
    c.refresh_from_db()
    assert c.next_due_at <= s.due_at  # the case's nearest deadline counts the 督办 too


def timezone_date(value):
    return value.astimezone(SH).date().isoformat()


@pytest.mark.parametrize("who", ["officer", "head_q", "handler_q", "auditor"])
def test_only_leaders_supervise(people, dispatched, who):
    c = _owned(people, dispatched)
    with pytest.raises(Forbidden):
        services.place(c, people[who], instruction="x", workdays=3)
    assert (
        not Supervision.objects.exists() and not Clock.objects.filter(name="supervision").exists()
    )


@pytest.mark.parametrize(
    "instruction, days, message",
    [("", 3, "督办要求"), ("办理", 0, "1 至 60"), ("办理", 61, "1 至 60")],
)
def test_supervision_input_is_checked(people, dispatched, instruction, days, message):
    c = _owned(people, dispatched)
    with pytest.raises(Invalid, match=message):
        services.place(c, people["leader"], instruction=instruction, workdays=days)
    assert not Clock.objects.filter(name="supervision").exists()


def test_one_open_supervision_at_a_time(people, dispatched):
    c = _owned(people, dispatched)
    s = services.place(c, people["leader"], instruction="尽快办理", workdays=2)
    with pytest.raises(Conflict, match="已在督办中"):
        services.place(c, people["leader"], instruction="再督办", workdays=2)
    services.answer(s, people["handler_q"], "已与客户沟通，明天退货")
    again = services.place(
        Complaint.objects.get(pk=c.pk), people["leader"], instruction="跟踪退货", workdays=1
    )
    assert again.state == Supervision.OPEN


def test_the_department_answers_in_time_and_the_leader_hears(people, dispatched):
    c = _owned(people, dispatched)
    s = services.place(c, people["leader"], instruction="请回复处理进展", workdays=3)
    with pytest.raises(Forbidden):
        services.answer(s, people["handler_t"], "不是我们部门")
    with pytest.raises(Forbidden):
        services.answer(s, people["officer"], "代答")
    s = services.answer(s, people["handler_q"], "已查明原因：批次质量问题，已退货")
    assert s.state == Supervision.ANSWERED and s.on_time is True
    s.clock.refresh_from_db()
    assert s.clock.state == Clock.STOPPED and s.clock.breached_at is None
    assert notes(people["leader"], c, "supervised.answered").count() == 1
    with pytest.raises(Conflict):
        services.answer(s, people["head_q"], "再答一次")
    assert Event.objects.filter(complaint=c, action="supervision_answered").count() == 1


def test_the_sweep_warns_and_breaches_a_supervision_once_to_leader_owner_and_head(
    people, dispatched
):
    with time_machine.travel(at(2025, 11, 3, 9), tick=False):  # a Monday
        c = _owned(people, dispatched)
        s = services.place(c, people["leader"], instruction="三日内回复", workdays=3)
    clock = s.clock
    assert clocks.sweep(clock.warn_at).warned == 1
    for who in ("leader", "handler_q", "head_q"):
        assert notes(people[who], c, "supervised.warning").count() == 1
    assert clocks.sweep(clock.due_at + timedelta(minutes=1)).breached == 1
    assert clocks.sweep(clock.due_at + timedelta(days=1)).breached == 0
    for who in ("leader", "handler_q", "head_q"):
        assert notes(people[who], c, "supervised.breached").count() == 1
    s = services.answer(Supervision.objects.get(pk=s.pk), people["head_q"], "迟复：已处理")
    assert s.on_time is False
    assert selectors.figures(_filters(at(2025, 11, 1)))["late"] == 1


def _filters(day, **kw):
    from tousu.reports.periods import parse
    from tousu.reports.selectors import make_filters

    return make_filters(parse(f"{day:%Y-%m}"), **kw)


def test_dashboard_counts_supervisions_and_their_on_time_rate(people, dispatched):
    with time_machine.travel(at(2025, 11, 3, 9), tick=False):
        made = [_owned(people, dispatched) for _ in range(4)]
        placed = [
            services.place(c, people["leader"], instruction="请回复", workdays=2) for c in made
        ]
    with time_machine.travel(at(2025, 11, 4, 9), tick=False):
        services.answer(placed[0], people["handler_q"], "已办")
        services.answer(placed[1], people["handler_q"], "已办")
    with time_machine.travel(at(2025, 11, 10, 9), tick=False):
        services.answer(placed[2], people["handler_q"], "迟复")
        figures = selectors.figures(_filters(at(2025, 11, 1)))
        assert figures == {
            "placed": 4,
            "answered": 3,
            "on_time": 2,
            "late": 1,
            "open": 1,
            "overdue": 1,
            "on_time_rate": 2 / 4,
        }
        # The dashboard shows them; a department filter keeps only that department's cases.
        from tousu.reports.selectors import dashboard

        d = dashboard(_filters(at(2025, 11, 1)), use_cache=False)
        assert d["supervision"]["placed"] == 4
        people_rows = {r["label"]: r for r in d["people"]}
        assert people_rows["王经办"]["held"] == 4
        transport = _filters(at(2025, 11, 1), department_id=people["handler_t"].department_id)
        assert selectors.figures(transport)["placed"] == 0


def test_the_queue_filters_on_supervision(people, dispatched, client):
    from tousu.supervision.selectors import filter_supervised

    a, b = _owned(people, dispatched), _owned(people, dispatched)
    services.place(a, people["leader"], instruction="请回复", workdays=2)
    qs = Complaint.objects.all()
    assert list(filter_supervised(qs, "open")) == [a]
    assert list(filter_supervised(qs, "answered")) == []
    client.force_login(people["officer"])
    page = client.get("/staff/cases/", {"supervision": "open"}).content.decode()
    assert a.tracking_number in page and b.tracking_number not in page
    assert "督办" in page
