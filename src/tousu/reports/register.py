"""The case register (投诉登记簿) as an office files it: an xlsx with one sheet per template, a title
row (organisation, period, filters), the template's own fields as columns beside the common ones,
who registered and who handled each case and with what result, dates and amounts as real cells,
widths, a frozen header, an autofilter and print titles. Personal data is masked for roles that may
not see it, as in every export.

Which of a template's fields are columns is read from its definition: every registration field,
and from the actions' forms the amounts (integer fields whose label says 金额); the result is the
last text the organisation recorded as its answer (a public text field, or the text of the action
that closed the case), and the closing action names how it ended.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from tousu.accounts.models import Department, Organisation
from tousu.cases.models import FLAG_LABELS, Complaint, Event, Party
from tousu.cases.privacy import (
    CaseMask,
    field_values,
    mask_id_number,
    mask_name,
    mask_phone,
    masker_for,
    personal_fields,
)
from tousu.processes.definition import FieldDef, ProcessDef
from tousu.processes.models import Category, ProcessDefinition

from . import selectors
from .models import SATISFACTION_LABELS, CaseFact, ClockFact
from .rules import IMPORTED_ACTION

CHUNK = 2000
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
TEXT_KINDS = ("text", "textarea")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Col:
    key: str
    title: str
    kind: str = "text"  # text | long | int | money | date | datetime | code
    width: float = 12


@dataclass
class Outcome:
    result: str = ""
    closing: str = ""
    handler: str = ""
    ref: str = ""
    money: dict[str, float] = field(default_factory=dict)
    contact: str = ""


def _money_fields(definition: ProcessDef) -> list[FieldDef]:
    seen, out = set(), []
    for a in definition.actions:
        for f in a.form:
            if f.type == "integer" and "金额" in f.label and f.name not in seen:
                seen.add(f.name)
                out.append(f)
    return out


def columns(definition: ProcessDef, *, with_ref: bool) -> list[Col]:
    cols = [
        Col("serial", "序号", "int", 6),
        Col("number", "投诉编号", "code", 19),
    ]
    if with_ref:
        cols.append(Col("ref", "外部编号", "code", 18))
    cols += [
        Col("received", "接收时间", "datetime", 17),
        Col("channel", "渠道", "text", 9),
        Col("category", "投诉类别", "text", 12),
        Col("department", "责任部门", "text", 12),
        Col("complainant", "投诉人", "text", 10),
        Col("phone", "联系电话", "code", 14),
        Col("id_number", "证件号码", "code", 20),
        Col("respondent", "被投诉方", "text", 14),
    ]
    for f in definition.fields:
        if f.type == "users":
            continue
        kind = {
            "date": "date",
            "datetime": "datetime",
            "integer": "int",
            "textarea": "long",
        }.get(f.type, "text")
        width = {"date": 12, "datetime": 17, "int": 9, "long": 30}.get(kind, 14)
        cols.append(Col("f:" + f.name, f.label, kind, max(width, min(len(f.label) * 2.2, 24))))
    cols += [
        Col("title", "摘要", "text", 24),
        Col("content", "投诉内容", "long", 48),
        Col("request", "诉求", "long", 24),
        Col("state", "状态", "text", 12),
        Col("created_by", "登记人", "text", 10),
        Col("handler", "承办人", "text", 10),
        Col("result", "处理结果", "long", 40),
        Col("closing", "结案方式", "text", 18),
    ]
    money = _money_fields(definition)
    for f in money:
        cols.append(Col("m:" + f.name, f.label, "money", max(12, len(f.label) * 2)))
    if "compensation" not in {f.name for f in money}:
        cols.append(Col("m:compensation", "赔偿金额（元）", "money", 14))
    cols += [
        Col("closed", "结案时间", "datetime", 17),
        Col("days", "办理工作日", "int", 10),
        Col("satisfaction", "满意度", "text", 9),
        Col("flags", "标记", "text", 14),
        Col("late", "时限", "text", 9),
    ]
    return cols


# --- outcomes from the event log ------------------------------------------------------------------


def _result_fields(definition: ProcessDef) -> dict[str, tuple[list[str], bool]]:
    """action → (its text fields that hold an answer, whether it closes the case)."""
    closed = definition.closed_states
    out = {}
    for a in definition.actions:
        texts = [f for f in a.form if f.type in TEXT_KINDS]
        public = [f.name for f in texts if f.public]
        closes = a.to in closed
        names = public or ([f.name for f in texts] if closes else [])
        out[a.name] = (names, closes)
    return out


def outcomes(definitions: dict[int, ProcessDef], rows: Iterable[tuple]) -> dict[int, Outcome]:
    """(complaint id, process id, action, from, to, actor id, actor name, payload) in order → each
    case's outcome."""
    cache: dict[int, tuple] = {}
    out: dict[int, Outcome] = {}
    for cid, pid, action, from_state, to_state, actor_id, actor_name, payload in rows:
        o = out.setdefault(cid, Outcome())
        d = definitions[pid]
        if pid not in cache:
            cache[pid] = (
                _result_fields(d),
                {f.name for f in _money_fields(d)},
                d.closed_states,
                {a.name: a for a in d.actions},
            )
        fields, money, closed, actions = cache[pid]
        payload = payload or {}
        if action == IMPORTED_ACTION:
            o.ref = payload.get("ref", o.ref)
            o.result = payload.get("result", o.result)
            o.handler = payload.get("handler", o.handler)
            if payload.get("compensation"):
                o.money["compensation"] = float(payload["compensation"])
            if to_state in closed and not o.closing:
                o.closing = "按登记表导入"
            continue
        names, closes = fields.get(action, ((), False))
        for name in names:
            if payload.get(name):
                o.result = str(payload[name])
                break
        for name in money:
            if payload.get(name) not in (None, ""):
                o.money[name] = float(payload[name])
        a = actions.get(action)
        if a is not None and "method" in payload:
            method = next((f for f in a.form if f.name == "method"), None)
            labels = {c.value: c.label for c in (method.choices if method else ())}
            o.contact = f"已联系（{labels.get(payload['method'], payload['method'])}，{a.label}）"
        elif a is not None and payload.get("satisfaction") and not o.contact:
            o.contact = f"已联系（{a.label}）"  # the complainant's verdict was taken
        if to_state and to_state != from_state:
            if actor_id:
                o.handler = actor_name
            if to_state in closed and from_state not in closed and a is not None:
                o.closing = a.label
    return out


