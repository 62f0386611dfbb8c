"""Importing a register or a file of work orders: read it, plan every row, and — when asked and
nothing is wrong (or only the good rows, with skip_errors) — write the cases.

    analysis = analyse(data, "2025登记表.xlsx", process, mapping)   # reads, writes nothing
    batch = run(analysis, user=officer, skip_errors=False)          # writes, or raises Refused

Re-importing the same register (the same `source`) finds its rows by their number (or sheet and
row) and changes only what changed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tousu.accounts.models import Department, User
from tousu.cases.errors import CaseError
from tousu.processes.models import Category, ProcessDefinition
from tousu.triage import services as triage
from tousu.triage.selectors import duplicates_of

from . import reading, writing
from .mapping import (
    IGNORE,
    Layout,
    Mapping,
    MappingError,
    layout,
    targets,
)
from .models import ImportBatch, ImportedRow, SavedMapping
from .plan import Choice, Issue, Lookups, Planner, RowPlan, mark_duplicates, plan_sheet

log = logging.getLogger("tousu.registers")

MAX_ISSUES_KEPT = 500
PREVIEW_ROWS = 20
KEY_MAX = 200


class ImportProblem(ValueError):
    """Bad input for the import as a whole (the file, the mapping, the options): nothing is read
    further and nothing is written."""


class Refused(ValueError):
    """The file has errors and skip_errors was not given: nothing was written."""


@dataclass
class SheetInfo:
    name: str
    header_row: int | None  # as Excel numbers it
    columns: list[dict] = field(default_factory=list)
    rows: int = 0
    note: str = ""


@dataclass
class Analysis:
    process: ProcessDefinition
    mapping: Mapping
    file_name: str
    sha256: str
    size: int
    source: str
    sheets: list[SheetInfo]
    plans: list[RowPlan]
    sheet_issues: list[Issue]
    status: dict[str, str]  # plan key → new / unchanged / changed / locked / error
    existing: dict[str, ImportedRow]
    lookups: Lookups
    headers: dict[str, str] = field(default_factory=dict)  # header key → header text

    @property
    def errors(self) -> list[Issue]:
        return self.sheet_issues + [i for p in self.plans for i in p.errors]

    @property
    def warnings(self) -> list[Issue]:
        return [i for p in self.plans for i in p.warnings]

    def counts(self) -> dict[str, int]:
        tally = Tally(self.status.values())
        return {
            "rows": len(self.plans),
            "new": tally["new"],
            "changed": tally["changed"],
            "unchanged": tally["unchanged"],
            "locked": tally["locked"],
            "error": tally["error"],
            "closed": sum(1 for p in self.plans if p.ok and p.closed),
            "open": sum(1 for p in self.plans if p.ok and not p.closed),
        }

    def issue_rows(self, limit: int = MAX_ISSUES_KEPT) -> list[dict]:
        out = [dict(i.as_dict(), level="error") for i in self.errors[:limit]]
        room = limit - len(out)
        out += [dict(i.as_dict(), level="warning") for i in self.warnings[: max(room, 0)]]
        return out


def _key(sheet_key: str) -> str:
    if len(sheet_key) <= KEY_MAX:
        return sheet_key
    return sheet_key[: KEY_MAX - 17] + "~" + hashlib.sha256(sheet_key.encode()).hexdigest()[:16]


def lookups_for(process: ProcessDefinition, mapping: Mapping, now: datetime) -> Lookups:
    deps = dict(Department.objects.values_list("pk", "code"))
    categories = [
        Choice(code, label, deps.get(dep, ""))
        for code, label, dep in Category.objects.filter(
            process_name=process.name, is_active=True
        ).values_list("code", "label", "department_id")
    ]
    departments = [
        Choice(code, name)
        for code, name in Department.objects.filter(is_active=True).values_list("code", "name")
    ]
    try:
        return Lookups.build(
            process.definition, mapping, categories=categories, departments=departments, now=now
        )
    except ValueError as exc:
        raise ImportProblem(str(exc)) from None


def _column_rows(lay: Layout, definition) -> list[dict]:
    all_targets = targets(definition)
    return [
        {
            "letter": c.letter,
            "header": c.header,
            "key": c.key,
            "target": c.target,
            "target_label": "不导入"
            if c.target == IGNORE
            else all_targets[c.target].label
            if c.target in all_targets
            else c.target,
            "how": c.how,
            "also": all_targets[c.also].label if c.also in all_targets else "",
        }
        for c in lay.columns
    ]


def analyse(
    data: bytes,
    file_name: str,
    process: ProcessDefinition,
    mapping: Mapping,
    *,
    sheets: list[str] | None = None,
    source: str = "",
    now: datetime | None = None,
) -> Analysis:
    """Read the file and plan every row; writes nothing."""
    now = now or timezone.now()
    try:
        book = reading.read(data, file_name)
    except reading.ReadError as exc:
        raise ImportProblem(str(exc)) from None
    names = [s.name for s in book.sheets]
    if sheets:
        missing = [s for s in sheets if s not in names]
        if missing:
            raise ImportProblem(
                f"文件中没有工作表「{'、'.join(missing)}」；有：{'、'.join(names) or '无'}"
            )
    definition = process.definition
    channels = {c.value: c.label for c in definition.channels}
    if mapping.channel and channels and mapping.channel not in channels:
        raise ImportProblem(
            f"对应关系的渠道「{mapping.channel}」不在流程「{definition.label}」中（该流程的渠道："
            f"{'、'.join(channels.values())}）：请选择有该渠道的流程，或在对应关系中用 channel 指定"
        )
    lk = lookups_for(process, mapping, now)
    planner = Planner(definition, mapping, lk)
    infos: list[SheetInfo] = []
    plans: list[RowPlan] = []
    sheet_issues: list[Issue] = []
    headers: dict[str, str] = {}
    for sheet in book.sheets:
        if sheets and sheet.name not in sheets:
            continue
        try:
            lay = layout(sheet, definition, mapping)
        except MappingError as exc:
            raise ImportProblem(str(exc)) from None
        if lay is None:
            infos.append(SheetInfo(sheet.name, None, note="没有可识别的表头，已跳过"))
            continue
        headers.update({c.key: c.header for c in lay.columns})
        found = lay.by_target()
        problems = []
        if "received_at" not in found:
            problems.append("没有接收时间列（如 投诉日期、受理日期、来电时间）")
        if "content" not in found and "title" not in found:
            problems.append("没有投诉内容列（如 投诉内容、事由、反映问题）")
        for p in problems:
            sheet_issues.append(
                Issue(sheet.name, lay.header_row + 1, "", "", "", p, "在对应关系中指定该列")
            )
        rows = [] if problems else list(plan_sheet(planner, sheet, lay))
        for p in rows:
            p.key = _key(p.key)
        plans += rows
        infos.append(
            SheetInfo(
                sheet.name,
                lay.header_row + 1,
                _column_rows(lay, definition),
                len(rows),
                "；".join(problems),
            )
        )
    for name in book.skipped:
        infos.append(SheetInfo(name, None, note="隐藏的工作表，已跳过"))
    mark_duplicates(plans)
    source = (source or mapping.source or PurePath(file_name).stem or "登记表")[:100]
    existing: dict[str, ImportedRow] = {}
    keys = [p.key for p in plans]
    versions: dict[str, int] = {}
    for i in range(0, len(keys), 500):
        for row in (
            ImportedRow.objects.filter(source=source, key__in=keys[i : i + 500])
            .only("pk", "key", "digest", "data", "case_version", "complaint_id", "sheet")
            .annotate(current_version=F("complaint__version"))
        ):
            existing[row.key] = row
            versions[row.key] = row.current_version
    status = {}
    for p in plans:
        row = existing.get(p.key)
        if not p.ok:
            status[p.key] = "error"
        elif row is None:
            status[p.key] = "new"
        elif row.digest == p.digest():
            status[p.key] = "unchanged"
        elif versions.get(p.key) != row.case_version:
            status[p.key] = "locked"
            p.warnings.append(
                Issue(
                    p.sheet,
                    p.row,
                    "",
                    "",
                    "",
                    "这一行有改动，但对应的投诉导入后已有人办理，不再按登记表更正",
                )
            )
        else:
            status[p.key] = "changed"
    return Analysis(
        process=process,
        mapping=mapping,
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        source=source,
        sheets=infos,
        plans=plans,
        sheet_issues=sheet_issues,
        status=status,
        existing=existing,
        lookups=lk,
        headers=headers,
    )


# --- writing --------------------------------------------------------------------------------------


def _summary(analysis: Analysis) -> str:
    c = analysis.counts()
    return (
        f"{c['rows']} 行：新建 {c['new']}（已办结 {c['closed']}，未办结 {c['open']}），"
        f"更正 {c['changed']}，未变 {c['unchanged']}，已办理不更正 {c['locked']}，有错误 {c['error']}"
    )


def refusal(analysis: Analysis) -> str:
    errors = analysis.errors
    return (
        f"文件有 {len(errors)} 处错误，未导入任何数据。请改正后重新导入，"
        "或选择只导入没有错误的行（--skip-errors）"
    )


def new_batch(analysis: Analysis, *, user: User | None, via: str, stored_file: str = ""):
    return ImportBatch.objects.create(
        process=analysis.process,
        source=analysis.source,
        preset=analysis.mapping.preset,
        file_name=analysis.file_name[:255],
        file_sha256=analysis.sha256,
        file_size=analysis.size,
        stored_file=stored_file,
        mapping=analysis.mapping.to_data(analysis.headers),
        via=via,
        created_by=user if isinstance(user, User) else None,
    )


STATUS_LABELS = {
    "new": "新建",
    "changed": "更正",
    "unchanged": "未变",
    "locked": "已办理，不更正",
    "error": "有错误，不导入",
}


def _when(value: str | None) -> str:
    if not value:
        return ""
    moment = timezone.localtime(datetime.fromisoformat(value))
    return (
        f"{moment:%Y-%m-%d}"
        if (moment.hour, moment.minute) == (0, 0)
        else f"{moment:%Y-%m-%d %H:%M}"
    )


def preview_rows(analysis: Analysis, limit: int = PREVIEW_ROWS) -> dict[str, list[dict]]:
    """The first rows as they will be stored, in the template's words, by sheet."""
    lk, definition = analysis.lookups, analysis.process.definition
    categories = {c.code: c.label for c in lk.categories}
    departments = {c.code: c.label for c in lk.departments}
    channels = {c.code: c.label for c in lk.channels}
    field_labels = {f.name: f.label for f in definition.fields}
    from .writing import SATISFACTION_LABELS

    out: dict[str, list[dict]] = {}
    for p in analysis.plans[:limit]:
        d = p.data
        extra = [f"{field_labels.get(k, k)}：{v}" for k, v in (d.get("fields") or {}).items()]
        if d.get("compensation"):
            extra.append(f"赔偿金额：{d['compensation']} 元")
        if d.get("deadline"):
            due = d["deadline"]
            extra.append(
                f"办理时限：{_when(due['due_at'])}"
                if "due_at" in due
                else f"办理时限：{due['amount']:g} {'个工作日' if due['unit'] == 'working_days' else '小时' if due['unit'] == 'hours' else '日'}"
            )
        out.setdefault(p.sheet, []).append(
            {
                "row": p.row,
                "status": analysis.status.get(p.key, ""),
                "status_label": STATUS_LABELS.get(analysis.status.get(p.key, ""), ""),
                "key": d.get("ref") or "",
                "received": _when(d.get("received_at")),
                "channel": channels.get(d.get("channel"), d.get("channel", "")),
                "category": categories.get(d.get("category"), ""),
                "department": departments.get(d.get("department"), ""),
                "complainant": (d.get("complainant") or {}).get("name", ""),
                "phone": (d.get("complainant") or {}).get("phone", ""),
                "content": (d.get("content") or "")[:80],
                "result": (d.get("result") or "")[:60],
                "closed": _when(d.get("closed_at")),
                "state": definition.state_label(d["state"]) if d.get("state") else "",
                "satisfaction": SATISFACTION_LABELS.get(d.get("satisfaction"), ""),
                "extra": "；".join(extra),
            }
        )
    return out


