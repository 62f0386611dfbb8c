"""Writes for messaging that are not a single hand-off: the worker's pass (digests, then sending),
preferences, and the staff switch for a complainant's opt-out. The hand-offs themselves are in
outbox.py; sending in delivery.py."""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tousu.accounts.models import User
from tousu.cases.models import Event

from . import kinds, optout
from .delivery import deliver_due
from .models import Message, Preference
from .outbox import SUBJECT_PREFIX


def run_due(now: datetime | None = None) -> None:
    """The worker's hook (tousu/worker.py PERIODIC): the daily digests once their hour has come,
    then every message that is due."""
    send_digests(now)
    deliver_due(now)


def digest_hour() -> int:
    return int(getattr(settings, "TOUSU_DIGEST_HOUR", 8))


def send_digests(now: datetime | None = None) -> int:
    """One e-mail per person with the notifications they chose to receive as a daily digest, once a
    day from TOUSU_DIGEST_HOUR (local time). Returns the number of digests queued."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < digest_hour():
        return 0
    cutoff = timezone.make_aware(datetime.combine(local.date(), time(digest_hour())))
    users = (
        Message.objects.filter(status=Message.HELD, created_at__lt=cutoff)
        .values_list("user_id", flat=True)
        .distinct()
    )
    queued = 0
    for user in User.objects.filter(pk__in=list(users), is_active=True):
        if _digest(user, local.date(), cutoff, now):
            queued += 1
    return queued


def _digest(user: User, day, cutoff: datetime, now: datetime) -> bool:
    with transaction.atomic():
        items = list(
            Message.objects.select_for_update()
            .filter(user=user, status=Message.HELD, created_at__lt=cutoff)
            .order_by("created_at", "pk")
        )
        if not items or not user.email:
            return False
        lines = [
            f"{timezone.localtime(m.created_at):%m-%d %H:%M}  {m.body.split(chr(10), 1)[0]}"
            for m in items
        ]
        digest = Message(
            audience=Message.STAFF,
            user=user,
            kind="digest",
            channel=kinds.MAIL,
            address=user.email,
            subject=f"{SUBJECT_PREFIX}每日通知汇总（{len(items)} 条）",
            body="您好，以下是尚未单独发邮件的通知：\n\n" + "\n".join(lines),
            status=Message.QUEUED,
            next_attempt_at=now,
            created_at=now,
            key=f"digest:u{user.pk}:{day.isoformat()}",
        )
        try:
            with transaction.atomic():
                digest.save()
        except IntegrityError:  # another worker made today's digest
            return False
        Message.objects.filter(pk__in=[m.pk for m in items]).update(
            status=Message.DIGESTED, digest=digest
        )
    return True


def set_preferences(user: User, choices: dict[str, str]) -> None:
    """Each category's delivery; unknown categories or deliveries are refused (ValueError)."""
    for category, delivery in choices.items():
        if category not in kinds.STAFF_CATEGORIES:
            raise ValueError(
                f"未知的通知类别「{category}」；可选：{'、'.join(kinds.STAFF_CATEGORIES)}"
            )
        if delivery not in kinds.DELIVERIES:
            raise ValueError(
                f"接收方式「{delivery}」无效；可选：{'、'.join(kinds.DELIVERIES)}（仅站内、邮件、每日汇总）"
            )
    with transaction.atomic():
        for category, delivery in choices.items():
            Preference.objects.update_or_create(
                user=user, category=category, defaults={"delivery": delivery}
            )


def set_complainant_optout(
    complaint, *, on: bool, by_user: User | str, source: str = "staff"
) -> int:
    """Opt every complainant address of the case out (or back in); recorded on the case. `by_user`
    is the staff member, or a name (the complainant on the portal). Returns how many addresses
    changed."""

    changed = 0
    staff = by_user if isinstance(by_user, User) else None
    for party in complaint.parties.filter(role="complainant"):
        for channel, address in ((kinds.SMS, party.phone), (kinds.MAIL, party.email)):
            if on:
                changed += optout.opt_out(
                    channel, address, source=source, complaint=complaint, by_user=staff
                )
            else:
                changed += optout.opt_in(channel, address)
    Event.objects.create(
        complaint=complaint,
        action="messages_opted_out" if on else "messages_opted_in",
        label="投诉人退订短信和邮件通知" if on else "投诉人恢复接收短信和邮件通知",
        from_state=complaint.state,
        to_state=complaint.state,
        actor=staff,
        actor_name=str(by_user),
        via="portal" if source == "portal" else "web",
    )
    return changed


def redact_for_retention(complaint_id: int, scrub) -> int:
    """When a case's retention ends (tousu.ops.retention): the complainant's phone number and
    address leave the outbox, and every text about the case goes through `scrub` (the retention's
    own, which knows the case's personal data). Delivery records keep their times and outcomes."""
    changed = 0
    for m in Message.objects.filter(complaint_id=complaint_id):
        values = {"subject": scrub(m.subject), "body": scrub(m.body)}
        if m.audience == Message.COMPLAINANT:
            values |= {"address": "", "params": []}
        if any(getattr(m, k) != v for k, v in values.items()):
            changed += Message.objects.filter(pk=m.pk).update(**values)
    return changed
