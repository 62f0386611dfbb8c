"""The webhooks Tousu sends, described in the OpenAPI document (OpenAPI 3.1 `webhooks`): what each
payload holds and how it is signed (tousu.webhooks.signing)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, create_model

from tousu.webhooks import signing
from tousu.webhooks.models import EVENTS


class WebhookComplaint(BaseModel):
    id: int
    tracking_number: str
    process: str
    state: str
    state_label: str
    version: int
    channel: str
    category: str | None
    department: str | None
    received_at: datetime
    closed_at: datetime | None


class WebhookEvent(BaseModel):
    id: int = Field(description="案件事件的编号（GET /api/v1/complaints/{id}/events）")
    action: str
    label: str
    from_state: str
    to_state: str
    actor: str
    via: str
    created_at: datetime


class WebhookClock(BaseModel):
    id: int
    name: str
    label: str
    basis: str = Field(description="法律依据")
    unit: str
    amount: float
    state: str
    due_at: datetime
    provisional: bool


class ComplaintData(BaseModel):
    complaint: WebhookComplaint
    event: WebhookEvent


class ClockData(ComplaintData):
    clock: WebhookClock | None


def _envelope(event_type: str, data: type[BaseModel]) -> dict:
    model = create_model(
        f"Webhook_{event_type.replace('.', '_')}",
        id=(str, Field(description="事件编号（UUID）；同一事件发往各订阅时相同")),
        type=(Literal[event_type], ...),  # type: ignore[valid-type]
        created_at=(datetime, ...),
        data=(data, ...),
    )
    return model.model_json_schema(ref_template="#/$defs/{model}")


HEADERS = [
    (signing.EVENT_HEADER, "事件类型"),
    (signing.DELIVERY_HEADER, "投递编号（UUID），重试时不变：接收方据此去重"),
    (signing.TIMESTAMP_HEADER, "签名时的 Unix 时间（秒）；与当前时间相差超过 5 分钟应拒绝"),
    (
        signing.SIGNATURE_HEADER,
        "sha256=<十六进制 HMAC-SHA256>，密钥为订阅的签名密钥，内容为「时间戳 + '.' + 原始请求体」",
    ),
]


def _operation(event_type: str, data: type[BaseModel]) -> dict:
    return {
        "post": {
            "summary": EVENTS[event_type],
            "operationId": f"webhook_{event_type.replace('.', '_')}",
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "description": text,
                    "schema": {"type": "string"},
                }
                for name, text in HEADERS
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _envelope(event_type, data)}},
            },
            "responses": {
                "2XX": {"description": "已收到；其他状态或超时（10 秒）会按指数退避重试"}
            },
        }
    }


WEBHOOKS = {
    "complaint.created": _operation("complaint.created", ComplaintData),
    "complaint.action_applied": _operation("complaint.action_applied", ComplaintData),
    "clock.warning": _operation("clock.warning", ClockData),
    "clock.breached": _operation("clock.breached", ClockData),
}

WEBHOOKS_DESCRIPTION = f"""**Webhooks**：管理员在「系统管理 › Webhook 订阅」中登记接收地址和事件
（{"、".join(f"`{k}` {v}" for k, v in EVENTS.items())}）。事件在案件变化的同一事务中记入发送队列，由后台
worker 发送（从不在请求中发送），失败按指数退避重试，发送记录见「Webhook 投递」。每次发送是一个 JSON POST，
带请求头 `{signing.EVENT_HEADER}`、`{signing.DELIVERY_HEADER}`、`{signing.TIMESTAMP_HEADER}`、
`{signing.SIGNATURE_HEADER}`。签名：`sha256=` + HMAC-SHA256(签名密钥, 时间戳 + "." + 原始请求体) 的十六进制；
接收方应以常量时间比较签名，拒绝 5 分钟以前的时间戳，并按投递编号去重。返回 2xx 即视为送达。
载荷只含编号和状态，不含投诉内容和个人信息：需要时用令牌通过接口读取。各载荷的结构见本文档的 webhooks 部分。
"""
