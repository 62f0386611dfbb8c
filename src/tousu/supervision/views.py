"""催办 and 督办 from the case page. Thin: the services decide who may and what happens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from tousu.cases.errors import CaseError
from tousu.owners.views import _case, _error
from tousu.web.redirects import local_next

from . import services
from .models import Supervision


def _back(request, pk):
    return redirect(local_next(request) or f"/staff/cases/{pk}/")


@login_required
@require_POST
def chase(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    try:
        # The form's one-time token: a double click or a resent form chases once.
        event = services.chase(
            complaint,
            request.user,
            request.POST.get("note", ""),
            key=("form:" + request.POST["form_token"][:90])
            if request.POST.get("form_token")
            else None,
        )
        messages.success(request, f"已催办（第 {event.payload['count']} 次）")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
@require_POST
def place(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    try:
        workdays = int(request.POST.get("workdays", ""))
    except ValueError:
        messages.error(request, f"督办时限应为 1 至 {services.MAX_WORKDAYS} 个工作日")
        return _back(request, pk)
    try:
        s = services.place(
            complaint,
            request.user,
            instruction=request.POST.get("instruction", ""),
            workdays=workdays,
        )
        messages.success(request, f"已督办，{s.workdays} 个工作日内回复")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
@require_POST
def answer(request, pk, supervision_id):
    complaint, error = _case(request, pk)
    if error:
        return error
    supervision = Supervision.objects.filter(pk=supervision_id, complaint=complaint).first()
    if supervision is None:
        return _error(request, "督办不存在", 404)
    try:
        services.answer(supervision, request.user, request.POST.get("answer", ""))
        messages.success(request, "已提交督办回复")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)
