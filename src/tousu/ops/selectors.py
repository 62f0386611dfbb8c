"""Reads for operations and privacy: the cases whose retention period has ended, the log of who saw
or exported personal data, and everything held about one complainant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from tousu.cases.models import Complaint, Event, Party
from tousu.cases.privacy import mask_name
from tousu.ops.models import ExportedCase
from tousu.portal.selectors import normalise_phone, public_case
from tousu.processes.models import ProcessDefinition

ANONYMISED = "personal_data_anonymised"
REVEALED = "personal_data_revealed"
EXPORTED = "personal_data_exported"
DISCLOSURES = {REVEALED: "查看", EXPORTED: "导出"}
VIA_LABELS = {"web": "工作台", "api": "API", "cli": "命令行", "portal": "投诉人网页"}


# --- retention -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    complaint_id: int
    tracking_number: str
    process_name: str
    retention_days: int
    closed_at: datetime


def retention_days_by_template() -> dict[str, int]:
    """The period each template states in its active version: retention is archive policy, so a
    changed period applies to the template's earlier cases too, not only to new ones."""
    return {
        p.name: p.definition.retention_days
        for p in ProcessDefinition.objects.filter(is_active=True)
    }


def retention_due(now: datetime) -> list[Due]:
    """Closed cases (in one of their version's closed or final states) whose period from closing has
    ended and which have not been anonymised yet, oldest first."""
    periods = retention_days_by_template()
    done = Event.objects.filter(action=ANONYMISED).values("complaint_id")
    due = []
    for process in ProcessDefinition.objects.all():
        definition = process.definition
        days = periods.get(process.name, definition.retention_days)
        rows = (
            Complaint.objects.filter(
                process=process,
                state__in=definition.closed_states,
                closed_at__lte=now - timedelta(days=days),
            )
            .exclude(pk__in=done)
            .values_list("pk", "tracking_number", "closed_at")
        )
        due += [Due(pk, number, process.name, days, closed) for pk, number, closed in rows]
    return sorted(due, key=lambda d: (d.closed_at, d.complaint_id))


# --- disclosures ---------------------------------------------------------------------------------


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


@dataclass(frozen=True)
class Disclosure:
    at: datetime
    kind: str  # 查看 / 导出
    tracking_number: str
    complaint_id: int
    username: str
    actor_name: str
    via: str
    comment: str
    what: str = ""  # what was shown or carried out: the page, the document, the export
    subject: str = ""  # whose data: the complainant, masked (the auditor may not see it)


def _subjects(complaint_ids) -> dict[int, str]:
    """The complainant of each case, masked: who the disclosed data is about."""

    out: dict[int, str] = {}
    for cid, kind, name in (
        Party.objects.filter(complaint_id__in=complaint_ids, role="complainant")
        .order_by("complaint_id", "id")
        .values_list("complaint_id", "kind", "name")
    ):
        if cid not in out and name:
            out[cid] = mask_name(name) if kind == "person" else name
    return out


def disclosures(
    *,
    since: date | None = None,
    until: date | None = None,
    tracking_number: str = "",
    username: str = "",
) -> list[Disclosure]:
    """Every time personal data was shown unmasked or carried out (reveals, documents printed with
    it, a complainant's data export, every case of a bulk export), oldest first; `since` and
    `until` are local days, both included."""

    events = Event.objects.filter(action__in=DISCLOSURES).select_related("actor", "complaint")
    exported = ExportedCase.objects.select_related("export__user", "complaint")
    if since:
        events = events.filter(created_at__gte=_day_start(since))
        exported = exported.filter(export__created_at__gte=_day_start(since))
    if until:
        end = _day_start(until + timedelta(days=1))
        events = events.filter(created_at__lt=end)
        exported = exported.filter(export__created_at__lt=end)
    if tracking_number:
        number = tracking_number.strip().upper()
        events = events.filter(complaint__tracking_number=number)
        exported = exported.filter(complaint__tracking_number=number)
    if username:
        events = events.filter(actor__username=username)
        exported = exported.filter(export__username=username)
    rows = [
        Disclosure(
            at=e.created_at,
            kind=DISCLOSURES[e.action],
            tracking_number=e.complaint.tracking_number,
            complaint_id=e.complaint_id,
            username=e.actor.username if e.actor_id else "",
            actor_name=e.actor_name,
            via=e.via,
            comment=e.comment,
            what=e.label,
        )
        for e in events.order_by("created_at", "id")
    ]
    formats = {"csv": "CSV", "xlsx": "Excel"}
    for x in exported.order_by("export__created_at", "export_id", "complaint_id"):
        log = x.export
        rows.append(
            Disclosure(
                at=log.created_at,
                kind=DISCLOSURES[EXPORTED],
                tracking_number=x.complaint.tracking_number,
                complaint_id=x.complaint_id,
                username=log.username,
                actor_name=str(log.user),
                via=log.via,
                comment=log.filters_text,
                what=f"批量导出投诉清单（{formats.get(log.format, log.format)}，共 {log.rows} 件）",
            )
        )
    rows.sort(key=lambda d: (d.at, d.tracking_number))
    subjects = _subjects({d.complaint_id for d in rows})
    return [
        Disclosure(**{**d.__dict__, "subject": subjects.get(d.complaint_id, "—")}) for d in rows
    ]


