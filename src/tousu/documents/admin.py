from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .kinds import kind
from .models import Document, DocumentTemplate, IssuerProfile
from .rendering import RenderError, render_body, sample_context


class DocumentTemplateForm(forms.ModelForm):
    class Meta:
        model = DocumentTemplate
        fields = ("kind", "sector", "title", "serial_code", "body", "is_public", "is_active")
        widgets = {"body": forms.Textarea(attrs={"rows": 28, "cols": 110, "spellcheck": "false"})}

    def clean_body(self):
        body = self.cleaned_data["body"]
        try:  # a template that does not compile or fill never reaches an issued document
            render_body(body, sample_context())
        except RenderError as exc:
            raise forms.ValidationError(str(exc)) from None
        return body


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    form = DocumentTemplateForm
    list_display = (
        "title",
        "kind",
        "sector_label",
        "serial_code",
        "is_public",
        "is_active",
        "updated_at",
        "preview",
    )
    list_filter = ("kind", "sector", "is_active")
    search_fields = ("title", "body")

    @admin.display(description="适用流程")
    def sector_label(self, obj):
        return obj.sector or "通用"

    @admin.display(description="预览")
    def preview(self, obj):
        return format_html(
            '<a href="{}" target="_blank">PDF</a>', reverse("documents:preview", args=[obj.pk])
        )


@admin.register(IssuerProfile)
class IssuerProfileAdmin(admin.ModelAdmin):
    list_display = ("__str__", "serial_prefix", "updated_at")

    def has_add_permission(self, request):
        return not IssuerProfile.objects.exists()


class KindFilter(admin.SimpleListFilter):
    """Document kinds by their titles (the column holds the code the definitions use)."""

    title = "公文种类"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        used = Document.objects.values_list("kind", flat=True).distinct().order_by("kind")
        return [(k, kind(k).title) for k in used]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Issued documents are read-only: a correction is issued from the case, as a new document."""

    list_display = (
        "serial",
        "title",
        "kind_label",
        "complaint",
        "issued_at",
        "issued_by_name",
        "download",
    )
    list_filter = (KindFilter, "year")
    search_fields = ("serial", "complaint__tracking_number")
    # The text and data a document was filled with hold the complainant's personal data: the admin
    # does not show them (the PDF link gives the masked print to roles that may not see them).
    readonly_fields = [f.name for f in Document._meta.fields if f.name not in ("html", "context")]
    exclude = ("html", "context")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="公文种类", ordering="kind")
    def kind_label(self, obj):
        return kind(obj.kind).title

    @admin.display(description="PDF")
    def download(self, obj):
        return format_html('<a href="{}">下载</a>', reverse("documents:download", args=[obj.pk]))
