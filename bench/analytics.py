"""Analytics at scale: generate N cases (default 1,000,000), then measure the dashboard's server
time (the view called in-process: SQL, Python, SVG charts and the template; p50/p95 over repeated
requests, cache cleared before each "cold" request) for every kind of period the dashboard offers
(a month, a quarter, a year, the running month, a date range across months) with and without a
department filter, a quarterly report (PDF and xlsx), a month's export, and what keeping the
statistics facts and their monthly rollups costs each registration. On SQLite, and on PostgreSQL
when reachable.

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
    from django.db.models import Count
    from django.test import Client

    from tousu.accounts.models import Department, User
    from tousu.accounts.services import create_user
    from tousu.cases.models import Complaint
    from tousu.demo.bulk import generate
    from tousu.reports import selectors, services
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
    # The department with the most cases, and one of its categories: the filters the page offers.
    from tousu.reports.models import CaseFact

    top = (
        CaseFact.objects.values("department_id")
        .exclude(department_id=None)
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    dept = Department.objects.get(pk=top["department_id"])
    cat = (
        CaseFact.objects.filter(department_id=dept.pk)
        .exclude(category_id=None)
        .values_list("category_id", flat=True)
        .first()
    )
    views = [  # (label, period, extra query string)
        *((label, key, "") for label, key in periods.items()),
        ("year, one department", "2025", f"department={dept.pk}"),
        ("quarter, one department", periods["quarter"], f"department={dept.pk}"),
        ("year, one category", "2025", f"category={cat}"),
        ("year, template", "2025", f"template={args.template}"),
        ("date range 2025-01-15..2026-01-14", "2025-01-15..2026-01-14", ""),
        ("date range, one department", "2025-01-15..2026-01-14", f"department={dept.pk}"),
    ]
    from tousu.reports.models import Snapshot

    Snapshot.objects.all().delete()  # first: everything computed at request time
    timings = {}
    from tousu.reports.periods import parse

    def filters_of(key: str, extra: str) -> selectors.Filters:
        kw = dict(part.split("=", 1) for part in extra.split("&") if part)
        return selectors.make_filters(
            parse(key),
            department_id=int(kw["department"]) if "department" in kw else None,
            category_id=int(kw["category"]) if "category" in kw else None,
            template=kw.get("template", ""),
        )

    for label, key, extra in views:
        url = f"/staff/reports/?period={key}" + (f"&{extra}" if extra else "")
        rows = None
        cold, warm, sel = [], [], []
        client.get(url)  # a running server is warm: not counted
        for _ in range(args.requests):
            cache.clear()
            t = time.perf_counter()
            resp = client.get(url)
            cold.append(time.perf_counter() - t)
            assert resp.status_code == 200, resp.status_code
        for _ in range(max(3, args.requests // 4)):
            t = time.perf_counter()
            client.get(url)
            warm.append(time.perf_counter() - t)
        for _ in range(max(3, args.requests // 4)):
            t = time.perf_counter()
            data = selectors.dashboard(filters_of(key, extra), use_cache=False)
            sel.append(time.perf_counter() - t)
            rows = data["k"]["received"]
        timings[label] = {
            "period": key,
            "filter": extra,
            "cases in period": rows,
            "page cold p50": round(statistics.median(cold), 3),
            "page cold p95": round(p95(cold), 3),
            "page cold max": round(max(cold), 3),
            "page cached p95": round(p95(warm), 4),
            "figures only p50": round(statistics.median(sel), 3),
        }
    out["dashboard"] = timings
    out["department"] = dept.name

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
            "file": report.location(),
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

    # The rollups: their size, a full rebuild from the facts, and whether they agree with them.
    from django.db import transaction

    from tousu.reports import rollup

    t = time.perf_counter()
    with transaction.atomic():
        rollup.rebuild()
    out["rollups"] = {
        "rows": {tbl.model.__name__: tbl.model.objects.count() for tbl in rollup.TABLES},
        "full rebuild s": round(time.perf_counter() - t, 1),
        "agree with the facts": rollup.differences_from_facts() == {},
    }
    print(json.dumps(out, ensure_ascii=False))


def upkeep(template: str) -> dict:
    from django.db import transaction

    from tousu.accounts.models import User
    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint
    from tousu.cases.signals import action_applied, complaint_registered
    from tousu.processes.selectors import active_process
    from tousu.reports import facts, rollup

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
    # Interleaved rounds (the machine is shared: load changes over a minute).
    with_rollups, facts_only, without = [], [], []
    apply = rollup.apply
    for _ in range(3):
        with_rollups.append(run(70))
        rollup.apply = lambda cursor, changes: None
        facts_only.append(run(70))
        rollup.apply = apply
        complaint_registered.disconnect(dispatch_uid="reports.facts.registered")
        action_applied.disconnect(dispatch_uid="reports.facts.action")
        without.append(run(70))
        facts.connect()

    def ms(runs, i):
        return round(statistics.median(r[i] for r in runs), 2)

    name = action.name if action else "-"
    return {
        "registration ms (facts+rollups / facts only / no statistics)": [
            ms(with_rollups, 0),
            ms(facts_only, 0),
            ms(without, 0),
        ],
        f"action {name} ms (facts+rollups / facts only / no statistics)": [
            ms(with_rollups, 1),
            ms(facts_only, 1),
            ms(without, 1),
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
    print(f"  dashboard computed at request time (server time, seconds; department: "
          f"{r.get('department', '-')}):")  # fmt: skip
    for label, t in r["dashboard"].items():
        extra = f", {t['cases in period']:,} cases" if "cases in period" in t else ""
        print(f"    {label} [{t.get('period', '')}]{extra}: "
              + ", ".join(f"{k} {v}" for k, v in t.items()
                          if k not in ("period", "filter", "cases in period")))  # fmt: skip
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
    if "rollups" in r:
        ro = r["rollups"]
        print(f"  rollups: {ro['rows']}, full rebuild {ro['full rebuild s']} s, "
              f"agree with the facts: {ro['agree with the facts']}")  # fmt: skip


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
    results: dict[str, dict | None] = {}
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; data in {base}")
    if not args.no_sqlite:
        (base / "sqlite").mkdir(parents=True, exist_ok=True)
        results["SQLite"] = run_backend(
            "SQLite", {**env, "TOUSU_DATA_DIR": str(base / "sqlite")}, args
        )
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
            results["PostgreSQL"] = run_backend(
                "PostgreSQL",
                {**env, "TOUSU_DATA_DIR": str(base / "pg"), "DATABASE_URL": args.postgres},
                args,
            )

    summary(results)


def summary(results: dict) -> None:
    """The dashboard's cold server time per view, the backends side by side."""
    done = {name: r for name, r in results.items() if r}
    if not done:
        return
    names = list(done)
    print("\ndashboard, cold (computed on request), p50 / p95 seconds, target p95: SQLite < 1, "
          "PostgreSQL < 0.5")  # fmt: skip
    print(f"  {'view':44}" + "".join(f"{n:>22}" for n in names))
    labels = list(next(iter(done.values()))["dashboard"])
    for label in labels:
        cells = []
        for n in names:
            t = done[n]["dashboard"].get(label)
            cells.append(f"{t['page cold p50']:.3f} / {t['page cold p95']:.3f}" if t else "-")
        print(f"  {label:44}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
