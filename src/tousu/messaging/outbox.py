"""The one outbox: every message to staff and to complainants is written here, inside the
transaction of the change that caused it, and sent later by the worker (delivery.py).

Staff: each hand-off gives every recipient exactly one in-app notification (the inbox,
tousu.clocks.models.Notification) and, by the person's preference for that category, an e-mail now,
a line in tomorrow's digest, or nothing more.

Complainants: a message per channel (SMS to the phone, e-mail to the address they gave) whose text
is the organisation's template for that kind, rendered with the template variables only; nothing
goes to an address that opted out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache

from cachetools.func import ttl_cache
from django.db import connection
from django.utils import timezone

from tousu.accounts.models import Organisation, User
from tousu.accounts.roles import DEPARTMENTAL_ROLES
from tousu.cases.models import Complaint, Party
from tousu.clocks.models import Notification
from tousu.portal.selectors import organisation_name, portal_url, track_url

from . import kinds, optout, texts
from .models import Message, MessageTemplate, Preference

SUBJECT_PREFIX = "【投诉系统】"


# --- staff ----------------------------------------------------------------------------------------


def deliveries(users: Iterable[User], kind: str) -> dict[int, str]:
    """Each user's delivery for the category of `kind`: their preference, else e-mail when they
    have an address, else in-app only."""
    users = list(users)
    chosen = dict(
        Preference.objects.filter(
            user_id__in=[u.pk for u in users], category=kinds.category(kind)
        ).values_list("user_id", "delivery")
    )
    out = {}
    for u in users:
        wanted = chosen.get(u.pk, kinds.EMAIL)
        out[u.pk] = wanted if u.email else kinds.INAPP
    return out


def staff_url(complaint: Complaint | None) -> str:
    base = portal_url().rstrip("/")
    return f"{base}/staff/cases/{complaint.pk}/" if complaint else f"{base}/staff/"


def notify_staff(
    users: Iterable[User | None],
    *,
    kind: str,
    text: str,
    complaint: Complaint | None = None,
    key: str = "",
    now: datetime | None = None,
) -> list[Notification]:
    """Tell each of `users` (duplicates and inactive accounts dropped) once: the in-app notification,
    plus the e-mail or digest line their preference asks for. Call inside the change's transaction.
    With a `key` (the event, the clock firing), a second call for the same hand-off adds nothing."""
    now = now or timezone.now()
    unique: dict[int, User] = {}
    for u in users:
        if u is not None and u.pk and u.is_active:
            unique.setdefault(u.pk, u)
    if not unique:
        return []
    text = text[:300]
    notes = Notification.objects.bulk_create(
        Notification(user=u, complaint=complaint, kind=kind[:30], message=text)
        for u in unique.values()
    )
    how = deliveries(unique.values(), kind)
    subject = SUBJECT_PREFIX + kinds.STAFF_CATEGORIES.get(kinds.category(kind), "通知")
    body = f"{text}\n\n查看：{staff_url(complaint)}\n\n（通知接收方式可在工作台的“通知设置”中修改）"
    mails = [
        Message(
            complaint=complaint,
            audience=Message.STAFF,
            user=u,
            kind=kind,
            channel=kinds.MAIL,
            address=u.email,
            subject=subject,
            body=body,
            status=Message.HELD if how[u.pk] == kinds.DIGEST else Message.QUEUED,
            next_attempt_at=now,
            created_at=now,
            key=f"{key}:{kind}:u{u.pk}" if key else None,
        )
        for u in unique.values()
        if how[u.pk] in (kinds.EMAIL, kinds.DIGEST)
    ]
    _insert(mails)
    return notes


@cache
def _insert_sql(vendor: str) -> tuple[str, tuple]:
    qn = connection.ops.quote_name
    fields = tuple(f for f in Message._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = qn(Message._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING", fields


def _insert(messages: list[Message]) -> None:
    """Insert the rows; a keyed row an earlier run for the same hand-off wrote is left as it was
    (ON CONFLICT DO NOTHING). The statement is built once: this runs inside every registration."""
    if not messages:
        return
    sql, fields = _insert_sql(connection.vendor)
    rows = [[f.get_db_prep_save(f.pre_save(m, True), connection) for f in fields] for m in messages]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def users_with_roles(roles: Iterable[str], department_id: int | None = None) -> list[User]:
    """Active users holding any of `roles`; departmental roles only in `department_id`."""
    from django.db.models import Q

    roles = set(roles)
    general, departmental = roles - DEPARTMENTAL_ROLES, roles & DEPARTMENTAL_ROLES
    condition = Q(roles__code__in=sorted(general)) if general else Q(pk__in=[])
    if departmental and department_id:
        condition |= Q(roles__code__in=sorted(departmental), department_id=department_id)
    return list(User.objects.filter(condition, is_active=True).distinct().order_by("pk"))


# --- complainants ---------------------------------------------------------------------------------


@ttl_cache(maxsize=8, ttl=5)
def templates_for(organisation_id: int | None) -> dict[tuple[str, str], tuple]:
    """(kind, channel) → (active, subject, body, provider_template); the defaults are stored for
    the organisation the first time, so that the administrator finds them to edit."""
    rows = {}
    if organisation_id:
        existing = {
            (t.kind, t.channel): t
            for t in MessageTemplate.objects.filter(organisation_id=organisation_id)
        }
        missing = [
            MessageTemplate(
                organisation_id=organisation_id,
                kind=kind,
                channel=channel,
                subject=subject,
                body=body,
            )
            for (kind, channel), (subject, body) in texts.DEFAULTS.items()
            if (kind, channel) not in existing
        ]
        if missing:
            MessageTemplate.objects.bulk_create(missing, ignore_conflicts=True)
            existing |= {(t.kind, t.channel): t for t in missing}
        for key, t in existing.items():
            rows[key] = (t.is_active, t.subject, t.body, t.provider_template)
    for key, (subject, body) in texts.DEFAULTS.items():
        rows.setdefault(key, (True, subject, body, ""))
    return rows


def complainants(complaint: Complaint, parties: Iterable[Party] | None = None) -> list[Party]:
    rows = parties if parties is not None else complaint.parties.filter(role="complainant")
    return [p for p in rows if p.role == "complainant" and (p.phone or p.email)]


def queue_complainant(
    complaint: Complaint,
    kind: str,
    values: Mapping[str, str],
    *,
    key: str,
    parties: Iterable[Party] | None = None,
    now: datetime | None = None,
) -> list[Message]:
    """Queue the organisation's `kind` message to each complainant, on each channel they can be
    reached on and have not opted out of. `key` names the cause (an event), so nothing is sent twice."""
    people = complainants(complaint, parties)
    if not people:
        return []
    now = now or timezone.now()
    organisation = Organisation.current()
    templates = templates_for(organisation.pk)
    organisation_name, track_base = _portal()
    base = {
        "organisation": organisation_name,
        "tracking_number": complaint.tracking_number,
        "track_url": f"{track_base}?n={complaint.tracking_number}",
        **values,
    }
    wanted = []
    for p in people:
        for channel, address in (
            (kinds.SMS, optout.normalise(kinds.SMS, p.phone)),
            (kinds.MAIL, optout.normalise(kinds.MAIL, p.email)),
        ):
            active, subject, body, provider_template = templates[(kind, channel)]
            if address and active:
                wanted.append((p, channel, address, subject, body, provider_template))
    blocked = optout.opted_out([(c, a) for _, c, a, *_ in wanted])
    out = []
    for p, channel, address, subject, body, provider_template in wanted:
        if (channel, address) in blocked:
            continue
        values_here = {**base, "unsubscribe": optout.unsubscribe_text(channel, address)}
        text, params = texts.render(body, values_here)
        out.append(
            Message(
                complaint=complaint,
                audience=Message.COMPLAINANT,
                party=p,
                kind=kind,
                channel=channel,
                address=address,
                subject=texts.render(subject, values_here)[0][:200] if subject else "",
                body=text,
                provider_template=provider_template,
                params=params,
                status=Message.QUEUED,
                next_attempt_at=now,
                created_at=now,
                key=f"{key}:{kind}:{channel}:p{p.pk}",
            )
        )
    _insert(out)
    return out


@ttl_cache(maxsize=1, ttl=5)
def _portal() -> tuple[str, str]:
    """The organisation's public name and the portal's tracking page (read on every registration;
    an administrator's change shows within seconds)."""

    return organisation_name(), track_url()
