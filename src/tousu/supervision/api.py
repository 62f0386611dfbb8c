"""/api/v1 for 催办 and 督办. Thin: the services decide who may and what happens."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Header, Router, Schema, Status

from tousu.api import access
from tousu.api.params import Id
from tousu.api.schemas import READ, WRITE, Strict, Text
from tousu.cases.errors import NotFound

from . import selectors, services

router = Router(tags=["承办与督办"])


class ChaseIn(Strict):
    note: Text = Field("", max_length=500, description="催办说明")


class Chased(Schema):
    event_id: int
    chase_count: int = Field(description="该投诉累计被催办的次数")


class SuperviseIn(Strict):
    instruction: Text = Field(min_length=1, max_length=2000, description="督办要求")
    workdays: int = Field(ge=1, le=services.MAX_WORKDAYS, description="督办时限（工作日）")


class AnswerIn(Strict):
    answer: Text = Field(min_length=1, max_length=5000, description="督办回复")


class SupervisionOut(Schema):
    id: int
    state: str = Field(description="open 督办中；answered 已回复")
    instruction: str
    placed_by: str
    placed_at: datetime
    workdays: int
    due_at: datetime = Field(description="督办截止（按工作日历计算）")
    overdue: bool
    answer: str
    answered_by: str
    answered_at: datetime | None
    on_time: bool | None


def _out(s, now=None) -> dict:
    from django.utils import timezone

    now = now or timezone.now()
    return {
        "id": s.pk,
        "state": s.state,
        "instruction": s.instruction,
        "placed_by": s.placed_by_name,
        "placed_at": s.placed_at,
        "workdays": s.workdays,
        "due_at": s.due_at,
        "overdue": s.state == s.OPEN and s.due_at < now,
        "answer": s.answer,
        "answered_by": s.answered_by_name,
        "answered_at": s.answered_at,
        "on_time": s.on_time,
    }


@router.post("/complaints/{complaint_id}/chase", response={200: Chased, **WRITE}, summary="催办")
def chase(
    request,
    complaint_id: Id,
    payload: ChaseIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="重试时带同一个键：只催办一次，并返回第一次的结果",
    ),
):
    """投诉专员或领导催办：通知承办人和责任部门负责人，记为事件，投诉的催办次数加一。带
    `Idempotency-Key` 头的重复请求只催办一次。"""
    complaint = access.complaint(request, complaint_id)
    event = services.chase(
        complaint,
        request.user,
        payload.note,
        via="api",
        actor_name=access.actor(request),
        key=idempotency_key,
    )
    return Status(200, {"event_id": event.pk, "chase_count": event.payload["count"]})


@router.get(
    "/complaints/{complaint_id}/supervision",
    response={200: list[SupervisionOut], **READ},
    summary="督办记录",
)
def list_supervision(request, complaint_id: Id):
    complaint = access.complaint(request, complaint_id)
    return Status(200, [_out(s) for s in selectors.for_case(complaint)])


@router.post(
    "/complaints/{complaint_id}/supervision",
    response={201: SupervisionOut, **WRITE},
    summary="督办",
)
def place(request, complaint_id: Id, payload: SuperviseIn):
    """领导督办：督办要求和以工作日计的督办时限（按官方工作日历），责任部门须在时限内回复。"""
    complaint = access.complaint(request, complaint_id)
    s = services.place(
        complaint,
        request.user,
        instruction=payload.instruction,
        workdays=payload.workdays,
        via="api",
        actor_name=access.actor(request),
    )
    return Status(201, _out(s))


@router.post(
    "/complaints/{complaint_id}/supervision/{supervision_id}/answer",
    response={200: SupervisionOut, **WRITE},
    summary="督办回复",
)
def answer(request, complaint_id: Id, supervision_id: Id, payload: AnswerIn):
    complaint = access.complaint(request, complaint_id)
    s = complaint.supervisions.filter(pk=supervision_id).first()
    if s is None:
        raise NotFound(f"投诉 {complaint_id} 没有督办 {supervision_id}")
    s = services.answer(
        s, request.user, payload.answer, via="api", actor_name=access.actor(request)
    )
    return Status(200, _out(s))
