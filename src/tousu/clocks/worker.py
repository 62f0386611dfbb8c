"""`tousu worker`: sweep the clocks, then run queued background tasks; repeat."""

import logging
import signal
import time
import uuid

from django.db import DatabaseError, close_old_connections

from .services import sweep

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
