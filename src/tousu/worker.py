"""`tousu worker`: sweep the clocks, then run queued background tasks; repeat. Not an app: the
loop runs every app's periodic work, and `--keep-running` keeps the loop itself alive."""

import argparse
import logging
import signal
import subprocess
import sys
import time
import uuid

from django.db import DatabaseError, close_old_connections

log = logging.getLogger("tousu.worker")

# Periodic work other apps contribute (webhook deliveries, scheduled reports): dotted paths of
# functions taking no argument, run on every pass after the sweep; a missing app is skipped.
PERIODIC = (
    "tousu.messaging.services.run_due",
    "tousu.webhooks.services.deliver_due",
    "tousu.reports.tasks.tick",
)


def _periodic() -> None:
    import importlib

    for path in PERIODIC:
        module, _, name = path.rpartition(".")
        try:
            job = getattr(importlib.import_module(module), name)
        except (ModuleNotFoundError, AttributeError):
            continue
        try:
            job()
        except Exception:  # one failing job must not stop the sweep or the others
            log.exception("periodic job %s failed", path)


def _run_queued_tasks() -> None:
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"tousu-{uuid.uuid4().hex[:8]}",
        excluded_queue_names=[],
    ).run()


def run(*, once: bool = False, interval: float = 30.0) -> int:
    # Imported here, not above: the command's parser imports this module before Django is set up.
    from tousu.clocks.services import sweep

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    if not once:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    while True:
        try:
            close_old_connections()
            result = sweep()
            if result.warned or result.breached:
                print(f"预警 {result.warned} 项，超时 {result.breached} 项", flush=True)
            _periodic()
            _run_queued_tasks()
        except DatabaseError:
            # The database restarted or is briefly unreachable: a loop worker waits and sweeps again
            # (each warning and breach is still issued once: the sweep's transactions rolled back).
            if once:
                raise
            log.warning("database unavailable; the worker retries in %s s", interval, exc_info=True)
        if once or stopping:
            return 0
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(1.0, interval))


def keep_worker_running(restart_delay: float = 1.0) -> int:
    """`tousu worker --keep-running` (what `serve --with-worker` starts): runs `tousu worker` and
    starts it again when it dies, as systemd's Restart=always would; SIGTERM stops both."""
    from tousu.cli import stop_process

    stopping = False
    child = None

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        child = subprocess.Popen([sys.executable, "-m", "tousu.cli", "worker"])
        code = child.wait()
        if stopping:
            break
        print(f"tousu: 后台任务进程退出（{code}），{restart_delay:g} 秒后重启", file=sys.stderr)
        time.sleep(restart_delay)
    if child:
        stop_process(child)
    return 0


# --- the command --------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    if args.keep_running:
        return keep_worker_running()
    from tousu.cli import setup_django

    setup_django()
    return run(once=args.once, interval=args.interval)


def register(subparsers) -> None:
    s = subparsers.add_parser("worker", help="后台任务：时限预警与超时、通知")
    s.add_argument("--once", action="store_true", help="扫描一次后退出")
    s.add_argument("--interval", type=float, default=30.0, help="扫描间隔（秒）")
    s.add_argument("--keep-running", action="store_true", help="看护：后台任务进程退出后自动重启")
    s.set_defaults(func=cmd_worker)
