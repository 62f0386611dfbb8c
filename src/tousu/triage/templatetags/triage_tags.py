"""The case page's triage panels: the complainant's history (link, merge) and 自动分派 (the
routing the system applied by itself, with its confidence, and the undo and correct forms)."""

from django import template

from tousu.triage import history, routing, selectors

register = template.Library()


@register.inclusion_tag("triage/_history.html", takes_context=True)
def complainant_history(context, complaint):
    """The complainant's other cases, cases that may be the same matter, and the link and merge
    buttons (triage/history.py)."""
    user = context["request"].user
    mine = history.complainant_cases(user, complaint)
    seen = {r.id for r in mine}
    similar = history.similar_cases(user, complaint, seen)
    seen |= {r.id for r in similar}
    linked = history.linked_cases(user, complaint, seen)
    return {
        "c": complaint,
        "mine": mine,
        "similar": similar,
        "linked": linked,
        "csrf_token": context.get("csrf_token"),
        "next": context["request"].get_full_path(),
    }


@register.inclusion_tag("triage/_auto_route_panel.html", takes_context=True)
def auto_route_panel(context, complaint):
    routed = routing.routing_in_force(complaint)
    user = context["request"].user
    may = (
        routed is not None
        and complaint.closed_at is None
        and getattr(user, "is_authenticated", False)
        and user.has_role(*routing.CORRECT_ROLES)
    )
    categories = selectors.category_map(complaint.process.name) if may else {}
    return {
        "c": complaint,
        "routed": routed,
        "may_change": may,
        "categories": [c for code, c in categories.items() if code != complaint_code(complaint)],
        "csrf_token": context.get("csrf_token"),
        "next": context["request"].get_full_path(),
    }


def complaint_code(complaint) -> str | None:
    return complaint.category.code if complaint.category_id else None
