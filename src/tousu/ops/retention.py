"""Retention: when a closed case's period (its template's `retention_days`, counted from closing)
has ended, its personal data is removed and its statistics stay.

Removed: the names of people (complainants and respondents), every party's phone, ID number,
address, nationality, relation and extra data; the sector and action fields the definition marks
`personal` (a patient's name, the persons involved); the access code (the portal no longer opens the
case); the complainant's evidence files and their names (the rows keep type, size and time); and in all
free text (title, content, request, event comments and form text, issued documents, notifications,
webhook payloads, link notes, the search index) the person's known values and anything that looks
like a phone number, an ID number or an e-mail address. Kept: state, category, department, channel,
dates, clocks, satisfaction and the other statistics facts, and the names of organisations and
departments complained about (which the league table counts), so reports count the case as before.

Events and issued documents are append-only; the one sanctioned way to rewrite their text is
`_redact_append_only` below (docs/decisions/0004-retention-redacts-events.md). Each anonymised case
gets one `personal_data_anonymised` event, which is also what makes a second run skip it.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, models, transaction
from django.utils import timezone

from tousu.cases import search
from tousu.cases.models import Attachment, Complaint, Event, IdempotencyRecord, Party
from tousu.clocks.models import Notification
from tousu.documents.models import Document, DocumentFile
from tousu.documents.services import discard_masked_copies
from tousu.messaging.services import redact_for_retention
from tousu.portal.models import SubmissionToken
from tousu.reports import facts, rollup
from tousu.reports.models import CaseFact
from tousu.triage.models import CaseLink
from tousu.webhooks.models import Delivery

from . import scrub
from .selectors import ANONYMISED, Due, retention_due

ACTOR = "系统（个人信息保存期限届满）"
EVIDENCE = "evidence"
UNUSABLE_ACCESS_CODE = "!anonymised"  # no salt$digest: check_access_code never matches
REMOVED_FILE_NAME = "证据材料（已删除）"


def _extension(name: str) -> str:
    stem, dot, suffix = (name or "").rpartition(".")
    return f".{suffix}" if dot and stem and 0 < len(suffix) <= 5 and suffix.isalnum() else ""


@dataclass
class RunResult:
    now: datetime
    dry_run: bool
    due: list[Due]
    by_template: Counter = field(default_factory=Counter)
    files_deleted: int = 0
    events_redacted: int = 0
    seconds: float = 0.0


def run(*, now: datetime | None = None, dry_run: bool = False) -> RunResult:
    """Anonymise every case whose retention period has ended by `now`; each case in its own
    transaction, so an interrupted run keeps what it finished and the next run does the rest."""
    started = time.perf_counter()
    now = now or timezone.now()
    due = retention_due(now)
    result = RunResult(now=now, dry_run=dry_run, due=due)
    result.by_template.update(d.process_name for d in due)
    if not dry_run and due:
        with _secure_delete():
            for d in due:
                counts = anonymise_case(d.complaint_id, retention_days=d.retention_days)
                if counts:
                    result.files_deleted += counts["files_deleted"]
                    result.events_redacted += counts["events_redacted"]
            _purge_search_index()
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _secure_delete():
    """SQLite: overwrite deleted content with zeros instead of leaving it in free pages."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA secure_delete = {int(before)}")


def _purge_search_index() -> None:
    """SQLite's FTS5 records a replaced row as a deletion marker beside the old tokens, which stay
    in the index's segments until they are merged: merge them all now, so no token of a removed
    name or number is left. (PostgreSQL updates the row itself; VACUUM reclaims the old version.)"""
    if connection.vendor == "sqlite":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {search.TABLE}({search.TABLE}) VALUES ('optimize')")


def _redact_append_only(model: type[models.Model], pk: int, **values) -> None:
    """Rewrite text columns of an append-only row (Event, Document). Their managers refuse
    update() and their save() refuses existing rows, so that nothing edits the record by accident;
    retention is the one deliberate exception, and this is the only place that makes it. A plain
    QuerySet, not the model's guarded one, does the UPDATE; which columns may change is checked here."""
    allowed = {
        "cases.event": {"payload", "comment", "actor_name", "label", "public_label"},
        "documents.document": {"context", "html", "reason"},
    }[model._meta.label_lower]
    if not set(values) <= allowed:
        raise ValueError(f"retention may not change {sorted(set(values) - allowed)}")
    models.QuerySet(model=model).filter(pk=pk).update(**values)


