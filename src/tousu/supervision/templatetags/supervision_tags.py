"""On the case page: the 督办 banner at the top (with the answer form for the department), and the
催办 / 督办 forms for the office and leaders."""

import secrets

from django import template
from django.utils import timezone

from tousu.clocks.services import time_left

from .. import selectors, services

register = template.Library()


@register.inclusion_tag("supervision/_banner.html", takes_context=True)
def supervision_banner(context, complaint):
    user = context["request"].user
    now = timezone.now()
    items = []
    for s in selectors.for_case(complaint):
        left = time_left(s.clock, now) if s.clock and s.state == s.OPEN else None
        items.append({"s": s, "left": left, "overdue": s.state == s.OPEN and s.due_at < now})
    return {
        "c": complaint,
        "open": [i for i in items if i["s"].state == i["s"].OPEN],
        "answered": [i for i in items if i["s"].state != i["s"].OPEN],
        "can_answer": services.can_answer(user, complaint),
        "csrf_token": context.get("csrf_token"),
        "next": context["request"].get_full_path(),
    }


@register.inclusion_tag("supervision/_actions.html", takes_context=True)
def supervision_actions(context, complaint):
    user = context["request"].user
    closed = complaint.closed_at is not None or complaint.is_final
    return {
        "c": complaint,
        "can_chase": user.has_role(*services.CHASE_ROLES) and not closed,
        "can_supervise": user.has_role(*services.SUPERVISE_ROLES)
        and not closed
        and not complaint.supervisions.filter(state="open").exists(),
        "max_workdays": services.MAX_WORKDAYS,
        "form_token": secrets.token_urlsafe(18),  # one 催办 per rendered form
        "csrf_token": context.get("csrf_token"),
        "next": context["request"].get_full_path(),
    }
