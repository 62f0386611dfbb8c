"""/api/v1 for messages: a case's messages to the complainant with their delivery records, and the
caller's notification preferences."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema, Status

from tousu.api import access
from tousu.api.params import Id
from tousu.api.schemas import READ, WRITE, Strict
from tousu.cases.errors import Invalid

from . import kinds, selectors, services

router = Router(tags=["消息"])


class AttemptOut(Schema):
    attempted_at: datetime
    ok: bool
    backend: str
    provider_id: str
    error: str = Field(description="服务商返回的失败原因")


class MessageOut(Schema):
    id: int
    kind: str
    kind_label: str
    channel: str = Field(description="sms 短信；email 电子邮件")
    address: str = Field(description="手机号码或邮箱（脱敏）")
    subject: str
    body: str
    status: str = Field(description="queued 待发送；sent 已发送；failed 发送失败")
    attempts: list[AttemptOut]
    created_at: datetime
    sent_at: datetime | None
    last_error: str


@router.get(
    "/complaints/{complaint_id}/messages",
    response={200: list[MessageOut], **READ},
    summary="发给投诉人的消息",
)
def complaint_messages(request, complaint_id: Id):
    """每条短信和邮件的内容、状态（待发送、已发送、发送失败及原因）和每次发送记录。"""
    complaint = access.complaint(request, complaint_id)
    return Status(
        200,
        [
            {
                "id": r["m"].pk,
                "kind": r["m"].kind,
                "kind_label": r["kind"],
                "channel": r["m"].channel,
                "address": r["address"],
                "subject": r["m"].subject,
                "body": r["m"].body,
                "status": r["m"].status,
                "attempts": [
                    {
                        "attempted_at": a.attempted_at,
                        "ok": a.ok,
                        "backend": a.backend,
                        "provider_id": a.provider_id,
                        "error": a.error,
                    }
                    for a in r["attempts"]
                ],
                "created_at": r["m"].created_at,
                "sent_at": r["m"].sent_at,
                "last_error": r["m"].last_error,
            }
            for r in selectors.case_messages(complaint)
        ],
    )


class PreferenceOut(Schema):
    category: str
    label: str
    delivery: str = Field(description="inapp 仅站内；email 并发邮件；digest 每日汇总邮件")


class PreferencesIn(Strict):
    preferences: dict[str, str] = Field(
        description="通知类别 → 接收方式，类别见 GET 的结果，方式为 inapp、email 或 digest"
    )


@router.get(
    "/me/notification-preferences",
    response={200: list[PreferenceOut], **READ},
    summary="我的通知接收方式",
)
def get_preferences(request):
    return Status(200, selectors.preferences(request.user))


@router.put(
    "/me/notification-preferences",
    response={200: list[PreferenceOut], **WRITE},
    summary="设置通知接收方式",
)
def put_preferences(request, payload: PreferencesIn):
    try:
        services.set_preferences(request.user, payload.preferences)
    except ValueError as exc:
        raise Invalid(str(exc), {"categories": list(kinds.STAFF_CATEGORIES)}) from None
    return Status(200, selectors.preferences(request.user))
