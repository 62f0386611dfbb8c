"""Issuing official documents: automatically when an action names one (`document:` in the flow), and on
demand from staff; corrections; the PDF kept under the data directory; seeding the templates."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from tousu.accounts.models import Organisation, User
from tousu.cases.errors import Invalid
from tousu.cases.models import Complaint, Event
from tousu.cases.privacy import CaseMask, may_reveal
from tousu.cases.services import next_counter
from tousu.ops.disclosures import record_document

from .kinds import kind as kind_of
from .models import Document, DocumentFile, DocumentTemplate
from .rendering import (
    RenderError,
    build_context,
    compile_body,
    default_specs,
    full_html,
    render_body,
    render_pdf,
    serial_prefix,
    template_spec,
)

log = logging.getLogger("tousu.documents")


def counter_key(kind: str, year: int) -> str:
    return f"doc:{kind}:{year}"


def issue_document(
    complaint: Complaint,
    kind: str,
    *,
    event: Event | None = None,
    user: User | None = None,
    actor_name: str = "",
    corrects: Document | None = None,
    reason: str = "",
) -> Document:
    """Issue one document with the next serial number of its kind for this year.

    Runs in the caller's transaction (the engine's, when an action issues it): the number is taken
    with the counter row locked until that transaction ends, so numbers are unique and, because a
    rolled-back transaction gives its number back, without gaps. Everything slow (the data, the QR
    code) is prepared before the number is taken; the PDF is printed after commit."""
    spec = template_spec(kind, complaint.process.name)
    try:
        compile_body(spec.body)  # a broken template fails before a number is taken
    except RenderError as exc:
        raise Invalid(f"公文「{spec.title}」无法出具：{exc}；请管理员修正公文模板") from None
    org = Organisation.current()
    now = timezone.now()
    year = timezone.localtime(now).year
    context = build_context(
        complaint, kind, event=event, serial="", title=spec.title, issued_at=now
    )
    if corrects is not None:
        context["corrects"] = {"serial": corrects.serial, "title": corrects.title, "reason": reason}
    prefix = serial_prefix(org.name)
    with transaction.atomic():
        number = next_counter(counter_key(kind, year))
        serial = f"{prefix}{spec.code}〔{year}〕第 {number:04d} 号"
        context["doc"]["serial"] = serial
        try:
            body = render_body(spec.body, context)
        except RenderError as exc:
            raise Invalid(f"公文「{spec.title}」无法出具：{exc}；请管理员修正公文模板") from None
        html = full_html(spec.title, serial, org.name, body, context.get("corrects"))
        document = Document.objects.create(
            complaint=complaint,
            kind=kind,
            title=spec.title,
            year=year,
            number=number,
            serial=serial,
            is_public=spec.is_public,
            event=event,
            corrects=corrects,
            reason=reason,
            context={k: v for k, v in context.items() if k != "qr"},  # the QR is the track_url
            html=html,
            issued_at=now,
            issued_by=user if isinstance(user, User) else None,
            issued_by_name=actor_name or (str(user) if user else ""),
        )
        if event is None:  # on demand: the case's record says who issued what
            Event.objects.create(
                complaint=complaint,
                action="document_issued",
                label=f"{'出具更正文书' if corrects else '出具公文'}《{spec.title}》",
                from_state=complaint.state,
                to_state=complaint.state,
                actor=user if isinstance(user, User) else None,
                actor_name=document.issued_by_name or "系统",
                via="web",
                payload={"document": document.pk, "serial": serial},
                comment=reason,
                visibility=Event.PUBLIC if spec.is_public else Event.INTERNAL,
                public_label=f"已出具《{spec.title}》" if spec.is_public else "",
                created_at=now,
            )
        transaction.on_commit(lambda: ensure_pdf_quietly(document.pk))
    return document


def issuable_kinds(complaint: Complaint) -> list[str]:
    """The kinds staff may issue on a case: those its flow's actions issue, plus the registration
    form and the acceptance receipt, which every case has."""
    named = {a.document for a in complaint.definition.actions if a.document}
    return sorted(named | {"registration_form", "acceptance_receipt"})


def issue_on_demand(complaint: Complaint, kind: str, user: User, reason: str = "") -> Document:
    allowed = issuable_kinds(complaint)
    if kind not in allowed:
        raise Invalid(
            f"流程「{complaint.definition.label}」不出具「{kind_of(kind).title}」；"
            f"可出具：{'、'.join(kind_of(k).title for k in allowed)}"
        )
    return issue_document(complaint, kind, user=user, reason=reason)


def correct_document(document: Document, user: User, reason: str) -> Document:
    """A correction is a new document with its own number that names the one it replaces."""
    reason = reason.strip()
    if not reason:
        raise Invalid("更正公文必须说明更正原因")
    if len(reason) > 500:
        raise Invalid("更正原因最长 500 个字")
    return issue_document(
        document.complaint,
        document.kind,
        event=None,
        user=user,
        corrects=document,
        reason=reason,
    )


def ensure_pdf(document: Document) -> DocumentFile:
    """The document's PDF, printed from its fixed HTML the first time it is needed."""
    existing = DocumentFile.objects.filter(document=document).first()
    if existing:
        return existing
    pdf = render_pdf(document.html)
    record = DocumentFile(document=document, size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest())
    record.file.save(f"{document.pk}.pdf", ContentFile(pdf), save=False)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # printed concurrently: keep theirs
        record.file.delete(save=False)
        return DocumentFile.objects.get(document=document)
    return record


