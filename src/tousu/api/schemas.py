"""Request and response shapes of /api/v1. Inputs are strict (unknown fields are errors, text is
checked for what the database cannot store); outputs are what the OpenAPI document promises."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, field_validator

# --- text the database can store --------------------------------------------------------------


def _storable(value: Any) -> Any:
    """NUL and unpaired surrogates pass JSON parsing but not PostgreSQL or UTF-8: refuse them here,
    with a clear message, rather than fail at the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("不能包含 NUL（\\u0000）字符")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("文本编码无效，应为 UTF-8") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k)
            _storable(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _storable(v)
    elif isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ValueError("数字无效（NaN 或无穷大）")
    return value


Text = Annotated[str, AfterValidator(_storable)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=50)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_everywhere(cls, value):
        return _storable(value)


# --- errors -----------------------------------------------------------------------------------


class ErrorOut(Schema):
    """Every failure, whatever the status: a machine-readable code, a Chinese sentence saying what
    was wrong and what is allowed, and details (field errors, possible actions, current version)."""

    code: str = Field(
        description="机器可读的错误代码：unauthorized、forbidden、not_found、invalid、"
        "malformed_json、malformed_body、stale_version、action_not_possible、too_large、method_not_allowed、gone、server_error"
    )
    message: str = Field(description="中文说明：哪里错了、允许什么")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="补充信息，如 fields（各字段的错误）、possible（可执行的动作）、current_version",
    )


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return {code: ErrorOut for code in codes}


# What can go wrong, by kind of operation: 401 without a valid token, 403 outside the caller's
# roles or departments, 404 for an unknown resource, 422 for invalid parameters or data, 400 for a
# body that is not JSON, 409 for a stale version, 413 for a body over the size limit.
READ = errors(401, 403, 404, 422)
WRITE = errors(400, 401, 403, 404, 409, 413, 422)


# --- complaints -------------------------------------------------------------------------------


class PartyIn(Strict):
    role: Literal["complainant", "respondent"] = "complainant"
    kind: Literal["person", "organisation", "department"] = "person"
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=30)
    email: str = Field(
        "",
        max_length=254,
        description="电子邮箱：登记回执、答复等通知发到这里（同时有手机号的也发短信）",
    )
    id_number: str = Field("", max_length=30)
    address: str = Field("", max_length=200)
    nationality: str = Field("", max_length=50)
    relation: str = Field("", max_length=50)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValueError("电子邮箱格式不正确，应如 name@example.com") from None
        return value


EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(480))


