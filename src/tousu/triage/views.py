"""Workbench buttons for linking and merging cases (the same services as the API). Thin."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tousu.cases import selectors as case_selectors
from tousu.cases.errors import CaseError
from tousu.web.redirects import local_next

from . import services


def _pair(request, pk, field):
    """The case on the page and the other one named in the form, both cases the user may open."""
    try:
        other = int(request.POST.get(field, ""))
    except ValueError:
        return (
            None,
            None,
            render(request, "web/error.html", {"message": "请选择要关联或合并的投诉"}, status=400),
        )
    try:
        return (
            case_selectors.complaint_for(request.user, pk),
            case_selectors.complaint_for(request.user, other),
            None,
        )
    except CaseError as exc:
        status = exc.status
        return (
            None,
            None,
            render(request, "web/error.html", {"message": exc.message}, status=status),
        )


def _back(request, pk):
    return redirect(local_next(request) or f"/staff/cases/{pk}/")


@login_required
@require_POST
def link(request, pk):
    case, other, error = _pair(request, pk, "other")
    if error:
        return error
    try:
        services.link(case, other, request.user, request.POST.get("note", "")[:200])
        messages.success(request, f"已与 {other.tracking_number} 关联")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
@require_POST
def unlink(request, pk):
    case, other, error = _pair(request, pk, "other")
    if error:
        return error
    try:
        services.unlink(case, other, request.user, request.POST.get("note", "")[:200])
        messages.success(request, f"已取消与 {other.tracking_number} 的关联")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
@require_POST
def merge(request, pk):
    case, duplicate, error = _pair(request, pk, "duplicate")
    if error:
        return error
    try:
        services.merge(case, duplicate, request.user, request.POST.get("note", "")[:200])
        messages.success(request, f"{duplicate.tracking_number} 已并入本件并结案")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)
