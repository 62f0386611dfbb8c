"""Keeping the statistics facts current.

`case_values` turns one case's source rows (the case, its parties, its events, its clocks) into its
fact row; the signal receivers, `rebuild` and the data generator all go through it, so the three
cannot disagree. The receivers run inside the transaction that wrote the case (signals.py), so a
fact commits or rolls back with the change it reflects; so do the monthly rollups (rollup.py), which
get the difference between the case's rows before and after.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from tousu.cases.models import Complaint, Event, Party
from tousu.cases.signals import action_applied, closed_by_system, complaint_registered
from tousu.clocks.models import Clock
from tousu.clocks.services import calendar
from tousu.clocks.signals import clock_breached
from tousu.db.pipeline import pipelined
from tousu.processes.models import ProcessDefinition
from tousu.workdays import SHANGHAI

from . import rollup
from .models import NO_VERDICT, CaseFact, ClockFact
from .rules import (
    COLLECTIVE_FIELD,
    DISSATISFIED,
    RESPONDENT_FIELDS,
    SATISFACTION_CODES,
    Rules,
    rules_for,
)

REPEAT_WINDOW_DAYS = 365
WAVE_ACTIONS = ("wave_started", "wave_joined")
_KEY = b"tousu-reports-complainant-v1"  # a pseudonym for grouping, not a secret
CLOCK_STATES = {
    "running": ClockFact.RUNNING,
    "paused": ClockFact.PAUSED,
    "stopped": ClockFact.STOPPED,
}


def day_int(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def int_day(n: int) -> date:
    return date(n // 10000, n // 100 % 100, n % 100)


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def complainant_key(phone: str, id_number: str) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())[-11:]
    ident = (id_number or "").strip().upper()
    if ident:
        basis = "i:" + ident
    elif len(digits) >= 7:
        basis = "p:" + digits
    else:
        return ""
    return hmac.new(_KEY, basis.encode(), hashlib.sha256).hexdigest()[:16]


def case_values(
    *,
    rules: Rules,
    calendar,
    process_id: int,
    received_at: datetime,
    closed_at: datetime | None,
    state: str,
    department_id: int | None,
    category_id: int | None,
    channel: str,
    fields: dict,
    parties: Sequence[tuple],  # (role, name, phone, id_number)
    events: Iterable[tuple],  # (action, payload) in order
) -> dict:
    """The fact row of one case (without its primary key and the repeat flag)."""
    received = local_day(received_at)
    satisfaction, reopened, followed_up = NO_VERDICT, False, False
    routes: list[str] = []
    outcome, respondent = "", ""
    capa_verified, capa_failed = False, 0
    wave = None  # the case started a wave of collective complaints, or joined one (triage/waves.py)
    for action, payload in events:
        if action in WAVE_ACTIONS:
            wave = action
        if satisfaction == NO_VERDICT:  # the first verdict: how the first answer was received
            if action in rules.verdict_fields:
                code = SATISFACTION_CODES.get(payload.get(rules.verdict_fields[action]))
                if code:
                    satisfaction = code
                elif action in rules.dissatisfied:
                    satisfaction = DISSATISFIED
            elif action in rules.dissatisfied:
                satisfaction = DISSATISFIED
        if action in rules.reopen:
            reopened = True
        if action in rules.follow_up:
            followed_up = True
        if action in rules.routes:
            value = payload.get(rules.routes[action])
            for code in value if isinstance(value, list) else [value]:
                if code and code not in routes:
                    routes.append(code)
        if action in rules.outcomes and payload.get(rules.outcomes[action]):
            outcome = str(payload[rules.outcomes[action]])
        if action in rules.capa_verified:
            capa_verified = True
        elif action in rules.capa_failed:
            capa_failed += 1
        if action in rules.respondent_actions and payload.get("respondent_name"):
            respondent = str(payload["respondent_name"])
    complainants = [p for p in parties if p[0] == "complainant"]
    if not respondent:
        respondent = next((p[1] for p in parties if p[0] == "respondent" and p[1]), "")
    if not respondent:
        respondent = next((str(fields[f]) for f in RESPONDENT_FIELDS if fields.get(f)), "")
    key = next((k for p in complainants if (k := complainant_key(p[2], p[3]))), "")
    try:
        headcount = int(fields.get(COLLECTIVE_FIELD) or 0)
    except (TypeError, ValueError):
        headcount = 0
    closed = local_day(closed_at) if closed_at else None
    return {
        "process_id": process_id,
        "received_day": day_int(received),
        "closed_day": day_int(closed) if closed else None,
        "state": state,
        "department_id": department_id,
        "category_id": category_id,
        "channel": channel,
        "respondent": respondent.strip()[:100],
        "complainant_key": key,
        # A wave counts once, on its first case; a joint complaint not (yet) seen by the wave check
        # (generated data, registration before commit) by its own headcount.
        "collective": wave == "wave_started"
        if wave
        else max(len(complainants), headcount) >= rules.collective_threshold,
        "handling_days": calendar.workdays_between(received, closed) if closed else None,
        "satisfaction": satisfaction,
        "reopened": reopened,
        "followed_up": followed_up,
        "external_route": ",".join(routes)[:200],
        "external_outcome": outcome[:50],
        "capa_verified": capa_verified,
        "capa_failed": capa_failed,
    }


def clock_values(fact: dict, clocks: Iterable[tuple]) -> list[dict]:
    """Clock facts; `clocks` are (id, name, state, due_at, stopped_at, breached_at)."""
    rows = []
    for pk, name, state, due_at, stopped_at, breached_at in clocks:
        rows.append(
            {
                "clock_id": pk,
                "process_id": fact["process_id"],
                "received_day": fact["received_day"],
                "department_id": fact["department_id"],
                "category_id": fact["category_id"],
                "name": name,
                "state": CLOCK_STATES.get(state, ClockFact.RUNNING),
                "late": breached_at is not None or bool(stopped_at and stopped_at > due_at),
                "due_at": due_at,
            }
        )
    return rows


# --- writing ------------------------------------------------------------------------------------
# Raw SQL built once: the receivers run inside every registration and action, where the ORM's
# query compilation would cost more than the statements (measured in bench/analytics.py).

FACT_COLUMNS = ["complaint_id", *(f.column for f in CaseFact._meta.concrete_fields[1:])]
CLOCK_COLUMNS = [f.column for f in ClockFact._meta.concrete_fields]
_SQL: dict[str, dict[str, str]] = {}


def _sql() -> dict[str, str]:
    sql = _SQL.get(connection.vendor)
    if sql is None:
        qn = connection.ops.quote_name
        fact, clock = qn(CaseFact._meta.db_table), qn(ClockFact._meta.db_table)
        sets = ", ".join(f"{qn(c)} = %s" for c in FACT_COLUMNS[1:] if c != "repeat")
        sql = _SQL[connection.vendor] = {
            "insert_fact": f"INSERT INTO {fact} ({', '.join(qn(c) for c in FACT_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(FACT_COLUMNS))})",
            "update_fact": f"UPDATE {fact} SET {sets} WHERE complaint_id = %s",
            "old_fact": f"SELECT {', '.join(qn(c) for c in rollup.FACT_COLUMNS)} FROM {fact} "
            "WHERE complaint_id = %s",
            "old_clocks": f"SELECT {', '.join(qn(c) for c in rollup.CLOCK_COLUMNS)} FROM {clock} "
            "WHERE complaint_id = %s",
            "delete_clocks_returning": f"DELETE FROM {clock} WHERE complaint_id = %s RETURNING "
            + ", ".join(qn(c) for c in rollup.CLOCK_COLUMNS),
            "old_clock": f"SELECT {', '.join(qn(c) for c in rollup.CLOCK_COLUMNS)} FROM {clock} "
            "WHERE clock_id = %s",
            "insert_clocks": f"INSERT INTO {clock} ({', '.join(qn(c) for c in CLOCK_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(CLOCK_COLUMNS))})",
            "delete_clocks": f"DELETE FROM {clock} WHERE complaint_id = %s",
            "parties": f"SELECT role, name, phone, id_number FROM {qn(Party._meta.db_table)} "
            "WHERE complaint_id = %s ORDER BY id",
            "clocks": "SELECT id, name, state, due_at, stopped_at, breached_at FROM "
            f"{qn(Clock._meta.db_table)} WHERE complaint_id = %s ORDER BY id",
            "events": f"SELECT action, payload FROM {qn(Event._meta.db_table)} "
            "WHERE complaint_id = %s ORDER BY created_at, id",
            "repeat": f"SELECT 1 FROM {fact} WHERE complainant_key = %s AND received_day >= %s "
            "AND received_day <= %s AND NOT (received_day = %s AND complaint_id >= %s) LIMIT 1",
        }
    return sql


def _aware(value):
    # SQLite hands raw queries naive UTC datetimes; the ORM would make them aware.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _adapt(value):
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _rules(complaint) -> Rules:
    # The engine and registration hold the case's process already; reading it again would be a
    # query per action. Rules are cached per (version id, checksum).
    process = complaint._state.fields_cache.get("process")
    if process is None:
        process = ProcessDefinition.objects.get(pk=complaint.process_id)
    return rules_for(process)


def _is_repeat(cursor, key: str, received_day: int, complaint_id: int) -> bool:
    if not key:
        return False
    since = day_int(int_day(received_day) - timedelta(days=REPEAT_WINDOW_DAYS))
    cursor.execute(_sql()["repeat"], [key, since, received_day, received_day, complaint_id])
    return cursor.fetchone() is not None


def _old_clocks(cursor, pk: int) -> list[dict]:
    """Delete the case's clock facts, returning them (for the rollups' difference)."""
    sql = _sql()
    if connection.features.can_return_columns_from_insert:  # DELETE … RETURNING as well
        cursor.execute(sql["delete_clocks_returning"], [pk])
        rows = cursor.fetchall()
    else:
        cursor.execute(sql["old_clocks"], [pk])
        rows = cursor.fetchall()
        cursor.execute(sql["delete_clocks"], [pk])
    return [dict(zip(rollup.CLOCK_COLUMNS, r, strict=True)) for r in rows]


def refresh(complaint, *, events=None, parties=None, clocks=None, new: bool = False) -> None:
    """Recompute one case's facts from its rows; the case object carries its current state. The
    monthly rollups get the difference between the case's old and new contribution."""

    pk = complaint.pk
    sql = _sql()
    # Pipelined on PostgreSQL: the savepoint, inserts and roll-up upserts go out together; the
    # client waits only for the reads (the repeat check) and at the end. Nothing here catches a
    # database error, so one raised at the end of the block fails the case's write as before.
    with pipelined(), transaction.atomic(), connection.cursor() as cursor:
        if events is None:
            cursor.execute(sql["events"], [pk])
            events = [(a, json.loads(p) if isinstance(p, str) else p) for a, p in cursor.fetchall()]
        if parties is None:
            cursor.execute(sql["parties"], [pk])
            parties = cursor.fetchall()
        if clocks is None:
            cursor.execute(sql["clocks"], [pk])
            clocks = [tuple(_aware(v) for v in row) for row in cursor.fetchall()]
        values = case_values(
            rules=_rules(complaint),
            calendar=calendar(),
            process_id=complaint.process_id,
            received_at=complaint.received_at,
            closed_at=complaint.closed_at,
            state=complaint.state,
            department_id=complaint.department_id,
            category_id=complaint.category_id,
            channel=complaint.channel,
            fields=complaint.fields or {},
            parties=parties,
            events=events,
        )
        before: list[tuple] = []
        old = None
        if not new:
            cursor.execute(sql["old_fact"], [pk])
            row = cursor.fetchone()
            if row is not None:
                old = dict(zip(rollup.FACT_COLUMNS, row, strict=True))
                before += rollup.case_rows(old)
                # The repeat flag is decided once, at registration: later cases never change it.
                params = [values[c] for c in FACT_COLUMNS[1:] if c != "repeat"]
                cursor.execute(sql["update_fact"], [*params, pk])
                values["repeat"] = old["repeat"]
            before += [rollup.clock_row(c) for c in _old_clocks(cursor, pk)]
        if old is None:
            values["repeat"] = _is_repeat(
                cursor, values["complainant_key"], values["received_day"], pk
            )
            cursor.execute(sql["insert_fact"], [pk] + [values[c] for c in FACT_COLUMNS[1:]])
        rows = clock_values(values, clocks)
        if rows:
            cursor.executemany(
                sql["insert_clocks"],
                [
                    [pk if c == "complaint_id" else _adapt(r[c]) for c in CLOCK_COLUMNS]
                    for r in rows
                ],
            )
        after = rollup.case_rows(values) + [rollup.clock_row(r) for r in rows]
        rollup.apply(cursor, rollup.difference(before, after))