def event_rows(ids: list[int]) -> Iterator[tuple]:
    return (
        Event.objects.filter(complaint_id__in=ids)
        .order_by("complaint_id", "created_at", "id")
        .values_list(
            "complaint_id",
            "complaint__process_id",
            "action",
            "from_state",
            "to_state",
            "actor_id",
            "actor_name",
            "payload",
        )
        .iterator(chunk_size=5000)
    )


# --- cells ----------------------------------------------------------------------------------------


def _local(moment: datetime | None) -> datetime | None:
    # openpyxl cannot store time zones: the organisation's local time, as written in its files.
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _field_value(f: FieldDef, value, reveal: bool, names: dict[str, str]):
    if value in (None, "", []):
        return None
    if f.personal and not reveal:
        # The one masking rule (cases/privacy.py): the field's name says what it holds.
        mask = masker_for(f.name)
        return (
            "、".join(mask(str(v)) for v in value) if isinstance(value, list) else mask(str(value))
        )
    if f.type == "date":
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    if f.type == "datetime":
        try:
            return _local(datetime.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if f.type == "integer":
        return value if isinstance(value, int) else str(value)
    if f.type == "boolean":
        return "是" if value else "否"
    if f.type in ("choice", "multichoice"):
        labels = {c.value: c.label for c in f.choices}
        items = value if isinstance(value, list) else [value]
        return "、".join(labels.get(v, str(v)) for v in items)
    if f.type in ("category", "department", "departments"):
        items = value if isinstance(value, list) else [value]
        return "、".join(names.get(v, str(v)) for v in items)
    return str(value)


def sheet_rows(user, ids: list[int], cols: list[Col], definition: ProcessDef) -> Iterator[list]:
    """The register's rows for one template's cases, masked and neutralised."""

    from .services import may_see_personal_data, neutralise, scrub

    reveal = may_see_personal_data(user)
    labels = selectors.Labels.load()
    definitions = {pk: p.definition for pk, p in labels.processes.items()}
    names = dict(Department.objects.values_list("code", "name"))
    names |= dict(
        Category.objects.filter(process_name=definition.name).values_list("code", "label")
    )
    field_defs = {f.name: f for f in definition.fields}
    serial = 0
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        cases = (
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
                "request",
                "closed_at",
                "flags",
                "fields",
                "created_by__display_name",
                "created_by__username",
            )
        )
        parties: dict[int, list] = {}
        for cid, role, kind, name, phone, ident in (
            Party.objects.filter(complaint_id__in=part)
            .order_by("id")
            .values_list("complaint_id", "role", "kind", "name", "phone", "id_number")
        ):
            parties.setdefault(cid, []).append((role, kind, name, phone, ident))
        facts = dict(
            (pk, (days, sat))
            for pk, days, sat in CaseFact.objects.filter(complaint_id__in=part).values_list(
                "complaint_id", "handling_days", "satisfaction"
            )
        )
        late = set(
            ClockFact.objects.filter(complaint_id__in=part, late=True).values_list(
                "complaint_id", flat=True
            )
        )
        results = outcomes(definitions, event_rows(part))
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
            request,
            closed,
            flags,
            sector,
            by_name,
            by_username,
        ) in cases:
            serial += 1
            people = parties.get(pk, [])
            complainant = next((p for p in people if p[0] == "complainant"), None)
            respondent = next((p for p in people if p[0] == "respondent"), None)
            name = phone = ident = ""
            if complainant:
                _, kind, name, phone, ident = complainant
                if not reveal and kind == "person":
                    name, phone, ident = mask_name(name), mask_phone(phone), mask_id_number(ident)
            resp = respondent[2] if respondent else ""
            if respondent and not reveal and respondent[1] == "person":
                resp = mask_name(resp)
            o = results.get(pk, Outcome())
            result = o.result
            if not reveal:
                # Contact data in free text, and the complainant's own values where the text
                # repeats them (a name, a 住院号), as on the case page and in the CSV export.
                known = [(v, m) for q in people if q[1] == "person" for v, m in
                         ((q[2], mask_name), (q[3], mask_phone), (q[4], mask_id_number))]  # fmt: skip
                known += field_values(sector, personal_fields(definitions[pid])[0])
                mask = CaseMask(values=known)
                title, content, request, result = (
                    mask.text(scrub(t or "")) for t in (title, content, request, result)
                )
            days, sat = facts.get(pk, (None, 0))
            d = definitions[pid]
            values = {
                "serial": serial,
                "number": number,
                "ref": o.ref,
                "received": _local(received),
                "channel": labels.channel(pid, channel),
                "category": labels.category(cat) if cat else "",
                "department": labels.department(dep) if dep else "",
                "complainant": name,
                "phone": phone,
                "id_number": ident,
                "respondent": resp,
                "title": title,
                "content": content,
                "request": request,
                "state": d.state_label(state),
                "created_by": by_name or by_username or "",
                "handler": o.handler,
                "result": result,
                "closing": o.closing,
                "closed": _local(closed),
                "days": days,
                "satisfaction": SATISFACTION_LABELS.get(sat, ""),
                "flags": "、".join(FLAG_LABELS.get(x, x) for x in flags or []),
                "late": "有超时" if pk in late else "",
            }
            row = []
            for c in cols:
                if c.key.startswith("f:"):
                    f = field_defs.get(c.key[2:])
                    v = _field_value(f, (sector or {}).get(f.name), reveal, names) if f else None
                elif c.key.startswith("m:"):
                    v = o.money.get(c.key[2:])
                else:
                    v = values.get(c.key)
                row.append(neutralise(v) if isinstance(v, str) else v)
            yield row


