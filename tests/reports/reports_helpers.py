"""Helpers shared by the analytics tests (importable: the test directories are not packages)."""

from datetime import datetime

from tousu.cases.models import Complaint, Event, Party, Task
from tousu.clocks.models import Clock
from tousu.reports.models import CaseFact, ClockFact
from tousu.workdays import SHANGHAI

SAMPLE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
    b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=SHANGHAI)


COMPLAINT_FIELDS = [
    "tracking_number",
    "state",
    "version",
    "channel",
    "title",
    "content",
    "category_id",
    "department_id",
    "first_department_id",
    "round",
    "complexity",
    "severity",
    "flags",
    "fields",
    "is_anonymous",
    "received_at",
    "created_at",
    "updated_at",
    "closed_at",
    "created_by_id",
]
EVENT_FIELDS = [
    "action",
    "label",
    "from_state",
    "to_state",
    "actor_id",
    "actor_name",
    "via",
    "payload",
    "comment",
    "visibility",
    "public_label",
    "round",
    "created_at",
]
CLOCK_FIELDS = [
    "name",
    "label",
    "basis",
    "unit",
    "amount",
    "state",
    "started_at",
    "due_at",
    "warn_at",
    "basis_at",
    "basis_amount",
    "provisional",
    "paused_at",
    "remaining",
    "extended",
    "warned_at",
    "breached_at",
    "stopped_at",
]
PARTY_FIELDS = ["role", "kind", "name", "phone", "id_number", "address", "nationality", "relation"]
FACT_FIELDS = [f.attname for f in CaseFact._meta.concrete_fields if f.attname != "complaint_id"]
CLOCK_FACT_FIELDS = ["name", "state", "late", "due_at", "department_id", "category_id"]


def snapshot(ids) -> dict:
    """Every row of the given cases, keyed by tracking number, ids replaced by positions."""
    out = {}
    for c in Complaint.objects.filter(pk__in=ids).order_by("pk"):
        events = list(Event.objects.filter(complaint=c).order_by("created_at", "id"))
        index = {e.pk: i for i, e in enumerate(events)}
        ev = []
        for e in events:
            row = [getattr(e, f) for f in EVENT_FIELDS]
            if e.action == "attachment_added":
                row[EVENT_FIELDS.index("payload")] = {
                    k: v for k, v in e.payload.items() if k != "attachment"
                }
            ev.append(row)
        out[c.tracking_number] = {
            "complaint": [getattr(c, f) for f in COMPLAINT_FIELDS],
            "events": ev,
            "tasks": [
                (
                    t.department_id,
                    t.kind,
                    t.group,
                    t.round,
                    t.state,
                    t.is_lead,
                    t.opened_at,
                    t.closed_at,
                    index.get(t.opened_by_id),
                    index.get(t.closed_by_id),
                )
                for t in Task.objects.filter(complaint=c).order_by("id")
            ],
            "clocks": [
                [getattr(k, f) for f in CLOCK_FIELDS]
                for k in Clock.objects.filter(complaint=c).order_by("id")
            ],
            "parties": [
                [getattr(p, f) for f in PARTY_FIELDS]
                for p in Party.objects.filter(complaint=c).order_by("id")
            ],
            "fact": [getattr(CaseFact.objects.get(complaint=c), f) for f in FACT_FIELDS],
            "clock_facts": sorted(
                [getattr(k, f) for f in CLOCK_FACT_FIELDS]
                for k in ClockFact.objects.filter(complaint_id=c.pk)
            ),
        }
    return out
