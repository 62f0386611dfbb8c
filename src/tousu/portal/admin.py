from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from .models import PublicNotice


@admin.register(PublicNotice)
class PublicNoticeAdmin(admin.ModelAdmin):
    list_display = ("__str__", "complaint_phone", "duty_phone", "updated_at", "links")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("display_name", "portal_url", "intro")}),
        (
            "投诉方式",
            {"fields": ("complaint_phone", "duty_phone", "mailbox", "email", "rule_name")},
        ),
        ("现场接待", {"fields": ("reception_hours", "reception_place")}),
        ("上级主管部门", {"fields": ("supervisor_name", "supervisor_phone", "supervisor_address")}),
        ("个人信息", {"fields": ("privacy_notice",)}),
    )

    def has_add_permission(self, request):
        return not PublicNotice.objects.exists()  # one notice: the portal shows the first

    @admin.display(description="查看")
    def links(self, obj):
        return format_html(
            '<a href="{}" target="_blank">公示页</a> · <a href="{}" target="_blank">海报 PDF</a>',
            reverse("portal:notice"),
            reverse("portal:poster"),
        )
