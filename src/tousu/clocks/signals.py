"""Sent inside the sweep's transaction when a clock warns or breaches (once each)."""

from django.dispatch import Signal

# complaint, clock, event
clock_warning = Signal()
clock_breached = Signal()
