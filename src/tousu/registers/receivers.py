"""Signal receivers, connected in RegistersConfig.ready()."""

from __future__ import annotations

from functools import cache

from django.utils import timezone

from tousu.clocks.models import Clock
from tousu.clocks.services import refresh_next_due


@cache
def deadline_clock_names() -> frozenset[str]:
    """The clocks imports start from a file's own deadline (a 12345 order's 办理时限)."""
    from .mapping import preset, preset_names

    return frozenset(n for n in (preset(p).clock.get("name") for p in preset_names()) if n)


def action_applied(sender, complaint, action, event, **kwargs) -> None:
    """A work order's deadline is met when the case is concluded: the flow does not know that
    clock, so its definition cannot stop it."""
    if action.to is None or action.to not in complaint.definition.closed_states:
        return

    running = Clock.objects.filter(
        complaint=complaint,
        name__in=deadline_clock_names(),
        state__in=(Clock.RUNNING, Clock.PAUSED),
    )
    stopped = False
    for clock in running:
        clock.state, clock.stopped_at = Clock.STOPPED, event.created_at or timezone.now()
        clock.save(update_fields=["state", "stopped_at"])  # the statistics follow (post_save)
        stopped = True
    if stopped:
        refresh_next_due(complaint)
