"""Load with faults (issue #10): bench/load.py's machinery for 60 s — 25 concurrent clients against
`tousu serve --workers 2` and a supervised `tousu worker` on a private PostgreSQL cluster — while one
gunicorn worker is killed with SIGKILL, the `tousu worker` is killed with SIGKILL (and started again,
as systemd would), and PostgreSQL is restarted in immediate mode. Then every answer is reconciled with
the database exactly: each 201 / portal receipt is one complaint, none twice, each action answered 200
is exactly one event with the version it reported, no clock breached twice, every case whole; the
service recovers by itself and no error persists after a fault; the worker goes on sweeping.

PostgreSQL only (it runs in `make test`'s PostgreSQL pass), but it never touches the shared server
named by DATABASE_URL: the cluster is its own (initdb in a temp dir, its own port), removed with its
processes by the fixture's finalizer, also when the test fails.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"
CLIENTS = 25
DURATION = 60.0


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("tousu_bench_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture
def stack(load, request):
    stack = load.Stack(demo=False)  # the demo's 40 cases cost a minute on a busy machine
    request.addfinalizer(stack.close)  # registered first: a failed setup is cleaned up too
    stack.setup()
    return stack


def test_load_with_faults_reconciles_exactly(load, stack):
    report = load.run(stack, clients=CLIENTS, duration=DURATION, faults=True)
    load.print_report(report)  # the figures, in the test's output
    fig, rec = report["figures"]["per_kind"], report["reconciliation"]

    # Exact reconciliation, no unexpected answer, no error outside a fault, no worker crash.
    assert report["problems"] == []

    # All three faults happened, the service recovered from each by itself, nothing persisted.
    faults = {f["kind"]: f for f in report["faults"]}
    assert set(faults) == {
        "gunicorn_worker_kill9",
        "tousu_worker_kill9",
        "postgres_restart_immediate",
    }
    for f in faults.values():
        assert f["recovery_s"] is not None, f
        assert f["errors_after_recovery"] == 0, f
    assert faults["gunicorn_worker_kill9"].get("respawned_s") is not None  # gunicorn replaced it
    assert faults["tousu_worker_kill9"].get("restarted_s") is not None
    assert [e["code"] for e in report["worker_exits"]] == [-9]  # only the kill, no crash
    assert report["errors_outside_fault_windows"]["count"] == 0

    # Some of every kind of request was served (api_events is only read after a lost answer).
    for kind, k in fig.items():
        if kind != "api_events":
            assert k["ok"] > 0, (kind, k)

    c, a = rec["complaints"], rec["actions"]
    assert c["accepted"] == c["stored"] > 0
    assert c["stored_twice"] == c["unanswered_submissions"] == 0
    assert a["answered_200"] > 0
    assert a["events"] == a["answered_200"] + a["answer_lost_applied"]
    assert rec["cases_whole"]["whole"] == rec["cases_whole"]["complaints"]
    # No clock breached twice, and the worker went on sweeping after every fault.
    assert rec["clocks"]["breached"] == rec["clocks"]["breach_events"] > 0
    assert rec["overdue_clocks_not_breached"] == 0
    assert rec["breaches_after_fault"]["postgres_restart_immediate"] > 0
