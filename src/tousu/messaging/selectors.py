"""Reads on messages: a case's messages with their delivery records (staff see them on the case),
what the complainant was sent (their portal page), preferences, and opt-out status."""

from __future__ import annotations

from tousu.accounts.models import User
from tousu.cases.models import Complaint
from tousu.cases.privacy import mask_phone

from . import kinds, optout
from .models import Message, Preference


def mask_address(channel: str, address: str) -> str:
    if channel == kinds.SMS:
        return mask_phone(address)
    name, _, domain = address.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


BACKENDS = {
    "smtp": "邮件服务器",
    "log": "短信日志",
    "aliyun": "阿里云短信",
    "tencent": "腾讯云短信",
}


def case_messages(complaint: Complaint, *, reveal: bool = False) -> list[dict]:
    """The complainant's messages of a case, newest first, each with every delivery attempt."""
    rows = []
    for m in (
        Message.objects.filter(complaint=complaint, audience=Message.COMPLAINANT)
        .prefetch_related("deliveries")
        .order_by("-created_at", "-pk")
    ):
        rows.append(
            {
                "m": m,
                "kind": kinds.COMPLAINANT_KINDS.get(m.kind, m.kind),
                "channel": kinds.CHANNELS.get(m.channel, m.channel),
                "address": m.address if reveal else mask_address(m.channel, m.address),
                "backend": BACKENDS.get(m.backend, m.backend),
                "attempts": list(m.deliveries.all()),
            }
        )
    return rows


def staff_messages(complaint: Complaint) -> list[Message]:
    return list(
        Message.objects.filter(complaint=complaint, audience=Message.STAFF)
        .select_related("user")
        .order_by("-created_at", "-pk")[:50]
    )


def portal_messages(complaint: Complaint) -> list[dict]:
    """What the complainant was sent about this case (no failed or unsent ones)."""
    return [
        {
            "at": m.sent_at or m.created_at,
            "to": "手机" if m.channel == kinds.SMS else "邮箱",
            "kind": kinds.COMPLAINANT_KINDS.get(m.kind, m.kind),
            # An SMS in full; an e-mail by its subject (its text is in the mailbox).
            "text": m.subject if m.channel == kinds.MAIL and m.subject else m.body,
        }
        for m in Message.objects.filter(
            complaint=complaint, audience=Message.COMPLAINANT, status=Message.SENT
        ).order_by("-sent_at", "-pk")[:30]
    ]


def complainant_addresses(complaint: Complaint) -> list[dict]:
    """Each complainant address of the case and whether it opted out."""
    pairs = []
    for p in complaint.parties.filter(role="complainant"):
        for channel, raw in ((kinds.SMS, p.phone), (kinds.MAIL, p.email)):
            address = optout.normalise(channel, raw)
            if address:
                pairs.append((channel, address))
    blocked = optout.opted_out(pairs)
    return [
        {
            "channel": kinds.CHANNELS[c],
            "address": mask_address(c, a),
            "opted_out": (c, a) in blocked,
        }
        for c, a in pairs
    ]


def preferences(user: User) -> list[dict]:
    chosen = dict(Preference.objects.filter(user=user).values_list("category", "delivery"))
    # Read the address: an API token's user carries only its id, name and roles.
    email = User.objects.filter(pk=user.pk).values_list("email", flat=True).first()
    default = kinds.EMAIL if email else kinds.INAPP
    return [
        {"category": k, "label": v, "delivery": chosen.get(k, default)}
        for k, v in kinds.STAFF_CATEGORIES.items()
    ]
