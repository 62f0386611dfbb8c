"""Analytics in the background.

The worker (tousu/worker.py) calls `tick()` on every pass (its PERIODIC list), before it runs the
queued tasks; tasks call services, never the reverse:

- after a month or a quarter has ended (from 06:00 of the next day) it creates that period's
  scheduled PDF and xlsx reports, once (a unique constraint, so several workers agree), and queues
  `build_report_task` for each;
- every SNAPSHOT_EVERY it queues `refresh_snapshots_task`, which recomputes the dashboard's
  organisation-wide figures for this and last month, quarter and year (services.refresh_snapshots).

Set TOUSU_REPORT_EMAIL=1 (environment) or settings.TOUSU_REPORT_EMAIL = True to mail the PDF to the
leaders.
"""

from __future__ import annotations

import os
import time as clock
from datetime import datetime, time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from tousu.workdays import SHANGHAI

from .models import Report
from .periods import Period, month_of, quarter_of
from .services import build_report, refresh_snapshots, request_report

FORMATS = ("pdf", "xlsx")
SNAPSHOT_EVERY = 300.0  # seconds
_last_snapshot = -SNAPSHOT_EVERY
READY_HOUR = 6  # a period's report is made from 06:00 of the day after it ends
_done: set[str] = set()  # periods whose scheduled reports exist: no query until the next period


def email_enabled() -> bool:
    return bool(
        getattr(settings, "TOUSU_REPORT_EMAIL", os.environ.get("TOUSU_REPORT_EMAIL") == "1")
    )


@task()
def build_report_task(report_id: int, email: bool = False) -> str:
    report = Report.objects.get(pk=report_id)
    if report.status != Report.PENDING:
        return report.status
    return build_report(report, email=email).status


def due_periods(now: datetime) -> list[Period]:
    today = timezone.localtime(now).date()
    out = []
    for period in (month_of(today).previous, quarter_of(today).previous):
        if now >= datetime.combine(period.end, time(READY_HOUR), SHANGHAI):
            out.append(period)
    return out


def schedule_reports(now: datetime | None = None) -> list[Report]:
    """Create and queue the reports of the periods that have just ended. Cheap when there is
    nothing to do: after the first check of a period it does not ask the database again."""
    now = now or timezone.now()
    created = []
    for period in due_periods(now):
        if period.key in _done:
            continue
        existing = set(
            Report.objects.filter(period=period.key, scheduled=True).values_list(
                "format", flat=True
            )
        )
        for fmt in FORMATS:
            if fmt in existing:
                continue
            report = request_report(period, fmt, scheduled=True)
            if report is None:
                continue  # another worker made it
            created.append(report)
            email = email_enabled() and fmt == "pdf"
            transaction.on_commit(
                lambda pk=report.pk, email=email: build_report_task.enqueue(pk, email=email)
            )
        _done.add(period.key)
    return created


@task()
def refresh_snapshots_task() -> int:
    return len(refresh_snapshots())


def tick(now: datetime | None = None) -> None:
    """The worker's hook: scheduled reports when due, fresh dashboard snapshots every few
    minutes. Cheap when there is nothing to do (no query between snapshot refreshes)."""
    global _last_snapshot
    schedule_reports(now)
    if clock.monotonic() - _last_snapshot >= SNAPSHOT_EVERY:
        _last_snapshot = clock.monotonic()
        refresh_snapshots_task.enqueue()
