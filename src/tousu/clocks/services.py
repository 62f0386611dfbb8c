"""Clocks on cases: started, stopped, paused and resumed by the flow's actions, counted on the official
working-day calendar with the administrators' overrides; extended by the roles the flow names; swept
for warnings and breaches exactly once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tousu import workdays
from tousu.accounts.models import User
from tousu.cases.engine import CaseFacts
from tousu.cases.errors import Forbidden, Invalid
from tousu.cases.models import Complaint, Event
from tousu.messaging.outbox import notify_staff, users_with_roles
from tousu.processes import conditions
from tousu.processes.definition import ClockDef

from .models import CalendarOverride, CalendarYear, Clock
from .signals import clock_breached, clock_extended, clock_warning

DAY_UNITS = ("calendar_days", "working_days")
_CALENDAR: tuple[float, workdays.Calendar] | None = None
_CALENDAR_TTL = 60.0  # other processes see an administrator's change within a minute


def calendar() -> workdays.Calendar:
    global _CALENDAR
    now = time.monotonic()
    if _CALENDAR is None or now - _CALENDAR[0] > _CALENDAR_TTL:
        overrides = dict(CalendarOverride.objects.values_list("date", "is_workday"))
        years = CalendarYear.objects.values_list("year", flat=True)
        _CALENDAR = (now, workdays.Calendar(overrides, complete_years=list(years)))
    return _CALENDAR[1]


def invalidate_calendar() -> None:
    global _CALENDAR
    _CALENDAR = None


def deadline(
    unit: str, at: datetime, amount: float, cal: workdays.Calendar | None = None
) -> workdays.TimeResult:
    """Due moment of `amount` units counted from `at` (the starting day not counted)."""
    if unit in DAY_UNITS:
        amount = round(amount)  # stored as float; whole days by definition (validated)
    return workdays.resume(unit, at, amount, calendar=cal or calendar())


def _schedule(clock: Clock, at: datetime, amount: float, warn_before: float | None, cal) -> None:
    result = deadline(clock.unit, at, amount, cal)
    clock.basis_at, clock.basis_amount = at, amount
    clock.due_at, clock.provisional = result.at, result.provisional
    if warn_before:
        lead = amount - warn_before
        clock.warn_at = at if lead <= 0 else deadline(clock.unit, at, lead, cal).at
    else:
        clock.warn_at = None


def _clock_def(complaint: Complaint, name: str) -> ClockDef | None:
    return complaint.definition.clock(name)


def _moment(value) -> datetime | None:
    return conditions.as_moment(value)


def origin(d: ClockDef, starting: str, *, received_at, action_at, fields, form) -> datetime | None:
    """The moment a clock counts from (ClockDef.origin_at: the engine checks it too)."""
    return d.origin_at(
        starting, received_at=received_at, action_at=action_at, fields=fields, form=form
    )


def due_from_field(d: ClockDef, *, fields, form) -> datetime | None:
    """For a clock with `until`: the end of the day a field names."""
    prefix, _, name = d.until.partition(".")
    day = _moment((fields if prefix == "fields" else form or {}).get(name))
    if day is None:
        return None
    end = timezone.localtime(day).replace(hour=23, minute=59, second=59, microsecond=999999)
    return end


def _start(complaint: Complaint, d: ClockDef, at: datetime, cal, due_at=None) -> Clock:
    clock = Clock(
        complaint=complaint,
        name=d.name,
        label=d.label,
        basis=d.basis,
        unit=d.unit,
        amount=d.amount or 0,
        started_at=at,
    )
    if due_at is not None:
        # A date set by a person: kept as the exact time left so a calendar reload leaves it.
        clock.unit, clock.amount = "hours", (due_at - at).total_seconds() / 3600
        _schedule(clock, at, clock.amount, None, cal)
    else:
        _schedule(clock, at, d.amount, d.warn_before, cal)
    return clock


def starting_clocks(
    definition, starting: str, *, facts, received_at, action_at, fields, form=None, cal=None
) -> list[tuple[ClockDef, datetime, datetime | None]]:
    """Pure: (clock, counted from, fixed due or None) for each clock `starting` starts."""
    out = []
    for d in definition.clocks:
        if starting not in d.start:
            continue
        if d.start_when is not None and not conditions.holds(d.start_when, facts):
            continue
        at = origin(
            d, starting, received_at=received_at, action_at=action_at, fields=fields, form=form
        )
        if at is None:
            at = action_at  # an optional registration date left empty: count from now
        due = due_from_field(d, fields=fields, form=form) if d.until else None
        if d.until and due is None:
            continue
        out.append((d, at, due))
    return out


def initial_clocks(complaint: Complaint, at: datetime, facts=None) -> list[Clock]:
    """The clocks a new case starts with (unsaved: registration inserts them with the case)."""

    cal = calendar()
    facts = facts or CaseFacts(complaint)
    return [
        _start(complaint, d, start, cal, due)
        for d, start, due in starting_clocks(
            complaint.definition,
            "created",
            facts=facts,
            received_at=complaint.received_at,
            action_at=at,
            fields=complaint.fields,
        )
    ]


def breach_if_past_due(clocks: list[Clock], now: datetime) -> None:
    """A clock that is past due the moment it starts (a letter received weeks ago, a date typed
    late) is recorded as breached at once, with the reason, not left for the next sweep."""
    for clock in clocks:
        if clock.state != Clock.RUNNING or clock.due_at > now or clock.breached_at:
            continue
        started = timezone.localtime(clock.started_at).strftime("%Y-%m-%d %H:%M")
        reason = f"自 {started} 起算，开始计时时已超过期限"
        if Clock.objects.filter(pk=clock.pk, breached_at__isnull=True).update(
            breached_at=now, warned_at=now
        ):
            clock.breached_at = clock.warned_at = now
            _breach(clock, now, reason=reason)


def start_clock(
    complaint: Complaint,
    *,
    name: str,
    label: str,
    basis: str,
    at: datetime,
    unit: str = "hours",
    amount: float | None = None,
    due_at: datetime | None = None,
    warn_before: float | None = None,
) -> Clock:
    """Start a clock that no flow definition names: a deadline set by a person (督办) or carried by
    an incoming document (a 12345 work order's 办理时限). Give either `amount` of `unit` counted on
    the calendar from `at`, or a fixed `due_at`, kept as the exact number of hours so that
    reloading the calendar leaves it where it is."""
    if (amount is None) == (due_at is None):
        raise ValueError("give either amount or due_at")
    if due_at is not None:
        unit, amount = "hours", (due_at - at).total_seconds() / 3600
    clock = Clock(
        complaint=complaint,
        name=name,
        label=label,
        basis=basis,
        unit=unit,
        amount=amount,
        started_at=at,
    )
    _schedule(clock, at, amount, warn_before, calendar())
    clock.save()
    breach_if_past_due([clock], timezone.now())
    refresh_next_due(complaint)
    return clock


def on_action(
    complaint: Complaint, action, event: Event, *, facts=None, form=None, closing: bool = False
) -> None:
    """Stop, pause, resume, then start the clocks the definition ties to this action. A case that
    closes keeps no clock running: whatever still runs stops with it."""
    name = action.name
    reopens = getattr(action, "reopen", False)
    if closing:
        stop_all(complaint, event.created_at)
        return
    defs = [
        c
        for c in complaint.definition.clocks
        if name in c.stop
        or name in c.pause
        or name in c.resume
        or name in c.start
        or (reopens and "reopened" in c.start)
    ]
    if not defs:
        return
    at = event.created_at
    live = {c.name: c for c in complaint.clocks.exclude(state=Clock.STOPPED)}
    cal = calendar()
    for d in defs:
        clock = live.get(d.name)
        if clock and name in d.stop:
            clock.state, clock.stopped_at = Clock.STOPPED, at
            clock.save(update_fields=["state", "stopped_at"])
            live.pop(d.name)
        elif clock and name in d.pause and clock.state == Clock.RUNNING:
            clock.remaining = workdays.remaining(clock.unit, at, clock.due_at, calendar=cal)
            clock.state, clock.paused_at = Clock.PAUSED, at
            clock.save(update_fields=["state", "paused_at", "remaining"])
        elif clock and name in d.resume and clock.state == Clock.PAUSED:
            _schedule(clock, at, clock.remaining, d.warn_before, cal)
            clock.state, clock.paused_at, clock.remaining = Clock.RUNNING, None, None
            clock.save()
    new = []
    if facts is None:
        facts = CaseFacts(complaint)
    for starting in (name, "reopened") if reopens else (name,):
        for d, start, due in starting_clocks(
            complaint.definition,
            starting,
            facts=facts,
            received_at=complaint.received_at,
            action_at=at,
            fields=complaint.fields,
            form=form,
        ):
            if d.name in live:
                continue  # already running: a start does not restart it
            new.append(_start(complaint, d, start, cal, due))
            live[d.name] = new[-1]
    Clock.objects.bulk_create(new)
    breach_if_past_due(new, at)
    refresh_next_due(complaint)


def stop_all(complaint: Complaint, at: datetime) -> None:
    live = list(complaint.clocks.exclude(state=Clock.STOPPED))
    for clock in live:
        clock.state, clock.stopped_at = Clock.STOPPED, at
        clock.save(update_fields=["state", "stopped_at"])
    if live:
        refresh_next_due(complaint)


def refresh_next_due(complaint: Complaint) -> None:
    """Keep Complaint.next_due_at equal to the nearest due time of its running clocks."""
    from django.db.models import Min

    nearest = Clock.objects.filter(complaint=complaint, state=Clock.RUNNING).aggregate(
        m=Min("due_at")
    )["m"]
    if nearest != complaint.next_due_at:
        Complaint.objects.filter(pk=complaint.pk).update(next_due_at=nearest)
        complaint.next_due_at = nearest


def time_left(clock: Clock, now: datetime | None = None) -> float:
    """Amount of the clock's own unit left (negative when overdue)."""
    if clock.state == Clock.PAUSED:
        return clock.remaining or 0
    if clock.state == Clock.STOPPED:
        return 0
    return workdays.remaining(clock.unit, now or timezone.now(), clock.due_at, calendar=calendar())


def can_extend(clock: Clock, user: User) -> bool:
    d = _clock_def(clock.complaint, clock.name)
    return bool(
        d
        and d.max_extension
        and clock.state != Clock.STOPPED
        and user.has_role(*d.extension_roles)
        and clock.extended < d.max_extension
    )


@transaction.atomic
def extend(
    clock: Clock, user: User, amount: float, reason: str, *, via: str = "web", actor_name: str = ""
) -> Clock:
    """Extend a running or paused clock by `amount` of its unit, within the flow's maximum."""
    clock = Clock.objects.select_for_update().select_related("complaint__process").get(pk=clock.pk)
    d = _clock_def(clock.complaint, clock.name)
    if d is None or not d.max_extension:
        raise Invalid(f"时限「{clock.label}」不允许延期")
    if not user.has_role(*d.extension_roles):
        raise Forbidden(f"只有{'、'.join(d.extension_roles)}可以延长「{clock.label}」")
    if not reason.strip():
        raise Invalid("延期必须说明理由")
    if clock.state == Clock.STOPPED:
        raise Invalid(f"时限「{clock.label}」已停止，不能延期")
    if amount <= 0 or clock.extended + amount > d.max_extension:
        left = d.max_extension - clock.extended
        raise Invalid(
            f"延期超过上限：「{clock.label}」最多可延期 {d.max_extension:g} {clock.unit_label}，"
            f"已延期 {clock.extended:g}，还可延期 {max(left, 0):g}"
        )
    old_due = clock.due_at
    clock.extended += amount
    if clock.state == Clock.PAUSED:
        clock.remaining = (clock.remaining or 0) + amount
    else:
        _schedule(clock, clock.basis_at, clock.basis_amount + amount, d.warn_before, calendar())
        if clock.warn_at and clock.warn_at > timezone.now():
            clock.warned_at = None  # a new warning is due before the new deadline
    clock.save()
    refresh_next_due(clock.complaint)
    event = Event.objects.create(
        complaint=clock.complaint,
        action="clock_extended",
        label=f"延长时限：{clock.label}",
        from_state=clock.complaint.state,
        to_state=clock.complaint.state,
        actor=user,
        actor_name=actor_name or str(user),
        via=via,
        payload={
            "clock": clock.name,
            "amount": amount,
            "unit": clock.unit,
            "old_due": old_due.isoformat(),
            "new_due": clock.due_at.isoformat(),
        },
        comment=reason,
    )
    clock_extended.send(sender=Clock, clock=clock, event=event, reason=reason)
    return clock


# --- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0


SUPERVISION_CLOCK = "supervision"  # 督办 (tousu.supervision): the leader and the department hear


def notify_roles(complaint: Complaint, roles, kind: str, message: str, *, key: str) -> None:
    """Tell the holders of these roles (departmental roles: of the case's department), once per
    `key`, through the outbox."""

    _notify(users_with_roles(roles, complaint.department_id), complaint, kind, message, key=key)


def _recipients(clock: Clock, roles) -> list[User]:
    """Who hears of a clock: the roles the definition names (departmental ones in the case's
    department), the case's owners, and for a 督办 the leader who placed it and the department's
    heads."""

    c = clock.complaint
    if clock.name == SUPERVISION_CLOCK:
        roles = ()  # the leader's own deadline for the department, not the office's
    users = users_with_roles(roles, c.department_id)
    owner_ids = set(
        c.tasks.filter(state="open", owner__isnull=False).values_list("owner_id", flat=True)
    )
    if c.owner_id:
        owner_ids.add(c.owner_id)
    users += list(User.objects.filter(pk__in=owner_ids, is_active=True))
    if clock.name == SUPERVISION_CLOCK:
        users += users_with_roles(["dept_head"], c.department_id)
        placed = getattr(getattr(clock, "supervision", None), "placed_by", None)
        if placed is not None:
            users.append(placed)
    return users


def _notify(users, complaint: Complaint, kind: str, message: str, key: str) -> None:
    """One message per person through the outbox (in-app, and e-mail or digest by preference)."""

    notify_staff(users, kind=kind, text=message, complaint=complaint, key=key)


def _candidates(field: str, now: datetime, limit: int):
    """Running clocks past their warning/due moment; locked rows are left to the other worker. A
    clock already past due gets no warning: its breach is the one message."""
    stamp = {"warn_at": "warned_at", "due_at": "breached_at"}[field]
    later = {"due_at__gt": now} if field == "warn_at" else {}
    return list(
        Clock.objects.select_for_update(skip_locked=True)
        .filter(state=Clock.RUNNING, **{f"{field}__lte": now, f"{stamp}__isnull": True}, **later)
        .order_by(field)
        .values_list("pk", flat=True)[:limit]
    )


def _fire(pk: int, stamp: str, now: datetime) -> Clock | None:
    # The conditional update is what makes each warning and breach happen exactly once.
    if not Clock.objects.filter(pk=pk, **{f"{stamp}__isnull": True}).update(**{stamp: now}):
        return None
    if stamp == "breached_at":  # past due: no "将于…到期" any more, now or later
        Clock.objects.filter(pk=pk, warned_at__isnull=True).update(warned_at=now)
    return Clock.objects.select_related("complaint__process", "complaint__department").get(pk=pk)


def sweep(now: datetime | None = None, batch: int = 500) -> SweepResult:
    """Issue due warnings and breaches, each exactly once, even with several workers sweeping."""
    now = now or timezone.now()
    result = SweepResult()
    for field, stamp in (("due_at", "breached_at"), ("warn_at", "warned_at")):
        while True:
            with transaction.atomic():
                pks = _candidates(field, now, batch)
                for pk in pks:
                    clock = _fire(pk, stamp, now)
                    if clock is None:
                        continue
                    if stamp == "breached_at":
                        _breach(clock, now)
                        result.breached += 1
                    else:
                        _warn(clock, now)
                        result.warned += 1
            if len(pks) < batch:
                break
    return result


def _is_supervision(clock: Clock) -> bool:
    return clock.name == SUPERVISION_CLOCK


def _warn(clock: Clock, now: datetime) -> None:
    c = clock.complaint
    d = _clock_def(c, clock.name)
    when = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
    event = Event.objects.create(
        complaint=c,
        action="clock_warning",
        label=f"时限预警：{clock.label}",
        from_state=c.state,
        to_state=c.state,
        actor_name="系统",
        via="system",
        payload={"clock": clock.name, "due": clock.due_at.isoformat()},
        round=c.round,
        created_at=now,
    )
    _notify(
        _recipients(clock, d.notify_roles if d else ("officer",)),
        c,
        "supervised.warning" if _is_supervision(clock) else "clock.warning",
        f"{c.tracking_number}「{clock.label}」将于 {when} 到期",
        key=f"e{event.pk}",
    )
    clock_warning.send(sender=Clock, complaint=c, clock=clock, event=event)


def _breach(clock: Clock, now: datetime, *, reason: str = "") -> None:
    """One breach, one message per person: those the definition names, the owners, and (when the
    definition escalates) the leaders, who are told it was escalated to them. `reason`: why it is
    breached the moment it starts (counted from a moment already past its due time)."""
    c = clock.complaint
    d = _clock_def(c, clock.name)
    actions = d.on_breach if d else ("flag", "notify")
    when = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
    event = Event.objects.create(
        complaint=c,
        action="clock_breached",
        label=f"超时：{clock.label}",
        from_state=c.state,
        to_state=c.state,
        actor_name="系统",
        via="system",
        payload={"clock": clock.name, "due": clock.due_at.isoformat()},
        comment=reason,
        round=c.round,
        created_at=now,
    )
    clock_breached.send(sender=Clock, complaint=c, clock=clock, event=event)
    leaders: list[User] = []
    if "escalate" in actions:
        Event.objects.create(
            complaint=c,
            action="escalated",
            label="超时上报领导",
            from_state=c.state,
            to_state=c.state,
            actor_name="系统",
            via="system",
            payload={"clock": clock.name},
            round=c.round,
            created_at=now,
        )
        leaders = users_with_roles(["leader"])
        _notify(
            leaders,
            c,
            "clock.escalated",
            f"{c.tracking_number}「{clock.label}」已于 {when} 超时，已上报领导",
            key=f"e{event.pk}",
        )
    if "notify" in actions or _is_supervision(clock):
        told = {u.pk for u in leaders}
        _notify(
            [
                u
                for u in _recipients(clock, d.notify_roles if d else ("officer",))
                if u.pk not in told
            ],
            c,
            "supervised.breached" if _is_supervision(clock) else "clock.breached",
            f"{c.tracking_number}「{clock.label}」已于 {when} 超时",
            key=f"e{event.pk}",
        )
