"""The monthly rollups (reports/rollup.py): kept exact by every write that changes the facts, and
giving the dashboard the figures the facts give.

`rollup.differences_from_facts()` regroups the facts in SQL and lists every rollup row that
disagrees, so each test below checks the incremental upkeep against a recomputation, besides the
hand-counted figures of the `september` data set (test_reports_dashboard.py)."""

from __future__ import annotations

import importlib

import pytest
import time_machine
from reports_helpers import at

from tousu.reports import rollup, selectors
from tousu.reports.models import MonthCases, MonthClocks, MonthHandling
from tousu.reports.periods import parse

pytestmark = pytest.mark.django_db
NOW = at("2026-09-24", "12:00")


def _month(model, month: int, **filters) -> dict:
    """Summed counters of one month's rollup rows."""
    table = next(t for t in rollup.TABLES if t.model is model)
    out = dict.fromkeys(table.values, 0)
    for row in model.objects.filter(month=month, **filters).values(*table.values):
        for k, v in row.items():
            out[k] += v
    return out


def _act(users, c, who, action, when, **data):
    from tousu.cases.engine import apply_action

    with time_machine.travel(when, tick=False):
        return apply_action(c, users[who], action, data=data, version=c.version)[0]


def test_rollup_after_registration_actions_and_reopen(september):
    assert rollup.differences_from_facts() == {}
    sep = _month(MonthCases, 202609)
    # As counted by hand in test_reports_dashboard.py (A–F; G is August).
    assert (sep["received"], sep["closed"]) == (6, 4)
    assert (sep["satisfied"], sep["basically"], sep["dissatisfied"]) == (2, 0, 1)
    assert (sep["reopened"], sep["followed_up"], sep["repeat"], sep["collective"]) == (1, 3, 1, 1)
    assert _month(MonthCases, 202608)["received"] == 1
    # Handling time: C 0, D 1, A 3, B 8 working days.
    hist: dict[int, int] = {}
    for r in MonthHandling.objects.filter(month=202609):
        hist[r.handling_days] = hist.get(r.handling_days, 0) + r.cases
    assert {d: n for d, n in hist.items() if n} == {0: 1, 1: 1, 3: 1, 8: 1}
    # Clocks kept in time and late (overdue is counted when the dashboard is read).
    reply = _month(MonthClocks, 202609, name="reply_24h")
    # B was late in both of its rounds (the second round has a reply clock of its own).
    assert (reply["clocks"], reply["met"], reply["late"]) == (7, 3, 2)
    implement = _month(MonthClocks, 202609, name="implement_5wd")
    assert (implement["clocks"], implement["met"], implement["late"]) == (3, 3, 0)


def test_rollup_after_reassignment(september):
    """A case moved from department to department (category changed on escalation, then the
    leader names another department) leaves the old department's rows and reaches the new."""
    from tousu.accounts.models import Department
    from tousu.cases.services import register_complaint

    process, users, _ = september
    quality = Department.objects.get(code="quality_management").pk
    transport = Department.objects.get(code="storage_transport").pk
    service = Department.objects.get(code="customer_service").pk

    def received(dep):
        return _month(MonthCases, 202609, department_id=dep)["received"]

    before = {d: received(d) for d in (quality, transport, service)}
    with time_machine.travel(at("2026-09-15"), tick=False):
        h, _ = register_complaint(
            process=process, user=users["receiver"], channel="phone", content="包装破损",
            parties=[{"role": "complainant", "name": "孙", "phone": "13800000088"}],
            category="quality", received_at=at("2026-09-15"),
        )  # fmt: skip
    assert received(quality) == before[quality] + 1
    assert rollup.differences_from_facts() == {}
    h = _act(users, h, "officer", "judge_valid", at("2026-09-15", "11:00"))
    h = _act(users, h, "officer", "escalate", at("2026-09-15", "14:00"), category="transport",
             nature="multiple_items", reason="涉及运输")  # fmt: skip
    assert h.department_id == transport
    assert (received(quality), received(transport)) == (before[quality], before[transport] + 1)
    assert rollup.differences_from_facts() == {}
    h = _act(users, h, "leader", "superior_assign", at("2026-09-16"),
             departments=["customer_service"], instruction="客服牵头")  # fmt: skip
    assert h.department_id == service
    assert (received(transport), received(service)) == (before[transport], before[service] + 1)
    assert rollup.differences_from_facts() == {}
    # The dashboard, filtered by department, follows.
    f = selectors.make_filters(parse("2026-09"), department_id=service)
    assert selectors.dashboard(f, now=NOW, use_cache=False)["k"]["received"] == before[service] + 1


