"""Statistics pages. Thin: selectors compute, services write, charts draw."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseForbidden, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from tousu.accounts.models import Department
from tousu.db.replica import replica_reads
from tousu.processes.models import Category
from tousu.processes.selectors import active_processes

from . import charts, selectors, services
from .models import ExportLog, Report
from .periods import PeriodError, month_of, parse
from .tasks import build_report_task

REPORT_ROLES = ("leader", "officer", "auditor", "admin")


def _forbidden(request, message: str):
    return render(request, "web/error.html", {"message": message}, status=403)


MAX_ID = 2**63 - 1  # the database's largest id: anything bigger cannot name a row


def _id(g, key: str, what: str, problems: list[str]) -> int | None:
    """An id from the query string; a value that is not one is a problem (answered 400), never
    passed to the database (where 99999999999999999999 overflows)."""
    value = g.get(key, "")
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
        problems.append(f"{what}「{value[:30]}」无效，应为列表中的一项，已忽略")
        return None
    return int(value)


def _filters(request, scope):
    """Filters from the query string; a bad period falls back to this month, a bad department or
    category is ignored, each with a message (and a 400)."""
    g = request.GET
    today = timezone.localdate()
    problems = []
    try:
        period = parse(g["period"]) if g.get("period") else month_of(today)
    except PeriodError as exc:
        problems.append(str(exc))
        period = month_of(today)
    template = g.get("template", "")
    if template and not any(p.name == template for p in active_processes()):
        problems.append(f"未知流程「{template}」，已忽略")
        template = ""
    f = selectors.make_filters(
        period,
        department_id=_id(g, "department", "部门", problems),
        category_id=_id(g, "category", "类别", problems),
        template=template,
        scope=scope,
    )
    return f, problems


def _choices(scope):
    departments = Department.objects.filter(is_active=True)  # the organisation's order
    if scope is not None:
        departments = departments.filter(pk__in=selectors.descendants(scope))
    categories = Category.objects.filter(is_active=True).order_by("process_name", "code")
    return {
        "departments": list(departments.values_list("pk", "name")),
        "categories": list(categories.values_list("pk", "label", "process_name")),
        "templates": [(p.name, p.label) for p in active_processes()],
    }


@login_required
@replica_reads
def dashboard(request):
    try:
        scope = selectors.scope_department(request.user)
    except selectors.NotAllowed as exc:
        return _forbidden(request, str(exc))
    f, problems = _filters(request, scope)
    for p in problems:
        messages.error(request, p)
    data = selectors.dashboard(f)
    svgs = {k: mark_safe(v) for k, v in charts.dashboard_charts(data).items()}  # our own SVG
    status = 400 if problems else 200
    today = timezone.localdate()
    quick = [
        ("本月", month_of(today).key),
        ("上月", month_of(today).previous.key),
        ("本季度", parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}").key),
        ("上季度", parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}").previous.key),
        ("今年", str(today.year)),
    ]
    query = request.GET.copy()
    query.pop("period", None)
    return render(
        request,
        "reports/dashboard.html",
        {
            "d": data,
            "f": f,
            "charts": svgs,
            "quick": quick,
            "rest_query": query.urlencode(),
            "query": request.GET.urlencode(),
            "can_reports": request.user.has_role(*REPORT_ROLES),
            # 院区/地点 is a hospital's notion: shown only where departments have one set.
            "has_sites": Department.objects.exclude(site="").exists(),
            **_choices(scope),
        },
        status=status,
    )


@login_required
@replica_reads
def export(request, fmt: str):
    try:
        scope = selectors.scope_department(request.user)
    except selectors.NotAllowed as exc:
        return _forbidden(request, str(exc))
    f, problems = _filters(request, scope)
    if problems:
        message = "；".join(problems) + "。没有导出任何内容，请在统计页面重新选择筛选条件。"
        return render(request, "web/error.html", {"message": message}, status=400)
    try:
        entry, ids = services.start_export(request.user, f, fmt)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("reports:dashboard")
    stem = "投诉清单" if fmt == "csv" else "投诉登记簿"
    name = f"{stem}-{f.period.key.replace('..', '_')}-{entry.pk}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            services.csv_stream(request.user, ids), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = _disposition(name)
        return response
    return FileResponse(services.xlsx_file(request.user, ids, f), as_attachment=True, filename=name)


def _disposition(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"export.csv\"; filename*=UTF-8''{quote(name)}"


@login_required
def report_list(request):
    if not request.user.has_role(*REPORT_ROLES):
        return _forbidden(request, "定期报告面向领导、投诉专员和审计")
    reports = Report.objects.select_related("created_by")[:100]
    exports = ExportLog.objects.all()[:20] if request.user.has_role("auditor", "admin") else []
    today = timezone.localdate()
    return render(
        request,
        "reports/report_list.html",
        {
            "reports": reports,
            "exports": exports,
            "default_period": month_of(today).previous.key,
        },
    )


@login_required
@require_POST
def report_request(request):
    if not request.user.has_role(*REPORT_ROLES):
        return HttpResponseForbidden("定期报告面向领导、投诉专员和审计")
    fmt = request.POST.get("format", "pdf")
    if fmt not in ("pdf", "xlsx"):
        messages.error(request, "格式应为 PDF 或 Excel")
        return redirect("reports:report_list")
    try:
        period = parse(request.POST.get("period", ""))
    except PeriodError as exc:
        messages.error(request, str(exc))
        return redirect("reports:report_list")
    report = services.request_report(period, fmt, user=request.user)
    build_report_task.enqueue(report.pk)
    messages.success(request, f"已提交：{period.label}（{fmt.upper()}），后台生成后可在下方下载")
    return redirect("reports:report_list")


@login_required
def report_download(request, pk: int):
    if not request.user.has_role(*REPORT_ROLES):
        return _forbidden(request, "定期报告面向领导、投诉专员和审计")
    report = get_object_or_404(Report, pk=pk, status=Report.DONE)
    if not report.exists():
        return render(request, "web/error.html", {"message": "报告文件不存在"}, status=404)
    # Streamed through this view (after the role check) from disk or the object store.
    return FileResponse(report.open(), as_attachment=True, filename=report.filename)
