"""Reads for the workbench: a complainant's other cases, and the cases that may be the same matter,
as the staff case page shows them (templates/triage/_history.html).

Every row is a case the viewer may open (a department sees its own), its title masked as every
list is (cases/privacy.py); the buttons a row offers follow services.LINK_ROLES / MERGE_ROLES."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tousu.cases.models import Complaint
from tousu.cases.selectors import masks_for, visible_complaints

from . import selectors, services

HISTORY_LIMIT = 20


@dataclass
class Row:
    id: int
    tracking_number: str
    title: str
    state_label: str
    received_at: datetime
    closed: bool
    link: str  # "" / related / merged_in (this row was merged into the case) / merged_into
    reasons: list[str]
    can_link: bool = False
    can_unlink: bool = False
    can_merge: bool = False  # merge this row into the case on the page


def _rows(user, complaint: Complaint, ids: list[int], reasons: dict[int, list[str]]) -> list[Row]:
    if not ids:
        return []
    cases = list(visible_complaints(user).filter(pk__in=ids).order_by("-received_at"))
    masks = masks_for(cases)
    links = {v.other_id: v.kind for v in selectors.links_of(complaint)}
    merged_away = selectors.merged_into(complaint.pk) is not None
    may_link = user.has_role(*services.LINK_ROLES)
    may_merge = user.has_role(*services.MERGE_ROLES)
    out = []
    for c in cases:
        link = links.get(c.pk, "")
        out.append(
            Row(
                id=c.pk,
                tracking_number=c.tracking_number,
                title=masks[c.pk].text(c.title),
                state_label=c.state_label,
                received_at=c.received_at,
                closed=c.closed_at is not None,
                link=link,
                reasons=reasons.get(c.pk, []),
                can_link=may_link and not link,
                can_unlink=may_link and link == "related",
                can_merge=may_merge
                and not merged_away
                and link in ("", "related")
                and selectors.merged_into(c.pk) is None,
            )
        )
    return out


def complainant_cases(user, complaint: Complaint) -> list[Row]:
    """This complainant's other cases, all time (phone or ID number), most recent first."""
    found: dict[int, set[str]] = {}
    for phone, id_number in selectors.complainants([complaint.pk]).get(complaint.pk, []):
        for pk, why in selectors.same_complainant(
            phone, id_number, exclude_id=complaint.pk, limit=HISTORY_LIMIT
        ).items():
            found.setdefault(pk, set()).update(why)
    labels = {pk: [selectors.REASON_LABELS[r] for r in sorted(why)] for pk, why in found.items()}
    return _rows(user, complaint, list(found), labels)


def similar_cases(user, complaint: Complaint, exclude: set[int]) -> list[Row]:
    """Cases of the window with near-identical text from other complainants."""
    dups = [d for d in selectors.duplicates_of(complaint) if d.id not in exclude]
    labels = {d.id: d.reason_labels for d in dups}
    return _rows(user, complaint, [d.id for d in dups], labels)


def linked_cases(user, complaint: Complaint, exclude: set[int]) -> list[Row]:
    ids = [v.other_id for v in selectors.links_of(complaint) if v.other_id not in exclude]
    return _rows(user, complaint, ids, {})
