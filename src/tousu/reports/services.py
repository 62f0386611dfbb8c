"""Writes for analytics: periodic reports (PDF, xlsx) stored under DATA_DIR/reports and mailed to
leaders, and exports of case lists (xlsx, CSV) recorded in the export log."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as dtime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tousu.accounts.models import Organisation, User
from tousu.cases.models import FLAG_LABELS, Complaint, Party
from tousu.cases.privacy import (
    CaseMask,
    field_values,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
    may_reveal,
    personal_fields,
)
from tousu.cases.selectors import visible_complaints
from tousu.db.replica import reading_from_replica
from tousu.ops.disclosures import record_bulk_export
from tousu.workdays import SHANGHAI

from . import charts, selectors
from .models import SATISFACTION_LABELS, CaseFact, ClockFact, ExportLog, Report, report_storage
from .periods import Period, parse

log = logging.getLogger("tousu.reports")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell a spreadsheet would run as a formula (=, +, -, @) starts with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# --- periodic reports ---------------------------------------------------------------------------


def report_figures(period: Period) -> dict:
    """The organisation-wide figures of a period, computed afresh (never from the page cache), from
    the replica when there is a fresh one."""
    with reading_from_replica():
        return selectors.dashboard(selectors.make_filters(period), use_cache=False)


def request_report(
    period: Period, fmt: str, *, user: User | None = None, scheduled: bool = False
) -> Report | None:
    """A pending report row; None when a scheduled report of this period and format exists."""
    try:
        with transaction.atomic():
            return Report.objects.create(
                period=period.key,
                period_label=period.label,
                format=fmt,
                scheduled=scheduled,
                created_by=user,
            )
    except IntegrityError:
        return None


def build_report(report: Report, *, email: bool = False) -> Report:
    """Compute the figures and write the file; the row says done or failed (and why)."""
    started = time.perf_counter()
    try:
        period = parse(report.period)
        data = report_figures(period)
        content = pdf_bytes(data) if report.format == "pdf" else xlsx_bytes(data)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        name = f"{period.key.replace('..', '_')}-{stamp}-{report.pk}.{report.format}"
        # The storage may rename (never overwrites): keep the name it chose.
        name = report_storage().save(name, ContentFile(content))
        report.file, report.size = name, len(content)
        report.sha256 = hashlib.sha256(content).hexdigest()
        report.status, report.error = Report.DONE, ""
    except Exception as exc:  # recorded on the row for the list page; the worker goes on
        log.exception("report %s failed", report.pk)
        report.status, report.error = Report.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    report.finished_at = timezone.now()
    report.seconds = time.perf_counter() - started
    report.save()
    if email and report.status == Report.DONE:
        email_report(report)
    return report


def email_report(report: Report) -> list[str]:
    """Send the report to every active leader with an e-mail address."""
    recipients = sorted(
        set(
            User.objects.filter(is_active=True, roles__code="leader")
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not recipients or not report.file:
        return []
    org = Organisation.current().name
    message = EmailMessage(
        subject=f"【投诉系统】{report.period_label}投诉统计分析报告",
        body=(
            f"{org}{report.period_label}投诉统计分析报告已生成，见附件。\n"
            "本邮件由投诉处理系统自动发送。"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    mime = (
        "application/pdf"
        if report.format == "pdf"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    message.attach(report.filename, report.read_bytes(), mime)
    message.send(fail_silently=False)
    Report.objects.filter(pk=report.pk).update(emailed_to=", ".join(recipients))
    report.emailed_to = ", ".join(recipients)
    return recipients


def pdf_bytes(data: dict) -> bytes:
    from weasyprint import HTML

    svgs = charts.dashboard_charts(data)
    html = render_to_string(
        "reports/report_pdf.html",
        {
            "d": data,
            "org": Organisation.current().name,
            "charts": {k: charts.data_uri(v) for k, v in svgs.items()},
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


# --- dashboard snapshots ------------------------------------------------------------------------


def standard_periods(today) -> list[Period]:
    from .periods import month_of, quarter_of

    year = parse(str(today.year))
    return [
        month_of(today),
        month_of(today).previous,
        quarter_of(today),
        quarter_of(today).previous,
        year,
        year.previous,
    ]


def refresh_snapshots(now: datetime | None = None) -> list[tuple[str, float]]:
    """Compute the organisation-wide figures of the standard periods and keep them for the
    dashboard (selectors._snapshot). Returns (period, seconds) for each."""
    import pickle
    import zlib

    from .models import Snapshot

    now = now or timezone.now()
    done = []
    for period in standard_periods(timezone.localtime(now).date()):
        f = selectors.make_filters(period)
        started = time.perf_counter()
        with reading_from_replica():
            data = selectors.dashboard(f, use_cache=False)
        seconds = time.perf_counter() - started
        blob = zlib.compress(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), 6)
        Snapshot.objects.update_or_create(
            key=f.cache_key(),
            defaults={"computed_at": data["generated_at"], "seconds": seconds, "data": blob},
        )
        done.append((period.key, seconds))
    return done


# --- the spreadsheet ----------------------------------------------------------------------------


def _rate(x):
    return None if x is None else round(x, 4)


class Fmt:
    """A spreadsheet cell with its own number format."""

    __slots__ = ("value", "format")

    def __init__(self, value, fmt: str):
        self.value, self.format = value, fmt

    def __str__(self) -> str:
        return "" if self.value is None else str(self.value)


Table = tuple[str, list[str], list[list], dict[int, str]]
PCT = "0.0%"


def report_tables(d: dict) -> list[Table]:
    """(sheet name, header, rows, {column index: number format}) for each table of a report."""
    return [
        _overview(d),
        _trend(d),
        *_counts(d),
        _clocks(d),
        _handling(d),
        _satisfaction(d),
        _backlog(d),
        _routes(d),
        _capa(d),
        _league(d),
        _notes(d),
    ]


def _overview(d: dict) -> Table:
    kpi_rows = []
    for k in d["kpis"]:
        # Changes are numbers with a signed format, not text: a text cell starting with "+" or
        # "-" would be neutralised like a formula.
        change = k["change"]
        value, previous = k["value"], k["previous"]
        if k["kind"] == "rate":
            value, previous = Fmt(_rate(value), "0.0%"), Fmt(_rate(previous), "0.0%")
            change = Fmt(change, '+0.0" 个百分点";-0.0" 个百分点";"持平"')
        elif k["kind"] == "days":
            change = Fmt(change, '+0" 个工作日";-0" 个工作日";"持平"')
        else:
            change = Fmt(None if change is None else change / 100, '+0.0%;-0.0%;"持平"')
        kpi_rows.append([k["label"], value, previous, change, k["hint"]])
    return ("概览", ["指标", d["period"].label, d["previous"].label, "变化", "口径"], kpi_rows, {})


def _trend(d: dict) -> Table:
    return (
        "受理趋势",
        ["期间", "受理", "已办结"],
        [[r["label"], r["received"], r["closed"]] for r in d["trend"]],
        {},
    )


def _counts(d: dict) -> list[Table]:
    tables = []
    for name, rows in (
        ("投诉类别", d["by_category"]),
        ("责任部门", d["by_department"]),
    ):
        tables.append(
            (
                name,
                [name[-2:] if name == "投诉类别" else "部门", "件数", "占比", "上期件数"],
                [[r["label"], r["count"], _rate(r["share"]), r["previous"]] for r in rows],
                {2: PCT},
            )
        )
    for name, head, rows in (
        ("渠道", "渠道", d["by_channel"]),
        ("流程", "流程", d["by_process"]),
        ("院区地点", "院区/地点", d["by_site"]),
        ("被投诉方", "被投诉方", d["by_respondent"]),
    ):
        tables.append(
            (
                name,
                [head, "件数", "占比"],
                [[r["label"], r["count"], _rate(r["share"])] for r in rows],
                {2: PCT},
            )
        )
    return tables


def _clocks(d: dict) -> Table:
    return (
        "时限及时率",
        ["时限", "流程", "按时完成", "超时完成", "已过期未完成", "计时中未到期", "及时率"],
        [
            [
                c["label"],
                c["template"],
                c["met"],
                c["late"],
                c["overdue"],
                c["pending"],
                _rate(c["rate"]),
            ]
            for c in d["clocks"]
        ],  # fmt: skip
        {6: PCT},
    )


def _handling(d: dict) -> Table:
    h = d["handling"]
    return (
        "办理时长",
        ["工作日", "件数"],
        [[label, n] for label, n in h["buckets"]]
        + [["中位数（工作日）", h["median"]], ["90分位（工作日）", h["p90"]]],
        {},
    )


def _satisfaction(d: dict) -> Table:
    k = d["k"]
    return (
        "满意度",
        ["首次评价", "件数"],
        [
            ["满意", k["satisfied"]],
            ["基本满意", k["basically"]],
            ["不满意", k["dissatisfied"]],
            ["参评合计", k["verdicts"]],
            ["满意率", _rate(k["satisfaction_rate"])],
            ["不满意重办", k["reopened"]],
            ["回访（办结件中）", k["followed_up"]],
            ["回访率", _rate(k["follow_up_rate"])],
            ["重复投诉", k["repeat"]],
            ["集体投诉", k["collective"]],
        ],
        {},
    )  # fmt: skip


def _backlog(d: dict) -> Table:
    b = d["backlog"]
    return (
        "积压",
        [f"截至 {b['as_of'].isoformat()} 已用工作日", "未结案件"],
        [[label, n] for label, n in b["buckets"]] + [["合计", b["total"]]],
        {},
    )


def _routes(d: dict) -> Table:
    return (
        "外部途径",
        ["途径", "结果", "件次"],
        [[r["label"], out, n] for r in d["routes"] for out, n in r["outcomes"]],
        {},
    )


def _capa(d: dict) -> Table:
    c = d["capa"]
    return (
        "纠正措施",
        ["项目", "数值"],
        [
            ["验证通过（件）", c["verified"]],
            ["曾验证未通过（件）", c["failed_cases"]],
            ["验证未通过（次）", c["failed_rounds"]],
            ["一次验证通过率", _rate(c["first_pass_rate"])],
        ],
        {},
    )


LEAGUE_HEADER = [
    "名次", "部门", "受理", "办结", "办结率", "及时率", "超时项数", "时长中位数", "时长90分位",
    "满意率", "不满意", "重办", "积压", "上期受理",
]  # fmt: skip


def _league(d: dict) -> Table:
    return (
        "部门排名",
        LEAGUE_HEADER,
        [
            [
                r["rank"],
                r["label"],
                r["received"],
                r["closed"],
                _rate(r["closed_rate"]),
                _rate(r["on_time_rate"]),
                r["breaches"],
                r["median_days"],
                r["p90_days"],
                _rate(r["satisfaction_rate"]),
                r["dissatisfied"],
                r["reopened"],
                r["backlog"],
                r["previous"],
            ]
            for r in d["league"]
        ],  # fmt: skip
        {4: PCT, 5: PCT, 9: PCT},
    )


def _notes(d: dict) -> Table:
    f = d["filters"]
    filters = [f"统计期间：{d['period'].label}（{d['period'].start} 至 {d['period'].last_day}）"]
    if f.template:
        filters.append(f"流程：{f.template}")
    return ("说明", ["内容"], [[p] for p in filters + d["narrative"]], {})


def xlsx_bytes(d: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, header, rows, formats in report_tables(d):
        ws = wb.create_sheet(name)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for r_idx, row in enumerate(rows, 2):
            ws.append([neutralise(v.value if isinstance(v, Fmt) else v) for v in row])
            for c_idx, v in enumerate(row, 1):
                if isinstance(v, Fmt):
                    ws.cell(r_idx, c_idx).number_format = v.format
        for col, fmt in formats.items():
            for cells in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
                for cell in cells:
                    cell.number_format = fmt
        for i, title in enumerate(header, 1):
            longest = max([len(str(title))] + [len(str(r[i - 1] or "")) for r in rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, longest * 1.8))
        ws.freeze_panes = "A2"
        # Rates inside the mixed sheets (满意度、纠正措施) are shown as percentages.
        if name in ("满意度", "纠正措施"):
            for r_idx, row in enumerate(rows, 2):
                if str(row[0]).endswith("率"):
                    ws.cell(r_idx, 2).number_format = "0.0%"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- exports of case lists ----------------------------------------------------------------------

EXPORT_COLUMNS = [
    "投诉编号",
    "接收时间",
    "渠道",
    "流程",
    "投诉类别",
    "责任部门",
    "状态",
    "摘要",
    "投诉内容",
    "投诉人",
    "联系电话",
    "证件号码",
    "被投诉方",
    "结案时间",
    "办理工作日",
    "首次评价",
    "标记",
    "时限",
    "承办人",
]
MAX_EXPORT_ROWS = 1_000_000  # Excel's sheet limit is 1,048,576


def may_see_personal_data(user) -> bool:
    return may_reveal(user)


def scrub(text: str) -> str:
    """Phone and ID numbers written inside free text, masked like the party fields."""
    return mask_text(text)


def export_queryset(user, f: selectors.Filters):
    start = datetime.combine(f.period.start, dtime.min, SHANGHAI)
    end = datetime.combine(f.period.end, dtime.min, SHANGHAI)
    qs = visible_complaints(user).filter(received_at__gte=start, received_at__lt=end)
    if f.department_ids:
        qs = qs.filter(department_id__in=f.department_ids)
    if f.category_id:
        qs = qs.filter(category_id=f.category_id)
    if f.process_ids:
        qs = qs.filter(process_id__in=f.process_ids)
    return qs.order_by("received_at", "id")


def filters_text(f: selectors.Filters, labels: selectors.Labels) -> str:
    parts = [f.period.label]
    if f.department_id:
        parts.append(labels.department(f.department_id))
    if f.category_id:
        parts.append(labels.category(f.category_id))
    if f.template:
        parts.append(f.template)
    return "，".join(parts)


def start_export(user, f: selectors.Filters, fmt: str, *, via: str = "web"):
    """Count the cases, record the export, and return (log, ids). Raises ValueError when the list
    is too long for a spreadsheet."""
    ids = list(export_queryset(user, f).values_list("pk", flat=True)[: MAX_EXPORT_ROWS + 1])
    if len(ids) > MAX_EXPORT_ROWS:
        raise ValueError(f"超过 {MAX_EXPORT_ROWS:,} 件，请缩小筛选范围")
    labels = selectors.Labels.load()
    entry = ExportLog.objects.create(
        user=user,
        username=user.username,
        format=fmt,
        filters={
            "period": f.period.key,
            "department": f.department_id,
            "category": f.category_id,
            "template": f.template,
        },
        filters_text=filters_text(f, labels)[:300],
        rows=len(ids),
        personal_data=may_see_personal_data(user),
        via=via,
    )
    if entry.personal_data:  # each case's disclosure log names this export
        record_bulk_export(entry, ids)
    return entry, ids


def export_rows(user, ids: list[int], *, chunk: int = 2000) -> Iterator[list]:
    """The export's rows, masked unless the user may see personal data, neutralised."""

    reveal = may_see_personal_data(user)
    labels = selectors.Labels.load()
    state_labels = {
        pk: {s.name: s.label for s in p.definition.states} for pk, p in labels.processes.items()
    }
    flag_labels = dict(FLAG_LABELS)
    personal = {pk: personal_fields(p.definition)[0] for pk, p in labels.processes.items()}
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        rows = (
            Complaint.objects.filter(pk__in=part)
            .order_by("received_at", "id")
            .values_list(
                "pk",
                "tracking_number",
                "received_at",
                "channel",
                "process_id",
                "category_id",
                "department_id",
                "state",
                "title",
                "content",
                "closed_at",
                "flags",
                "owner_id",
                "fields",
            )
        )
        parties: dict[int, list] = {}
        for cid, role, kind, name, phone, ident in (
            Party.objects.filter(complaint_id__in=part)
            .order_by("id")
            .values_list("complaint_id", "role", "kind", "name", "phone", "id_number")
        ):
            parties.setdefault(cid, []).append((role, kind, name, phone, ident))
        facts = {
            pk: (days, sat)
            for pk, days, sat in CaseFact.objects.filter(complaint_id__in=part).values_list(
                "complaint_id", "handling_days", "satisfaction"
            )
        }
        late = set(
            ClockFact.objects.filter(complaint_id__in=part, late=True).values_list(
                "complaint_id", flat=True
            )
        )
        owners = {
            u.pk: str(u) for u in User.objects.filter(owned_complaints__pk__in=part).distinct()
        }
        for (
            pk,
            number,
            received,
            channel,
            pid,
            cat,
            dep,
            state,
            title,
            content,
            closed,
            flags,
            owner,
            sector,
        ) in rows:
            people = parties.get(pk, [])
            complainant = next((p for p in people if p[0] == "complainant"), None)
            respondent = next((p for p in people if p[0] == "respondent"), None)
            name = phone = ident = ""
            if complainant:
                _, kind, name, phone, ident = complainant
                if not reveal and kind == "person":
                    name, phone, ident = mask_name(name), mask_phone(phone), mask_id_number(ident)
            resp = respondent[2] if respondent else ""
            if not reveal:
                # The complainant's own values too where the text repeats them (cases/privacy.py).
                known = [(v, m) for p in people if p[1] == "person" for v, m in
                         ((p[2], mask_name), (p[3], mask_phone), (p[4], mask_id_number))]  # fmt: skip
                known += field_values(sector, personal.get(pid, {}))
                mask = CaseMask(values=known)
                title, content = mask.text(title), mask.text(content)
                if respondent and respondent[1] == "person":
                    resp = mask_name(resp)
            days, sat = facts.get(pk, (None, 0))
            row = [
                number,
                timezone.localtime(received).strftime("%Y-%m-%d %H:%M"),
                labels.channel(pid, channel),
                labels.template(pid),
                labels.category(cat) if cat else "",
                labels.department(dep) if dep else "",
                state_labels.get(pid, {}).get(state, state),
                title,
                content,
                name,
                phone,
                ident,
                resp,
                timezone.localtime(closed).strftime("%Y-%m-%d %H:%M") if closed else "",
                days if days is not None else "",
                SATISFACTION_LABELS.get(sat, ""),
                "、".join(flag_labels.get(x, x) for x in flags or []),
                "有超时" if pk in late else "",
                owners.get(owner, "") if owner else "",
            ]
            yield [neutralise(v) for v in row]


class _Echo:
    def write(self, value):
        return value


def csv_stream(user, ids: list[int]) -> Iterator[str]:
    """CSV for Excel in China: UTF-8 with a byte-order mark, one header row."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    for row in export_rows(user, ids):
        yield writer.writerow(row)


def xlsx_file(user, ids: list[int], f: selectors.Filters | None = None):
    """The export as the register an office files (register.py): an .xlsx in an anonymous
    temporary file (gone when closed). CSV keeps its plain form (csv_stream)."""
    from .register import workbook

    return workbook(user, ids, f)
