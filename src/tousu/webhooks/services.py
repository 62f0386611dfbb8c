"""Webhooks: events recorded as deliveries in the transaction that caused them (an outbox), and
sent by the worker — never in a request — with retries and exponential back-off.

Recording: the receivers in `receivers.py` call `record()` inside the case's transaction. If the
case change rolls back, so does its delivery; if it commits, the delivery is certain to be sent.
With no subscription for the event (the common case) nothing is written and no query is made: the
active subscriptions are cached per process for a few seconds.

Sending: `deliver_due()` claims due deliveries in a short transaction (a lease, so several workers
never send the same one at once), posts them outside any transaction, concurrently, with a timeout,
then records each answer. A slow or failing receiver therefore holds no database lock and delays
nothing but its own deliveries.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools.func import ttl_cache
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tousu.db import fastinsert

from . import signing
from .models import EVENTS, Delivery, DeliveryAttempt, Subscription

log = logging.getLogger("tousu.webhooks")

USER_AGENT = "Tousu-Webhooks/1"
LEASE = timedelta(
    minutes=5
)  # a claimed delivery left unrecorded (worker died) is retried after this


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("TOUSU_WEBHOOK_MAX_ATTEMPTS", 10))


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: base · 2^(n-1), capped, plus up to 10 % jitter so that
    many deliveries failing together do not all come back at the same moment."""
    base = float(_setting("TOUSU_WEBHOOK_BACKOFF_SECONDS", 30))
    cap = float(_setting("TOUSU_WEBHOOK_MAX_BACKOFF_SECONDS", 6 * 3600))
    seconds = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * (1 + random.random() * 0.1))


# --- recording ------------------------------------------------------------------------------------


@ttl_cache(maxsize=1, ttl=5)
def active_subscriptions() -> tuple[tuple[int, frozenset[str]], ...]:
    """(id, events) of the enabled subscriptions. Cached: read on every case event; other processes
    see an administrator's change within five seconds."""
    return tuple(
        (pk, frozenset(events or ()))
        for pk, events in Subscription.objects.filter(is_active=True).values_list("pk", "events")
    )


def subscribers(event_type: str) -> list[int]:
    return [pk for pk, events in active_subscriptions() if event_type in events]


def record(event_type: str, complaint_id: int | None, build: Callable[[], dict]) -> list[Delivery]:
    """Queue `event_type` for every subscription that wants it; call inside the transaction that
    made the change. `build` makes the payload's `data` and runs only when someone subscribed."""
    assert event_type in EVENTS, event_type
    targets = subscribers(event_type)
    if not targets:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": now.isoformat(),
        "data": build(),
    }
    deliveries = [
        Delivery(
            subscription_id=pk,
            event_id=event_id,
            event_type=event_type,
            complaint_id=complaint_id,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for pk in targets
    ]
    fastinsert.insert(deliveries)
    return deliveries


# --- sending --------------------------------------------------------------------------------------


@dataclass
class DeliveryRun:
    attempted: int = 0
    succeeded: int = 0
    retrying: int = 0
    gave_up: int = 0


@dataclass
class _Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a new address: a POST must not silently turn into a GET elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(delivery: Delivery, subscription: Subscription, timeout: float) -> _Answer:
    """One signed POST (the standard library's client: nothing to install on an intranet)."""
    body = body_of(delivery)
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        signing.EVENT_HEADER: delivery.event_type,
        signing.DELIVERY_HEADER: str(delivery.delivery_id),
        signing.TIMESTAMP_HEADER: str(ts),
        signing.SIGNATURE_HEADER: signing.sign(subscription.secret, ts, body),
    }
    request = urllib.request.Request(subscription.url, data=body, headers=headers, method="POST")
    started = time.monotonic()
    code, error = None, ""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            code = response.status
            response.read(1024)  # let the receiver finish its answer; the body is not kept
    except urllib.error.HTTPError as exc:  # a non-2xx answer
        code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except TimeoutError:
        error = f"超时：接收方 {timeout:g} 秒内未答复"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            error = f"超时：接收方 {timeout:g} 秒内未答复"
        else:
            error = f"无法连接：{reason}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return _Answer(code, error[:300], int((time.monotonic() - started) * 1000))


def _claim(now: datetime, batch: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def _finish(delivery: Delivery, answer: _Answer, now: datetime, run: DeliveryRun) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    delivery.last_status_code = answer.status_code
    delivery.last_error = answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at = Delivery.SUCCEEDED, delivery.last_attempt_at
        run.succeeded += 1
    elif delivery.attempts >= max_attempts():
        delivery.status = Delivery.FAILED
        run.gave_up += 1
        log.warning("webhook %s gave up after %s attempts", delivery.delivery_id, delivery.attempts)
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        run.retrying += 1
    with transaction.atomic():
        delivery.save(
            update_fields=[
                "attempts",
                "last_attempt_at",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=delivery.last_attempt_at,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )


def _give_up(delivery: Delivery, reason: str, run: DeliveryRun) -> None:
    delivery.status, delivery.last_error = Delivery.FAILED, reason
    delivery.save(update_fields=["status", "last_error"])
    run.gave_up += 1


def deliver_due(now: datetime | None = None, *, batch: int = 100) -> DeliveryRun:
    """Send every delivery that is due, once each. Safe to run from several workers at once."""
    now = now or timezone.now()
    run = DeliveryRun()
    timeout = float(_setting("TOUSU_WEBHOOK_TIMEOUT_SECONDS", 10))
    while ids := _claim(now, batch):
        deliveries = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
        subscriptions = Subscription.objects.in_bulk({d.subscription_id for d in deliveries})
        sendable = []
        for d in deliveries:
            sub = subscriptions.get(d.subscription_id)
            if sub is None or not sub.is_active:  # nobody wants it any more: no retries
                _give_up(d, "订阅已删除" if sub is None else "订阅已停用", run)
            else:
                sendable.append((d, sub))
        # Receivers answer in parallel, so one slow receiver costs the others nothing.
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(sendable)))) as pool:
            answers = list(pool.map(lambda ds: _post(*ds, timeout), sendable))
        for (d, _), answer in zip(sendable, answers, strict=True):
            run.attempted += 1
            _finish(d, answer, now, run)
        if len(ids) < batch:
            break
    return run


def retry_now(deliveries) -> int:
    """Administrators: send these again at the next run (failed ones get a fresh set of attempts)."""
    return deliveries.exclude(status=Delivery.SUCCEEDED).update(
        status=Delivery.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
