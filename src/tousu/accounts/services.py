"""Writes for organisations, departments, users and tokens."""

import secrets
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Department, Role, User
from .roles import DEPARTMENTAL_ROLES, ROLES


def ensure_roles(extra: dict[str, str] | None = None) -> None:
    """The system's roles, and the roles flow definitions name (F11: 跟单员 …)."""
    for code, label in {**ROLES, **(extra or {})}.items():
        Role.objects.update_or_create(code=code, defaults={"label": label})


def known_roles() -> dict[str, str]:
    return {**ROLES, **dict(Role.objects.values_list("code", "label"))}


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
    one_time: bool | None = None,
) -> tuple[User, str]:
    """Create a staff user; returns the user and the password. A generated password is a one-time
    password (changed at the first login); a given one is too when `one_time` says so."""
    known = known_roles()
    unknown = sorted(set(roles) - known.keys())
    if unknown:
        raise UnknownRole(f"未知角色 {', '.join(unknown)}；可用角色：{', '.join(known)}")
    if one_time is None:
        one_time = password is None
    password = password or secrets.token_urlsafe(9)
    user = User.objects.create_user(
        username=username,
        password=password,
        department=department,
        display_name=display_name,
        is_staff="admin" in roles or is_superuser,
        is_superuser=is_superuser,
        must_change_password=one_time,
    )
    ensure_roles()
    user.roles.set(roles)
    return user, password


class TokenScopeError(ValueError):
    """A token asked for roles or departments its user does not have."""


def create_token(
    user: User,
    *,
    name: str = "",
    expires_at: datetime | None = None,
    roles: Iterable[str] = (),
    departments: Iterable[str] = (),
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the secret, which is shown once and kept only as a
    hash. `roles` and `departments` (codes) narrow what the token may do to a subset of the user's
    rights; empty means the user's own rights."""
    roles, departments = sorted(set(roles)), sorted(set(departments))
    known = known_roles()
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise TokenScopeError(f"未知角色 {', '.join(unknown)}；可用角色：{', '.join(known)}")
    held = set(user.roles.values_list("code", flat=True))
    missing = [r for r in roles if r not in held]
    if missing:
        raise TokenScopeError(
            f"用户 {user.username} 没有角色 {', '.join(missing)}；"
            f"令牌只能限定在用户已有的角色内（{', '.join(sorted(held)) or '无'}）"
        )
    found = dict(Department.objects.filter(code__in=departments).values_list("code", "pk"))
    unknown = [d for d in departments if d not in found]
    if unknown:
        raise TokenScopeError(f"部门 {', '.join(unknown)} 不存在")
    effective = set(roles) or held
    if departments and effective and effective <= DEPARTMENTAL_ROLES:
        # Departmental staff reach only their own department: any other would be an empty scope.
        own = user.department.code if user.department_id else None
        others = [d for d in departments if d != own]
        if others:
            raise TokenScopeError(
                f"用户 {user.username} 的角色只限本部门（{own or '未分配部门'}），"
                f"令牌不能限定到其他部门：{', '.join(others)}"
            )
    raw = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=raw[:10],
            key_hash=ApiToken.hash(raw),
            expires_at=expires_at,
        )
        if roles:
            ensure_roles()
            token.roles.set(roles)
        if departments:
            token.departments.set(found.values())
    return token, raw


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


class TokenNotFound(LookupError):
    pass


def revoke_token_by_prefix(prefix: str) -> ApiToken:
    """Revoke the one live token whose secret starts with `prefix` (as printed and listed)."""
    prefix = prefix.strip().rstrip("…").rstrip(".")
    if len(prefix) < 6:
        raise TokenNotFound("前缀太短：请给出令牌的前 10 个字符（如 tsu_AbC123）")
    matches = list(
        ApiToken.objects.filter(revoked_at__isnull=True, prefix__startswith=prefix[:10])
        .select_related("user")
        .order_by("pk")
    )
    if not matches:
        raise TokenNotFound(f"没有前缀为 {prefix} 的有效令牌")
    if len(matches) > 1:
        listing = "、".join(f"{t.prefix}（{t.user.username}）" for t in matches)
        raise TokenNotFound(f"前缀 {prefix} 对应多个令牌：{listing}；请给出更长的前缀")
    token = matches[0]
    revoke_token(token)
    token.refresh_from_db()
    return token


def reset_password(user: User) -> str:
    """An administrator's reset: a new one-time password, to be changed at the next login; the
    user's sessions end (Django ties them to the password) and a lock-out on the name is lifted."""
    password = secrets.token_urlsafe(9)
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    from .models import LoginFailure

    LoginFailure.objects.filter(username=user.username).delete()
    try:
        from axes.utils import reset as axes_reset

        axes_reset(username=user.username)
    except Exception:  # no lock-out table yet (a fresh install): nothing to lift
        pass
    return password


def change_password(user: User, password: str) -> None:
    """The user's own new password (validated by the form); no longer a one-time one."""
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
