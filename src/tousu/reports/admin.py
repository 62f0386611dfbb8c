from django.contrib import admin

from .models import ExportLog, Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = [
        "period_label",
        "format",
        "status",
        "scheduled",
        "created_at",
        "seconds",
        "size",
    ]
    list_filter = ["status", "format", "scheduled"]
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "username", "format", "filters_text", "rows", "personal_data"]
    list_filter = ["format", "personal_data"]
    search_fields = ["username", "filters_text"]
    readonly_fields = [f.name for f in ExportLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
