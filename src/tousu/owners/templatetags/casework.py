"""The case page's 承办 panel: the case's and each open task's owner, with the assign and claim
forms the viewer may use."""

from django import template

from tousu.cases.models import Task

from .. import services

register = template.Library()


@register.inclusion_tag("owners/_case_panel.html", takes_context=True)
def owner_panel(context, complaint):
    user = context["request"].user
    tasks = []
    for t in complaint.tasks.filter(state=Task.OPEN).select_related("department", "owner"):
        tasks.append(
            {
                "t": t,
                "can_assign": services.can_assign(user, t.department_id),
                "can_claim": services.can_claim(user, t),
                "people": list(services.assignable_users(t.department_id))
                if services.can_assign(user, t.department_id)
                else [],
            }
        )
    can_assign = services.can_assign(user, complaint.department_id) and complaint.closed_at is None
    return {
        "c": complaint,
        "owner": complaint.owner if complaint.owner_id else None,
        "can_assign": can_assign,
        "can_claim": services.can_claim(user, complaint),
        "people": list(services.assignable_users(complaint.department_id)) if can_assign else [],
        "tasks": tasks,
        "csrf_token": context.get("csrf_token"),
        "next": context["request"].get_full_path(),
    }