def refresh_clock(clock) -> None:
    """A clock saved outside an action (an extension): its due time and state in the facts, and
    the change of its state in the rollups."""
    state = CLOCK_STATES.get(clock.state, ClockFact.RUNNING)
    late = clock.breached_at is not None or bool(
        clock.stopped_at and clock.stopped_at > clock.due_at
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_sql()["old_clock"], [clock.pk])
        row = cursor.fetchone()
        if row is None:
            return
        old = dict(zip(rollup.CLOCK_COLUMNS, row, strict=True))
        ClockFact.objects.filter(clock_id=clock.pk).update(
            due_at=clock.due_at, state=state, late=late
        )
        new = {**old, "state": state, "late": late}
        rollup.apply(cursor, rollup.difference([rollup.clock_row(old)], [rollup.clock_row(new)]))


# --- receivers ----------------------------------------------------------------------------------


def on_registered(sender, complaint, event, **kwargs) -> None:
    parties = kwargs.get("parties")
    if parties is not None:
        parties = [(p.role, p.name, p.phone, p.id_number) for p in parties]
    clocks = kwargs.get("clocks")
    if clocks is not None:
        clocks = [(c.pk, c.name, c.state, c.due_at, c.stopped_at, c.breached_at) for c in clocks]
    refresh(
        complaint,
        events=[(event.action, event.payload)],
        parties=parties,
        clocks=clocks,
        new=True,
    )


