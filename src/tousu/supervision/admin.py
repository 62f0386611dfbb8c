from django.contrib import admin

from .models import Supervision


@admin.register(Supervision)
class SupervisionAdmin(admin.ModelAdmin):
    """督办 are placed and answered on the case page; here they are only read."""

    list_display = [
        "complaint",
        "placed_by_name",
        "placed_at",
        "workdays",
        "due_at",
        "state",
        "answered_at",
        "on_time",
    ]
    list_filter = ["state", "on_time"]
    search_fields = ["complaint__tracking_number", "instruction", "answer"]
    readonly_fields = [f.name for f in Supervision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
