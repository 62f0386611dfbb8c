"""Who is asking, and how fast they may guess: the client's address behind trusted proxies (one rule
for the portal's rate limits and the staff login lock-out), and the per-user-name limit on failed
logins."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.utils import timezone


def client_address(request) -> str:
    """The client's address. Behind N trusted reverse proxies (TOUSU_TRUSTED_PROXIES = N) the N-th
    address from the right of X-Forwarded-For, the one the nearest trusted proxy saw; otherwise the
    socket's peer. Addresses a client writes further left are never used, so nobody can pose as
    another address by forging the header."""
    proxies = int(getattr(settings, "TOUSU_TRUSTED_PROXIES", 0) or 0)
    if proxies:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [a for a in chain if a]
        if len(chain) >= proxies:
            return chain[-proxies][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


# Failed logins for one user name, from any address, in the window: beyond, that user name gets
# one try per PACE. A guesser with many addresses is slowed to a crawl; the real user waits at most
# PACE, never the lock-out's 15 minutes.
USERNAME_FAILURES = 10
WINDOW = timedelta(minutes=15)
PACE = timedelta(seconds=30)


def _limits() -> tuple[int, timedelta, timedelta]:
    count, window, pace = getattr(settings, "TOUSU_LOGIN_USERNAME_LIMIT", (None, None, None))
    return (
        count or USERNAME_FAILURES,
        timedelta(minutes=window) if window else WINDOW,
        timedelta(seconds=pace) if pace else PACE,
    )


def username_wait(username: str) -> int:
    """Seconds before this user name may try again (0: now)."""
    from .models import LoginFailure

    if not username:
        return 0
    count, window, pace = _limits()
    now = timezone.now()
    recent = LoginFailure.objects.filter(username=username[:150], at__gte=now - window)
    if recent.count() < count:
        return 0
    last = recent.order_by("-at").values_list("at", flat=True).first()
    left = (last + pace - now).total_seconds() if last else 0
    return max(0, int(left + 0.999))


def record_failure(username: str, request) -> None:
    from .models import LoginFailure

    LoginFailure.objects.create(
        username=(username or "")[:150], address=client_address(request) if request else ""
    )
    if random.random() < 0.02:  # now and then, forget what no limit looks at any more
        LoginFailure.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    record_failure(credentials.get("username", ""), request)
