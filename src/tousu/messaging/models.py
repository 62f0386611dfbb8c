"""The outbox (every e-mail and SMS, to staff and to complainants, with its delivery record), the
complainant message templates, staff preferences and complainants' opt-outs. The in-app inbox is
tousu.clocks.models.Notification, written by the same services."""

from django.conf import settings
from django.db import models

from .kinds import CHANNELS, COMPLAINANT_KINDS, DELIVERIES, STAFF_CATEGORIES


class Message(models.Model):
    QUEUED, HELD, SENT, FAILED, DIGESTED = "queued", "held", "sent", "failed", "digested"
    STATUS = [
        (QUEUED, "待发送"),
        (HELD, "待每日汇总"),
        (SENT, "已发送"),
        (FAILED, "发送失败"),
        (DIGESTED, "已并入汇总邮件"),
    ]
    STAFF, COMPLAINANT = "staff", "complainant"
    AUDIENCE = [(STAFF, "工作人员"), (COMPLAINANT, "投诉人")]

    complaint = models.ForeignKey(
        "cases.Complaint",
        verbose_name="投诉",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    audience = models.CharField("对象", max_length=12, choices=AUDIENCE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="工作人员",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    party = models.ForeignKey(
        "cases.Party",
        verbose_name="投诉人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField("类型", max_length=40)
    channel = models.CharField("渠道", max_length=10, choices=list(CHANNELS.items()))
    address = models.CharField("地址", max_length=254)
    subject = models.CharField("标题", max_length=200, blank=True)
    body = models.TextField("内容")
    # For SMS providers: the provider's template and its parameters, in the template's order.
    provider_template = models.CharField("服务商模板", max_length=50, blank=True)
    params = models.JSONField("模板参数", default=list, blank=True)
    status = models.CharField("状态", max_length=10, choices=STATUS, default=QUEUED)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    last_error = models.CharField("失败原因", max_length=500, blank=True)
    backend = models.CharField("发送方式", max_length=20, blank=True)
    provider_id = models.CharField("回执编号", max_length=100, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间")
    digest = models.ForeignKey(
        "self",
        verbose_name="汇总邮件",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
    )
    # One message per event, kind, channel and recipient: a receiver that runs twice sends nothing twice.
    key = models.CharField(
        "去重键", max_length=200, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = verbose_name_plural = "消息"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["channel", "address", "sent_at"]),
            models.Index(fields=["user", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.address}：{self.subject or self.body[:30]}"


class DeliveryAttempt(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    attempted_at = models.DateTimeField("时间")
    ok = models.BooleanField("成功")
    backend = models.CharField("发送方式", max_length=20)
    provider_id = models.CharField("回执编号", max_length=100, blank=True)
    error = models.CharField("服务商返回的原因", max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "发送记录"
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M} {'成功' if self.ok else self.error}"


class MessageTemplate(models.Model):
    """What the complainant is told, per organisation, kind and channel. Only `{{ 变量 }}` from the
    list of variables may appear; nothing else reaches the text."""

    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="组织",
        on_delete=models.CASCADE,
        related_name="message_templates",
    )
    kind = models.CharField("消息", max_length=30, choices=list(COMPLAINANT_KINDS.items()))
    channel = models.CharField("渠道", max_length=10, choices=list(CHANNELS.items()))
    subject = models.CharField("邮件标题", max_length=200, blank=True)
    body = models.TextField("内容")
    provider_template = models.CharField(
        "服务商模板编号",
        max_length=50,
        blank=True,
        help_text="使用阿里云或腾讯云短信时必填：阿里云的模板 CODE（如 SMS_123456789）或腾讯云的模板 ID。"
        "内容中的变量按出现顺序作为模板参数（阿里云按变量名）。",
    )
    is_active = models.BooleanField("启用", default=True, help_text="不启用则不发送这条消息")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "投诉人消息模板"
        ordering = ["organisation", "kind", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "channel"], name="message_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.get_channel_display()}）"

    def clean(self):
        from django.core.exceptions import ValidationError

        from .texts import TemplateTextError, check

        errors = {}
        for name in ("subject", "body"):
            try:
                check(getattr(self, name))
            except TemplateTextError as exc:
                errors[name] = str(exc)
        if self.channel == "email" and not self.subject.strip():
            errors["subject"] = "电子邮件需要标题"
        if errors:
            raise ValidationError(errors)


class Preference(models.Model):
    """How a person wants to hear about one category of hand-offs."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="message_preferences",
        verbose_name="用户",
    )
    category = models.CharField("通知类别", max_length=30, choices=list(STAFF_CATEGORIES.items()))
    delivery = models.CharField("接收方式", max_length=10, choices=list(DELIVERIES.items()))

    class Meta:
        verbose_name = verbose_name_plural = "通知接收方式"
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_category_display()}：{self.get_delivery_display()}"


class OptOut(models.Model):
    """A phone number or e-mail address that asked to receive nothing more. Kept as a digest: the
    list of who opted out is not itself a list of phone numbers."""

    SOURCES = [
        ("portal", "投诉人在查询页面退订"),
        ("link", "投诉人点击邮件中的退订链接"),
        ("staff", "工作人员按投诉人要求设置"),
        ("command", "管理员命令"),
    ]

    channel = models.CharField("渠道", max_length=10, choices=list(CHANNELS.items()))
    # SHA-256 of "channel:address": unique on its own, and what every message looks up.
    address_hash = models.CharField("地址摘要", max_length=64, unique=True, editable=False)
    source = models.CharField("来源", max_length=10, choices=SOURCES)
    complaint = models.ForeignKey(
        "cases.Complaint",
        verbose_name="投诉",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="设置人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "退订"

    def __str__(self) -> str:
        return f"{self.get_channel_display()} 退订（{self.get_source_display()}）"
