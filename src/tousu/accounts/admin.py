from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group

from .models import ApiToken, Department, Organisation, User
from .services import reset_password, revoke_token


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "tracking_prefix", "default_process"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "parent", "site", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]


PERMISSION_ACTIONS = {"add": "新增", "change": "修改", "delete": "删除", "view": "查看"}


def permission_label(p) -> str:
    """「组织与账号 | 部门 | 修改部门」: Django stores the built-in permissions' names in English."""
    model = p.content_type.model_class()
    what = str(model._meta.verbose_name) if model else p.content_type.model
    app = str(model._meta.app_config.verbose_name) if model else p.content_type.app_label
    action = p.codename.removesuffix(f"_{p.content_type.model}")
    name = f"{PERMISSION_ACTIONS[action]}{what}" if action in PERMISSION_ACTIONS else p.name
    return f"{app} | {what} | {name}"


class ChinesePermissions:
    """The permission widget in Chinese, in the users' and the groups' forms."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in ("permissions", "user_permissions") and field is not None:
            field.queryset = field.queryset.select_related("content_type")
            field.label_from_instance = permission_label
        return field


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ChinesePermissions, BaseGroupAdmin):
    pass


@admin.register(User)
class UserAdmin(ChinesePermissions, BaseUserAdmin):
    list_display = ["username", "display_name", "department", "is_active", "must_change_password"]
    list_filter = ["roles", "department", "is_active"]
    filter_horizontal = ["roles", "groups", "user_permissions"]
    fieldsets = BaseUserAdmin.fieldsets + (
        ("投诉系统", {"fields": ("display_name", "department", "roles", "must_change_password")}),
    )
    actions = ["reset_passwords"]

    @admin.action(description="重置密码（生成一次性密码，下次登录须修改）")
    def reset_passwords(self, request, queryset):
        # The new passwords exist only now: shown once to the administrator, stored as hashes.
        for user in queryset.order_by("username"):
            password = reset_password(user)
            messages.warning(request, f"{user.username} 的一次性密码（只显示这一次）：{password}")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "user",
        "name",
        "scope",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["prefix", "name", "user__username", "user__display_name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["user", "name", "roles", "departments", "expires_at", *readonly_fields]
    filter_horizontal = ["roles", "departments"]
    actions = ["revoke"]

    @admin.display(description="范围")
    def scope(self, token: ApiToken) -> str:
        roles = "、".join(r.label for r in token.roles.all()) or "用户全部角色"
        depts = "、".join(d.name for d in token.departments.all()) or "不限部门"
        return f"{roles}；{depts}"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .prefetch_related("roles", "departments")
        )

    def save_model(self, request, obj: ApiToken, form, change):
        if not change:
            # The secret exists only now: shown once to the administrator, stored as a hash.
            raw = ApiToken.generate()
            obj.prefix, obj.key_hash = raw[:10], ApiToken.hash(raw)
            messages.warning(request, f"新令牌（只显示这一次，请立即复制）：{raw}")
        super().save_model(request, obj, form, change)

    @admin.action(description="吊销所选令牌")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_token(token)
        messages.success(request, f"已吊销 {queryset.count()} 个令牌")