def on_action(sender, complaint, action, event, **kwargs) -> None:
    refresh(complaint)


def on_closed_by_system(sender, complaint, event, **kwargs) -> None:
    refresh(complaint)


def on_clock_saved(sender, instance, created, **kwargs) -> None:
    if not created:
        refresh_clock(instance)


def on_clock_breached(sender, clock, **kwargs) -> None:
    # The sweep marks a breach with an UPDATE (exactly once): the facts follow it at once, not at
    # the case's next action.
    refresh_clock(clock)


def connect() -> None:
    from django.db.models.signals import post_save

    complaint_registered.connect(on_registered, dispatch_uid="reports.facts.registered")
    action_applied.connect(on_action, dispatch_uid="reports.facts.action")
    closed_by_system.connect(on_closed_by_system, dispatch_uid="reports.facts.closed_by_system")
    post_save.connect(on_clock_saved, sender=Clock, dispatch_uid="reports.facts.clock")
    clock_breached.connect(on_clock_breached, dispatch_uid="reports.facts.clock_breached")


# --- rebuilding ---------------------------------------------------------------------------------


def rebuild(*, batch: int = 2000, progress=None) -> int:
    """Recompute every fact from the cases tables (after an upgrade, or to check the receivers)."""

    cal = calendar()
    processes = {p.pk: p for p in ProcessDefinition.objects.all()}
    last, done = 0, 0
    with transaction.atomic():
        ClockFact.objects.all().delete()
        CaseFact.objects.all().delete()
        while True:
            rows = list(
                Complaint.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list(
                    "pk",
                    "process_id",
                    "received_at",
                    "closed_at",
                    "state",
                    "department_id",
                    "category_id",
                    "channel",
                    "fields",
                )[:batch]
            )
            if not rows:
                break
            ids = [r[0] for r in rows]
            lo, hi = ids[0], ids[-1]
            events: dict[int, list] = {}
            for cid, action, payload in (
                Event.objects.filter(complaint_id__gte=lo, complaint_id__lte=hi)
                .order_by("complaint_id", "created_at", "id")
                .values_list("complaint_id", "action", "payload")
            ):
                events.setdefault(cid, []).append((action, payload))
            parties: dict[int, list] = {}
            for cid, *p in (
                Party.objects.filter(complaint_id__gte=lo, complaint_id__lte=hi)
                .order_by("complaint_id", "id")
                .values_list("complaint_id", "role", "name", "phone", "id_number")
            ):
                parties.setdefault(cid, []).append(tuple(p))
            clocks: dict[int, list] = {}
            for cid, *c in (
                Clock.objects.filter(complaint_id__gte=lo, complaint_id__lte=hi)
                .order_by("complaint_id", "id")
                .values_list(
                    "complaint_id", "id", "name", "state", "due_at", "stopped_at", "breached_at"
                )
            ):
                clocks.setdefault(cid, []).append(tuple(c))
            facts, clock_facts = [], []
            for pk, process_id, received_at, closed_at, state, dep, cat, channel, fields in rows:
                values = case_values(
                    rules=rules_for(processes[process_id]),
                    calendar=cal,
                    process_id=process_id,
                    received_at=received_at,
                    closed_at=closed_at,
                    state=state,
                    department_id=dep,
                    category_id=cat,
                    channel=channel,
                    fields=fields or {},
                    parties=parties.get(pk, []),
                    events=events.get(pk, []),
                )
                facts.append(CaseFact(complaint_id=pk, **values))
                clock_facts += [
                    ClockFact(complaint_id=pk, **c)
                    for c in clock_values(values, clocks.get(pk, []))
                ]
            CaseFact.objects.bulk_create(facts, batch_size=500)
            ClockFact.objects.bulk_create(clock_facts, batch_size=500)
            done += len(rows)
            last = hi
            if progress:
                progress(done)
        mark_repeats(rollups=False)
        rollup.rebuild()
    return done


