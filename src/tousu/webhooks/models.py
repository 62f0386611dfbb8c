"""Webhook subscriptions and their deliveries (an outbox written in the case's own transaction)."""

import secrets
import uuid

from django.db import models
from django.utils import timezone

EVENTS = {
    "complaint.created": "投诉已登记",
    "complaint.action_applied": "已执行动作",
    "clock.warning": "时限预警",
    "clock.breached": "时限超时",
}


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Subscription(models.Model):
    """A receiver URL and the events it wants. The secret signs every payload (HMAC-SHA256); it is
    kept in clear because signing needs it, and shown only to administrators."""

    name = models.CharField("名称", max_length=100)
    url = models.URLField(
        "接收地址", max_length=500, help_text="http:// 或 https://，收到后返回 2xx"
    )
    events = models.JSONField("订阅的事件", default=list, help_text="、".join(EVENTS))
    secret = models.CharField("签名密钥", max_length=100, default=new_secret)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "Webhook 订阅"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def event_labels(self) -> str:
        return "、".join(EVENTS.get(e, e) for e in self.events)


class Delivery(models.Model):
    """One event for one subscription, retried with exponential back-off until the receiver answers
    2xx or the attempts run out."""

    PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
    STATUS = [(PENDING, "待发送"), (SUCCEEDED, "已送达"), (FAILED, "已放弃")]

    # No database constraint: deliveries are written inside case transactions from a cached list of
    # subscriptions, and a subscription deleted meanwhile must not make a case action fail.
    subscription = models.ForeignKey(
        Subscription,
        verbose_name="订阅",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="deliveries",
    )
    event_id = models.UUIDField("事件编号", default=uuid.uuid4, db_index=False)
    delivery_id = models.UUIDField("投递编号", default=uuid.uuid4, unique=True)
    event_type = models.CharField("事件", max_length=40)
    complaint_id = models.BigIntegerField("投诉", null=True, blank=True)
    payload = models.JSONField("内容")
    status = models.CharField("状态", max_length=10, choices=STATUS, default=PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", default=timezone.now)
    last_attempt_at = models.DateTimeField("最近尝试", null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("最近响应码", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "Webhook 投递"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id}"


class DeliveryAttempt(models.Model):
    """The log: every try, with what the receiver answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    attempted_at = models.DateTimeField("时间")
    status_code = models.PositiveSmallIntegerField("响应码", null=True, blank=True)
    error = models.CharField("错误", max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "投递记录"
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
