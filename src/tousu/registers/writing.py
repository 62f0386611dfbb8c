"""Writing planned rows as cases, through the cases' own models and the statistics' own refresh.

Two roads, chosen by what the row is:

- **History** (a closed case): inserted in bulk, a few hundred rows per transaction, each row whole
  or not at all. No registration signal: a case closed years ago must not raise risk alerts, send
  webhooks or start clocks. What a registration would add is added directly: the statistics facts
  and monthly roll-ups (reports.facts.refresh), the search index, the text fingerprint triage
  compares new complaints with.
- **Live** (an open case, a 12345 work order): written like a registration — the flow's clocks from
  the receipt, `complaint_registered` sent, so triage, statistics and webhooks see a new case —
  then the work order's own deadline (clocks.services.start_clock).

A corrected row changes only the fields that changed, with a "导入更正" event naming them; a case
someone has acted on since it was imported is left alone and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tousu.accounts.models import Department, Organisation, User
from tousu.cases import search
from tousu.cases.models import (
    Complaint,
    Counter,
    Event,
    Party,
    hash_access_code,
    new_access_code,
)
from tousu.cases.signals import complaint_registered
from tousu.clocks.models import Clock
from tousu.clocks.services import initial_clocks, refresh_next_due, start_clock
from tousu.processes.models import Category, ProcessDefinition
from tousu.reports import facts
from tousu.triage.models import TextPrint
from tousu.triage.services import record_print

from .models import ImportBatch, ImportedRow
from .plan import RowPlan

log = logging.getLogger("tousu.registers")

IMPORTED = "imported"  # the event's action; reports/rules.py reads its `satisfaction`
CORRECTED = "import_corrected"
CHUNK = 250
PAYLOAD_KEYS = (
    "result",
    "satisfaction",
    "compensation",
    "handler",
    "transfer_note",
    "area",
    "note",
    "related_ref",
)
SATISFACTION_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
# Case attributes a correction may change, with their Chinese names for the event.
CORRECTABLE = {
    "received_at": "接收时间",
    "closed_at": "办结时间",
    "state": "状态",
    "channel": "渠道",
    "title": "摘要",
    "content": "投诉内容",
    "request": "诉求",
    "category": "投诉类别",
    "department": "责任部门",
    "fields": "行业字段",
    "complainant": "投诉人",
    "respondent": "被投诉方",
    "result": "处理结果",
    "satisfaction": "满意度",
    "compensation": "赔偿金额（元）",
    "handler": "经办人",
    "transfer_note": "转办意见",
    "area": "区域",
    "note": "备注",
    "related_ref": "关联的原编号",
}


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def reserve_numbers(key: str, count: int) -> int:
    """Reserve `count` consecutive values of a gap-free counter; returns the first."""
    table = Counter._meta.db_table
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {table} SET value = value + %s WHERE key = %s RETURNING value",
                [count, key],
            )
            row = cursor.fetchone()
            if row:
                return row[0] - count + 1
            try:
                with transaction.atomic():
                    Counter.objects.create(key=key, value=count)
                return 1
            except IntegrityError:
                continue  # created concurrently: the UPDATE finds it now
    raise RuntimeError(f"counter {key} unavailable")


@dataclass
class Context:
    process: ProcessDefinition
    batch: ImportBatch
    user: User | None
    source: str
    file_name: str
    now: datetime = field(default_factory=timezone.now)

    def __post_init__(self):
        self.prefix = Organisation.current().tracking_prefix
        self.categories = dict(
            Category.objects.filter(process_name=self.process.name).values_list("code", "id")
        )
        self.departments = dict(Department.objects.values_list("code", "id"))
        self.department_names = {n: c for c, n in Department.objects.values_list("code", "name")}
        self.category_labels = dict(
            Category.objects.filter(process_name=self.process.name).values_list("code", "label")
        )
        self.definition = self.process.definition
        self.actor_name = str(self.user) if self.user else f"导入（{self.file_name}）"


def _numbers(ctx: Context, plans: Sequence[RowPlan]) -> list[str]:
    """Tracking numbers by the day each case was received, so a 2023 case reads 2023."""
    days: dict[str, list[int]] = {}
    for i, p in enumerate(plans):
        day = f"{timezone.localtime(parse_time(p.data['received_at'])):%Y%m%d}"
        days.setdefault(day, []).append(i)
    out = [""] * len(plans)
    for day, idx in sorted(days.items()):
        first = reserve_numbers(f"complaint:{day}", len(idx))
        for n, i in enumerate(idx):
            out[i] = f"{ctx.prefix}-{day}-{first + n:04d}"
    return out


def _complaint(ctx: Context, plan: RowPlan, number: str) -> Complaint:
    d = plan.data
    return Complaint(
        tracking_number=number,
        access_code_hash=hash_access_code(new_access_code()),  # never shown: no one tracks it
        process=ctx.process,
        state=d["state"],
        channel=d["channel"],
        title=d["title"],
        content=d["content"],
        request=d["request"],
        category_id=ctx.categories.get(d["category"]),
        department_id=ctx.departments.get(d["department"]),
        fields=d["fields"],
        received_at=parse_time(d["received_at"]),
        closed_at=parse_time(d["closed_at"]),
        created_by=ctx.user,
    )


def _parties(ctx: Context, plan: RowPlan) -> list[Party]:
    d = plan.data
    people = []
    who = d["complainant"]
    if any(who.values()):
        people.append(Party(role="complainant", kind="person", **who))
    if d["respondent"]:
        kind = "department" if d["respondent"] in ctx.department_names else "person"
        people.append(Party(role="respondent", kind=kind, name=d["respondent"][:100]))
    return people


def _payload(ctx: Context, plan: RowPlan) -> dict:
    d = plan.data
    payload = {
        "import_source": ctx.source,
        "import_file": ctx.file_name,
        "import_sheet": plan.sheet,
        "import_row": plan.row,
    }
    if d.get("ref"):
        payload["ref"] = d["ref"]
    for key in PAYLOAD_KEYS:
        if d.get(key):
            payload[key] = d[key]
    if d.get("satisfaction") in SATISFACTION_LABELS:
        payload["satisfaction_label"] = SATISFACTION_LABELS[d["satisfaction"]]
    return payload


def _event(ctx: Context, plan: RowPlan, complaint: Complaint) -> Event:
    return Event(
        complaint=complaint,
        action=IMPORTED,
        label="导入",
        from_state="",
        to_state=complaint.state,
        actor=ctx.user,
        actor_name=ctx.actor_name,
        via="import",
        payload=_payload(ctx, plan),
        comment=f"从「{ctx.file_name}」工作表「{plan.sheet}」第 {plan.row} 行导入",
        created_at=ctx.now,
    )


def _imported_row(ctx: Context, plan: RowPlan, complaint: Complaint) -> ImportedRow:
    return ImportedRow(
        source=ctx.source,
        key=plan.key,
        complaint=complaint,
        batch=ctx.batch,
        last_batch=ctx.batch,
        file_name=ctx.file_name,
        sheet=plan.sheet,
        row_number=plan.row,
        original=plan.original,
        data=plan.data,
        digest=plan.digest(),
        case_version=complaint.version,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def _fact_rows(parties: list[Party]) -> list[tuple]:
    return [(p.role, p.name, p.phone, p.id_number) for p in parties]


# --- history --------------------------------------------------------------------------------------


def insert_history(ctx: Context, plans: Sequence[RowPlan]) -> list[Complaint]:
    """Closed cases, in one transaction for the whole chunk."""

    with transaction.atomic():
        numbers = _numbers(ctx, plans)
        complaints = [_complaint(ctx, p, n) for p, n in zip(plans, numbers, strict=True)]
        Complaint.objects.bulk_create(complaints)
        parties, events, rows, per_case = [], [], [], []
        for plan, c in zip(plans, complaints, strict=True):
            people = _parties(ctx, plan)
            for p in people:
                p.complaint = c
            event = _event(ctx, plan, c)
            parties += people
            events.append(event)
            rows.append(_imported_row(ctx, plan, c))
            per_case.append((c, people, event))
        Party.objects.bulk_create(parties)
        Event.objects.bulk_create(events)
        ImportedRow.objects.bulk_create(rows)
        search.index_rows(
            [
                (c.pk, f"{c.tracking_number} {search.document(c, people)}")
                for c, people, _ in per_case
            ]
        )
        for c, people, event in per_case:
            facts.refresh(
                c,
                events=[(event.action, event.payload)],
                parties=_fact_rows(people),
                clocks=[],
                new=True,
            )
            record_print(c)  # later complaints are compared with the history too
    return complaints


# --- live cases -----------------------------------------------------------------------------------


def _state_clocks(ctx: Context, complaint: Complaint) -> list:
    """The flow's clocks that run in the case's state: those started at registration when it is
    the first state, and those started by the actions that lead into it."""
    d = ctx.definition
    into = {a.name for a in d.actions if a.to == complaint.state}
    initial = complaint.state == d.initial_state.name
    return [
        c
        for c in d.clocks
        if ("created" in c.start and initial) or (into & set(c.start) and not initial)
    ]


def insert_live(ctx: Context, plan: RowPlan, clock_spec: dict | None) -> Complaint:
    """One open case, written like a registration."""

    with transaction.atomic():
        complaint = _complaint(ctx, plan, _numbers(ctx, [plan])[0])
        received = complaint.received_at
        initial = complaint.state == ctx.definition.initial_state.name
        clocks = initial_clocks(complaint, received) if initial else []
        complaint.next_due_at = min((k.due_at for k in clocks), default=None)
        complaint.save(force_insert=True)
        people = _parties(ctx, plan)
        for p in people:
            p.complaint = complaint
        Party.objects.bulk_create(people)
        event = _event(ctx, plan, complaint)
        event.save()
        for k in clocks:
            k.complaint = complaint

        Clock.objects.bulk_create(clocks)
        if not initial:
            for d in _state_clocks(ctx, complaint):
                clocks.append(
                    start_clock(
                        complaint,
                        name=d.name,
                        label=d.label,
                        basis=d.basis,
                        at=received,
                        unit=d.unit,
                        amount=d.amount,
                        warn_before=d.warn_before,
                    )
                )
        deadline = plan.data.get("deadline")
        if deadline and clock_spec:
            extra = (
                {"due_at": parse_time(deadline["due_at"])}
                if "due_at" in deadline
                else {"unit": deadline["unit"], "amount": deadline["amount"]}
            )
            clocks.append(
                start_clock(
                    complaint,
                    name=clock_spec.get("name", "external_deadline"),
                    label=clock_spec.get("label", "办理时限"),
                    basis=clock_spec.get("basis", "来文所载办理时限"),
                    at=received,
                    **extra,
                )
            )
        ImportedRow.objects.bulk_create([_imported_row(ctx, plan, complaint)])
        search.index_rows(
            [(complaint.pk, f"{complaint.tracking_number} {search.document(complaint, people)}")]
        )
        complaint_registered.send(
            sender=Complaint, complaint=complaint, event=event, parties=people, clocks=clocks
        )
    return complaint


# --- corrections ----------------------------------------------------------------------------------


def _stop_clocks(complaint: Complaint, at: datetime) -> None:
    """A row corrected to say the case was concluded: its clocks stop then."""

    for clock in Clock.objects.filter(complaint=complaint).exclude(state=Clock.STOPPED):
        clock.state, clock.stopped_at = Clock.STOPPED, at
        clock.save(update_fields=["state", "stopped_at"])
    refresh_next_due(complaint)


def changes(old: dict, new: dict) -> dict[str, tuple]:
    keys = [k for k in CORRECTABLE if k in old or k in new]
    return {
        k: (old.get(k), new.get(k)) for k in keys if (old.get(k) or None) != (new.get(k) or None)
    }


def _shown(ctx: Context, key: str, value) -> str:
    """A value in a correction's description, in the words of the case page."""
    if value in (None, "", {}, []):
        return "（空）"
    if key in ("received_at", "closed_at"):
        moment = timezone.localtime(parse_time(value))
        return f"{moment:%Y-%m-%d %H:%M}" if moment.hour or moment.minute else f"{moment:%Y-%m-%d}"
    if key == "state":
        return ctx.definition.state_label(value)
    if key == "satisfaction":
        return SATISFACTION_LABELS.get(value, value)
    if key == "channel":
        return next((c.label for c in ctx.definition.channels if c.value == value), value)
    if key == "category":
        return ctx.category_labels.get(value, value)
    if key == "department":
        return next((n for n, c in ctx.department_names.items() if c == value), value)
    if key == "fields":
        labels = {f.name: f.label for f in ctx.definition.fields}
        return "，".join(f"{labels.get(k, k)}={v}" for k, v in value.items() if v) or "（空）"
    if isinstance(value, dict):
        return "，".join(str(v) for v in value.values() if v) or "（空）"
    return str(value)


