from django.contrib import admin, messages

from . import services
from .models import CaseLink, Choice, Correction, RoutingSetting, TriageModel


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


@admin.register(RoutingSetting)
class RoutingSettingAdmin(admin.ModelAdmin):
    list_display = ["process_name", "threshold", "retrain_after", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        from . import routing

        # Through the service: the same checks as the command line, and the cached setting cleared.
        routing.set_threshold(
            obj.process_name, obj.threshold, request.user, retrain_after=obj.retrain_after
        )


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = [
        "complaint",
        "process_name",
        "predicted",
        "confidence",
        "corrected",
        "corrected_by",
        "created_at",
    ]
    list_filter = ["process_name"]
    readonly_fields = [f.name for f in Correction._meta.fields]

    def has_add_permission(self, request):
        return False  # made by staff correcting a case, never typed in
