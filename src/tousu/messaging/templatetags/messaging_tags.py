"""On the case page: the messages sent to the complainant, each with its delivery record, and the
opt-out switch."""

from django import template

from tousu.accounts.roles import PERSONAL_DATA_ROLES
from tousu.cases.models import Complaint

from .. import selectors

register = template.Library()


@register.inclusion_tag("messaging/_case_messages.html", takes_context=True)
def complainant_messages(context, complaint):
    user = context["request"].user
    addresses = selectors.complainant_addresses(complaint)
    return {
        "c": complaint,
        "rows": selectors.case_messages(complaint),
        "addresses": addresses,
        "opted_out": any(a["opted_out"] for a in addresses),
        "can_switch": user.has_role(*PERSONAL_DATA_ROLES) and bool(addresses),
        "csrf_token": context.get("csrf_token"),
        "next": context["request"].get_full_path(),
    }


@register.inclusion_tag("messaging/_portal_messages.html", takes_context=True)
def portal_messages(context, tracking_number):
    """On the complainant's portal page: what we sent them, and the way to stop it."""

    complaint = Complaint.objects.filter(tracking_number=tracking_number).first()
    if complaint is None:
        return {"show": False}
    addresses = selectors.complainant_addresses(complaint)
    return {
        "show": bool(addresses),
        "number": tracking_number,
        "items": selectors.portal_messages(complaint),
        "opted_out": bool(addresses) and all(a["opted_out"] for a in addresses),
        "csrf_token": context.get("csrf_token"),
    }
