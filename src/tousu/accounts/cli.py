"""`tousu createuser` and `tousu token` (create, revoke, list): staff accounts and API tokens."""

from __future__ import annotations

from tousu.cli import UsageError, setup_django


def cmd_createuser(args) -> int:
    setup_django()
    from tousu.accounts.models import Department
    from tousu.accounts.services import UnknownRole, create_user

    dept = None
    if args.department:
        dept = Department.objects.filter(code=args.department).first()
        if dept is None:
            raise UsageError(f"部门「{args.department}」不存在")
    try:
        user, password = create_user(
            args.username,
            roles=args.role,
            department=dept,
            display_name=args.name or "",
            password=args.password,
            is_superuser="admin" in args.role,
        )
    except UnknownRole as exc:
        raise UsageError(str(exc)) from None
    if user.must_change_password:
        print(f"已创建用户 {user.username}，一次性密码：{password}（首次登录须修改）")
    else:
        print(f"已创建用户 {user.username}（密码为 --password 给出的密码）")
    return 0


def _codes(values: list[str] | None) -> list[str]:
    # --roles a b and --roles a,b both work.
    return [c.strip() for v in values or () for c in v.replace("，", ",").split(",") if c.strip()]


def cmd_token_create(args) -> int:
    setup_django()
    from datetime import timedelta

    from django.utils import timezone

    from tousu.accounts.models import User
    from tousu.accounts.services import TokenScopeError, create_token

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        raise UsageError(f"用户「{args.username}」不存在或已停用")
    if args.days is not None and args.days <= 0:
        raise UsageError("--days 必须是正整数")
    expires = timezone.now() + timedelta(days=args.days) if args.days else None
    try:
        _, raw = create_token(
            user,
            name=args.name or "",
            expires_at=expires,
            roles=_codes(args.roles),
            departments=_codes(args.departments),
        )
    except TokenScopeError as exc:
        raise UsageError(str(exc)) from None
    print(raw)
    return 0


def cmd_token_revoke(args) -> int:
    setup_django()
    from tousu.accounts.services import TokenNotFound, revoke_token_by_prefix

    try:
        token = revoke_token_by_prefix(args.prefix)
    except TokenNotFound as exc:
        raise UsageError(str(exc)) from None
    print(f"已吊销令牌 {token.prefix}…（{token.user.username}）")
    return 0


def cmd_token_list(args) -> int:
    setup_django()
    from django.utils import timezone

    from tousu.accounts.models import ApiToken

    tokens = ApiToken.objects.select_related("user").prefetch_related("roles", "departments")
    if args.username:
        tokens = tokens.filter(user__username=args.username)
    now = timezone.now()
    for t in tokens.order_by("user__username", "created_at"):
        status = (
            "已吊销"
            if t.revoked_at
            else "已过期"
            if t.expires_at and t.expires_at <= now
            else "有效"
        )
        roles = ",".join(r.code for r in t.roles.all()) or "*"
        depts = ",".join(d.code for d in t.departments.all()) or "*"
        expires = (
            timezone.localtime(t.expires_at).strftime("%Y-%m-%d") if t.expires_at else "不过期"
        )
        print(
            f"{t.prefix}…  {t.user.username:16} {status:4} 角色={roles} 部门={depts} "
            f"到期={expires}  {t.name}"
        )
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("createuser", help="创建用户")
    s.add_argument("username")
    s.add_argument("--role", action="append", required=True, help="角色代码，可重复")
    s.add_argument("--department", help="部门代码")
    s.add_argument("--name", help="姓名")
    s.add_argument("--password", help="不给则生成一次性密码")
    s.set_defaults(func=cmd_createuser)

    s = subparsers.add_parser("token", help="API 令牌")
    tsub = s.add_subparsers(dest="token_cmd", required=True, metavar="子命令")
    x = tsub.add_parser("create", help="为用户生成令牌（只打印一次）")
    x.add_argument("username")
    x.add_argument("--name", help="名称，如对接的系统：12345热线")
    x.add_argument("--days", type=int, help="有效天数，不给则不过期")
    x.add_argument("--roles", nargs="+", metavar="角色", help="只用用户角色中的这些（默认全部）")
    x.add_argument(
        "--departments", nargs="+", metavar="部门", help="只能访问这些部门的投诉（默认不限）"
    )
    x.set_defaults(func=cmd_token_create)
    x = tsub.add_parser("revoke", help="吊销令牌")
    x.add_argument("prefix", help="令牌前缀（tsu_ 开头的前 10 个字符）")
    x.set_defaults(func=cmd_token_revoke)
    x = tsub.add_parser("list", help="列出令牌（只显示前缀）")
    x.add_argument("username", nargs="?")
    x.set_defaults(func=cmd_token_list)
