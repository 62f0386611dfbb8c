"""Hand-offs read from the engine's signals, by the shape of the flow definition (no action names):

staff
- plan returned: the case goes back to the state it came from, by someone else's decision; the one
  whose step was undone and the case's owner hear of it;
- plan waiting for my instruction: the case enters a state where it waits for a leader's decision
  (a non-routine leader action that moves it on, supervision.selectors.decision_states);
- complainant dissatisfied: an action that reopens the case (flag `reopened`);
- material arrived: an action that resumes a clock a complainant's action can resume;

complainant (one message per channel, from the organisation's templates)
- acknowledgement at registration;
- request for material: an action that pauses a clock a complainant's action resumes;
- reply: a public action that issues the written reply; or, short of closing the case, stops a
  clock with a public text (an explanation);
- closing: the case enters a closed state;
- invitation to rate: the case enters a state where the complainant may give a verdict;
- extension of a deadline (clocks.signals.clock_extended).

Nothing is sent to the complainant for what they did themselves.
"""

from __future__ import annotations

from django.db.models import F

from tousu.accounts.models import User
from tousu.accounts.roles import COMPLAINANT
from tousu.cases.models import Event, Task
from tousu.documents.display import chinese_date, chinese_datetime, field_rows, names_for
from tousu.supervision.selectors import decision_states

from . import kinds
from .outbox import notify_staff, queue_complainant, users_with_roles

REPLY_DOCUMENT = "written_reply"


def _title(complaint) -> str:
    return f"{complaint.tracking_number}「{complaint.title[:30]}」"


def _by_complainant(action) -> bool:
    return COMPLAINANT in action.roles


def _material_clocks(definition):
    """Clocks a complainant's action resumes: their pause is a request for material."""
    complainant_actions = {a.name for a in definition.actions if COMPLAINANT in a.roles}
    return [c for c in definition.clocks if complainant_actions & set(c.resume)]


def _verdict_actions(definition, state: str) -> list:
    """The complainant's verdicts possible in `state`: their actions there that are not sending
    material (which resumes a clock)."""
    resumers = {name for c in definition.clocks for name in c.resume}
    return [
        a
        for a in definition.actions_from(state)
        if COMPLAINANT in a.roles and a.name not in resumers
    ]


# --- registration --------------------------------------------------------------------------------


def complaint_registered(sender, complaint, event, parties=(), access_code="", **kwargs) -> None:
    queue_complainant(
        complaint,
        kinds.ACKNOWLEDGEMENT,
        {"access_code": access_code, "action": "投诉已登记"},
        key=f"e{event.pk}",
        parties=parties,
        now=event.created_at,
    )


# --- actions -------------------------------------------------------------------------------------


def action_applied(sender, complaint, action, event, user=None, **kwargs) -> None:
    definition = complaint.definition
    _staff_handoffs(complaint, action, event, definition)
    if not _by_complainant(action):
        _complainant_message(complaint, action, event, definition)


def _staff_handoffs(complaint, action, event, definition) -> None:
    key = f"e{event.pk}"
    moved = event.from_state != event.to_state
    title = _title(complaint)
    resumes = any(action.name in c.resume for c in definition.clocks)
    if moved and not resumes and (undone := _undone_step(complaint, event)) is not None:
        owners = _owners(complaint)
        notify_staff(
            [undone.actor, *owners],
            kind="plan_returned",
            text=f"{title}：「{undone.label}」被退回（{event.actor_name}「{event.label}」）"
            + (f"：{event.comment}" if event.comment else ""),
            complaint=complaint,
            key=key,
        )
    if moved and event.to_state in decision_states(definition):
        notify_staff(
            users_with_roles(["leader"]),
            kind="plan_waiting",
            text=f"{title}待您批示：{definition.state_label(event.to_state)}",
            complaint=complaint,
            key=key,
        )
    if "reopened" in action.set.flags_add:
        recipients = [
            *_owners(complaint),
            *users_with_roles(["dept_head"], complaint.department_id),
        ]
        recipients += users_with_roles(["officer"])
        notify_staff(
            recipients,
            kind="dissatisfied",
            text=f"{title}：投诉人不满意，已转进一步处理" + _said(complaint, action, event),
            complaint=complaint,
            key=key,
        )
    if any(action.name in c.resume for c in _material_clocks(definition)):
        asked = (
            complaint.events.filter(
                action__in=[n for c in _material_clocks(definition) for n in c.pause]
            )
            .exclude(pk=event.pk)
            .order_by("-created_at", "-pk")
            .first()
        )
        recipients = [*_owners(complaint), asked.actor if asked else None]
        if not any(recipients):
            recipients = users_with_roles(["officer"])
        notify_staff(
            recipients,
            kind="material_arrived",
            text=f"{title}：补充材料已到（{event.actor_name}）",
            complaint=complaint,
            key=key,
        )


