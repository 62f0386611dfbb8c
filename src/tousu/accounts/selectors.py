"""Reads for accounts."""

from datetime import UTC, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import ApiToken, User

# One round trip for the token, its user, the user's roles and the token's scopes. Raw SQL because
# this runs on every API request and the ORM's query compilation costs more than the query itself.
_TOKEN_SQL = """
SELECT t.id, t.prefix, t.name, t.last_used_at, u.id, u.username, u.display_name, u.department_id,
       (SELECT {agg_roles} FROM {user_roles} r WHERE r.{user_col} = u.id),
       (SELECT {agg_scope_roles} FROM {token_roles} tr WHERE tr.{token_roles_col} = t.id),
       (SELECT {agg_scope_depts} FROM {token_depts} td WHERE td.{token_depts_col} = t.id)
FROM {token} t JOIN {user} u ON u.id = t.user_id
WHERE t.key_hash = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s)
  AND u.is_active
"""
_SQL: dict[str, str] = {}


def _agg(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"string_agg(CAST({column} AS TEXT), ',')"
    return f"group_concat({column}, ',')"


def _token_sql() -> str:
    sql = _SQL.get(connection.vendor)
    if sql is None:
        user_roles = User.roles.field
        token_roles = ApiToken.roles.field
        token_depts = ApiToken.departments.field
        sql = _SQL[connection.vendor] = _TOKEN_SQL.format(
            agg_roles=_agg(f"r.{user_roles.m2m_reverse_name()}"),
            agg_scope_roles=_agg(f"tr.{token_roles.m2m_reverse_name()}"),
            agg_scope_depts=_agg(f"td.{token_depts.m2m_reverse_name()}"),
            user_roles=user_roles.remote_field.through._meta.db_table,
            user_col=user_roles.m2m_column_name(),
            token_roles=token_roles.remote_field.through._meta.db_table,
            token_roles_col=token_roles.m2m_column_name(),
            token_depts=token_depts.remote_field.through._meta.db_table,
            token_depts_col=token_depts.m2m_column_name(),
            token=ApiToken._meta.db_table,
            user=User._meta.db_table,
        )
    return sql


def _split(text: str | None) -> frozenset[str]:
    return frozenset(filter(None, (text or "").split(",")))


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    """The user a bearer token acts as, with the token's scopes already applied: roles are the
    intersection of the user's and the token's, and a department scope that excludes the user's own
    department takes that department away (departmental roles then reach no case). The token carries
    `scope_department_ids` for the readers that limit cases to those departments."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(), [ApiToken.hash(raw), now])
        row = cursor.fetchone()
    if row is None:
        return None
    (
        token_id,
        prefix,
        name,
        last_used,
        user_id,
        username,
        display_name,
        department_id,
        roles,
        scope_roles,
        scope_depts,
    ) = row
    role_codes = _split(roles)
    if scope_roles:
        role_codes &= _split(scope_roles)
    departments = frozenset(int(d) for d in _split(scope_depts)) or None
    if departments is not None and department_id not in departments:
        department_id = None
    user = User(
        id=user_id,
        username=username,
        display_name=display_name,
        department_id=department_id,
        is_active=True,
    )
    user._role_codes = role_codes
    token = ApiToken(id=token_id, user_id=user_id, prefix=prefix, name=name)
    token.scope_department_ids = departments
    if isinstance(last_used, str):
        last_used = parse_datetime(last_used)
    if last_used is not None and timezone.is_naive(last_used):  # SQLite keeps UTC without an offset
        last_used = last_used.replace(tzinfo=UTC)
    # Record use at most once a minute: a write on every request would halve API throughput.
    if last_used is None or now - last_used > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user, token
