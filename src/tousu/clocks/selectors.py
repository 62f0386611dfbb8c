"""Reading clocks."""

from django.utils import timezone

from .models import Clock


def clock_status(complaints, now=None) -> dict[int, tuple]:
    """For a page of cases: (nearest running clock, 'overdue'|'due_soon'|'') by case id."""
    now = now or timezone.now()
    out: dict[int, tuple] = {}
    for clock in Clock.objects.filter(complaint__in=list(complaints), state=Clock.RUNNING).order_by(
        "due_at"
    ):
        if clock.complaint_id in out:
            continue
        status = (
            "overdue"
            if clock.due_at < now
            else ("due_soon" if clock.warn_at and clock.warn_at <= now else "")
        )
        out[clock.complaint_id] = (clock, status)
    return out
