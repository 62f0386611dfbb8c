"""Reads for accounts."""

from datetime import timedelta

from django.utils import timezone

from .models import ApiToken, User


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    token = (
        ApiToken.objects.usable()
        .select_related("user", "user__department")
        .filter(key_hash=ApiToken.hash(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Record use at most once a minute: a write on every request would halve API throughput.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token
