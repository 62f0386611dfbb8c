from django import template

from tousu.triage import history

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
