"""Writes for the disclosure log: personal data shown unmasked or carried out of the system is on
the record of each case it belongs to. A reveal on the case page or through the API is an event
(cases.services.record_reveal); a document printed with personal data is an event here; a bulk export
is one reports.ExportLog row and one ExportedCase row per case."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from tousu.cases.models import Complaint, Event

from .models import ExportedCase
from .selectors import EXPORTED

BATCH = 5000


def record_document(complaint: Complaint, user, document, *, via: str, actor_name: str = ""):
    """A document with the complainant's personal data left the system as a PDF."""
    return Event.objects.create(
        complaint=complaint,
        action=EXPORTED,
        label=f"下载含个人信息的公文《{document.title}》",
        from_state=complaint.state,
        to_state=complaint.state,
        actor=user,
        actor_name=actor_name or str(user),
        via=via,
        payload={"document": document.pk, "serial": document.serial},
    )


def record_bulk_export(export, complaint_ids: Iterable[int]) -> int:
    """Every case of an export that carried personal data: the log lists it per case."""
    rows = [ExportedCase(export=export, complaint_id=pk) for pk in complaint_ids]
    with transaction.atomic():
        for i in range(0, len(rows), BATCH):
            ExportedCase.objects.bulk_create(rows[i : i + BATCH])
    return len(rows)
