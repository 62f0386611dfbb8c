from django import forms
from django.contrib import admin, messages

from . import kinds, optout
from .delivery import retry_now
from .models import DeliveryAttempt, Message, MessageTemplate, OptOut, Preference

VARIABLE_HELP = "可用变量（写成 {{ 变量 }}，只能用这些）：" + "；".join(
    f"{{{{ {k} }}}} {v}" for k, v in kinds.VARIABLES.items()
)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = [
            "organisation",
            "kind",
            "channel",
            "is_active",
            "subject",
            "body",
            "provider_template",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"body": VARIABLE_HELP, "subject": "仅电子邮件使用。" + VARIABLE_HELP}


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """What the complainant is told. Only what the template says is sent."""

    form = MessageTemplateForm
    list_display = [
        "kind",
        "channel",
        "is_active",
        "provider_template",
        "organisation",
        "updated_at",
    ]
    list_filter = ["kind", "channel", "is_active"]
    list_editable = ["is_active"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "attempted_at",
        "ok",
        "backend",
        "provider_id",
        "error",
        "duration_ms",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The outbox and its log: every e-mail and SMS, to staff and complainants, with every attempt
    (with TOUSU_SMS_BACKEND=log this is where the SMS are read)."""

    list_display = [
        "created_at",
        "audience",
        "kind",
        "channel",
        "address",
        "status",
        "attempts",
        "backend",
        "last_error",
        "complaint",
    ]
    list_filter = ["audience", "channel", "status", "backend", "kind"]
    search_fields = ["address", "subject", "body", "complaint__tracking_number"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    actions = ["send_again"]
    readonly_fields = [f.name for f in Message._meta.fields if f.name != "key"]
    exclude = ["key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="重新发送所选的失败消息")
    def send_again(self, request, queryset):
        n = retry_now(queryset)
        self.message_user(request, f"已安排重新发送 {n} 条", messages.SUCCESS)


class OptOutForm(forms.ModelForm):
    address = forms.CharField(label="手机号码或电子邮箱", max_length=254)

    class Meta:
        model = OptOut
        fields = ["channel", "address", "source"]

    def clean(self):
        data = super().clean()
        channel, address = data.get("channel"), data.get("address", "")
        normalised = optout.normalise(channel or "", address)
        if not normalised:
            raise forms.ValidationError(
                "短信应填写 11 位手机号码，如 13812345678；电子邮件应填写邮箱地址，如 name@example.com"
            )
        data["address"] = normalised
        return data

    def save(self, commit=True):
        obj = super().save(commit=False)
        obj.address_hash = optout.digest(obj.channel, self.cleaned_data["address"])
        if commit:
            obj.save()
        return obj


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    form = OptOutForm
    list_display = ["created_at", "channel", "source", "complaint", "by_user"]
    list_filter = ["channel", "source"]

    def get_readonly_fields(self, request, obj=None):
        return ["channel", "source", "complaint", "by_user", "created_at"] if obj else []


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "category", "delivery"]
    list_filter = ["category", "delivery"]
    search_fields = ["user__username", "user__display_name"]
