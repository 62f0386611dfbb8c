"""Workbench pages for imports: upload, preview (with the mapping to correct), confirm; and the
12345 reply sheet. Thin: services read and write."""

from __future__ import annotations

from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tousu.accounts.models import Department
from tousu.processes.models import Category
from tousu.processes.selectors import active_processes
from tousu.reports.periods import PeriodError, month_of, parse

from . import services
from .mapping import IGNORE, Mapping, MappingError, preset, preset_names, targets, value_key
from .models import ImportBatch, ImportedRow, SavedMapping
from .reading import ALLOWED_TYPES, EXCEL_TYPES

IMPORT_ROLES = ("officer", "admin")
MAX_UPLOAD = 50 * 1024 * 1024
INLINE_ROWS = 2000  # larger files are imported by the background worker
UNKNOWN_TARGETS = {"category": "投诉类别", "department": "责任部门", "channel": "渠道"}
SHOWN_ISSUES = 200


def _forbidden(request):
    return render(
        request,
        "web/error.html",
        {"message": "导入登记表和工单需要投诉专员或管理员角色"},
        status=403,
    )


def _allowed(user) -> bool:
    return user.has_role(*IMPORT_ROLES)


def _presets() -> list[tuple[str, str]]:
    return [("", "投诉登记表（自动识别各列）")] + [
        (n, preset(n).label or n) for n in preset_names()
    ]


@login_required
def upload(request):
    if not _allowed(request.user):
        return _forbidden(request)
    processes = active_processes()
    if request.method == "POST":
        return _upload(request, processes)
    return render(request, "registers/upload.html", _upload_context(request, processes))


def _upload_context(request, processes, **extra):
    today = timezone.localdate()
    return {
        "processes": processes,
        "presets": _presets(),
        "saved": SavedMapping.objects.all(),
        "batches": ImportBatch.objects.select_related("process", "created_by")[:20],
        "allowed_types": ALLOWED_TYPES,
        "default_period": month_of(today).key,
        **extra,
    }


def _upload(request, processes):
    f = request.FILES.get("file")
    template = request.POST.get("template", "")
    process = next((p for p in processes if p.name == template), None)
    problems = []
    if f is None:
        problems.append("请选择要导入的文件")
    elif PurePath(f.name).suffix.lower() not in (*EXCEL_TYPES, ".csv"):
        problems.append(f"不支持的文件类型「{f.name}」：请上传 {ALLOWED_TYPES} 文件")
    elif f.size > MAX_UPLOAD:
        problems.append(f"文件超过 {MAX_UPLOAD // 1024 // 1024} MB，请按年份拆分后分别导入")
    if process is None:
        problems.append("请选择流程")
    mapping = Mapping()
    if not problems:
        try:
            mapping = _chosen_mapping(request.POST, process.name)
        except (MappingError, services.ImportProblem) as exc:
            problems.append(str(exc))
    if problems:
        for p in problems:
            messages.error(request, p)
        return render(
            request,
            "registers/upload.html",
            _upload_context(request, processes, chosen=request.POST),
            status=400,
        )
    data = f.read()
    try:
        analysis = services.analyse(
            data, f.name, process, mapping, source=request.POST.get("source", "").strip()
        )
    except services.ImportProblem as exc:
        messages.error(request, str(exc))
        return render(
            request,
            "registers/upload.html",
            _upload_context(request, processes, chosen=request.POST),
            status=400,
        )
    services.forget_stale_uploads()
    batch = services.new_batch(
        analysis, user=request.user, via="web", stored_file=services.store_upload(data)
    )
    services.record_analysis(batch, analysis)
    return redirect("registers:preview", pk=batch.pk)


def _chosen_mapping(post, process_name: str) -> Mapping:
    saved = post.get("saved", "")
    if saved:
        row = SavedMapping.objects.filter(pk=saved, process_name=process_name).first()
        if row is None:
            raise services.ImportProblem("所选的对应关系不属于该流程")
        return Mapping.from_yaml(row.text, origin=f"对应关系「{row.name}」")
    name = post.get("preset", "")
    return preset(name) if name else Mapping()


def _unknown_values(batch: ImportBatch) -> list[dict]:
    """Distinct values the file has for category, department and channel that match nothing."""
    target_of = {
        (s["name"], c["header"]): c["target"] for s in batch.sheets for c in s.get("columns", [])
    }
    found: dict[tuple[str, str], int] = {}
    for i in batch.issues:
        target = target_of.get((i["sheet"], i["header"]))
        if target in UNKNOWN_TARGETS and i.get("value") and "不是已有的" in i["message"]:
            found[target, i["value"]] = found.get((target, i["value"]), 0) + 1
    return [
        {"target": t, "label": UNKNOWN_TARGETS[t], "value": v, "count": n}
        for (t, v), n in sorted(found.items())
    ]


def _choices_for(process, target: str) -> list[tuple[str, str]]:
    if target == "category":
        return list(
            Category.objects.filter(process_name=process.name, is_active=True).values_list(
                "code", "label"
            )
        )
    if target == "department":
        return list(Department.objects.filter(is_active=True).values_list("code", "name"))
    return [(c.value, c.label) for c in process.definition.channels]