# --- one complainant's data ----------------------------------------------------------------------


def _digits(text: str) -> str:
    return normalise_phone(text)


def matching_parties(
    *, phone: str = "", id_number: str = "", tracking_number: str = ""
) -> list[Party]:
    """The party rows that are this person: the same phone number (however written) or ID number;
    given a tracking number, the complainants of that case and their other cases by the same
    phone or ID number."""
    phones = {_digits(phone)} if phone else set()
    ids = {id_number.strip().upper()} if id_number else set()
    found: dict[int, Party] = {}
    if tracking_number:
        for p in Party.objects.filter(
            complaint__tracking_number=tracking_number.strip().upper(), role="complainant"
        ):
            found[p.pk] = p
            if p.phone:
                phones.add(_digits(p.phone))
            if p.id_number:
                ids.add(p.id_number.strip().upper())
    phones = {p for p in phones if len(p) >= 7}
    query = Q(pk__in=[])
    for p in phones:
        # The last four digits are written together however the number is grouped (138-1234-5678,
        # +86 138 1234 5678); the exact match, separators ignored, is made below.
        query |= Q(phone__contains=p[-4:])
    for i in ids:
        query |= Q(id_number__iexact=i)
    for p in Party.objects.filter(query):
        if _digits(p.phone) in phones or p.id_number.strip().upper() in ids:
            found[p.pk] = p
    return sorted(found.values(), key=lambda p: (p.complaint_id, p.pk))


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def party_record(p: Party) -> dict:
    return {
        "role": p.get_role_display(),
        "kind": p.get_kind_display(),
        "name": p.name,
        "phone": p.phone,
        "id_number": p.id_number,
        "address": p.address,
        "nationality": p.nationality,
        "relation": p.relation,
        "extra": p.extra,
    }


def complaint_record(complaint: Complaint, parties: list[Party]) -> dict:
    """One case as its complainant may have it: what they submitted, their party record, the events
    and documents the portal shows them, the files visible to them."""

    definition = complaint.definition
    public = public_case(complaint)
    labels = {f.name: f.label for f in definition.fields}
    return {
        "tracking_number": complaint.tracking_number,
        "process": definition.label,
        "received_at": _iso(complaint.received_at),
        "closed_at": _iso(complaint.closed_at),
        "state": complaint.state_label,
        "status": public["status"],
        "channel": complaint.channel_label,
        "category": complaint.category.label if complaint.category_id else None,
        "title": complaint.title,
        "content": complaint.content,
        "request": complaint.request,
        "fields": {labels.get(k, k): v for k, v in (complaint.fields or {}).items()},
        "anonymous": complaint.is_anonymous,
        "parties": [party_record(p) for p in parties],
        "timeline": public["timeline"],
        "documents": [
            {"title": d.title, "serial": d.serial, "issued_at": _iso(d.issued_at)}
            for d in public["documents"]
        ],
        "attachments": [
            {
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "uploaded_at": _iso(a.created_at),
                "file_kept": bool(a.file),
            }
            for a in public["files"]
        ],
    }


def subject_data(parties: list[Party]) -> dict:
    """Everything held about the person these party rows describe. Cases where they complained come
    whole (as the portal shows them); where they are a respondent only their own party record comes,
    since the rest of such a case is someone else's complaint."""
    by_case: dict[int, list[Party]] = {}
    for p in parties:
        by_case.setdefault(p.complaint_id, []).append(p)
    complaints = Complaint.objects.select_related("process", "category").in_bulk(list(by_case))
    as_complainant, as_respondent = [], []
    for pk in sorted(by_case):
        own = by_case[pk]
        complaint = complaints[pk]
        if any(p.role == "complainant" for p in own):
            as_complainant.append(complaint_record(complaint, own))
        else:
            as_respondent.append(
                {
                    "tracking_number": complaint.tracking_number,
                    "received_at": _iso(complaint.received_at),
                    "parties": [party_record(p) for p in own],
                }
            )
    return {"complaints": as_complainant, "as_respondent": as_respondent}
