"""Complainants who asked to hear nothing more, by phone number or e-mail address: from the portal,
from the link in every e-mail, or by staff on their request. Kept as SHA-256 digests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.core import signing
from django.db import IntegrityError, connection, transaction

from tousu.portal.selectors import normalise_phone, portal_url

from .kinds import MAIL, SMS
from .models import OptOut

_SALT = "tousu.messaging.optout"


def normalise(channel: str, address: str) -> str:
    address = (address or "").strip()
    if channel == SMS:
        digits = normalise_phone(address)
        # Only mobile numbers take SMS: 11 digits starting with 1 (a landline gets none).
        return digits if len(digits) == 11 and digits.startswith("1") and digits.isdigit() else ""
    return address.lower() if "@" in address else ""


def digest(channel: str, address: str) -> str:
    return hashlib.sha256(f"{channel}:{address}".encode()).hexdigest()


def opted_out(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of the (channel, normalised address) pairs that opted out."""
    by_digest = {digest(c, a): (c, a) for c, a in pairs if a}
    if not by_digest:
        return set()
    # Plain SQL: this runs inside every registration, where the ORM's compiling costs more than
    # the indexed lookup itself.
    marks = ", ".join(["%s"] * len(by_digest))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT address_hash FROM {OptOut._meta.db_table} WHERE address_hash IN ({marks})",
            list(by_digest),
        )
        return {by_digest[row[0]] for row in cursor.fetchall()}


def is_opted_out(channel: str, address: str) -> bool:
    address = normalise(channel, address)
    return bool(address) and bool(opted_out([(channel, address)]))


def opt_out(channel: str, address: str, *, source: str, complaint=None, by_user=None) -> bool:
    """Record the opt-out and cancel what is still waiting for that address. True if it is new."""
    from .models import Message

    address = normalise(channel, address)
    if not address:
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                OptOut.objects.create(
                    channel=channel,
                    address_hash=digest(channel, address),
                    source=source,
                    complaint=complaint,
                    by_user=by_user,
                )
            created = True
        except IntegrityError:
            created = False
        Message.objects.filter(
            audience=Message.COMPLAINANT,
            channel=channel,
            address=address,
            status=Message.QUEUED,
        ).update(status=Message.FAILED, last_error="投诉人已退订，未发送")
    return created


def opt_in(channel: str, address: str) -> bool:
    address = normalise(channel, address)
    if not address:
        return False
    deleted, _ = OptOut.objects.filter(address_hash=digest(channel, address)).delete()
    return bool(deleted)


def token(channel: str, address: str) -> str:
    """A link token that proves the holder received a message at this address (no expiry: an old
    e-mail's link must still work)."""
    return signing.dumps({"c": channel, "a": address}, salt=_SALT, compress=True)


def read_token(value: str) -> tuple[str, str] | None:
    try:
        data = signing.loads(value, salt=_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") not in (SMS, MAIL):
        return None
    return data["c"], str(data.get("a", ""))


def unsubscribe_text(channel: str, address: str) -> str:
    if channel == MAIL:
        url = f"{portal_url().rstrip('/')}/messages/optout/{token(channel, address)}/"
        return f"不想再收到关于投诉办理的邮件？请打开此链接退订：{url}"
    return "不想再收到短信的，可在查询页面退订。"
