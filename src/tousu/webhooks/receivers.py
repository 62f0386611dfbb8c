"""What turns case changes into webhook deliveries. Each receiver runs inside the transaction that
made the change (see tousu.cases.signals) and only queues; sending is the worker's job.

Payloads carry identifiers and states, never the complaint's text or personal data: an integration
reads those through the API with its own token, under its own permissions."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from tousu.cases.models import Complaint, Event
from tousu.cases.signals import action_applied, complaint_registered
from tousu.clocks.models import Clock

from . import services
from .models import Subscription


def _iso(value):
    return value.isoformat() if value else None


def complaint_data(c: Complaint) -> dict:
    return {
        "id": c.pk,
        "tracking_number": c.tracking_number,
        "process": c.process.name,
        "state": c.state,
        "state_label": c.state_label,
        "version": c.version,
        "channel": c.channel,
        "category": c.category.code if c.category_id else None,
        "department": c.department.code if c.department_id else None,
        "received_at": _iso(c.received_at),
        "closed_at": _iso(c.closed_at),
    }


def event_data(e: Event) -> dict:
    return {
        "id": e.pk,
        "action": e.action,
        "label": e.label,
        "from_state": e.from_state,
        "to_state": e.to_state,
        # A complainant is recorded by name (the portal): a subscriber gets no personal data.
        "actor": e.actor_name if e.actor_id or e.via == "system" else "投诉人",
        "via": e.via,
        "created_at": _iso(e.created_at),
    }


def clock_data(event: Event) -> dict | None:
    clock = (
        Clock.objects.filter(complaint_id=event.complaint_id, name=event.payload.get("clock"))
        .order_by("-id")
        .first()
    )
    if clock is None:
        return None
    return {
        "id": clock.pk,
        "name": clock.name,
        "label": clock.label,
        "basis": clock.basis,
        "unit": clock.unit,
        "amount": clock.amount,
        "state": clock.state,
        "due_at": _iso(clock.due_at),
        "provisional": clock.provisional,
    }


def on_complaint_registered(sender, complaint: Complaint, event: Event, **kwargs) -> None:
    services.record(
        "complaint.created",
        complaint.pk,
        lambda: {"complaint": complaint_data(complaint), "event": event_data(event)},
    )


def on_action_applied(sender, complaint: Complaint, action, event: Event, **kwargs) -> None:
    services.record(
        "complaint.action_applied",
        complaint.pk,
        lambda: {"complaint": complaint_data(complaint), "event": event_data(event)},
    )


CLOCK_EVENTS = {"clock_warning": "clock.warning", "clock_breached": "clock.breached"}


def on_event_saved(sender, instance: Event, created: bool, **kwargs) -> None:
    """The clock sweep records each warning and breach as an event on the case (exactly once, in
    its own transaction): that event is the webhook's trigger."""
    kind = CLOCK_EVENTS.get(instance.action) if created else None
    if kind is None:
        return

    def build() -> dict:
        complaint = Complaint.objects.select_related("process", "category", "department").get(
            pk=instance.complaint_id
        )
        return {
            "complaint": complaint_data(complaint),
            "clock": clock_data(instance),
            "event": event_data(instance),
        }

    services.record(kind, instance.complaint_id, build)


def on_subscription_changed(sender, **kwargs) -> None:
    services.active_subscriptions.cache_clear()


def connect() -> None:
    complaint_registered.connect(on_complaint_registered, dispatch_uid="webhooks.created")
    action_applied.connect(on_action_applied, dispatch_uid="webhooks.action_applied")
    post_save.connect(on_event_saved, sender=Event, dispatch_uid="webhooks.clock_events")
    post_save.connect(on_subscription_changed, sender=Subscription, dispatch_uid="webhooks.sub_s")
    post_delete.connect(on_subscription_changed, sender=Subscription, dispatch_uid="webhooks.sub_d")
