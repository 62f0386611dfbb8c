"""Sending the outbox: run by the worker (`tousu worker`), never in a request.

Due messages are claimed in a short transaction (a lease, so two workers never send the same one),
sent outside any transaction, and each attempt is recorded with the provider's answer. A failure
is retried with exponential back-off until TOUSU_MESSAGE_MAX_ATTEMPTS; a permanent refusal (an
address the server rejects, a provider template that does not exist) fails at once. SMS to one
phone number are held back by TOUSU_SMS_RATE_LIMITS (default 1 a minute, 5 an hour, 10 a day):
a message over the limit waits for its turn; none is dropped.
"""

from __future__ import annotations

import logging
import random
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from . import kinds, optout
from .models import DeliveryAttempt, Message
from .sms import SendError, Sms, backend_name, get_backend

log = logging.getLogger("tousu.messaging")

LEASE = timedelta(
    minutes=5
)  # a claimed message left unrecorded (worker died) is retried after this
WINDOWS = {"minute": 60, "hour": 3600, "day": 86400}


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("TOUSU_MESSAGE_MAX_ATTEMPTS", 8))


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: base · 2^(n-1), capped, plus up to 10 % jitter."""
    base = float(_setting("TOUSU_MESSAGE_BACKOFF_SECONDS", 60))
    cap = float(_setting("TOUSU_MESSAGE_MAX_BACKOFF_SECONDS", 6 * 3600))
    seconds = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * (1 + random.random() * 0.1))


def rate_limits() -> list[tuple[int, int]]:
    """[(count, seconds)] from TOUSU_SMS_RATE_LIMITS, e.g. "1/minute,5/hour,10/day"."""
    import os

    text = os.environ.get("TOUSU_SMS_RATE_LIMITS") or _setting(
        "TOUSU_SMS_RATE_LIMITS", "1/minute,5/hour,10/day"
    )
    out = []
    for part in str(text).split(","):
        count, _, window = part.strip().partition("/")
        if count.strip().isdigit() and window.strip() in WINDOWS:
            out.append((int(count), WINDOWS[window.strip()]))
    return out


@dataclass
class Run:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held_back: int = 0


def _claim(now: datetime, batch: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Message.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            Message.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def _throttled_until(message: Message, now: datetime) -> datetime | None:
    """When this SMS may go, if sending now would exceed a per-phone limit."""
    later = None
    for count, seconds in rate_limits():
        since = now - timedelta(seconds=seconds)
        sent = list(
            Message.objects.filter(
                channel=kinds.SMS, address=message.address, status=Message.SENT, sent_at__gt=since
            )
            .order_by("sent_at")
            .values_list("sent_at", flat=True)[: count + 1]
        )
        if len(sent) >= count:
            free = sent[len(sent) - count] + timedelta(seconds=seconds)
            later = max(later, free) if later else free
    return later


def _send_email(message: Message, connection) -> str:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.address],
        connection=connection,
    )
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (0, b""))
        reason = f"邮件服务器拒收：{code} {_text(text)}"
        raise SendError(reason, permanent=500 <= int(code) < 600) from exc
    except smtplib.SMTPResponseException as exc:
        reason = f"邮件服务器答复：{exc.smtp_code} {_text(exc.smtp_error)}"
        raise SendError(reason, permanent=500 <= exc.smtp_code < 600) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"无法发送邮件：{type(exc).__name__} {exc}") from exc
    return ""


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class _Lazy:
    """The SMTP connection and the SMS backend, opened only when a message needs them."""

    def __init__(self):
        self._mail = None
        self._sms = None
        self._sms_error: SendError | None = None

    def mail(self):
        if self._mail is None:
            self._mail = get_connection(fail_silently=False)
        return self._mail

    def sms(self):
        if self._sms is None and self._sms_error is None:
            try:
                self._sms = get_backend()
            except SendError as exc:
                self._sms_error = exc
        if self._sms_error:
            raise self._sms_error
        return self._sms

    def close(self):
        if self._mail is not None:
            try:
                self._mail.close()
            except Exception:  # a connection that already broke: nothing left to close
                pass


def _attempt(message: Message, lazy: _Lazy) -> tuple[str, str]:
    """(backend name, provider id); raises SendError."""
    if message.channel == kinds.MAIL:
        return "smtp", _send_email(message, lazy.mail())
    backend = lazy.sms()
    sms = Sms(message.address, message.body, message.provider_template, message.params)
    return backend.name, backend.send(sms, message.pk)


def _record(message: Message, *, ok: bool, backend: str, provider_id: str, error: str, started):
    at = timezone.now()
    DeliveryAttempt.objects.create(
        message=message,
        attempted_at=at,
        ok=ok,
        backend=backend,
        provider_id=provider_id[:100],
        error=error[:500],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return at


def deliver_due(now: datetime | None = None, *, batch: int = 100) -> Run:
    """Send every message that is due, once each. Safe to run from several workers at once."""
    now = now or timezone.now()
    run = Run()
    lazy = _Lazy()
    try:
        while ids := _claim(now, batch):
            for message in Message.objects.filter(pk__in=ids).order_by("next_attempt_at", "pk"):
                _deliver(message, lazy, now, run)
            if len(ids) < batch:
                break
    finally:
        lazy.close()
    return run


def _deliver(message: Message, lazy: _Lazy, now: datetime, run: Run) -> None:
    if message.audience == Message.COMPLAINANT and optout.opted_out(
        [(message.channel, message.address)]
    ):
        message.status, message.last_error = Message.FAILED, "投诉人已退订，未发送"
        message.save(update_fields=["status", "last_error"])
        run.failed += 1
        return
    if message.channel == kinds.SMS and (later := _throttled_until(message, now)):
        message.next_attempt_at = later
        local = timezone.localtime(later).strftime("%m-%d %H:%M")
        message.last_error = f"同一手机号发送频率受限，顺延至 {local}"
        message.save(update_fields=["next_attempt_at", "last_error"])
        run.held_back += 1
        return
    started = time.monotonic()
    backend = "smtp" if message.channel == kinds.MAIL else backend_name()
    try:
        backend, provider_id = _attempt(message, lazy)
    except SendError as exc:
        if message.channel == kinds.MAIL:
            lazy._mail = None  # a broken SMTP session is not reused
        with transaction.atomic():
            _record(
                message,
                ok=False,
                backend=backend,
                provider_id="",
                error=exc.reason,
                started=started,
            )
            message.attempts += 1
            message.last_error, message.backend = exc.reason, backend
            if exc.permanent or message.attempts >= max_attempts():
                message.status = Message.FAILED
                run.failed += 1
                log.warning("message %s failed: %s", message.pk, exc.reason)
            else:
                message.next_attempt_at = now + backoff(message.attempts)
                run.retrying += 1
            message.save(
                update_fields=["attempts", "last_error", "backend", "status", "next_attempt_at"]
            )
        return
    with transaction.atomic():
        at = _record(
            message,
            ok=True,
            backend=backend,
            provider_id=provider_id or "",
            error="",
            started=started,
        )
        message.attempts += 1
        message.status, message.sent_at, message.backend = Message.SENT, at, backend
        message.provider_id, message.last_error = (provider_id or "")[:100], ""
        message.save(
            update_fields=["attempts", "status", "sent_at", "backend", "provider_id", "last_error"]
        )
    run.sent += 1


def retry_now(messages) -> int:
    """Administrators: send these again at the next run (failed ones get a fresh set of attempts)."""
    return messages.filter(status=Message.FAILED).update(
        status=Message.QUEUED, attempts=0, next_attempt_at=timezone.now()
    )
