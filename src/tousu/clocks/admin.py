from django.contrib import admin

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
    list_display = ["user", "kind", "message", "created_at", "read_at"]
