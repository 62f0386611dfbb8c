"""Messaging pages: a person's notification settings, a complainant's opt-out (from the link in an
e-mail, or on the portal page of their case) and the staff switch for it on the case page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tousu.accounts.roles import PERSONAL_DATA_ROLES
from tousu.cases.models import Complaint
from tousu.owners.views import _case, _error
from tousu.portal.selectors import public_contacts
from tousu.web.redirects import local_next

from . import kinds, optout, selectors, services


@login_required
def preferences(request):
    if request.method == "POST":
        choices = {
            k: request.POST.get(k, "")
            for k in kinds.STAFF_CATEGORIES
            if request.POST.get(k) is not None
        }
        try:
            services.set_preferences(request.user, choices)
            messages.success(request, "已保存通知接收方式")
            return redirect("messaging:preferences")
        except ValueError as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "messaging/preferences.html",
        {
            "rows": selectors.preferences(request.user),
            "deliveries": kinds.DELIVERIES,
            "has_email": bool(request.user.email),
        },
    )


@login_required
@require_POST
def case_optout(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    if not request.user.has_role(*PERSONAL_DATA_ROLES):
        return _error(request, "只有接待员、投诉专员或领导可以按投诉人的要求设置退订", 403)
    on = request.POST.get("on") == "1"
    services.set_complainant_optout(complaint, on=on, by_user=request.user)
    messages.success(
        request, "已为投诉人退订短信和邮件通知" if on else "已恢复向投诉人发送短信和邮件通知"
    )
    return redirect(local_next(request) or f"/staff/cases/{pk}/")


def _portal_context(request) -> dict:
    return {"contacts": public_contacts()}


@never_cache
def optout_link(request, token):
    """The link in every e-mail to a complainant. GET asks, POST acts: mail scanners that open
    links must not unsubscribe anyone."""
    found = optout.read_token(token)
    if found is None:
        return render(
            request,
            "messaging/optout.html",
            {**_portal_context(request), "invalid": True},
            status=404,
        )
    channel, address = found
    done = False
    if request.method == "POST":
        optout.opt_out(channel, address, source="link")
        done = True
    return render(
        request,
        "messaging/optout.html",
        {
            **_portal_context(request),
            "address": selectors.mask_address(channel, address),
            "channel": kinds.CHANNELS.get(channel, channel),
            "done": done or optout.is_opted_out(channel, address),
        },
    )


@require_POST
def portal_optout(request, number):
    """On the portal page of their case (opened with the number and code): stop every message."""
    from tousu.portal.views import _granted  # the portal's own grant, not a second login

    if not _granted(request, number):
        return redirect(f"{reverse('portal:track')}?n={number}")
    complaint = Complaint.objects.filter(tracking_number=number).first()
    if complaint is None:
        return redirect("portal:track")
    services.set_complainant_optout(complaint, on=True, by_user="投诉人", source="portal")
    messages.success(request, "已退订：我们不会再向您的手机和邮箱发送关于投诉办理的通知。")
    return redirect("portal:case", number=number)
