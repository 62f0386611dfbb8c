"""Intake throughput: complaints registered per second through the service layer, and through HTTP
with 16 concurrent clients, beside a floor measured in the same run: the same server answering a
minimal view that inserts one row. On SQLite, and on PostgreSQL when reachable.

    .venv/bin/python bench/intake.py [--seconds 10] [--clients 16] [--postgres URL|--no-postgres]

Prints figures only; never asserts (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOUSU = str(Path(sys.executable).parent / "tousu")
BODY = json.dumps(
    {
        "channel": "phone",
        "content": "物业服务态度差，电梯坏了三天没人修，多次打电话也没人理。",
        "request": "尽快修好电梯",
        "parties": [{"role": "complainant", "name": "王先生", "phone": "13800001234"}],
    },
    ensure_ascii=False,
).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env, *args) -> str:
    out = subprocess.run([TOUSU, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"tousu {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def prepare(env) -> str:
    run(env, "init", "--template", "generic")
    run(env, "createuser", "bench", "--role", "officer", "--password", "bench-password-1")
    return run(env, "token", "create", "bench")


def service_rate(env, seconds: float) -> float:
    code = f"""
import os, time, django
django.setup()
from tousu.accounts.models import User
from tousu.cases.services import register_complaint
from tousu.processes.selectors import active_process
user = User.objects.get(username="bench"); process = active_process("generic")
n, end = 0, time.perf_counter() + {seconds}
start = time.perf_counter()
while time.perf_counter() < end:
    register_complaint(process=process, user=user, channel="phone", content="电梯坏了三天没人修",
                       parties=[{{"role": "complainant", "name": "王先生", "phone": "13800001234"}}])
    n += 1
print(n / (time.perf_counter() - start))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "tousu.settings"},
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def load(
    port: int, path: str, headers: dict, clients: int, seconds: float
) -> tuple[float, int, int]:
    """`clients` threads with keep-alive connections POST for `seconds`; returns (rate, ok, errors)."""
    ok = errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        nonlocal ok, errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine_ok = mine_err = 0
        while time.perf_counter() < stop:
            try:
                conn.request("POST", path, body=BODY, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 201:
                    mine_ok += 1
                else:
                    mine_err += 1
            except (OSError, http.client.HTTPException):
                mine_err += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            ok += mine_ok
            errors += mine_err

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok / (time.perf_counter() - start), ok, errors


def http_rates(env, token: str, clients: int, seconds: float) -> tuple[tuple, tuple]:
    port = free_port()
    server = subprocess.Popen(
        [TOUSU, "serve", "--port", str(port)],  # the server as deployed: `tousu serve` defaults
        env={**env, "TOUSU_BENCH_FLOOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        json_headers = {"Content-Type": "application/json"}
        load(port, "/bench/floor", json_headers, clients, 1.0)  # warm both workers up
        floor = load(port, "/bench/floor", json_headers, clients, seconds)
        auth = {**json_headers, "Authorization": f"Bearer {token}"}
        load(port, "/api/v1/complaints", auth, clients, 1.0)
        intake = load(port, "/api/v1/complaints", auth, clients, seconds)
        return floor, intake
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def bench(label: str, env: dict, args) -> None:
    token = prepare(env)
    service = service_rate(env, args.seconds)
    floor, intake = http_rates(env, token, args.clients, args.seconds)
    print(f"\n[{label}]")
    print(f"  service layer (1 process)        {service:8.0f} complaints/s")
    print(
        f"  HTTP floor (insert one row)      {floor[0]:8.0f} req/s   ({floor[1]} ok, {floor[2]} errors)"
    )
    print(
        f"  HTTP intake, {args.clients} clients          {intake[0]:8.0f} complaints/s ({intake[1]} ok, {intake[2]} errors)"
    )
    print(f"  intake / floor                   {intake[0] / floor[0]:8.2f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument(
        "--postgres",
        default=os.environ.get(
            "TOUSU_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/tousu_bench"
        ),
    )
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    print(
        f"intake benchmark: {args.clients} clients, {args.seconds:g} s per measurement, {os.cpu_count()} CPUs"
    )

    data = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    try:
        env = {**os.environ, "TOUSU_DATA_DIR": str(data / "sqlite")}
        env.pop("DATABASE_URL", None)
        bench("SQLite (WAL)", env, args)
        if not args.no_postgres:
            import psycopg

            url = args.postgres.rsplit("/", 1)[0] + "/tousu_bench"
            try:
                with psycopg.connect(
                    args.postgres.rsplit("/", 1)[0] + "/postgres", autocommit=True
                ) as conn:
                    conn.execute("DROP DATABASE IF EXISTS tousu_bench")
                    conn.execute("CREATE DATABASE tousu_bench TEMPLATE template0 ENCODING 'UTF8'")
            except psycopg.OperationalError as exc:
                print(f"\n[PostgreSQL] not reachable ({exc.__class__.__name__}); skipped")
                return
            bench(
                "PostgreSQL", {**env, "TOUSU_DATA_DIR": str(data / "pg"), "DATABASE_URL": url}, args
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
