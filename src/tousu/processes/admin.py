from django.contrib import admin

from .models import Category, ProcessDefinition


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(admin.ModelAdmin):
    list_display = ["label", "name", "version", "is_active", "installed_at"]
    readonly_fields = ["name", "version", "label", "source", "checksum", "installed_at"]

    def has_add_permission(self, request):
        return False  # installed with `tousu init` / `tousu process install`, validated first


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "process_name", "department", "is_active"]
    list_filter = ["process_name", "department"]
    list_editable = ["department", "is_active"]
