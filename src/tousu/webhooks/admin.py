from django import forms
from django.contrib import admin, messages

from .models import EVENTS, Delivery, DeliveryAttempt, Subscription
from .services import retry_now


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="接收地址", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label="订阅的事件", choices=list(EVENTS.items()), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "secret", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("只支持 http:// 或 https:// 地址")
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "event_labels", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]

    @admin.display(description="订阅的事件")
    def event_labels(self, obj: Subscription) -> str:
        return obj.event_labels()


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every event sent, its status and every attempt with the answer."""

    list_display = [
        "created_at",
        "event_type",
        "subscription",
        "complaint_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
    ]
    list_filter = ["status", "event_type", "subscription"]
    search_fields = ["delivery_id", "event_id"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="立即重新发送所选投递")
    def retry(self, request, queryset):
        n = retry_now(queryset)
        messages.success(request, f"{n} 项投递将在下一轮发送")
