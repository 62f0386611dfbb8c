"""Complaints: create, read, list, the actions possible now, and applying one. Thin: services write,
selectors read, the engine decides."""

from ninja import Header, Router, Status

from tousu.accounts.models import Organisation
from tousu.cases import engine, selectors, services
from tousu.cases.errors import Forbidden, Invalid, NotFound
from tousu.cases.forms import json_schema
from tousu.cases.models import Complaint
from tousu.cases.privacy import party_dict
from tousu.clocks import services as clock_services
from tousu.clocks.services import time_left
from tousu.processes.selectors import active_process

from .schemas import (
    ActionApplied,
    ActionIn,
    ActionOut,
    ComplaintCreated,
    ComplaintIn,
    ComplaintOut,
    ComplaintSummary,
    ErrorOut,
    ExtendIn,
)

router = Router(tags=["投诉"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _actor(request) -> str:
    token = getattr(request, "api_token", None)
    return f"{request.user}（API 令牌 {token.prefix}…）" if token else str(request.user)


@router.post("", response={201: ComplaintCreated, **ERRORS}, summary="登记投诉")
def create_complaint(
    request,
    payload: ComplaintIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """登记一件投诉。带 `Idempotency-Key` 头的重复请求只登记一次，并返回第一次的结果。"""
    user = request.user
    if not user.has_role("receiver", "officer"):
        raise Forbidden("只有接待员或投诉专员可以登记投诉")
    name = payload.process or Organisation.current().default_process
    process = active_process(name)
    if process is None:
        raise Invalid(f"流程「{name}」未安装", {"fields": {"process": ["未安装的流程"]}})
    data = payload.dict()
    status, body = services.register_once(
        key=idempotency_key,
        user=user,
        payload=data,
        process=process,
        channel=payload.channel,
        content=payload.content,
        title=payload.title,
        request=payload.request,
        parties=[p.dict() for p in payload.parties],
        fields=payload.fields,
        category=payload.category,
        received_at=payload.received_at,
        is_anonymous=payload.is_anonymous,
        via="api",
        actor_name=_actor(request),
        strict_types=True,
    )
    return Status(status, body)


def _summary(c: Complaint) -> dict:
    return {
        "id": c.pk,
        "tracking_number": c.tracking_number,
        "process": c.process.name,
        "state": c.state,
        "state_label": c.state_label,
        "version": c.version,
        "channel": c.channel,
        "title": c.title,
        "category": c.category.code if c.category else None,
        "department": c.department.code if c.department else None,
        "received_at": c.received_at,
    }


@router.get("", response={200: list[ComplaintSummary], **ERRORS}, summary="投诉列表")
def list_complaints(request, state: str | None = None, limit: int = 50, offset: int = 0):
    """按登记时间倒序；部门人员只看到本部门的投诉。"""
    if not (1 <= limit <= 200) or offset < 0:
        raise Invalid("limit 应在 1–200 之间，offset 不能为负")
    qs = selectors.visible_complaints(request.user)
    if state:
        qs = qs.filter(state=state)
    return Status(200, [_summary(c) for c in qs[offset : offset + limit]])


@router.get("/{int:complaint_id}", response={200: ComplaintOut, **ERRORS}, summary="投诉详情")
def get_complaint(request, complaint_id: int):
    """当事人的个人信息按角色脱敏。"""
    complaint = selectors.complaint_for(request.user, complaint_id)
    detail = selectors.case_detail(complaint)
    return Status(
        200,
        {
            **_summary(complaint),
            "process_version": complaint.process.version,
            "content": complaint.content,
            "request": complaint.request,
            "complexity": complaint.complexity,
            "severity": complaint.severity,
            "flags": complaint.flags,
            "fields": complaint.fields,
            "is_anonymous": complaint.is_anonymous,
            "closed_at": complaint.closed_at,
            "parties": [party_dict(p, reveal=False) for p in detail["parties"]],
            "tasks": [
                {
                    "id": t.pk,
                    "department": t.department.code,
                    "department_name": t.department.name,
                    "kind": t.kind,
                    "state": t.state,
                    "is_lead": t.is_lead,
                    "opened_at": t.opened_at,
                    "closed_at": t.closed_at,
                }
                for t in detail["tasks"]
            ],
            "events": [
                {
                    "id": e.pk,
                    "action": e.action,
                    "label": e.label,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "actor": e.actor_name,
                    "via": e.via,
                    "payload": e.payload,
                    "comment": e.comment,
                    "visibility": e.visibility,
                    "created_at": e.created_at,
                }
                for e in detail["events"]
            ],
            "clocks": [
                {
                    "id": k.pk,
                    "name": k.name,
                    "label": k.label,
                    "basis": k.basis,
                    "unit": k.unit,
                    "amount": k.amount,
                    "state": k.state,
                    "started_at": k.started_at,
                    "due_at": k.due_at,
                    "provisional": k.provisional,
                    "extended": k.extended,
                    "breached": k.breached_at is not None,
                    "time_left": time_left(k),
                }
                for k in detail["clocks"]
            ],
        },
    )


@router.get(
    "/{int:complaint_id}/actions",
    response={200: list[ActionOut], **ERRORS},
    summary="当前可执行的动作",
)
def list_actions(request, complaint_id: int):
    complaint = selectors.complaint_for(request.user, complaint_id)
    return Status(
        200,
        [
            {
                "name": a.name,
                "label": a.label,
                "to": a.to,
                "form": json_schema(a.form, complaint.process.name),
            }
            for a in engine.possible_actions(complaint, request.user)
        ],
    )


@router.post(
    "/{int:complaint_id}/actions/{name}",
    response={200: ActionApplied, **ERRORS},
    summary="执行动作",
)
def apply_action(request, complaint_id: int, name: str, payload: ActionIn):
    """版本不一致返回 409；当前不可执行返回 422 并列出可执行的动作；角色不允许返回 403。"""
    complaint = selectors.complaint_for(request.user, complaint_id)
    complaint, event = engine.apply_action(
        complaint,
        request.user,
        name,
        data=payload.data,
        version=payload.version,
        comment=payload.comment,
        via="api",
        actor_name=_actor(request),
        strict_types=True,
    )
    return Status(
        200,
        {
            "id": complaint.pk,
            "state": complaint.state,
            "state_label": complaint.state_label,
            "version": complaint.version,
            "event_id": event.pk,
        },
    )


@router.post(
    "/{int:complaint_id}/clocks/{int:clock_id}/extend",
    response={200: ActionApplied, **ERRORS},
    summary="时限延期",
)
def extend_clock(request, complaint_id: int, clock_id: int, payload: ExtendIn):
    """由流程定义中指定的角色批准，需说明理由，不能超过该时限的最大延期。"""
    complaint = selectors.complaint_for(request.user, complaint_id)
    clock = complaint.clocks.filter(pk=clock_id).first()
    if clock is None:
        raise NotFound(f"投诉 {complaint_id} 没有时限 {clock_id}")
    clock_services.extend(clock, request.user, payload.amount, payload.reason)
    complaint.refresh_from_db()
    event = complaint.events.filter(action="clock_extended").latest("id")
    return Status(
        200,
        {
            "id": complaint.pk,
            "state": complaint.state,
            "state_label": complaint.state_label,
            "version": complaint.version,
            "event_id": event.pk,
        },
    )
