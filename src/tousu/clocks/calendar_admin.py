"""Administrators' calendar work: importing a year's official schedule (recomputing the provisional
due times it settles) and the status of each year."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tousu import workdays
from tousu.cases.models import Event

from . import services
from .models import CalendarOverride, CalendarYear, Clock


@transaction.atomic
def import_schedule(schedule: workdays.Schedule, source: str = "") -> int:
    """Load one year's holidays and make-up working days, then recompute every provisional due time.
    Returns the number of clocks whose due time changed (each gets an event on its case)."""
    CalendarOverride.objects.filter(date__year=schedule.year).delete()
    CalendarOverride.objects.bulk_create(
        CalendarOverride(date=d, is_workday=working, note="导入的放假安排")
        for d, working in sorted(schedule.overrides().items())
    )
    CalendarYear.objects.update_or_create(year=schedule.year, defaults={"source": source[:200]})
    services.invalidate_calendar()
    return recompute_provisional()


def recompute_provisional() -> int:
    cal = services.calendar()
    changed = 0
    clocks = Clock.objects.filter(provisional=True, state=Clock.RUNNING).select_related(
        "complaint__process"
    )
    for clock in clocks:
        d = services._clock_def(clock.complaint, clock.name)
        old_due = clock.due_at
        services._schedule(
            clock, clock.basis_at, clock.basis_amount, d.warn_before if d else None, cal
        )
        clock.save(update_fields=["due_at", "provisional", "warn_at"])
        services.refresh_next_due(clock.complaint)
        if clock.due_at != old_due:
            changed += 1
            c = clock.complaint
            Event.objects.create(
                complaint=c,
                action="clock_recomputed",
                label=f"时限按正式放假安排重算：{clock.label}",
                from_state=c.state,
                to_state=c.state,
                actor_name="系统",
                via="system",
                payload={
                    "clock": clock.name,
                    "old_due": old_due.isoformat(),
                    "new_due": clock.due_at.isoformat(),
                },
            )
    return changed


def import_schedule_file(path: str) -> str:
    schedule = workdays.parse_schedule(path)
    changed = import_schedule(schedule, source=path)
    return (
        f"已导入 {schedule.year} 年放假安排：放假 {len(schedule.holidays)} 天，调休上班 {len(schedule.workdays)} 天；"
        f"重算了 {changed} 个暂定时限"
    )


def status_report(cal=None, *, imported: bool = True) -> str:
    """Each year's source; without `imported` (no database yet) the years imported are not read."""
    cal = cal or services.calendar()
    this_year = timezone.localdate().year
    years = sorted(
        {
            *range(2004, this_year + 3),
            *(CalendarYear.objects.values_list("year", flat=True) if imported else ()),
        }
    )
    words = {
        workdays.OFFICIAL: "官方（chinesecalendar）",
        workdays.OVERRIDE: "已导入",
        workdays.ESTIMATED: "估算（暂定）",
    }
    lines, run = [], []
    for y in years:
        status = cal.year_status(y)
        if run and run[-1][1] == status and run[-1][0][-1] == y - 1:
            run[-1][0].append(y)
        else:
            run.append(([y], status))
    for ys, status in run:
        span = str(ys[0]) if len(ys) == 1 else f"{ys[0]}–{ys[-1]}"
        lines.append(f"{span}: {words[status]}")
    lines.append(f"其他年份: {words[workdays.ESTIMATED]}")
    return "\n".join(lines)
