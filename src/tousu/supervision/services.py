"""催办 and 督办.

催办 (chase): the office or a leader presses for a slow case. The owners and the heads of the
departments holding it hear of it; the case counts how often it was chased.

督办 (supervision): a leader places a case under supervision with an instruction and a deadline in
working days, counted on the official calendar by a clock of its own (name "supervision"), which the
sweep warns about and breaches like any other. The department answers (督办回复); the answer stops
the clock, records whether it came in time, and tells the leader.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tousu.accounts.models import User
from tousu.cases.errors import Conflict, Forbidden, Invalid
from tousu.cases.models import Complaint, Event, Task
from tousu.clocks.models import Clock
from tousu.clocks.services import refresh_next_due, start_clock
from tousu.messaging.outbox import notify_staff, users_with_roles

from .models import Supervision

CHASE_ROLES = ("officer", "leader")
SUPERVISE_ROLES = ("leader",)
ANSWER_ROLES = ("handler", "dept_head")
CLOCK_NAME = "supervision"
MAX_WORKDAYS = 60


def _is_closed(complaint: Complaint) -> bool:
    return complaint.closed_at is not None or complaint.is_final


def _holders(complaint: Complaint) -> tuple[list[User], list[int]]:
    """The case's owners (of the case and of its open tasks) and the departments holding it."""
    tasks = list(complaint.tasks.filter(state=Task.OPEN).values_list("owner_id", "department_id"))
    owner_ids = {o for o, _ in tasks if o}
    if complaint.owner_id:
        owner_ids.add(complaint.owner_id)
    departments = [complaint.department_id] if complaint.department_id else []
    departments += [d for _, d in tasks if d not in departments]
    return list(User.objects.filter(pk__in=owner_ids, is_active=True)), departments


def _heads(departments: list[int]) -> list[User]:
    out = []
    for d in departments:
        out += users_with_roles(["dept_head"], d)
    return out


def _title(complaint: Complaint) -> str:
    return f"{complaint.tracking_number}「{complaint.title[:30]}」"


def chase(
    complaint: Complaint,
    user: User,
    note: str = "",
    *,
    via: str = "web",
    actor_name: str = "",
    key: str | None = None,
) -> Event:
    """Chase a case. With an idempotency key (the API's Idempotency-Key header, the web form's
    one-time token) a retried request creates nothing twice: it answers with the first 催办's
    event, whose payload holds the count it made."""
    note = (note or "").strip()[:500]
    if not key:
        with transaction.atomic():
            return _chase(complaint, user, note, via=via, actor_name=actor_name)
    from tousu.cases.models import IdempotencyRecord
    from tousu.cases.services import fingerprint

    if len(key) > 100:
        raise Invalid("Idempotency-Key 最长 100 个字符")
    print_ = fingerprint({"chase": complaint.pk, "note": note})
    for _ in range(2):
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record:
            if record.fingerprint != print_:
                raise Invalid("该 Idempotency-Key 已用于内容不同的请求；请为新请求使用新的键")
            return Event.objects.get(pk=record.body["event_id"])
        try:
            with transaction.atomic():
                event = _chase(complaint, user, note, via=via, actor_name=actor_name)
                IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    fingerprint=print_,
                    status_code=200,
                    body={"event_id": event.pk, "chase_count": event.payload["count"]},
                )
            return event
        except IntegrityError:
            continue  # the same key won a race: answer with its 催办
    raise Invalid("Idempotency-Key 冲突，请重试")


def _chase(complaint: Complaint, user: User, note: str, *, via: str, actor_name: str) -> Event:
    if not user.has_role(*CHASE_ROLES):
        raise Forbidden("只有投诉专员或领导可以催办")
    if _is_closed(complaint):
        raise Invalid("该投诉已结案，无需催办")
    Complaint.objects.filter(pk=complaint.pk).update(chase_count=F("chase_count") + 1)
    complaint.chase_count = (
        Complaint.objects.filter(pk=complaint.pk).values_list("chase_count", flat=True).get()
    )
    event = Event.objects.create(
        complaint=complaint,
        action="chased",
        label=f"催办（第 {complaint.chase_count} 次）",
        from_state=complaint.state,
        to_state=complaint.state,
        actor=user,
        actor_name=actor_name or str(user),
        via=via,
        payload={"count": complaint.chase_count},
        comment=note,
    )
    owners, departments = _holders(complaint)
    recipients = [*owners, *_heads(departments)]
    if not recipients:  # nobody in a department holds it yet: the office itself is chased
        recipients = users_with_roles(["officer"])
    notify_staff(
        [u for u in recipients if u.pk != user.pk],
        kind="chased",
        text=f"{_title(complaint)}被催办（第 {complaint.chase_count} 次，{user}）"
        + (f"：{note}" if note else ""),
        complaint=complaint,
        key=f"e{event.pk}",
    )
    return event


