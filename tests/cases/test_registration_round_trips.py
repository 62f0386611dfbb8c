"""Registration on PostgreSQL: how many times the client waits for the server (round trips) and how
many statements it sends, for one registration with caches warm; the rows written are the same as
the one-INSERT-per-row path (the SQLite path), numbered from the day's counter, and a failure
anywhere in the transaction leaves nothing, not even a used number."""

from __future__ import annotations

import re

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tousu.cases.models import Complaint, Counter, Event, Party
from tousu.cases.signals import complaint_registered
from tousu.clocks.models import Clock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

READ = psycopg.waiting.Wait.R


class RoundTrips:
    """Counts the times psycopg has to wait for the socket to become readable after it has sent
    something: each is one trip to the server and back."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = psycopg.Connection.wait
        counter = self

        def wait(conn, gen, *args, **kwargs):
            return original(conn, counter._wrap(gen), *args, **kwargs)

        monkeypatch.setattr(psycopg.Connection, "wait", wait)

    def _wrap(self, gen):
        waiting = False
        try:
            state = next(gen)
            while True:
                if state == READ:
                    if not waiting:
                        self.count += 1
                    waiting = True
                else:
                    waiting = False
                ready = yield state
                state = gen.send(ready)
        except StopIteration as stop:
            return stop.value


def test_a_registration_takes_few_round_trips(register, monkeypatch):
    from tousu.triage import services as triage_services

    register()  # warm the caches (organisation, process, calendar)
    # The collective check runs after the registration has committed, outside its transaction
    # (bench/triage.py times it): it is counted apart, and must still be scheduled.
    real_check, after_commit = triage_services.check_collective, []
    monkeypatch.setattr(
        triage_services, "check_collective", lambda c, keys=None: after_commit.append((c, keys))
    )
    trips = RoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as ctx:
        case = register("第二件：产品质量有问题，要求退货")
    monkeypatch.undo()
    assert [c.pk for c, _ in after_commit] == [case.pk]
    real_check(*after_commit[0])  # and it runs
    statements = [q["sql"] for q in ctx.captured_queries]
    print(f"\nround trips: {trips.count}, statements: {len(statements)}")
    for sql in statements:
        print("  ", sql[:110])
    # Before: 21 round trips for 22 statements (BEGIN and COMMIT included). Now 7: the case, its
    # number, parties, event, clocks and search entry in one statement sent with BEGIN; the rest of
    # the transaction pipelined, waiting only for the repeat check (statistics), the opt-out check
    # and the acknowledgement's insert (messaging), then the end of the pipeline and COMMIT. One
    # more allowed for a reply read in two pieces.
    assert trips.count <= 8, statements
    assert case.pk and re.fullmatch(r"[A-Z]+-\d{8}-\d{4}", case.tracking_number)


def test_the_rows_are_those_of_one_insert_each(register):
    first = register("第一件")
    second = register(
        "第二件",
        parties=[
            {"role": "complainant", "name": "张三", "phone": "13812345678"},
            {"role": "respondent", "kind": "organisation", "name": "某某公司"},
        ],
    )
    stem = first.tracking_number.rsplit("-", 1)[0]
    assert second.tracking_number == f"{stem}-{int(first.tracking_number[-4:]) + 1:04d}"
    day = stem.rsplit("-", 1)[1]
    assert Counter.objects.get(key=f"complaint:{day}").value == int(second.tracking_number[-4:])
    stored = Complaint.objects.get(pk=second.pk)
    assert stored.tracking_number == second.tracking_number
    assert stored.next_due_at == second.next_due_at
    assert list(Party.objects.filter(complaint=second).values_list("role", "name")) == [
        ("complainant", "张三"),
        ("respondent", "某某公司"),
    ]
    event = Event.objects.get(complaint=second)
    assert (event.action, event.to_state, event.visibility) == ("created", stored.state, "public")
    assert Clock.objects.filter(complaint=second).count() >= 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM cases_search WHERE complaint_id = %s", [second.pk])
        (body,) = cursor.fetchone()
    assert body.startswith(second.tracking_number + " ")
    from tousu.cases.search import filter_text

    assert list(filter_text(Complaint.objects.all(), second.tracking_number, personal=True)) == [
        stored
    ]


def test_a_counter_beyond_four_digits_keeps_every_digit(register):
    first = register("当天第一件")
    day = first.tracking_number.rsplit("-", 2)[1]
    Counter.objects.filter(key=f"complaint:{day}").update(value=12344)
    assert register("第一万两千三百四十五件").tracking_number.endswith("-12345")


def test_a_failure_in_the_transaction_leaves_nothing(register):
    first = register("先登记一件")
    day = first.tracking_number.rsplit("-", 2)[1]

    def search_rows() -> int:  # a table of its own, not flushed between tests: compare counts
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM cases_search")
            return cursor.fetchone()[0]

    before = (
        Complaint.objects.count(),
        Counter.objects.get(key=f"complaint:{day}").value,
        search_rows(),
    )

    def broken(sender, **kwargs):
        raise RuntimeError("receiver failed")

    complaint_registered.connect(broken, dispatch_uid="test.broken")
    try:
        with pytest.raises(RuntimeError):
            register("这一件不会留下")
    finally:
        complaint_registered.disconnect(dispatch_uid="test.broken")
    after = (
        Complaint.objects.count(),
        Counter.objects.get(key=f"complaint:{day}").value,
        search_rows(),
    )
    assert after == before
    assert not Party.objects.filter(complaint__content="这一件不会留下").exists()


def test_a_database_error_in_a_receiver_leaves_nothing_and_the_connection_works(register):
    first = register("先登记一件")
    count = Complaint.objects.count()

    def bad_sql(sender, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO cases_counter (key, value) VALUES (NULL, 1)")

    complaint_registered.connect(bad_sql, dispatch_uid="test.bad_sql")
    try:
        with pytest.raises(Exception, match="null value"):
            register("这一件不会留下")
    finally:
        complaint_registered.disconnect(dispatch_uid="test.bad_sql")
    assert Complaint.objects.count() == count
    assert register("之后照常登记").tracking_number > first.tracking_number
