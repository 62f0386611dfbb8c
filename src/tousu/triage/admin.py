from django.contrib import admin, messages

from . import services
from .models import CaseLink, Choice, TriageModel


@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    list_display = [
        "process_name",
        "version",
        "is_active",
        "created_at",
        "n_samples",
        "n_cases",
        "algorithm",
        "seconds",
    ]
    list_filter = ["process_name", "is_active"]
    readonly_fields = [f.name for f in TriageModel._meta.fields]
    actions = ["put_in_use"]

    def has_add_permission(self, request):
        return False  # trained with `tousu triage train`, never typed in

    @admin.action(description="启用所选版本")
    def put_in_use(self, request, queryset):
        for row in queryset:
            services.activate(row.process_name, row.version)
        messages.success(request, f"已启用 {queryset.count()} 个模型版本")


@admin.register(Choice)
class ChoiceAdmin(admin.ModelAdmin):
    list_display = ["complaint", "process_name", "category", "department", "source", "chosen_by"]
    list_filter = ["process_name", "source", "category"]
    readonly_fields = [f.name for f in Choice._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CaseLink)
class CaseLinkAdmin(admin.ModelAdmin):
    list_display = ["source", "kind", "target", "created_by", "created_at", "note"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in CaseLink._meta.fields]

    def has_add_permission(self, request):
        return False  # linked and merged through the services, which write the events
