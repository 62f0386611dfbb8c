"""Clock figures: working-day additions per second (pure maths, bench/workdays_math.py) and the time
to sweep 100,000 running clocks on SQLite and PostgreSQL.

    .venv/bin/python bench/workdays.py [--clocks 100000] [--due 1000] [--no-postgres]

The sweep is measured twice: the steady state (100,000 running clocks, none past its warning or
due time: the indexed look-up every worker pass pays) and a pass in which `--due` of them have
breached (each breach writes an event and notifications). Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOUSU = str(Path(sys.executable).parent / "tousu")

SWEEP = r"""
import random, sys, time
from datetime import timedelta
import django
django.setup()
from django.db import connection, transaction
from django.utils import timezone
from tousu.accounts.models import User
from tousu.cases.models import Complaint
from tousu.clocks.models import Clock
from tousu.clocks import services
from tousu.processes.selectors import active_process

N, DUE = int(sys.argv[1]), int(sys.argv[2])
process = active_process("generic")
user = User.objects.get(username="bench")
now = timezone.now()
rng = random.Random(7)
t = time.perf_counter()
with transaction.atomic():
    complaints = Complaint.objects.bulk_create(
        [Complaint(tracking_number=f"B-{i:07d}", access_code_hash="x$y", process=process, state="registered",
                   channel="phone", content="电梯坏了", received_at=now, created_by=user) for i in range(N)],
        batch_size=2000,
    )
    clocks = []
    for i, c in enumerate(complaints):
        due = now - timedelta(minutes=5) if i < DUE else now + timedelta(hours=rng.uniform(5, 30 * 24))
        clocks.append(Clock(complaint=c, name="reply_24h", label="答复时限", basis="F14", unit="hours", amount=24,
                            started_at=now - timedelta(hours=1), due_at=due, warn_at=due - timedelta(hours=4),
                            basis_at=now - timedelta(hours=1), basis_amount=24,
                            warned_at=now if i < DUE else None))
    Clock.objects.bulk_create(clocks, batch_size=2000)
print(f"  set-up: {N:,} cases with running clocks in {time.perf_counter() - t:.1f} s")

services.calendar()
# Steady state: nothing due. `now - 5 h` keeps the DUE clocks (due 5 minutes ago) out of this pass.
t = time.perf_counter()
quiet = services.sweep(now - timedelta(hours=5))
print(f"  sweep {N:,} running clocks, none due:        {(time.perf_counter() - t) * 1000:8.1f} ms "
      f"(warned {quiet.warned}, breached {quiet.breached})")
t = time.perf_counter()
busy = services.sweep(now)
print(f"  sweep {N:,} running clocks, {DUE:,} breaching: {(time.perf_counter() - t) * 1000:8.1f} ms "
      f"(warned {busy.warned}, breached {busy.breached})")
"""


def run(env, *args) -> None:
    out = subprocess.run([TOUSU, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"tousu {' '.join(args)} failed: {out.stderr.strip()}")


def sweep(label: str, env: dict, args) -> None:
    print(f"\n[{label}]", flush=True)
    run(env, "init", "--template", "generic")
    run(env, "createuser", "bench", "--role", "officer", "--password", "bench-password-1")
    subprocess.run(
        [sys.executable, "-c", SWEEP, str(args.clocks), str(args.due)],
        env={**env, "DJANGO_SETTINGS_MODULE": "tousu.settings"},
        check=True,
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clocks", type=int, default=100_000)
    p.add_argument("--due", type=int, default=1_000)
    p.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()

    print("[working-day maths]")
    runpy.run_path(str(HERE / "workdays_math.py"), run_name="__main__")

    data = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    try:
        env = {**os.environ, "TOUSU_DATA_DIR": str(data / "sqlite")}
        env.pop("DATABASE_URL", None)
        sweep("SQLite (WAL)", env, args)
        if not args.no_postgres:
            import psycopg

            try:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute("DROP DATABASE IF EXISTS tousu_bench")
                    conn.execute("CREATE DATABASE tousu_bench TEMPLATE template0 ENCODING 'UTF8'")
            except psycopg.OperationalError as exc:
                print(f"\n[PostgreSQL] not reachable ({exc.__class__.__name__}); skipped")
                return
            url = args.postgres.rsplit("/", 1)[0] + "/tousu_bench"
            sweep(
                "PostgreSQL", {**env, "TOUSU_DATA_DIR": str(data / "pg"), "DATABASE_URL": url}, args
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