def _personal_fields(definition) -> tuple[set[str], dict[str, set[str]]]:
    registration = {f.name for f in definition.fields if f.personal}
    actions = {a.name: {f.name for f in a.form if f.personal} for a in definition.actions}
    return registration, actions


def _scrubber(complaint: Complaint, parties: list[Party], events: list[Event], personal, by_action):
    names, phones, ids, addresses, emails, other = [], [], [], [], [], []
    for p in parties:
        if p.kind == "person":  # complainants and the people complained about
            names.append(p.name)
        phones.append(p.phone)
        ids.append(p.id_number)
        addresses.append(p.address)
        emails += [v for v in (p.extra or {}).values() if isinstance(v, str) and "@" in v]

    def collect(data: dict, keys: set[str]) -> None:
        for key in keys:
            value = (data or {}).get(key)
            if not isinstance(value, str):
                continue
            bucket = (
                names
                if "name" in key
                else phones
                if "phone" in key
                else addresses
                if "address" in key
                else other
            )
            bucket.append(value)

    collect(complaint.fields, personal)
    for e in events:
        collect(e.payload, by_action.get(e.action, set()))
    s = scrub.Scrubber(
        names=names, phones=phones, id_numbers=ids, addresses=addresses, emails=emails, others=other
    )
    return s


def anonymise_case(complaint_id: int, *, retention_days: int) -> dict | None:
    """Anonymise one case; None if it was anonymised already (a concurrent run)."""
    with transaction.atomic():
        complaint = (
            Complaint.objects.select_for_update().select_related("process").get(pk=complaint_id)
        )
        if Event.objects.filter(complaint_id=complaint_id, action=ANONYMISED).exists():
            return None
        definition = complaint.definition
        personal, by_action = _personal_fields(definition)
        parties = list(complaint.parties.all())
        events = list(complaint.events.order_by("created_at", "id"))
        s = _scrubber(complaint, parties, events, personal, by_action)
        complainant_names = {p.name for p in parties if p.role == "complainant" and p.name}
        now = timezone.now()

        # The case row.
        complaint.title = s.text(complaint.title)
        complaint.content = s.text(complaint.content)
        complaint.request = s.text(complaint.request)
        complaint.fields = s.json(complaint.fields or {}, remove=personal)
        Complaint.objects.filter(pk=complaint_id).update(
            title=complaint.title,
            content=complaint.content,
            request=complaint.request,
            fields=complaint.fields,
            access_code_hash=UNUSABLE_ACCESS_CODE,
            version=models.F("version") + 1,
            updated_at=now,
        )

        person_names = [p.name for p in parties if p.kind == "person"]
        # Parties: people lose their name, contact data, nationality and relation, complainants and
        # respondents alike; an organisation or one of our departments complained about keeps its
        # name (what the league table counts) and loses its contact data.
        for p in parties:
            if p.kind == "person" and p.name:
                p.name = scrub.ANONYMISED
            p.phone = p.id_number = p.address = p.nationality = p.relation = ""
            p.extra = {}
            Party.objects.filter(pk=p.pk).update(
                name=p.name,
                phone="",
                id_number="",
                address="",
                nationality="",
                relation="",
                extra={},
            )

        # Events: the sanctioned rewrite of their text.
        redacted = 0
        for e in events:
            values = {
                "payload": s.json(e.payload or {}, remove=by_action.get(e.action, set())),
                "comment": s.text(e.comment),
                "label": s.text(e.label),
                "public_label": s.text(e.public_label),
                "actor_name": "投诉人"
                if e.actor_id is None and e.actor_name in complainant_names
                else s.text(e.actor_name),
            }
            changed = {k: v for k, v in values.items() if v != getattr(e, k)}
            if changed:
                _redact_append_only(Event, e.pk, **changed)
                redacted += 1

        # Issued documents: their text; their PDFs are deleted and print again from the redacted
        # text when someone downloads one.

        pdfs = []
        documents = list(Document.objects.filter(complaint_id=complaint_id))
        for d in documents:
            values = {
                "context": s.json(d.context),
                "html": s.text(d.html),
                "reason": s.text(d.reason),
            }
            changed = {k: v for k, v in values.items() if v != getattr(d, k)}
            if changed:
                _redact_append_only(Document, d.pk, **changed)
            for f in DocumentFile.objects.filter(document=d):
                pdfs.append(f.file)
                DocumentFile.objects.filter(pk=f.pk).delete()

        # The complainant's evidence: the files go, the rows stay.
        files = []
        for a in Attachment.objects.filter(complaint_id=complaint_id):
            values = {"original_name": s.text(a.original_name)}
            if a.kind == EVIDENCE:
                # A photo's name often says whose it is (张三身份证.jpg): only its type stays.
                values["original_name"] = REMOVED_FILE_NAME + _extension(a.original_name)
                if a.file:
                    files.append(a.file)
                    values["file"] = ""
            Attachment.objects.filter(pk=a.pk).update(**values)

        _other_rows(complaint, s)
        search.index_rows([(complaint_id, search.document(complaint, parties))])
        people = {p_name for p_name in person_names if p_name}
        _anonymise_respondent_fact(complaint_id, people)

        Event.objects.create(
            complaint=complaint,
            action=ANONYMISED,
            label="个人信息保存期满，已匿名化",
            from_state=complaint.state,
            to_state=complaint.state,
            actor=None,
            actor_name=ACTOR,
            via="system",
            payload={
                "retention_days": retention_days,
                "closed_at": complaint.closed_at.isoformat() if complaint.closed_at else None,
                "parties": len(parties),
                "files_deleted": len(files),
                "events_redacted": redacted,
                "documents_reprinted": len(pdfs),
            },
            created_at=now,
        )
        # Last, once every row is written: a failed commit after this leaves rows naming deleted
        # files, which the next run clears (deleting a missing file is a no-op).
        for f in files + pdfs:
            f.storage.delete(f.name)

        discard_masked_copies([d.pk for d in documents])
    return {"files_deleted": len(files), "events_redacted": redacted}


