"""The auditor's screen: who saw or exported whose personal data, per case (the same log as
`tousu privacy reveals`)."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .selectors import VIA_LABELS, disclosures

AUDIT_ROLES = ("auditor",)


def _day(text: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"日期「{text[:20]}」无效，应为 YYYY-MM-DD")
        return None


@login_required
def disclosure_log(request):
    if not request.user.has_role(*AUDIT_ROLES):
        return render(
            request,
            "web/error.html",
            {"message": "只有审计人员可以查看个人信息查看和导出记录"},
            status=403,
        )
    errors: list[str] = []
    since = _day(request.GET.get("since", "").strip(), errors)
    until = _day(request.GET.get("until", "").strip(), errors)
    if since and until and since > until:
        errors.append("起始日期不能晚于截止日期")
    case = request.GET.get("case", "").strip()[:32]
    username = request.GET.get("user", "").strip()[:150]
    rows = (
        []
        if errors
        else disclosures(since=since, until=until, tracking_number=case, username=username)
    )
    rows.reverse()  # newest first on screen
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ops/disclosures.html",
        {
            "page": page,
            "errors": errors,
            "f": {"since": since, "until": until, "case": case, "user": username},
            "via_labels": VIA_LABELS,
            "query": query.urlencode(),
            "total": len(rows),
        },
        status=400 if errors else 200,
    )
