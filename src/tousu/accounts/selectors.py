"""Reads for accounts."""

from datetime import UTC, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import ApiToken, User

# One round trip for the token, its user and the user's roles. Raw SQL because this runs on every
# API request and the ORM's query compilation costs more than the query itself.
_TOKEN_SQL = """
SELECT t.id, t.prefix, t.last_used_at, u.id, u.username, u.display_name, u.department_id,
       (SELECT {agg} FROM {user_roles} r WHERE r.user_id = u.id)
FROM {token} t JOIN {user} u ON u.id = t.user_id
WHERE t.key_hash = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s)
  AND u.is_active
"""


def _token_sql() -> str:
    agg = (
        "string_agg(r.role_id, ',')"
        if connection.vendor == "postgresql"
        else "group_concat(r.role_id, ',')"
    )
    return _TOKEN_SQL.format(
        agg=agg,
        user_roles=User.roles.through._meta.db_table,
        token=ApiToken._meta.db_table,
        user=User._meta.db_table,
    )


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(), [ApiToken.hash(raw), now])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, prefix, last_used, user_id, username, display_name, department_id, roles = row
    user = User(
        id=user_id,
        username=username,
        display_name=display_name,
        department_id=department_id,
        is_active=True,
    )
    user._role_codes = frozenset(filter(None, (roles or "").split(",")))
    token = ApiToken(id=token_id, user_id=user_id, prefix=prefix)
    if isinstance(last_used, str):
        last_used = parse_datetime(last_used)
    if last_used is not None and timezone.is_naive(last_used):  # SQLite keeps UTC without an offset
        last_used = last_used.replace(tzinfo=UTC)
    # Record use at most once a minute: a write on every request would halve API throughput.
    if last_used is None or now - last_used > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user, token
