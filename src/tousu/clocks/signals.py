"""Sent inside the sweep's transaction when a clock warns or breaches (once each), and inside
the extension's transaction when a person extends a clock."""

from django.dispatch import Signal

# complaint, clock, event
clock_warning = Signal()
clock_breached = Signal()
# clock, event, reason (the extension's reason, as the complainant may be told it)
clock_extended = Signal()
