"""The read replica: reports, exports and the dashboard read from it while it is fresh; the primary
answers when it lags beyond the bound or cannot be reached, when nothing asked for the replica,
and inside a transaction on the primary; writes and migrations never go there."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, override_settings

from tousu.db import replica
from tousu.db.replica import ReplicaHealth, ReplicaRouter, reading_from_replica, replica_reads
from tousu.settings import databases


class FakeLag:
    """A replica whose lag the test sets, and a clock the test moves."""

    def __init__(self, lag=0.0):
        self.lag, self.now, self.calls = lag, 1000.0, 0

    def measure(self):
        self.calls += 1
        if isinstance(self.lag, Exception):
            raise self.lag
        return self.lag

    def clock(self):
        return self.now


@pytest.fixture
def fake(monkeypatch):
    lag = FakeLag()
    replica.set_health(ReplicaHealth(max_lag=10, every=5, measure=lag.measure, clock=lag.clock))
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    yield lag
    replica.set_health(None)


def test_health_is_checked_at_most_every_few_seconds():
    lag = FakeLag(2.0)
    health = ReplicaHealth(max_lag=10, every=5, measure=lag.measure, clock=lag.clock)
    assert health.fresh() and lag.calls == 1
    lag.now += 4.9
    lag.lag = 60.0  # falls behind, but the last answer still stands for five seconds
    assert health.fresh() and lag.calls == 1
    lag.now += 0.2
    assert not health.fresh() and lag.calls == 2 and health.lag == 60.0
    lag.now += 5
    lag.lag = 10.0  # exactly the bound is still fresh
    assert health.fresh() and lag.calls == 3


def test_an_unreachable_replica_is_not_fresh_until_it_answers():
    lag = FakeLag(OSError("connection refused"))
    health = ReplicaHealth(max_lag=10, every=5, measure=lag.measure, clock=lag.clock)
    assert not health.fresh() and health.lag is None
    lag.lag, lag.now = 0.5, lag.now + 5
    assert health.fresh()


# Transactional: a test wrapped in a transaction would (rightly) read everything from the primary.
@pytest.mark.django_db(transaction=True)
def test_router_decisions(fake):
    router = ReplicaRouter()
    from tousu.cases.models import Complaint

    assert router.db_for_read(Complaint) == "default"  # nobody asked for the replica
    with reading_from_replica():
        assert router.db_for_read(Complaint) == "replica"
        assert router.db_for_write(Complaint) == "default"
        with transaction.atomic():  # a transaction on the primary reads its own writes
            assert router.db_for_read(Complaint) == "default"
        fake.lag, fake.now = 11.0, fake.now + 5
        assert router.db_for_read(Complaint) == "default"  # lags beyond the bound
        fake.lag, fake.now = 0.0, fake.now + 5
        assert router.db_for_read(Complaint) == "replica"  # caught up
    assert router.db_for_read(Complaint) == "default"
    assert router.allow_migrate("default", "cases") and not router.allow_migrate("replica", "cases")


def test_without_a_replica_everything_reads_from_the_primary():
    replica.set_health(ReplicaHealth(max_lag=10, every=5, measure=lambda: 0.0))
    try:
        with reading_from_replica():
            assert ReplicaRouter().db_for_read(None) == "default"  # no "replica" database
    finally:
        replica.set_health(None)


def test_the_decorator_marks_the_view_and_its_streamed_body():
    seen = []

    @replica_reads
    def page(request):
        seen.append(replica._wanted.get())
        return HttpResponse("x")

    @replica_reads
    def stream(request):
        def rows():
            for i in range(2):
                seen.append(replica._wanted.get())
                yield f"{i}\n"

        return StreamingHttpResponse(rows())

    page(None)
    response = stream(None)
    assert not replica._wanted.get()
    assert b"".join(response.streaming_content) == b"0\n1\n"
    assert seen == [True, True, True]


class Recorder(ReplicaRouter):
    """What the router would decide, recorded; the reads themselves stay on the test database."""

    decisions: list[tuple[str, str]] = []

    def db_for_read(self, model, **hints):
        Recorder.decisions.append((model._meta.label, super().db_for_read(model, **hints)))
        return "default"


@pytest.mark.django_db(transaction=True)
def test_dashboard_and_export_read_from_the_replica_and_the_workbench_does_not(
    fake, staff, register
):
    register()
    client = Client()
    client.force_login(staff["officer"])
    with override_settings(DATABASE_ROUTERS=[f"{__name__}.Recorder"]):
        Recorder.decisions = []
        assert client.get("/staff/reports/?period=2026").status_code == 200
        dashboard = Recorder.decisions
        Recorder.decisions = []
        response = client.get("/staff/reports/export.csv?period=2026")
        assert response.status_code == 200
        b"".join(response.streaming_content)
        export = Recorder.decisions
        Recorder.decisions = []
        assert client.get("/staff/").status_code == 200
        workbench = Recorder.decisions
    # The session and the user are read before the view, from the primary.
    assert ("sessions.Session", "default") in dashboard
    assert any(db == "replica" for _, db in dashboard)
    assert ("cases.Complaint", "replica") in export or ("cases.Party", "replica") in export
    assert workbench and all(db == "default" for _, db in workbench)


def test_settings_add_the_replica_only_when_asked(tmp_path):
    dbs, routers = databases({}, tmp_path)
    assert list(dbs) == ["default"] and routers == []
    env = {
        "DATABASE_URL": "postgres://tousu@db1:5432/tousu",
        "DATABASE_REPLICA_URL": "postgres://tousu_ro@db2:5432/tousu",
    }
    dbs, routers = databases(env, tmp_path)
    assert dbs["replica"]["HOST"] == "db2" and dbs["default"]["HOST"] == "db1"
    assert dbs["replica"]["TEST"] == {"MIRROR": "default"}
    assert routers == ["tousu.db.replica.ReplicaRouter"]
    with pytest.raises(ValueError, match="PostgreSQL"):
        databases({"DATABASE_REPLICA_URL": env["DATABASE_REPLICA_URL"]}, tmp_path)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_lag_query_runs_on_postgresql():
    # On a server that is not a standby the lag is 0 (a promoted replica is as fresh as a primary).
    assert connection.vendor == "postgresql"
    assert replica.measure_lag("default") == 0.0