@dataclass(frozen=True)
class ReaderCopy:
    """The PDF a staff member downloads: the issued one (with personal data, the download on the
    case's record) or, for a role that may not see personal data, a masked print of the same text."""

    content: bytes | None
    file: DocumentFile | None
    masked: bool

    def open(self):
        return self.file.file.open("rb") if self.file else io.BytesIO(self.content)


def copy_for(document: Document, user, *, via: str, actor_name: str = "") -> ReaderCopy:
    """One masking rule for documents too (cases/privacy.py): roles that may see personal data get
    the issued PDF and the download is recorded on the case as a disclosure; every other role gets
    the document's fixed text printed with the personal data masked."""

    complaint = document.complaint
    if may_reveal(user):
        record = ensure_pdf(document)

        record_document(complaint, user, document, via=via, actor_name=actor_name)
        return ReaderCopy(None, record, masked=False)
    masked = CaseMask.for_case(complaint).html(document.html)
    return ReaderCopy(_masked_pdf(document, masked), None, masked=True)


MASKED_DIR = "masked"


def _masked_pdf(document: Document, html: str) -> bytes:
    """The masked print, kept by the hash of its text: printed again only when the case's data or
    the document's text (after retention) changed."""
    from .models import document_storage

    storage = document_storage()
    name = f"{MASKED_DIR}/{document.pk}-{hashlib.sha256(html.encode()).hexdigest()[:24]}.pdf"
    if storage.exists(name):
        with storage.open(name, "rb") as fh:
            return fh.read()
    pdf = render_pdf(html)
    storage.save(name, ContentFile(pdf))  # a concurrent twin is saved under another name: harmless
    return pdf


def discard_masked_copies(document_ids) -> int:
    """Delete the masked prints of these documents (retention removes the text they came from)."""
    from .models import document_storage

    storage = document_storage()
    if not storage.exists(MASKED_DIR):
        return 0
    prefixes = tuple(f"{pk}-" for pk in document_ids)
    _, files = storage.listdir(MASKED_DIR)
    gone = [f for f in files if f.startswith(prefixes)] if prefixes else []
    for f in gone:
        storage.delete(f"{MASKED_DIR}/{f}")
    return len(gone)


def ensure_pdf_quietly(pk: int) -> None:
    # After commit the action has happened; a failed print is retried on the first download.
    try:
        ensure_pdf(Document.objects.get(pk=pk))
    except Exception:
        log.exception("PDF of document %s not printed; it will be printed on download", pk)


def seed_templates() -> int:
    """Put the shipped templates into the database for administrators to edit (existing rows are
    left alone). Returns how many were added."""
    added = 0
    for spec in default_specs():
        _, created = DocumentTemplate.objects.get_or_create(
            kind=spec.kind,
            sector=spec.sector,
            defaults={
                "title": spec.title,
                "serial_code": spec.code,
                "body": spec.body,
                "is_public": spec.is_public,
            },
        )
        added += created
    return added
