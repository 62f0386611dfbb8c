import hashlib
import secrets

from cachetools.func import ttl_cache
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from .roles import DEPARTMENTAL_ROLES, ROLES


class Organisation(models.Model):
    """The organisation running this installation (a hospital, a property company, a bureau)."""

    name = models.CharField("名称", max_length=100)
    tracking_prefix = models.CharField(
        "投诉编号前缀", max_length=6, default="TS", help_text="投诉编号形如 TS-20261127-0001"
    )
    default_process = models.CharField("默认流程", max_length=50, default="generic")

    class Meta:
        verbose_name = verbose_name_plural = "组织"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _current_organisation.cache_clear()

    @classmethod
    def current(cls) -> "Organisation":
        return _current_organisation()


@ttl_cache(maxsize=1, ttl=5)
def _current_organisation() -> Organisation:
    # Read on every registration (tracking-number prefix); changed rarely, from the admin.
    return Organisation.objects.order_by("pk").first() or Organisation(name="投诉处理中心")


class Department(models.Model):
    code = models.SlugField("代码", max_length=50, unique=True)
    name = models.CharField("名称", max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    site = models.CharField("院区/地点", max_length=100, blank=True)
    # The organisation's own order (as its chart lists them), not the internal code's alphabet.
    sort_order = models.PositiveIntegerField(
        "排序", default=0, help_text="数字小的排在前面；相同时按代码"
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "部门"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    code = models.SlugField("代码", max_length=20, primary_key=True)
    label = models.CharField("名称", max_length=20)

    class Meta:
        verbose_name = verbose_name_plural = "角色"

    def __str__(self) -> str:
        return self.label


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        verbose_name="所属部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    roles = models.ManyToManyField(Role, verbose_name="角色", blank=True, related_name="users")
    display_name = models.CharField("姓名", max_length=50, blank=True)
    # A one-time password (generated at creation or by an administrator's reset) is changed at
    # the first login: until then every workbench page leads to the password page.
    must_change_password = models.BooleanField(
        "首次登录须修改密码",
        default=False,
        help_text="使用系统生成的一次性密码时勾选；用户修改密码后自动取消",
    )

    class Meta:
        verbose_name = verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_codes(self) -> frozenset[str]:
        # Cached per instance: permission checks ask many times within one request.
        if not hasattr(self, "_role_codes"):
            self._role_codes = frozenset(self.roles.values_list("code", flat=True))
        return self._role_codes

    def has_role(self, *codes: str) -> bool:
        return bool(self.role_codes.intersection(codes))

    @property
    def is_departmental_only(self) -> bool:
        """True when every role this user holds is limited to their own department."""
        return bool(self.role_codes) and self.role_codes <= DEPARTMENTAL_ROLES

    @property
    def has_any_role_for_reports(self) -> bool:
        return self.has_role("leader", "officer", "auditor", "admin", "handler", "dept_head")

    def role_labels(self) -> list[str]:
        codes = sorted(self.role_codes)
        custom = {c for c in codes if c not in ROLES}
        labels = (
            dict(Role.objects.filter(code__in=custom).values_list("code", "label"))
            if custom
            else {}
        )
        return [ROLES.get(c) or labels.get(c, c) for c in codes]


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for the API. Only the SHA-256 of the secret is kept."""

    user = models.ForeignKey(
        User, verbose_name="用户", on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField("名称", max_length=100, blank=True)
    prefix = models.CharField("前缀", max_length=12, editable=False)
    key_hash = models.CharField("令牌摘要", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    # Scopes narrow the user's own rights, never widen them: the effective roles are the user's roles
    # that are also listed here, and the cases reachable are those of the listed departments. Empty
    # means "no narrowing". An integration (a 12345 hotline, a HIS) gets a token on its own user.
    roles = models.ManyToManyField(
        Role,
        verbose_name="限定角色",
        blank=True,
        related_name="+",
        help_text="不选则使用该用户的全部角色；选了则只用其中该用户也拥有的角色",
    )
    departments = models.ManyToManyField(
        Department,
        verbose_name="限定部门",
        blank=True,
        related_name="+",
        help_text="不选则不限部门；选了则只能看到和处理这些部门的投诉",
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "API 令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_token(raw)

    @staticmethod
    def generate() -> str:
        return "tsu_" + secrets.token_urlsafe(32)

    # Set by selectors.user_for_token: the department ids this token is limited to, or None.
    scope_department_ids: frozenset[int] | None = None


class LoginFailure(models.Model):
    """One failed staff login, by user name and client address: what the per-user-name limit counts
    (accounts/security.py). django-axes locks a (user name, address) pair; this slows guessing one
    user name from many addresses. Old rows are purged as new ones come."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "登录失败记录"
        indexes = [models.Index(fields=["username", "at"])]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M}"