def mark_repeats(since_day: int | None = None, *, rollups: bool = True) -> int:
    """Set the repeat flag from the whole history: a case whose complainant had another case in the
    previous REPEAT_WINDOW_DAYS days (or earlier the same day). Returns the number of repeat cases.
    The monthly rollups of the months with a changed flag are recomputed (unless `rollups` is
    false: the caller rebuilds them)."""
    qs = CaseFact.objects.exclude(complainant_key="").order_by(
        "complainant_key", "received_day", "complaint_id"
    )
    previous_key, previous_day = None, None
    flags: list[tuple[int, int, bool, bool]] = []
    for pk, key, day, repeat in qs.values_list(
        "complaint_id", "complainant_key", "received_day", "repeat"
    ).iterator(chunk_size=20000):
        is_repeat = (
            key == previous_key
            and (int_day(day) - int_day(previous_day)).days <= REPEAT_WINDOW_DAYS
        )
        if since_day is None or day >= since_day:
            flags.append((pk, day, is_repeat, repeat))
        previous_key, previous_day = key, day
    changed = [(pk, day, new) for pk, day, new, old in flags if new != old]
    for value in (True, False):
        ids = [pk for pk, _, new in changed if new is value]
        for i in range(0, len(ids), 900):
            CaseFact.objects.filter(complaint_id__in=ids[i : i + 900]).update(repeat=value)
    if changed and rollups:
        rollup.rebuild(since_day=min(day for _, day, _ in changed))
    return sum(1 for _, _, new, _ in flags if new)
