"""Staff pages for automatic routing (under /staff/triage/): undo or correct it from the case page.
Thin: routing.py writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tousu.cases import selectors as case_selectors
from tousu.cases.errors import CaseError, Forbidden, NotFound
from tousu.web.redirects import local_next

from . import routing


def _case(request, pk):
    try:
        return case_selectors.complaint_for(request.user, pk), None
    except Forbidden as exc:
        return None, render(request, "web/error.html", {"message": exc.message}, status=403)
    except NotFound as exc:
        return None, render(request, "web/error.html", {"message": exc.message}, status=404)


@login_required
@require_POST
def route_undo(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    try:
        routing.undo(complaint, request.user, request.POST.get("note", "")[:200])
        messages.success(request, "已撤销自动分派，请人工分派类别和部门")
    except CaseError as exc:
        messages.error(request, exc.message)
    return redirect(local_next(request) or f"/staff/cases/{pk}/")


@login_required
@require_POST
def route_correct(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    try:
        event = routing.correct(
            complaint,
            request.user,
            request.POST.get("category", "")[:50],
            request.POST.get("note", "")[:200],
        )
        messages.success(request, event.label)
    except CaseError as exc:
        messages.error(request, exc.message)
    return redirect(local_next(request) or f"/staff/cases/{pk}/")
