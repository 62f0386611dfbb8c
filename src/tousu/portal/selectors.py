"""Reads for the public portal: the published contacts, and a case as its complainant may see it
(public events with their public fields, deadlines, documents served to them; nothing internal)."""

from __future__ import annotations

import re

from django.utils import timezone

from tousu.accounts.roles import COMPLAINANT
from tousu.cases.engine import Complainant, possible_actions
from tousu.cases.models import Attachment, Complaint
from tousu.clocks.models import Clock
from tousu.documents.display import chinese_date, chinese_datetime, field_rows, names_for
from tousu.documents.selectors import public_documents
from tousu.qr import qr_data_uri

from .models import PublicNotice

MATERIAL_ACTION = "provide_material"


def rating_actions(actions) -> dict[str, str] | None:
    """The complainant's own verdict, as the flow offers it now: the action whose `satisfaction`
    field says 不满意 and the one that says 满意 (a flow may name them as it likes)."""
    pair = {}
    for a in actions:
        field = next((f for f in a.form if f.name == "satisfaction"), None)
        if COMPLAINANT in a.roles and field is not None:
            values = {c.value for c in field.choices}
            pair["dissatisfied" if "dissatisfied" in values else "satisfied"] = a.name
    return pair if len(pair) == 2 else None


def notice() -> PublicNotice:
    return PublicNotice.current()


def rule_name(process) -> str:
    return notice().rule_name_for(process)


def public_basis(basis: str, process) -> str:
    return notice().public_basis(basis, process)


def organisation_name() -> str:
    return notice().organisation_name()


def portal_url(request=None) -> str:
    return notice().public_address(request)


def track_url(request=None) -> str:
    return notice().track_address(request)


def public_contacts() -> dict[str, str]:
    return notice().contacts()


def poster_html(url: str) -> str:
    """The printable notice (F15) with a QR code to the portal, as HTML for the PDF printer."""
    from django.template.loader import render_to_string

    return render_to_string(
        "portal/poster.html",
        {"contacts": public_contacts(), "notice": notice(), "url": url, "qr": qr_data_uri(url)},
    )


# --- a case, as its complainant sees it -------------------------------------------------------

_PHONE_NOISE = re.compile(r"[\s\-()（）+]")


def normalise_phone(text: str) -> str:
    digits = _PHONE_NOISE.sub("", text or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def complainant_name(complaint: Complaint) -> str:
    party = complaint.parties.filter(role="complainant").exclude(name="").first()
    if party:
        return party.name
    return "匿名投诉人" if complaint.is_anonymous else "投诉人"


CLOCK_STATES = {
    Clock.RUNNING: "计时中",
    Clock.PAUSED: "已暂停（等待您补充材料）",
}


def _clock_row(clock: Clock, now) -> dict:
    if clock.state == Clock.STOPPED:
        state = "已按时办结" if clock.breached_at is None else "已办结（超过时限）"
    elif clock.state == Clock.PAUSED:
        state = CLOCK_STATES[Clock.PAUSED]
    else:
        state = "已超过时限" if clock.due_at < now else CLOCK_STATES[Clock.RUNNING]
    due = chinese_datetime(clock.due_at) if clock.unit == "hours" else chinese_date(clock.due_at)
    return {
        "label": clock.label,
        "amount": clock.amount_text,
        "basis": public_basis(clock.basis, clock.complaint.process),
        "due": "" if clock.state == Clock.PAUSED else due,
        "state": state,
        "running": clock.state == Clock.RUNNING,
    }


def public_case(complaint: Complaint) -> dict:
    """What the complainant may see. Only public events; of their data only the fields the flow marks
    public; no staff names; the deadlines; the documents addressed to them."""
    definition = complaint.definition
    events = list(complaint.events.public().order_by("created_at", "id"))
    names = names_for(complaint.process.name, [v for e in events for v in e.payload.values()])
    timeline = []
    for e in events:
        action = definition.action(e.action)
        rows = field_rows(action.form, e.payload, names, public_only=True) if action else []
        if e.action == "attachment_added" and e.payload.get("name"):
            rows = [{"name": "name", "label": "文件", "value": e.payload["name"]}]
        timeline.append(
            {
                "at": chinese_datetime(e.created_at),
                "label": e.public_label or e.label,
                "rows": rows,
            }
        )
    now = timezone.now()
    # Only the deadlines the definition owes the complainant (`public: true`); internal ones (a
    # department's period, the 督办 clock, which no definition names) stay on the staff pages.
    # A paused internal clock still says the case waits for their material.
    own = list(complaint.clocks.order_by("started_at", "id"))
    public = {k.name for k in definition.clocks if k.public}
    clocks = [_clock_row(k, now) for k in own if k.name in public]
    actions = [a for a in possible_actions(complaint, Complainant()) if COMPLAINANT in a.roles]
    names_now = {a.name for a in actions}
    rating = rating_actions(actions)

    closed = complaint.state in definition.closed_states
    can_provide = MATERIAL_ACTION in names_now
    # Waiting for them: a request for material paused a clock (some flows take material any time).
    waiting = can_provide and any(k.state == Clock.PAUSED for k in own)
    if waiting:
        status = "待您补充材料"
    elif rating:
        status = "待您评价"
    elif closed:
        status = "已办结"
    else:
        status = "处理中"
    request = None
    if can_provide:
        asking = {name for k in definition.clocks for name in k.pause}
        asked = next((e for e in reversed(events) if e.action in asking), None)
        if asked is not None and (action := definition.action(asked.action)):
            request = field_rows(action.form, asked.payload, names, public_only=True)
    return {
        "tracking_number": complaint.tracking_number,
        "received": chinese_datetime(complaint.received_at),
        "status": status,
        "closed": closed,
        "last": timeline[-1]["label"] if timeline else "",
        "timeline": timeline,
        "clocks": clocks,
        "documents": public_documents(complaint),
        "files": list(
            Attachment.objects.filter(complaint=complaint, is_public=True).order_by("created_at")
        ),
        "other_actions": [
            a
            for a in actions
            if a.name not in (rating or {}).values() and a.name != MATERIAL_ACTION
        ],
        "can_rate": rating is not None,
        "can_provide": can_provide,
        "waiting": waiting,
        "material_request": request,
        "version": complaint.version,
    }
