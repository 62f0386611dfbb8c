"""Writes for organisations, departments, users and tokens."""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Department, Role, User
from .roles import ROLES


def ensure_roles() -> None:
    for code, label in ROLES.items():
        Role.objects.update_or_create(code=code, defaults={"label": label})


def upsert_department(code: str, name: str, parent: Department | None = None) -> Department:
    dept, _ = Department.objects.update_or_create(
        code=code, defaults={"name": name, "parent": parent}
    )
    return dept


class UnknownRole(ValueError):
    pass


@transaction.atomic
def create_user(
    username: str,
    *,
    roles: list[str],
    department: Department | None = None,
    display_name: str = "",
    password: str | None = None,
    is_superuser: bool = False,
) -> tuple[User, str]:
    """Create a staff user; returns the user and the (possibly generated) one-time password."""
    unknown = sorted(set(roles) - ROLES.keys())
    if unknown:
        raise UnknownRole(f"未知角色 {', '.join(unknown)}；可用角色：{', '.join(ROLES)}")
    password = password or secrets.token_urlsafe(9)
    user = User.objects.create_user(
        username=username,
        password=password,
        department=department,
        display_name=display_name,
        is_staff="admin" in roles or is_superuser,
        is_superuser=is_superuser,
    )
    ensure_roles()
    user.roles.set(roles)
    return user, password


def create_token(
    user: User, *, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:10], key_hash=ApiToken.hash(raw), expires_at=expires_at
    )
    return token, raw


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
