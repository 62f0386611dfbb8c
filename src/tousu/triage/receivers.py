"""Signal receivers, connected in TriageConfig.ready().

Both signals are sent inside the transaction that wrote the case. A failure here must not lose a
complaint or an action, so each receiver runs in a savepoint and only logs its own errors."""

import logging

from django.db import transaction

from . import routing, services

log = logging.getLogger("tousu.triage")


def complaint_registered(sender, complaint, event, **kwargs):
    try:
        with transaction.atomic():
            services.on_registered(complaint, event, kwargs.get("parties"))
    except Exception:
        log.exception("triage on registration of %s failed", complaint.pk)
    try:
        with transaction.atomic():
            routing.auto_route(complaint, event)
    except Exception:
        log.exception("automatic routing of %s failed", complaint.pk)


def action_applied(sender, complaint, action, event, user, **kwargs):
    if not any(f.type == "category" for f in action.form):
        return  # most actions: nothing to record, not even a savepoint
    try:
        with transaction.atomic():
            services.on_action(complaint, action, event, user)
    except Exception:
        log.exception("triage on action %s of %s failed", action.name, complaint.pk)