def record_analysis(batch: ImportBatch, analysis: Analysis) -> None:
    """Keep what the preview shows on the batch, so the page need not read the file again."""
    c = analysis.counts()
    batch.source = analysis.source
    preview = preview_rows(analysis)
    batch.sheets = [s.__dict__ | {"preview": preview.get(s.name, [])} for s in analysis.sheets]
    batch.mapping = analysis.mapping.to_data(analysis.headers)
    batch.rows = c["rows"]
    # Before the import: what it will do; run() overwrites them with what it did.
    batch.created, batch.updated, batch.unchanged = c["new"], c["changed"], c["unchanged"]
    batch.skipped = c["error"] + c["locked"]
    batch.error_count = len(analysis.errors)
    batch.warning_count = len(analysis.warnings)
    batch.issues = analysis.issue_rows()
    batch.message = _summary(analysis)
    batch.save()


def run(
    analysis: Analysis,
    *,
    user: User | None,
    skip_errors: bool = False,
    via: str = "cli",
    batch: ImportBatch | None = None,
    progress=None,
) -> ImportBatch:
    """Write the analysed rows. Refused (nothing written) when there are errors and skip_errors is
    not set; with skip_errors only rows without errors are written, each whole."""
    errors = analysis.errors
    if errors and not skip_errors:
        raise Refused(refusal(analysis))
    started = time.perf_counter()
    if batch is None:
        batch = new_batch(analysis, user=user, via=via)
    record_analysis(batch, analysis)
    batch.status, batch.skip_errors = ImportBatch.RUNNING, skip_errors
    batch.save(update_fields=["status", "skip_errors"])
    ctx = writing.Context(
        process=analysis.process,
        batch=batch,
        user=user,
        source=analysis.source,
        file_name=analysis.file_name,
    )
    good = [p for p in analysis.plans if p.ok]
    new = [p for p in good if analysis.status[p.key] == "new"]
    history = [p for p in new if p.closed]
    live = [p for p in new if not p.closed]
    try:
        made, updated, locked = _write(ctx, analysis, history, live, good, progress)
    except Exception as exc:
        # Each chunk and each row is its own transaction: what was written stays whole and an
        # import run again goes on from there; the batch says where it stopped.
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.FAILED,
            message=f"导入中断：{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    link_issues = link_duplicates(ctx, made) if made else ([], 0)
    c = analysis.counts()
    batch.created = len(new)
    batch.updated = updated
    batch.unchanged = c["unchanged"]
    batch.skipped = c["error"] + c["locked"] + locked
    batch.linked = link_issues[1]
    batch.issues = (batch.issues + [i.as_dict() | {"level": "warning"} for i in link_issues[0]])[
        :MAX_ISSUES_KEPT
    ]
    batch.warning_count += len(link_issues[0])
    batch.status = ImportBatch.DONE
    batch.finished_at = timezone.now()
    batch.seconds = time.perf_counter() - started
    batch.message = (
        f"新建 {batch.created} 件，更正 {updated} 件，未变 {batch.unchanged} 件，"
        f"跳过 {batch.skipped} 行" + (f"，关联重复投诉 {batch.linked} 件" if batch.linked else "")
    )
    batch.save()
    remove_stored(batch)
    return batch


