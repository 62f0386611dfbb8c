from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict


class Strict(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorOut(Schema):
    code: str = Field(description="机器可读的错误代码，如 invalid、stale_version、forbidden")
    message: str = Field(description="中文说明：哪里错了、允许什么")
    details: dict[str, Any] = Field(default_factory=dict)


class PartyIn(Strict):
    role: Literal["complainant", "respondent"] = "complainant"
    kind: Literal["person", "organisation", "department"] = "person"
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=30)
    id_number: str = Field("", max_length=30)
    address: str = Field("", max_length=200)
    nationality: str = Field("", max_length=50)
    relation: str = Field("", max_length=50)


class ComplaintIn(Strict):
    process: str | None = Field(None, max_length=50, description="流程名称，默认为组织的默认流程")
    channel: str = Field(max_length=20, description="渠道，取值见流程定义的 channels")
    title: str = Field("", max_length=200)
    content: str = Field(min_length=1, max_length=10000, description="投诉内容")
    request: str = Field("", max_length=5000, description="诉求")
    category: str | None = Field(None, max_length=50)
    received_at: datetime | None = None
    is_anonymous: bool = False
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    fields: dict[str, Any] = Field(
        default_factory=dict, description="行业字段，见流程定义的 fields"
    )


class ComplaintCreated(Schema):
    id: int
    tracking_number: str
    access_code: str = Field(description="查询码：只在登记时给出一次")
    state: str
    version: int


class PartyOut(Schema):
    id: int
    role: str
    kind: str
    name: str
    phone: str
    id_number: str
    address: str
    nationality: str
    relation: str


class TaskOut(Schema):
    id: int
    department: str
    department_name: str
    kind: str
    state: str
    is_lead: bool
    opened_at: datetime
    closed_at: datetime | None


class EventOut(Schema):
    id: int
    action: str
    label: str
    from_state: str
    to_state: str
    actor: str
    via: str
    payload: dict[str, Any]
    comment: str
    visibility: str
    created_at: datetime


class ClockOut(Schema):
    id: int
    name: str
    label: str
    basis: str
    unit: str
    amount: float
    state: str
    started_at: datetime
    due_at: datetime
    provisional: bool
    extended: float
    breached: bool
    time_left: float = Field(description="以时限自身单位计的剩余量，负数表示已超时")


class ComplaintOut(Schema):
    id: int
    tracking_number: str
    process: str
    process_version: int
    state: str
    state_label: str
    version: int
    channel: str
    title: str
    content: str
    request: str
    category: str | None
    department: str | None
    complexity: str
    severity: str
    flags: list[str]
    fields: dict[str, Any]
    is_anonymous: bool
    received_at: datetime
    closed_at: datetime | None
    parties: list[PartyOut]
    tasks: list[TaskOut]
    events: list[EventOut]
    clocks: list[ClockOut]


class ComplaintSummary(Schema):
    id: int
    tracking_number: str
    process: str
    state: str
    state_label: str
    version: int
    channel: str
    title: str
    category: str | None
    department: str | None
    received_at: datetime


class ActionOut(Schema):
    name: str
    label: str
    to: str | None
    form: dict[str, Any] = Field(description="表单的 JSON Schema")


class ActionIn(Strict):
    version: int = Field(ge=1, description="读取时的投诉版本；不一致时返回 409")
    data: dict[str, Any] = Field(default_factory=dict)
    comment: str = Field("", max_length=2000)


class ActionApplied(Schema):
    id: int
    state: str
    state_label: str
    version: int
    event_id: int


class ExtendIn(Strict):
    amount: float = Field(gt=0, le=1000, description="延长量，以时限自身单位计")
    reason: str = Field(min_length=1, max_length=500)