class ComplaintIn(Strict):
    process: str | None = Field(None, max_length=50, description="流程名称，默认为组织的默认流程")
    channel: str = Field(max_length=20, description="渠道，取值见流程定义的 channels")
    title: str = Field("", max_length=200)
    content: str = Field(min_length=1, max_length=10000, description="投诉内容")
    request: str = Field("", max_length=5000, description="诉求")
    category: str | None = Field(None, max_length=50)
    received_at: datetime | None = Field(
        None,
        description="接收时间，默认为现在；不带时区时按北京时间（Asia/Shanghai）理解。"
        "法定时限从此时起算，不能晚于现在",
    )
    is_anonymous: bool = False
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    fields: dict[str, Any] = Field(
        default_factory=dict, description="行业字段，见流程定义的 fields"
    )

    @field_validator("received_at")
    @classmethod
    def _plausible_receipt(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if not EARLIEST.year <= value.year <= 2100:
            raise ValueError("接收时间应在 2000 年以后，且不能晚于现在")
        if value.tzinfo is None:  # a hotline's local time: the organisation's time zone
            value = timezone.make_aware(value, timezone.get_default_timezone())
        if value < EARLIEST:
            raise ValueError("接收时间不能早于 2000-01-01")
        if value > timezone.now() + timedelta(minutes=5):
            raise ValueError("接收时间不能晚于现在")
        return value


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
    email: str = ""
    id_number: str
    address: str
    nationality: str
    relation: str


class RevealedParties(Schema):
    parties: list[PartyOut] = Field(description="未脱敏的当事人信息")
    title: str = Field("", description="未脱敏的摘要")
    content: str = Field("", description="未脱敏的投诉内容")
    request: str = Field("", description="未脱敏的诉求")
    fields: dict[str, Any] = Field(default_factory=dict, description="未脱敏的行业字段")
    event_id: int = Field(description="记录这次查看的事件")


class TaskOut(Schema):
    id: int
    department: str
    department_name: str
    kind: str
    state: str
    is_lead: bool
    owner: str | None = Field(None, description="任务承办人的用户名")
    opened_at: datetime
    closed_at: datetime | None


class TaskListItem(TaskOut):
    complaint_id: int
    tracking_number: str
    complaint_state: str
    complaint_state_label: str


class ShownValue(Schema):
    label: str
    value: str


class EventOut(Schema):
    id: int
    action: str
    label: str
    from_state: str
    to_state: str
    actor: str
    via: str
    payload: dict[str, Any]
    shown: list[ShownValue] = Field(
        default_factory=list, description="payload 按流程表单的中文标签显示"
    )
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
    warn_at: datetime | None = None
    provisional: bool
    extended: float
    breached: bool
    time_left: float = Field(description="以时限自身单位计的剩余量，负数表示已超时")
    can_extend: bool = Field(False, description="调用者现在能否延长该时限")


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    kind: str
    is_public: bool
    created_at: datetime
    download: str = Field(description="下载地址")


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
    fields: dict[str, Any] = Field(description="行业字段；标为个人信息的已脱敏")
    is_anonymous: bool
    received_at: datetime
    closed_at: datetime | None
    owner: str | None = Field(None, description="承办人的用户名")
    owner_name: str = Field("", description="承办人姓名")
    chase_count: int = Field(0, description="催办次数")
    parties: list[PartyOut] = Field(description="个人信息已脱敏；见 parties/reveal")
    tasks: list[TaskOut]
    events: list[EventOut]
    clocks: list[ClockOut]
    attachments: list[AttachmentOut] = Field(default_factory=list)


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
    severity: str = "normal"
    flags: list[str] = Field(default_factory=list)
    owner: str | None = Field(None, description="承办人的用户名")
    received_at: datetime
    updated_at: datetime | None = None
    closed_at: datetime | None = None


class ComplaintFilters(Schema):
    """The workbench's case-list filters."""

    scope: Literal["all", "mine", "department"] = Field(
        "all", description="all 全部可见；mine 我现在可以处理的；department 本部门的"
    )
    q: Text | None = Field(None, max_length=100, description="搜索：编号、摘要、内容、诉求")
    process: Code | None = None
    state: Code | None = None
    category: Code | None = None
    department: Code | None = None
    channel: Code | None = None
    clock: Literal["overdue", "due_soon", "provisional"] | None = Field(
        None, description="overdue 已超时；due_soon 即将到期；provisional 暂定时限"
    )
    flag: Code | None = Field(None, description="标记，如 escalated、reopened、serious")
    owner: Text | None = Field(
        None, max_length=150, description="承办人：me 我承办的；none 未指派；或用户名"
    )
    supervision: Literal["open", "overdue", "answered", "any"] | None = Field(
        None, description="督办：open 督办中；overdue 督办已超时；answered 已回复；any 全部督办件"
    )
    closed: bool | None = Field(None, description="true 只看已结案；false 只看未结案")
    received_from: date | None = Field(None, description="接收日期不早于（含）")
    received_to: date | None = Field(None, description="接收日期不晚于（含）")
    sort: Literal["-received", "received", "-updated", "updated"] = "-received"
    limit: int = Field(50, ge=1, le=200)
    cursor: Text | None = Field(None, max_length=200, description="上一页响应头 X-Next-Cursor 的值")


class ActionOut(Schema):
    name: str
    label: str
    to: str | None
    description: str = ""
    form: dict[str, Any] = Field(description="表单的 JSON Schema")


class ActionIn(Strict):
    version: int = Field(ge=1, le=2**31, description="读取时的投诉版本；不一致时返回 409")
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


class Possible(Schema):
    name: str
    label: str


class DocumentOut(Schema):
    id: int
    kind: str
    title: str
    serial: str = Field(description="文号")
    is_public: bool = Field(description="是否送达投诉人")
    issued_at: datetime
    issued_by: str
    corrects: int | None = Field(description="更正的是哪份公文")
    reason: str
    download: str = Field(description="PDF 下载地址")


# --- reference data ---------------------------------------------------------------------------


class DepartmentOut(Schema):
    code: str
    name: str
    parent: str | None
    site: str
    is_active: bool


class CategoryOut(Schema):
    process: str
    code: str
    label: str
    department: str | None
    department_name: str | None
    is_active: bool


class UserOut(Schema):
    username: str
    display_name: str
    department: str | None
    roles: list[str]
    is_active: bool


class TokenInfo(Schema):
    prefix: str
    name: str
    expires_at: datetime | None
    roles: list[str] = Field(description="令牌限定的角色；空表示用户的全部角色")
    departments: list[str] = Field(description="令牌限定的部门；空表示不限")


class MeOut(Schema):
    user: UserOut = Field(description="生效的身份：角色是用户角色与令牌限定角色的交集")
    token: TokenInfo


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    complaint_id: int | None
    created_at: datetime
    read_at: datetime | None


class MarkedRead(Schema):
    marked: int


# --- process definitions ----------------------------------------------------------------------


class ProcessSummary(Schema):
    name: str
    version: int
    label: str
    flows: list[str]
    description: str
    is_active: bool
    installed_at: datetime


class StateOut(Schema):
    name: str
    label: str
    initial: bool
    final: bool
    closed: bool
    description: str


class ProcessActionOut(Schema):
    name: str
    label: str
    from_states: list[str]
    to: str | None
    roles: list[str]
    visibility: str
    description: str
    form: dict[str, Any] = Field(description="表单的 JSON Schema")


class ClockDefOut(Schema):
    name: str
    label: str
    basis: str
    unit: str
    amount: float
    start: list[str]
    stop: list[str]
    pause: list[str]
    resume: list[str]
    warn_before: float | None
    max_extension: float
    extension_roles: list[str]


class ChoiceOut(Schema):
    value: str
    label: str


class CategoryDefOut(Schema):
    code: str
    label: str
    department: str | None


class ProcessOut(ProcessSummary):
    allow_anonymous: bool
    channels: list[ChoiceOut]
    fields: dict[str, Any] = Field(description="登记时行业字段的 JSON Schema")
    categories: list[CategoryDefOut]
    states: list[StateOut]
    actions: list[ProcessActionOut]
    clocks: list[ClockDefOut]


class Problem(Schema):
    file: str
    place: str = Field(description="定义中的位置，如 actions[3].to")
    line: int | None = Field(description="行号（从 1 开始）")
    message: str


class ValidationOut(Schema):
    valid: bool
    name: str | None = None
    label: str | None = None
    version: int | None = None
    states: int = 0
    actions: int = 0
    problems: list[Problem] = Field(default_factory=list)


# --- statistics -------------------------------------------------------------------------------


class StateCount(Schema):
    process: str
    state: str
    label: str
    count: int


class DepartmentCount(Schema):
    department: str | None
    name: str
    count: int


class StatisticsOut(Schema):
    total: int
    open: int
    closed: int
    overdue: int = Field(description="有已超时且仍在计时的时限的投诉")
    due_soon: int = Field(description="有即将到期的时限的投诉")
    by_state: list[StateCount]
    by_department: list[DepartmentCount]