def _write(ctx, analysis: Analysis, history, live, good, progress):
    done = 0
    for i in range(0, len(history), writing.CHUNK):
        writing.insert_history(ctx, history[i : i + writing.CHUNK])
        done += len(history[i : i + writing.CHUNK])
        if progress:
            progress(done)
    made: list[tuple[RowPlan, object]] = []
    for p in live:
        made.append((p, writing.insert_live(ctx, p, analysis.mapping.clock or None)))
        done += 1
        if progress and done % 100 == 0:
            progress(done)
    updated = locked = 0
    for p in good:
        if analysis.status[p.key] == "changed":
            if writing.correct(ctx, p, analysis.existing[p.key]) == "updated":
                updated += 1
            else:
                locked += 1
    return made, updated, locked


def link_duplicates(ctx: writing.Context, made) -> tuple[list[Issue], int]:
    """Link each new live case to the earlier case it repeats: the one its row names (关联工单编号),
    else an earlier case from the same complainant with near-identical text (triage's rule)."""

    issues, linked = [], 0
    for plan, complaint in made:
        earlier = None
        ref = plan.data.get("related_ref")
        if ref:
            row = ImportedRow.objects.filter(source=ctx.source, key=ref).first()
            if row is None:
                issues.append(
                    Issue(
                        plan.sheet,
                        plan.row,
                        "",
                        "",
                        ref,
                        f"关联的原编号「{ref}」没有导入过，未关联",
                    )
                )
                continue
            earlier = row.complaint_id
        else:
            dups = [
                d
                for d in duplicates_of(complaint)
                if d.same_complainant
                and "text" in d.reasons
                and d.received_at <= complaint.received_at
                and not d.link
            ]
            if dups:
                earlier = dups[0].id
        if earlier is None or earlier == complaint.pk:
            continue
        if not (isinstance(ctx.user, User) and ctx.user.has_role(*triage.LINK_ROLES)):
            issues.append(
                Issue(
                    plan.sheet,
                    plan.row,
                    "",
                    "",
                    "",
                    "与更早的投诉重复，但导入人不能关联投诉（需接待员、投诉专员或领导），未关联",
                )
            )
            continue
        try:
            triage.link(
                earlier, complaint, ctx.user, note=f"导入时发现的重复工单（{ctx.file_name}）"
            )
            linked += 1
        except CaseError as exc:  # already linked: nothing to do
            log.info("link %s-%s: %s", earlier, complaint.pk, exc)
    return issues, linked