# --- the workbook ---------------------------------------------------------------------------------


def sheet_title(label: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub("", label)[:28] or "投诉"
    title, n = base, 2
    while title in taken:
        title, n = f"{base[:26]}{n}", n + 1
    taken.add(title)
    return title


def group_by_template(ids: list[int]) -> list[tuple[str, list[int]]]:
    """[(template name, ids in export order)], templates in the order their first case appears."""

    names = {pk: p.name for pk, p in selectors.Labels.load().processes.items()}
    process_of: dict[int, int] = {}
    for i in range(0, len(ids), CHUNK * 5):
        part = ids[i : i + CHUNK * 5]
        process_of.update(Complaint.objects.filter(pk__in=part).values_list("pk", "process_id"))
    groups: dict[str, list[int]] = {}
    for pk in ids:
        groups.setdefault(names.get(process_of.get(pk), "?"), []).append(pk)
    return list(groups.items())


def caption(f, labels, *, count: int, reveal: bool, user) -> str:
    period = f.period.label
    if f.period.kind != "range":
        period += f"（{f.period.start} 至 {f.period.last_day}）"
    parts = [f"期间：{period}"]
    if f.department_id:
        parts.append(f"部门：{labels.department(f.department_id)}")
    if f.category_id:
        parts.append(f"类别：{labels.category(f.category_id)}")
    if f.scope_label:
        parts.append(f"范围：{f.scope_label}")
    parts.append(f"共 {count} 件")
    parts.append("个人信息未遮盖" if reveal else "个人信息已按导出人权限遮盖")
    parts.append(f"导出：{timezone.localtime():%Y-%m-%d %H:%M} {user}")
    return "；".join(parts)


def workbook(user, ids: list[int], f=None):
    """The register as an .xlsx in an anonymous temporary file (gone when closed)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    from .services import may_see_personal_data

    reveal = may_see_personal_data(user)
    labels = selectors.Labels.load()
    org = Organisation.current().name
    wb = Workbook(write_only=True)
    thin = Side(style="thin", color="A0A8B0")
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DCE6F0")
    head_border = Border(top=thin, bottom=thin, left=thin, right=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    groups = group_by_template(ids) or [(f.template if f and f.template else "", [])]
    taken: set[str] = set()
    for name, part in groups:
        process = (
            ProcessDefinition.objects.filter(name=name).order_by("-is_active", "-version").first()
        )
        definition = process.definition if process else None
        if definition is None:  # nothing exported and no template chosen
            definition = ProcessDefinition.objects.filter(is_active=True).first().definition
        with_ref = _has_imports(part)
        cols = columns(definition, with_ref=with_ref)
        ws = wb.create_sheet(sheet_title(definition.label, taken))
        last = get_column_letter(len(cols))
        for i, c in enumerate(cols, 1):
            ws.column_dimensions[get_column_letter(i)].width = c.width
        # A write-only sheet writes its view (the frozen panes) before the first row.
        ws.freeze_panes = "C4"
        title = WriteOnlyCell(ws, value=f"{org}投诉登记簿（{definition.label}）")
        title.font = Font(bold=True, size=15)
        title.alignment = Alignment(horizontal="center", vertical="center")
        ws.append([title])
        ws.merged_cells.add(f"A1:{last}1")
        text = (
            caption(f, labels, count=len(part), reveal=reveal, user=user)
            if f
            else f"共 {len(part)} 件"
        )
        sub = WriteOnlyCell(ws, value=text)
        sub.font = Font(size=10, color="505A64")
        ws.append([sub])
        ws.merged_cells.add(f"A2:{last}2")
        header = []
        for c in cols:
            cell = WriteOnlyCell(ws, value=c.title)
            cell.font, cell.fill, cell.border = head_font, head_fill, head_border
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
            header.append(cell)
        ws.append(header)
        # One styled prototype cell per column: copying its style is far cheaper than styling
        # each of hundreds of thousands of cells (openpyxl looks every style up on assignment).
        protos = []
        for c in cols:
            proto = WriteOnlyCell(ws)
            proto.number_format = {
                "datetime": DATETIME_FORMAT,
                "date": DATE_FORMAT,
                "money": MONEY_FORMAT,
                "code": "@",
            }.get(c.kind, "General")
            proto.alignment = wrap if c.kind == "long" else top
            protos.append(proto._style)
        n = 3
        for row in sheet_rows(user, part, cols, definition):
            cells = []
            for style, v in zip(protos, row, strict=True):
                cell = WriteOnlyCell(ws, value=v)
                cell._style = copy(style)
                cells.append(cell)
            ws.append(cells)
            n += 1
        ws.auto_filter.ref = f"A3:{last}{max(n, 4)}"
        ws.print_title_rows = "3:3"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    tmp = tempfile.TemporaryFile(dir=settings.DATA_DIR)
    wb.save(tmp)
    tmp.seek(0)
    return tmp


def _has_imports(ids: list[int]) -> bool:
    for i in range(0, len(ids), CHUNK * 5):
        if Event.objects.filter(
            complaint_id__in=ids[i : i + CHUNK * 5], action=IMPORTED_ACTION
        ).exists():
            return True
    return False
