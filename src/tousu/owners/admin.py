from django.contrib import admin

from .models import AssignmentPolicy


@admin.register(AssignmentPolicy)
class AssignmentPolicyAdmin(admin.ModelAdmin):
    """Administrators switch a department between assignment by hand and automatic assignment."""

    list_display = ["department", "mode", "last_assigned", "updated_at"]
    list_editable = ["mode"]
    list_filter = ["mode"]
    search_fields = ["department__name", "department__code"]
    autocomplete_fields = []
    readonly_fields = ["last_assigned", "updated_at"]
