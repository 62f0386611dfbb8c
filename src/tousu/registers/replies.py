"""The reply sheet (回单) a 12345 hotline platform takes back: one row per work order closed in the
period — 工单编号, 办理结果, 办结时间, 联系情况, 满意度 — read from the cases' own records (the
result and contact from the event log, the verdict from the statistics), as xlsx. Each export is
recorded in the export log like any other."""

from __future__ import annotations

import io
from datetime import datetime
from datetime import time as dtime

from django.utils import timezone

from tousu.reports import selectors as report_selectors
from tousu.reports.models import SATISFACTION_LABELS, CaseFact, ExportLog
from tousu.reports.periods import Period
from tousu.reports.register import DATETIME_FORMAT, event_rows, outcomes
from tousu.reports.services import neutralise
from tousu.workdays import SHANGHAI

from .models import ImportedRow

COLUMNS = ["工单编号", "办理结果", "办结时间", "联系情况", "满意度"]
WIDTHS = [20, 60, 18, 30, 10]


def reply_rows(period: Period, *, source: str = "12345", template: str | None = None) -> list[list]:
    start = datetime.combine(period.start, dtime.min, SHANGHAI)
    end = datetime.combine(period.end, dtime.min, SHANGHAI)
    rows = ImportedRow.objects.filter(
        source=source, complaint__closed_at__gte=start, complaint__closed_at__lt=end
    )
    if template:
        rows = rows.filter(complaint__process__name=template)
    found = list(
        rows.order_by("complaint__closed_at", "key").values_list(
            "key", "complaint_id", "complaint__closed_at", "complaint__is_anonymous"
        )
    )
    ids = [r[1] for r in found]
    definitions = {pk: p.definition for pk, p in report_selectors.Labels.load().processes.items()}
    results = outcomes(definitions, event_rows(ids)) if ids else {}
    verdicts = dict(
        CaseFact.objects.filter(complaint_id__in=ids).values_list("complaint_id", "satisfaction")
    )
    out = []
    for key, pk, closed_at, anonymous in found:
        o = results.get(pk)
        contact = o.contact if o and o.contact else ("匿名，未联系" if anonymous else "未联系")
        out.append(
            [
                key,
                (o.result if o else "") or "",
                timezone.localtime(closed_at).replace(tzinfo=None),
                contact,
                SATISFACTION_LABELS.get(verdicts.get(pk), "未评价"),
            ]
        )
    return out


def reply_sheet(
    period: Period, *, user, source: str = "12345", template: str | None = None, via: str = "web"
) -> tuple[bytes, int]:
    """(xlsx bytes, number of orders); recorded in the export log."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    rows = reply_rows(period, source=source, template=template)
    wb = Workbook()
    ws = wb.active
    ws.title = "回单"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([neutralise(v) for v in row])
    for i, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for number, result, closed, *_rest in ws.iter_rows(min_row=2):
        number.number_format = "@"
        result.alignment = Alignment(wrap_text=True, vertical="top")
        closed.number_format = DATETIME_FORMAT
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:E{len(rows) + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    ExportLog.objects.create(
        user=user,
        username=user.username,
        format="xlsx",
        filters={
            "period": period.key,
            "kind": "回单",
            "source": source,
            "template": template or "",
        },
        filters_text=f"回单：{period.label}，来源 {source}"[:300],
        rows=len(rows),
        personal_data=False,
        via=via,
    )
    return buf.getvalue(), len(rows)