# --- the stored upload (workbench) ------------------------------------------------------------------


def imports_dir() -> Path:
    path = settings.DATA_DIR / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(data: bytes) -> str:
    import secrets

    name = secrets.token_hex(16)
    (imports_dir() / name).write_bytes(data)
    return name


STALE_UPLOAD_DAYS = 7


def forget_stale_uploads(now: datetime | None = None) -> int:
    """Uploads previewed but never confirmed are not kept for ever (they hold personal data)."""
    from datetime import timedelta

    cutoff = (now or timezone.now()) - timedelta(days=STALE_UPLOAD_DAYS)
    stale = ImportBatch.objects.filter(status=ImportBatch.ANALYSED, created_at__lt=cutoff).exclude(
        stored_file=""
    )
    n = 0
    for batch in stale:
        remove_stored(batch)
        n += 1
    return n


def stored_data(batch: ImportBatch) -> bytes:
    if not batch.stored_file:
        raise ImportProblem("上传的文件已不在服务器上，请重新上传")
    path = imports_dir() / batch.stored_file
    if not path.is_file():
        raise ImportProblem("上传的文件已不在服务器上，请重新上传")
    return path.read_bytes()


def remove_stored(batch: ImportBatch) -> None:
    if batch.stored_file:
        (imports_dir() / batch.stored_file).unlink(missing_ok=True)
        ImportBatch.objects.filter(pk=batch.pk).update(stored_file="")
        batch.stored_file = ""