def correct(ctx: Context, plan: RowPlan, row: ImportedRow) -> str:
    """Apply a corrected row to its case: "updated", or "locked" when the case has been handled
    since it was imported (nothing is changed then)."""
    with transaction.atomic():
        complaint = (
            Complaint.objects.select_for_update().select_related("process").get(pk=row.complaint_id)
        )
        if complaint.version != row.case_version:
            return "locked"
        diff = changes(row.data, plan.data)
        d = plan.data
        update: dict = {}
        for key in diff:
            if key in ("received_at", "closed_at"):
                update[key] = parse_time(d[key])
            elif key in ("state", "channel", "title", "content", "request", "fields"):
                update[key] = d[key]
            elif key == "category":
                update["category_id"] = ctx.categories.get(d["category"])
            elif key == "department":
                update["department_id"] = ctx.departments.get(d["department"])
        if "closed_at" in update or "state" in update:
            closed = d["state"] in ctx.definition.closed_states
            update["closed_at"] = parse_time(d["closed_at"]) if closed else None
        version = complaint.version + 1
        Complaint.objects.filter(pk=complaint.pk).update(
            version=version, updated_at=ctx.now, **update
        )
        for key, value in update.items():
            setattr(complaint, key, value)
        complaint.version = version
        if "state" in diff and complaint.state in ctx.definition.closed_states:
            _stop_clocks(complaint, complaint.closed_at or ctx.now)
        if "complainant" in diff or "respondent" in diff:
            Party.objects.filter(complaint=complaint).delete()
            people = _parties(ctx, plan)
            for p in people:
                p.complaint = complaint
            Party.objects.bulk_create(people)
        else:
            people = list(complaint.parties.all())
        payload = {
            **_payload(ctx, plan),
            "changes": "；".join(
                f"{CORRECTABLE[k]}：{_shown(ctx, k, a)} → {_shown(ctx, k, b)}"
                for k, (a, b) in diff.items()
            ),
        }
        Event.objects.create(
            complaint=complaint,
            action=IMPORTED,  # statistics read a verdict the correction adds (reports/rules.py)
            label="导入更正",
            from_state=row.data.get("state", ""),
            to_state=complaint.state,
            actor=ctx.user,
            actor_name=ctx.actor_name,
            via="import",
            payload=payload,
            comment=f"按「{ctx.file_name}」工作表「{plan.sheet}」第 {plan.row} 行更正",
            created_at=ctx.now,
        )
        ImportedRow.objects.filter(pk=row.pk).update(
            last_batch=ctx.batch,
            file_name=ctx.file_name,
            sheet=plan.sheet,
            row_number=plan.row,
            original=plan.original,
            data=plan.data,
            digest=plan.digest(),
            case_version=version,
            updated_at=ctx.now,
        )
        if {"title", "content", "request", "complainant"} & diff.keys():
            search.index_rows(
                [
                    (
                        complaint.pk,
                        f"{complaint.tracking_number} {search.document(complaint, people)}",
                    )
                ]
            )
        if "content" in diff:  # triage compares new complaints with the corrected text
            TextPrint.objects.filter(complaint_id=complaint.pk).delete()
            record_print(complaint)
        facts.refresh(complaint)
    return "updated"