def _reply_clocks(now):
    d = selectors.dashboard(selectors.make_filters(parse("2026-09")), now=now, use_cache=False)
    reply = next(c for c in d["clocks"] if c["label"] == "答复时限")
    return reply["met"], reply["late"], reply["overdue"]


def test_rollup_after_clock_extension_and_breach(september):
    """Clocks saved outside an action: an extension (a new due time) and a breach written on the
    clock: the clock facts and the rollups follow."""
    from tousu.clocks.models import Clock
    from tousu.clocks.services import extend
    from tousu.reports.models import ClockFact

    _, users, cases = september
    early = at("2026-09-24", "09:00")
    # E (due 09-15 10:00) and F (due 09-23 10:00) have their reply clocks running, past due.
    assert _reply_clocks(early) == (3, 2, 2)
    with time_machine.travel(at("2026-09-22", "10:05"), tick=False):
        extend(Clock.objects.get(complaint=cases["F"], name="reply_24h"), users["leader"], 24,
               "需要更多时间")  # fmt: skip
    fact = ClockFact.objects.get(complaint_id=cases["F"].pk, name="reply_24h")
    assert fact.due_at == at("2026-09-24", "10:00")
    assert _reply_clocks(early) == (3, 2, 1)  # F is not overdue before 10:00 any more
    assert _reply_clocks(NOW) == (3, 2, 2)
    assert rollup.differences_from_facts() == {}

    clock = Clock.objects.get(complaint=cases["E"], name="reply_24h")
    clock.breached_at = at("2026-09-15", "10:01")
    clock.save()
    assert ClockFact.objects.get(clock_id=clock.pk).late
    assert _month(MonthClocks, 202609, name="reply_24h")["late"] == 3
    assert _reply_clocks(NOW) == (3, 3, 1)  # E: overdue → late
    assert rollup.differences_from_facts() == {}


def test_merged_duplicate_facts_are_refreshed(september):
    """Merging stops the duplicate's running clocks (a bulk update, no signal): triage refreshes
    the duplicate's facts, so its reply clock counts as late, no longer as overdue."""
    from tousu.reports.models import ClockFact
    from tousu.triage.services import merge

    _, users, cases = september
    e, f = cases["E"], cases["F"]
    assert _reply_clocks(NOW) == (3, 2, 2)
    with time_machine.travel(at("2026-09-24", "11:00"), tick=False):
        merge(e, f, users["officer"], note="同一事项")
    fact = ClockFact.objects.get(complaint_id=f.pk, name="reply_24h")
    assert (fact.state, fact.late) == (ClockFact.STOPPED, True)  # stopped after its due time
    assert rollup.differences_from_facts() == {}
    assert _reply_clocks(NOW) == (3, 3, 1)
    assert _month(MonthClocks, 202609, name="reply_24h")["late"] == 3


def _stored() -> dict:
    """Every rollup row that counts something, per table."""
    out = {}
    for table in rollup.TABLES:
        cols = [*rollup.DIMS, *table.keys, *table.values]
        out[table.name] = sorted(
            r for r in table.model.objects.values_list(*cols) if any(r[-len(table.values) :])
        )
    return out


def test_rollup_after_a_full_rebuild(september, capsys):
    """`tousu report --rebuild-facts` recomputes the facts and then the rollups: a damaged rollup
    row is repaired, and the result is what the incremental upkeep had."""
    from tousu.cli import main

    before = _stored()
    assert before[MonthCases._meta.db_table]
    MonthCases.objects.filter(month=202609).update(received=99)
    MonthHandling.objects.all().delete()
    assert rollup.differences_from_facts() != {}
    assert main(["report", "--rebuild-facts"]) == 0
    assert "已重算 7 件" in capsys.readouterr().out
    assert _stored() == before
    assert rollup.differences_from_facts() == {}


def test_the_migration_fills_the_rollups_of_existing_facts(september):
    """An installation upgraded with facts already there: migration 0003 groups them."""
    from django.db import connection

    migration = importlib.import_module("tousu.reports.migrations.0003_month_rollups")
    before = _stored()
    for table in rollup.TABLES:
        table.model.objects.all().delete()

    class Editor:  # what populate() uses of a schema editor
        pass

    editor = Editor()
    editor.connection = connection
    migration.populate(None, editor)
    assert _stored() == before