def analyse_batch(batch: ImportBatch, mapping: Mapping | None = None) -> Analysis:
    mapping = mapping or Mapping.from_data(batch.mapping)
    analysis = analyse(
        stored_data(batch), batch.file_name, batch.process, mapping, source=batch.source
    )
    return analysis


def claim(batch_id: int) -> ImportBatch | None:
    """Move a batch from 待确认 to 排队中 exactly once (a retried confirmation finds it taken)."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != ImportBatch.ANALYSED:
            return None
        batch.status = ImportBatch.QUEUED
        batch.save(update_fields=["status"])
    return batch


def run_batch(batch_id: int, *, skip_errors: bool) -> ImportBatch:
    """Import a claimed batch (the worker's task, or inline for small files)."""
    batch = ImportBatch.objects.select_related("process", "created_by").get(pk=batch_id)
    try:
        analysis = analyse_batch(batch)
        return run(
            analysis,
            user=batch.created_by,
            skip_errors=skip_errors,
            via=batch.via,
            batch=batch,
        )
    except (Refused, ImportProblem) as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.ANALYSED, message=str(exc)
        )
        raise
    except Exception as exc:
        log.exception("import batch %s failed", batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise


def save_mapping(process_name: str, name: str, mapping: Mapping, headers, user) -> SavedMapping:
    name = name.strip()[:100]
    if not name:
        raise ImportProblem("请给对应关系起个名字，如「门诊投诉登记本」")
    row, _ = SavedMapping.objects.update_or_create(
        process_name=process_name,
        name=name,
        defaults={
            "text": mapping.to_yaml(headers),
            "created_by": user if isinstance(user, User) else None,
        },
    )
    return row


def mapping_from(text_or_name: str, process_name: str) -> Mapping:
    """A mapping from a YAML file path, a saved mapping's name, or a preset's name."""
    path = Path(text_or_name)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise ImportProblem(f"映射文件「{text_or_name}」不存在")
        try:
            return Mapping.from_yaml(path.read_text(encoding="utf-8"), origin=path.name)
        except MappingError as exc:
            raise ImportProblem(str(exc)) from None
    saved = SavedMapping.objects.filter(process_name=process_name, name=text_or_name).first()
    if saved:
        return Mapping.from_yaml(saved.text, origin=f"对应关系「{saved.name}」")
    from .mapping import preset, preset_names

    if text_or_name in preset_names():
        return preset(text_or_name)
    raise ImportProblem(
        f"找不到对应关系「{text_or_name}」：应为 YAML 文件、已保存的对应关系名称或预设（{'、'.join(preset_names())}）"
    )