@login_required
def preview(request, pk: int):
    if not _allowed(request.user):
        return _forbidden(request)
    batch = get_object_or_404(ImportBatch.objects.select_related("process", "created_by"), pk=pk)
    definition = batch.process.definition
    all_targets = targets(definition)
    columns: dict[str, dict] = {}
    for s in batch.sheets:
        for c in s.get("columns", []):
            entry = columns.setdefault(c["key"], dict(c, sheets=[]))
            entry["sheets"].append(s["name"])
    unknown = _unknown_values(batch)
    for u in unknown:
        u["choices"] = _choices_for(batch.process, u["target"])
    errors = [i for i in batch.issues if i.get("level") == "error"]
    warnings = [i for i in batch.issues if i.get("level") != "error"]
    created = (
        ImportedRow.objects.filter(last_batch=batch).select_related("complaint")[:20]
        if batch.status == ImportBatch.DONE
        else []
    )
    return render(
        request,
        "registers/preview.html",
        {
            "batch": batch,
            "definition": definition,
            "columns": list(columns.values()),
            "target_choices": [(IGNORE, "不导入")]
            + [(t.code, t.label) for t in all_targets.values()],
            "unknown": unknown,
            "errors": errors[:SHOWN_ISSUES],
            "warnings": warnings[:SHOWN_ISSUES],
            "more_errors": max(0, batch.error_count - SHOWN_ISSUES),
            "more_warnings": max(0, batch.warning_count - min(len(warnings), SHOWN_ISSUES)),
            "created": created,
            "running": batch.status in (ImportBatch.QUEUED, ImportBatch.RUNNING),
            "mapping_yaml": Mapping.from_data(batch.mapping).to_yaml(),
        },
    )


@login_required
@require_POST
def remap(request, pk: int):
    """The user's corrections to the mapping: re-read the stored file with them."""
    if not _allowed(request.user):
        return _forbidden(request)
    batch = get_object_or_404(ImportBatch.objects.select_related("process"), pk=pk)
    if batch.status != ImportBatch.ANALYSED:
        messages.error(request, "该批次已确认导入，不能再修改对应关系")
        return redirect("registers:preview", pk=pk)
    mapping = Mapping.from_data(batch.mapping)
    known = {c["key"] for s in batch.sheets for c in s.get("columns", [])}
    try:
        for key, value in request.POST.items():
            if key.startswith("col:") and key[4:] in known:
                mapping.columns[key[4:]] = value or IGNORE
            elif key.startswith("val:") and value:
                _, target, raw = key.split(":", 2)
                if target in UNKNOWN_TARGETS:
                    mapping.values.setdefault(target, {})[value_key(raw)] = (
                        "" if value == "__blank__" else value
                    )
        source = request.POST.get("source", "").strip()
        if source:
            mapping.source = source[:100]
            batch.source = source[:100]
        analysis = services.analyse(
            services.stored_data(batch),
            batch.file_name,
            batch.process,
            mapping,
            source=batch.source,
        )
    except (MappingError, services.ImportProblem) as exc:
        messages.error(request, str(exc))
        return redirect("registers:preview", pk=pk)
    services.record_analysis(batch, analysis)
    name = request.POST.get("save_as", "").strip()
    if name:
        services.save_mapping(batch.process.name, name, mapping, analysis.headers, request.user)
        messages.success(request, f"已保存对应关系「{name}」，下次上传时可直接选用")
    messages.success(request, "已按新的对应关系重新检查")
    return redirect("registers:preview", pk=pk)


@login_required
@require_POST
def confirm(request, pk: int):
    if not _allowed(request.user):
        return _forbidden(request)
    skip = request.POST.get("skip_errors") == "1"
    batch = get_object_or_404(ImportBatch, pk=pk)
    if batch.error_count and not skip:
        messages.error(request, "文件有错误：请改正后重新上传，或勾选「只导入没有错误的行」")
        return redirect("registers:preview", pk=pk)
    claimed = services.claim(pk)
    if claimed is None:  # a retried or second confirmation: the first one is doing it
        return redirect("registers:preview", pk=pk)
    if claimed.rows <= INLINE_ROWS:
        try:
            done = services.run_batch(pk, skip_errors=skip)
            messages.success(request, f"导入完成：{done.message}")
        except (services.Refused, services.ImportProblem) as exc:
            messages.error(request, str(exc))
        except Exception:
            messages.error(request, "导入失败，原因已记录在批次中；请联系管理员")
    else:
        from .tasks import run_import_task

        run_import_task.enqueue(pk, skip)
        messages.success(request, f"共 {claimed.rows} 行，已交由后台导入；本页会显示进度")
    return redirect("registers:preview", pk=pk)


@login_required
def reply_sheet(request):
    if not request.user.has_role("officer", "leader", "admin"):
        return render(
            request,
            "web/error.html",
            {"message": "导出回单需要投诉专员、领导或管理员角色"},
            status=403,
        )
    from . import replies

    try:
        period = (
            parse(request.GET["period"])
            if request.GET.get("period")
            else month_of(timezone.localdate())
        )
    except PeriodError as exc:
        messages.error(request, str(exc))
        return redirect("registers:upload")
    template = request.GET.get("template", "")
    if template and not any(p.name == template for p in active_processes()):
        messages.error(request, f"未知流程「{template}」")
        return redirect("registers:upload")
    source = request.GET.get("source", "12345") or "12345"
    content, _ = replies.reply_sheet(period, user=request.user, source=source, template=template)
    from urllib.parse import quote

    name = f"回单-{source}-{period.key.replace('..', '_')}.xlsx"
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f"attachment; filename=\"replies.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response
