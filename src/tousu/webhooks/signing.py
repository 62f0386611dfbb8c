"""How a receiver knows a payload came from Tousu and was not replayed.

Every delivery is a POST with a JSON body (UTF-8) and these headers:

    Tousu-Event:      complaint.created | complaint.action_applied | clock.warning | clock.breached
    Tousu-Delivery:   a UUID, the same on every retry of this delivery (deduplicate on it)
    Tousu-Timestamp:  Unix time in seconds when this attempt was signed
    Tousu-Signature:  sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the subscription's secret>

A receiver recomputes the HMAC over the exact bytes it received, compares in constant time, and
rejects timestamps older than a few minutes. Answering 2xx marks the delivery done; anything else
(or no answer within the timeout) is retried with exponential back-off.

No Django import: receivers written in Python may copy or import this module as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Tousu-Signature"
TIMESTAMP_HEADER = "Tousu-Timestamp"
EVENT_HEADER = "Tousu-Event"
DELIVERY_HEADER = "Tousu-Delivery"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `signature` is Tousu's for `body` at `timestamp`, and the timestamp is recent."""
    if not timestamp or not signature:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)
