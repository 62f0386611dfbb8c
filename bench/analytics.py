"""Analytics at scale: generate N cases (default 1,000,000), then measure the dashboard's server
time (the view called in-process: SQL, Python, SVG charts and the template; p50/p95 over repeated
requests, cache cleared before each "cold" request), a quarterly report (PDF and xlsx), a month's
export, and what keeping the statistics facts costs each registration. On SQLite, and on
PostgreSQL when reachable.

    .venv/bin/python bench/analytics.py [--cases 1000000] [--template hospital] [--years 3]
        [--requests 20] [--keep DIR] [--postgres URL | --no-postgres] [--no-sqlite]

--keep DIR keeps (and reuses) the generated databases there: generating a million cases takes
minutes. Prints figures only; never asserts (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[max(0, -(-len(xs) * 95 // 100) - 1)]


# --- the measuring child (runs with DATABASE_URL / TOUSU_DATA_DIR of one backend) ----------------


def child(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tousu.settings")
    import django

    django.setup()
    from datetime import date, datetime, timedelta

    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from tousu.accounts.models import Department, User
    from tousu.accounts.services import create_user
    from tousu.cases.models import Complaint
    from tousu.reports import selectors, services
    from tousu.reports.generate import generate
    from tousu.reports.periods import month_of, quarter_of
    from tousu.workdays import SHANGHAI

    out = {"vendor": connection.vendor}
    call_command("migrate", verbosity=0, interactive=False)
    end = datetime(2026, 11, 27, tzinfo=SHANGHAI)
    have = Complaint.objects.count()
    if have < args.cases:
        t = time.perf_counter()

        def progress(done, total):
            rate = done / (time.perf_counter() - t)
            print(f"\r  generated {done:,}/{total:,} ({rate:,.0f}/s)", end="", file=sys.stderr)

        r = generate(
            args.cases - have,
            args.template,
            start=end - timedelta(days=365 * args.years),
            end=end,
            progress=progress,
        )
        print(file=sys.stderr)
        out["generate"] = {
            "cases": r.cases,
            "seconds": round(r.seconds, 1),
            "per_second": round(r.cases / r.seconds),
            "events": r.events,
            "processes": r.processes,
        }
    out["cases"] = Complaint.objects.count()
    if not User.objects.filter(username="bench_leader").exists():
        create_user("bench_leader", roles=["leader"], password="bench-password-1")
    leader = User.objects.get(username="bench_leader")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(leader)

    last_month = month_of(date(2026, 11, 27)).previous  # 2026-10
    periods = {
        "month": last_month.key,
        "quarter": quarter_of(date(2026, 11, 27)).previous.key,  # 2026-Q3
        "year": "2025",
        "this month (running)": month_of(date(2026, 11, 27)).key,
    }
    dept = Department.objects.order_by("pk").first()
    from tousu.reports.models import Snapshot

    Snapshot.objects.all().delete()  # first: everything computed at request time
    timings = {}
    from tousu.reports.periods import parse

    for label, key in periods.items():
        rows = None
        cold, warm, sel = [], [], []
        client.get(f"/staff/reports/?period={key}")  # a running server is warm: not counted
        for _ in range(args.requests):
            cache.clear()
            t = time.perf_counter()
            resp = client.get(f"/staff/reports/?period={key}")
            cold.append(time.perf_counter() - t)
            assert resp.status_code == 200, resp.status_code
        for _ in range(args.requests):
            t = time.perf_counter()
            client.get(f"/staff/reports/?period={key}")
            warm.append(time.perf_counter() - t)
        for _ in range(max(3, args.requests // 4)):
            t = time.perf_counter()
            data = selectors.dashboard(selectors.make_filters(parse(key)), use_cache=False)
            sel.append(time.perf_counter() - t)
            rows = data["k"]["received"]
        timings[label] = {
            "period": key,
            "cases in period": rows,
            "page cold p50": round(statistics.median(cold), 3),
            "page cold p95": round(p95(cold), 3),
            "page cached p95": round(p95(warm), 4),
            "figures only p50": round(statistics.median(sel), 3),
        }
    # One filtered view: a department, the last quarter.
    filtered = []
    for _ in range(args.requests):
        cache.clear()
        t = time.perf_counter()
        client.get(f"/staff/reports/?period={periods['quarter']}&department={dept.pk}")
        filtered.append(time.perf_counter() - t)
    timings[f"quarter, one department ({dept.name})"] = {
        "page cold p50": round(statistics.median(filtered), 3),
        "page cold p95": round(p95(filtered), 3),
    }
    out["dashboard"] = timings

    # Then as with the worker running: organisation-wide standard periods from its snapshots.
    t = time.perf_counter()
    done = services.refresh_snapshots()
    snap = {"worker refresh (6 periods) s": round(time.perf_counter() - t, 2)}
    for label, key in periods.items():
        times = []
        for _ in range(args.requests):
            cache.clear()
            t = time.perf_counter()
            resp = client.get(f"/staff/reports/?period={key}")
            times.append(time.perf_counter() - t)
            assert "后台每 5 分钟更新" in resp.content.decode()
        snap[label] = {
            "page p50": round(statistics.median(times), 3),
            "page p95": round(p95(times), 3),
        }
    del done
    out["dashboard with worker snapshots"] = snap

    reports = {}
    for fmt in ("pdf", "xlsx"):
        t = time.perf_counter()
        report = services.build_report(services.request_report(parse(periods["quarter"]), fmt))
        reports[fmt] = {
            "seconds": round(time.perf_counter() - t, 2),
            "status": report.status,
            "bytes": report.size,
            "file": str(report.path),
        }
    out["quarterly report"] = reports

    # A month's case list, exported by an officer (personal data shown) to xlsx and CSV.
    officer = (
        User.objects.filter(username="bench_officer").first()
        or create_user("bench_officer", roles=["officer"], password="bench-password-1")[0]
    )
    f = selectors.make_filters(parse(periods["month"]))
    exports = {}
    for fmt in ("csv", "xlsx"):
        t = time.perf_counter()
        entry, ids = services.start_export(officer, f, fmt)
        if fmt == "csv":
            size = sum(len(chunk.encode()) for chunk in services.csv_stream(officer, ids))
        else:
            tmp = services.xlsx_file(officer, ids)
            size = tmp.seek(0, 2)
            tmp.close()
        exports[fmt] = {"rows": entry.rows, "seconds": round(time.perf_counter() - t, 2),
                        "bytes": size}  # fmt: skip
    out["export (one month)"] = exports

    # What the statistics receivers add to a registration and to an action.
    out["fact upkeep"] = upkeep(args.template)
    print(json.dumps(out, ensure_ascii=False))


def upkeep(template: str) -> dict:
    from django.db import transaction

    from tousu.accounts.models import User
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint
    from tousu.cases.signals import action_applied, complaint_registered
    from tousu.processes.selectors import active_process
    from tousu.reports import facts

    process = active_process(template)
    user = User.objects.filter(roles__code="officer").first() or User.objects.get(
        username="bench_officer"
    )
    action = process.definition.action("add_note")  # in every template, from any state

    def run(n: int) -> tuple[float, float]:
        reg, act = [], []
        for _ in range(n):
            with transaction.atomic():
                t = time.perf_counter()
                c, _ = register_complaint(
                    process=process,
                    user=user,
                    channel=process.definition.channels[0].value,
                    content="电梯坏了三天没人修",
                    parties=[{"role": "complainant", "name": "王先生", "phone": "13800001234"}],
                )
                reg.append(time.perf_counter() - t)
                if action and "officer" in action.roles:
                    t = time.perf_counter()
                    apply_action(c, user, action.name, data={"note": "备注"}, version=c.version)
                    act.append(time.perf_counter() - t)
                transaction.set_rollback(True)
        return statistics.median(reg) * 1000, (statistics.median(act) * 1000 if act else 0)

    run(20)  # warm up
    with_facts = run(200)
    complaint_registered.disconnect(dispatch_uid="reports.facts.registered")
    action_applied.disconnect(dispatch_uid="reports.facts.action")
    without = run(200)
    facts.connect()
    return {
        "registration ms (with facts / without)": [round(with_facts[0], 2), round(without[0], 2)],
        f"action {action.name if action else '-'} ms (with / without)": [
            round(with_facts[1], 2),
            round(without[1], 2),
        ],
    }


# --- the orchestrating parent ---------------------------------------------------------------------


def run_backend(name: str, env: dict, args) -> dict | None:
    cmd = [PY, __file__, "--child", "--cases", str(args.cases), "--template", args.template,
           "--years", str(args.years), "--requests", str(args.requests)]  # fmt: skip
    print(f"\n[{name}] {args.cases:,} cases ({args.template}, {args.years} years) …", flush=True)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-3000:] if proc.returncode else "")
    if proc.returncode:
        print(f"[{name}] failed ({proc.returncode})")
        return None
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall seconds"] = round(time.perf_counter() - t, 1)
    show(name, result)
    return result


def show(name: str, r: dict) -> None:
    print(f"[{name}] cases in database: {r['cases']:,}")
    if "generate" in r:
        g = r["generate"]
        print(
            f"  generate: {g['cases']:,} cases, {g['events']:,} events in {g['seconds']:,} s "
            f"({g['per_second']:,} cases/s, {g['processes']} processes)"
        )
    print("  dashboard computed at request time (server time, seconds):")
    for label, t in r["dashboard"].items():
        extra = f", {t['cases in period']:,} cases" if "cases in period" in t else ""
        print(f"    {label}{extra}: " + ", ".join(f"{k} {v}" for k, v in t.items()
                                                 if k not in ("period", "cases in period")))  # fmt: skip
    snap = r.get("dashboard with worker snapshots", {})
    if snap:
        print(f"  dashboard from the worker's snapshots (refresh of 6 periods: "
              f"{snap['worker refresh (6 periods) s']} s):")  # fmt: skip
        for label, t in snap.items():
            if isinstance(t, dict):
                print(f"    {label}: " + ", ".join(f"{k} {v}" for k, v in t.items()))
    for fmt, t in r["quarterly report"].items():
        print(
            f"  quarterly report {fmt}: {t['seconds']} s, {t['bytes'] / 1024:,.0f} KB ({t['status']})"
        )
    for fmt, t in r["export (one month)"].items():
        print(
            f"  export {fmt}: {t['rows']:,} rows in {t['seconds']} s ({t['bytes'] / 1048576:.1f} MB)"
        )
    for k, v in r["fact upkeep"].items():
        print(f"  {k}: {v}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--template", default="hospital")
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--keep", help="keep and reuse the generated databases in this directory")
    p.add_argument(
        "--postgres",
        default=os.environ.get(
            "TOUSU_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/tousu_analytics"
        ),
    )
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tousu-analytics-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT / "src")
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; data in {base}")
    if not args.no_sqlite:
        (base / "sqlite").mkdir(parents=True, exist_ok=True)
        run_backend("SQLite", {**env, "TOUSU_DATA_DIR": str(base / "sqlite")}, args)
    if not args.no_postgres:
        try:
            import psycopg

            admin = args.postgres.rsplit("/", 1)[0] + "/postgres"
            db = args.postgres.rsplit("/", 1)[1]
            with psycopg.connect(admin, autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [db]
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{db}"')
        except Exception as exc:
            print(f"\n[PostgreSQL] not reachable ({exc.__class__.__name__}); skipped")
        else:
            (base / "pg").mkdir(parents=True, exist_ok=True)
            run_backend(
                "PostgreSQL",
                {**env, "TOUSU_DATA_DIR": str(base / "pg"), "DATABASE_URL": args.postgres},
                args,
            )


if __name__ == "__main__":
    main()