@transaction.atomic
def place(
    complaint: Complaint,
    user: User,
    *,
    instruction: str,
    workdays: int,
    via: str = "web",
    actor_name: str = "",
) -> Supervision:
    if not user.has_role(*SUPERVISE_ROLES):
        raise Forbidden("只有领导可以督办")
    instruction = (instruction or "").strip()
    if not instruction:
        raise Invalid("请填写督办要求", {"fields": {"instruction": ["必填"]}})
    if len(instruction) > 2000:
        raise Invalid("督办要求最长 2000 字", {"fields": {"instruction": ["最长 2000 字"]}})
    if not isinstance(workdays, int) or not 1 <= workdays <= MAX_WORKDAYS:
        raise Invalid(
            f"督办时限应为 1 至 {MAX_WORKDAYS} 个工作日",
            {"fields": {"workdays": [f"1 至 {MAX_WORKDAYS} 的整数"]}},
        )
    if _is_closed(complaint):
        raise Invalid("该投诉已结案，不能督办")
    existing = complaint.supervisions.filter(state=Supervision.OPEN).first()
    if existing is not None:
        raise Conflict(
            f"该投诉已在督办中（督办截止 {timezone.localtime(existing.due_at):%Y-%m-%d %H:%M}），"
            "请待部门回复后再督办"
        )
    now = timezone.now()
    clock = start_clock(
        complaint,
        name=CLOCK_NAME,
        label="督办时限",
        basis=f"领导督办（{user}）：{workdays} 个工作日内回复",
        at=now,
        unit="working_days",
        amount=workdays,
        warn_before=1 if workdays > 1 else None,
    )
    try:
        with transaction.atomic():
            supervision = Supervision.objects.create(
                complaint=complaint,
                instruction=instruction,
                placed_by=user,
                placed_by_name=(actor_name or str(user))[:100],
                placed_at=now,
                workdays=workdays,
                clock=clock,
                due_at=clock.due_at,
            )
    except IntegrityError:  # another leader placed one a moment ago
        raise Conflict("该投诉刚被其他领导督办，请刷新后查看") from None
    due = timezone.localtime(clock.due_at)
    event = Event.objects.create(
        complaint=complaint,
        action="supervised",
        label=f"督办：{workdays} 个工作日内回复（截止 {due:%Y-%m-%d}）",
        from_state=complaint.state,
        to_state=complaint.state,
        actor=user,
        actor_name=actor_name or str(user),
        via=via,
        payload={
            "supervision": supervision.pk,
            "workdays": workdays,
            "due": clock.due_at.isoformat(),
        },
        comment=instruction,
    )
    owners, departments = _holders(complaint)
    notify_staff(
        [*owners, *_heads(departments)],
        kind="supervised",
        text=f"{_title(complaint)}已被{user}督办，请于 {due:%Y-%m-%d %H:%M} 前回复：{instruction[:100]}",
        complaint=complaint,
        key=f"e{event.pk}",
    )
    return supervision


def can_answer(user: User, complaint: Complaint) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    owners, departments = _holders(complaint)
    if user.pk in {u.pk for u in owners}:
        return True
    return user.has_role(*ANSWER_ROLES) and user.department_id in departments


@transaction.atomic
def answer(
    supervision: Supervision, user: User, text: str, *, via: str = "web", actor_name: str = ""
) -> Supervision:
    complaint = supervision.complaint
    if not can_answer(user, complaint):
        raise Forbidden("督办回复由承办部门的经办人、科室负责人或承办人填写")
    text = (text or "").strip()
    if not text:
        raise Invalid("请填写督办回复", {"fields": {"answer": ["必填"]}})
    if len(text) > 5000:
        raise Invalid("督办回复最长 5000 字", {"fields": {"answer": ["最长 5000 字"]}})
    now = timezone.now()
    updated = Supervision.objects.filter(pk=supervision.pk, state=Supervision.OPEN).update(
        state=Supervision.ANSWERED,
        answer=text,
        answered_by=user,
        answered_by_name=(actor_name or str(user))[:100],
        answered_at=now,
        on_time=now <= supervision.due_at,
    )
    if not updated:
        raise Conflict("该督办已回复")
    supervision.refresh_from_db()
    if supervision.clock_id:
        clock = Clock.objects.get(pk=supervision.clock_id)
        if clock.state != Clock.STOPPED:
            clock.state, clock.stopped_at = Clock.STOPPED, now
            clock.save(update_fields=["state", "stopped_at"])  # save(): the facts follow
            refresh_next_due(complaint)
    event = Event.objects.create(
        complaint=complaint,
        action="supervision_answered",
        label="督办回复" + ("" if supervision.on_time else "（超过督办时限）"),
        from_state=complaint.state,
        to_state=complaint.state,
        actor=user,
        actor_name=actor_name or str(user),
        via=via,
        payload={"supervision": supervision.pk, "on_time": supervision.on_time},
        comment=text,
    )
    notify_staff(
        [supervision.placed_by],
        kind="supervised.answered",
        text=f"{_title(complaint)}的督办已回复（{user}"
        + ("" if supervision.on_time else "，超过督办时限")
        + f"）：{text[:100]}",
        complaint=complaint,
        key=f"e{event.pk}",
    )
    return supervision