def _said(complaint, action, event) -> str:
    rows = field_rows(action.form, event.payload, {}, public_only=True)
    text = "；".join(r["value"] for r in rows if r["name"] != "satisfaction")[:120]
    return f"：{text}" if text else ""


def _owners(complaint) -> list:
    ids = set(
        complaint.tasks.filter(state=Task.OPEN, owner__isnull=False).values_list(
            "owner_id", flat=True
        )
    )
    if complaint.owner_id:
        ids.add(complaint.owner_id)
    return list(User.objects.filter(pk__in=ids)) if ids else []


def _undone_step(complaint, event) -> Event | None:
    """The step this action sends back: the last change of state, if it came from the state the
    case now returns to, and another member of staff took it. None when the case is not going
    back (an end of a pause for material is not a return either: the caller leaves those out)."""
    previous = (
        complaint.events.exclude(pk=event.pk)
        .exclude(from_state="")
        .exclude(from_state=F("to_state"))
        .order_by("-created_at", "-pk")
        .first()
    )
    if previous is None or (previous.from_state, previous.to_state) != (
        event.to_state,
        event.from_state,
    ):
        return None
    if event.actor_id is None or previous.actor_id in (None, event.actor_id):
        return None  # nobody's decision was overruled: the same person, or the complainant
    return previous


def _complainant_message(complaint, action, event, definition) -> None:
    kind = _kind(complaint, action, event, definition)
    if kind is None:
        return
    names = names_for(complaint.process.name, list(event.payload.values()))
    rows = field_rows(action.form, event.payload, names, public_only=True)
    due = next(
        (
            chinese_date(event.payload[f.name])
            for f in action.form
            if f.type == "date" and f.public and event.payload.get(f.name)
        ),
        "",
    )
    content = "\n".join(f"{r['label']}：{r['value']}" for r in rows)
    queue_complainant(
        complaint,
        kind,
        {
            "action": event.public_label or action.public_label or action.label,
            "content": content,
            "due": due,
        },
        key=f"e{event.pk}",
        now=event.created_at,
    )


def _kind(complaint, action, event, definition) -> str | None:
    if any(action.name in c.pause for c in _material_clocks(definition)):
        return kinds.MATERIAL_REQUEST
    public = action.visibility == "public"
    if public and action.document == REPLY_DOCUMENT:
        return kinds.REPLY
    closed = definition.closed_states
    if event.to_state in closed and event.from_state not in closed:
        return kinds.CLOSING
    public_text = any(f.public and f.type in ("text", "textarea") for f in action.form)
    if public and public_text and any(action.name in c.stop for c in definition.clocks):
        return kinds.REPLY  # an answer in substance (an explanation) that stops the clock
    if (
        event.from_state != event.to_state
        and _verdict_actions(definition, event.to_state)
        and not _verdict_actions(definition, event.from_state)
    ):
        return kinds.RATING_INVITATION
    return None


# --- clock extensions ----------------------------------------------------------------------------


def clock_extended(sender, clock, event, reason="", **kwargs) -> None:
    # Only a deadline owed to the complainant (the definition's `public: true`): not 督办, which no
    # definition names, nor a department's internal period. The portal shows the same ones.
    defined = clock.complaint.definition.clock(clock.name)
    if defined is None or not defined.public:
        return
    due = clock.due_at
    when = chinese_datetime(due) if clock.unit in ("hours", "working_hours") else chinese_date(due)
    if clock.state == "paused":
        when = f"补充材料后顺延（已延长 {clock.extended:g} {clock.unit_label}）"
    queue_complainant(
        clock.complaint,
        kinds.EXTENSION,
        {"clock": clock.label, "due": when, "reason": reason, "action": event.label},
        key=f"e{event.pk}",
        now=event.created_at,
    )