def _anonymise_respondent_fact(complaint_id: int, people: set[str]) -> None:
    """The statistics name who was complained about: a person's name becomes the anonymised mark,
    in the case's fact and in the monthly roll-ups (their difference applied), every count kept."""

    with connection.cursor() as cursor:
        cursor.execute(facts._sql()["old_fact"], [complaint_id])
        row = cursor.fetchone()
        if row is None:
            return
        old = dict(zip(rollup.FACT_COLUMNS, row, strict=True))
        if old.get("respondent") not in people:
            return
        new = {**old, "respondent": scrub.ANONYMISED}

        CaseFact.objects.filter(complaint_id=complaint_id).update(respondent=scrub.ANONYMISED)
        rollup.apply(cursor, rollup.difference(rollup.case_rows(old), rollup.case_rows(new)))


def _other_rows(complaint: Complaint, s: scrub.Scrubber) -> None:
    """Copies of the case's text elsewhere, and the portal's and API's replay data."""

    pk = complaint.pk
    for n in Notification.objects.filter(complaint_id=pk):
        if (text := s.text(n.message)) != n.message:
            Notification.objects.filter(pk=n.pk).update(message=text)

    redact_for_retention(pk, s.text)  # the outbox: the complainant's addresses, texts that quote
    for link in CaseLink.objects.filter(models.Q(source_id=pk) | models.Q(target_id=pk)):
        if (text := s.text(link.note)) != link.note:
            CaseLink.objects.filter(pk=link.pk).update(note=text)
    for d in Delivery.objects.filter(complaint_id=pk):
        if (payload := s.json(d.payload)) != d.payload:
            Delivery.objects.filter(pk=d.pk).update(payload=payload)
    # Queued e-mails (a risk alert quotes the case's title); they name the case by its number.
    from django.db.models import TextField
    from django.db.models.functions import Cast
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.annotate(text=Cast("args_kwargs", TextField()))
    for t in tasks.filter(text__contains=complaint.tracking_number):
        if (args := s.json(t.args_kwargs)) != t.args_kwargs:
            DBTaskResult.objects.filter(pk=t.pk).update(args_kwargs=args)
    # The sealed access code of a portal submission and the replayed API answer that holds it.
    SubmissionToken.objects.filter(complaint_id=pk).delete()
    IdempotencyRecord.objects.filter(body__tracking_number=complaint.tracking_number).delete()
    # A keyed hash of the phone or ID number; the repeat flag it decided stays.
    CaseFact.objects.filter(complaint_id=pk).update(complainant_key="")