def test_generated_cases_have_their_rollups(flow_users):
    from datetime import timedelta

    from tousu.demo.bulk import generate
    from tousu.reports.facts import mark_repeats

    flow_users("hospital")
    end = at("2026-10-20", "12:00")
    generate(150, "hospital", seed=3, start=end - timedelta(days=120), end=end, search=False)
    assert _month(MonthCases, 202609)["received"] > 0
    assert rollup.differences_from_facts() == {}
    # mark_repeats recomputes the months whose repeat flags it changes.
    from tousu.reports.models import CaseFact

    case = CaseFact.objects.filter(repeat=True).order_by("received_day").first()
    assert case is not None
    CaseFact.objects.filter(pk=case.pk).update(repeat=False)
    mark_repeats()
    assert CaseFact.objects.get(pk=case.pk).repeat
    assert rollup.differences_from_facts() == {}


PERIODS = [
    "2026-09",  # a month: all from the rollups, the trend's days from the facts
    "2026-Q3",
    "2026",
    "2026-08-10..2026-09-20",  # no whole month: the facts only
    "2026-08-10..2026-10-05",  # a whole month between two pieces
    "2025-09-15..2026-09-30",  # eleven whole months after a piece (drawn by month)
]


@pytest.mark.parametrize("period", PERIODS)
def test_the_rollups_give_the_figures_the_facts_give(september, monkeypatch, period):
    """Every figure, with and without filters, read through the rollups and read from the facts
    alone (no whole month: _split answers with one piece)."""
    from tousu.accounts.models import Department
    from tousu.processes.models import Category

    quality = Department.objects.get(code="quality_management").pk
    cat = Category.objects.get(process_name="generic", code="quality").pk
    # A case of another month and department, and one reassigned, so filters have work to do.
    process, users, _ = september
    from tousu.cases.services import register_complaint

    with time_machine.travel(at("2026-07-20"), tick=False):
        register_complaint(process=process, user=users["receiver"], channel="web",
                           content="七月的投诉", category="service",
                           parties=[{"role": "complainant", "name": "周", "phone": "13800000077"}],
                           received_at=at("2026-07-20"))  # fmt: skip
    keys = ["k", "k_prev", "trend", "by_category", "by_department", "by_channel", "by_process",
            "by_respondent", "by_site", "clocks", "handling", "backlog", "routes", "league",
            "narrative"]  # fmt: skip
    for kw in ({}, {"department_id": quality}, {"category_id": cat}, {"template": "generic"}):
        f = selectors.make_filters(parse(period), **kw)
        with_rollups = selectors.dashboard(f, now=NOW, use_cache=False)
        with monkeypatch.context() as m:
            m.setattr(selectors, "_split", lambda start, end: ([(start, end)], None))
            facts_only = selectors.dashboard(f, now=NOW, use_cache=False)
        for key in keys:
            assert with_rollups[key] == facts_only[key], (period, kw, key)
        assert with_rollups["k"]["received"] >= (1 if not kw or "template" in kw else 0)


def test_whole_months_are_read_from_the_rollups(september):
    """The year reads its months from the rollups (a row changed there shows), a range inside a
    month reads the facts (the same change does not)."""
    MonthCases.objects.filter(month=202609, department_id=0, channel="visit").update(
        received=11
    )  # C: 1 case, now said to be 11

    def received(period):
        f = selectors.make_filters(parse(period))
        return selectors.dashboard(f, now=NOW, use_cache=False)["k"]["received"]

    assert received("2026") == 7 + 10
    assert received("2026-09") == 6 + 10
    assert received("2026-09-01..2026-09-29") == 6
    assert received("2026-08-14..2026-09-30") == 7 + 10  # August 14–31 from the facts


def test_split():
    from datetime import date

    d = date
    assert selectors._split(d(2026, 9, 1), d(2026, 10, 1)) == ([], (202609, 202610))
    assert selectors._split(d(2026, 1, 1), d(2027, 1, 1)) == ([], (202601, 202701))
    assert selectors._split(d(2026, 9, 2), d(2026, 10, 1)) == ([(d(2026, 9, 2), d(2026, 10, 1))],
                                                               None)  # fmt: skip
    assert selectors._split(d(2026, 8, 10), d(2026, 10, 6)) == (
        [(d(2026, 8, 10), d(2026, 9, 1)), (d(2026, 10, 1), d(2026, 10, 6))],
        (202609, 202610),
    )
    assert selectors._split(d(2025, 12, 15), d(2026, 2, 1)) == (
        [(d(2025, 12, 15), d(2026, 1, 1))],
        (202601, 202602),
    )
