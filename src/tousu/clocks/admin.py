from django.contrib import admin

from tousu.cases.privacy import CaseMask, mask_text

from . import services
from .models import CalendarOverride, CalendarYear, Clock, Notification


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note", "updated_at"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.invalidate_calendar()


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "imported_at"]


@admin.register(Clock)
class ClockAdmin(admin.ModelAdmin):
    list_display = ["complaint", "label", "state", "due_at", "provisional", "breached_at"]
    list_filter = ["state", "provisional", "name"]
    readonly_fields = [f.name for f in Clock._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind_label", "shown_message", "created_at", "read_at"]
    fields = ["user", "kind_label", "complaint", "shown_message", "created_at", "read_at"]
    readonly_fields = fields
    list_select_related = ["user", "complaint__process"]

    @admin.display(description="类型", ordering="kind")
    def kind_label(self, obj):
        from tousu.messaging.kinds import notification_label

        return notification_label(obj.kind)

    @admin.display(description="内容")
    def shown_message(self, obj):
        # The administrator is no role that may see personal data: a message quoting a case (a
        # risk alert quotes its title) is masked like the case itself (cases/privacy.py).

        if obj.complaint_id:
            return CaseMask.for_case(obj.complaint).text(obj.message)
        return mask_text(obj.message)

    def has_add_permission(self, request):
        return False
