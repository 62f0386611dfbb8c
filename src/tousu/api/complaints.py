"""Complaints and everything on them: create, list, read, the actions possible now and applying one,
parties (masked; revealed on purpose and on the record), tasks, events, clocks, attachments.
Thin: services write, selectors read, the engine decides; access.py applies the caller's scope."""

import inspect
from typing import Literal

from django.conf import settings
from django.http import FileResponse, HttpResponse
from ninja import File, Form, Header, Query, Router, Status, UploadedFile

from tousu.accounts.models import Organisation
from tousu.accounts.roles import PERSONAL_DATA_ROLES
from tousu.cases import engine, selectors, services
from tousu.cases.attachments import ALLOWED_TYPES, REMOVED_MESSAGE, add_attachment, file_removed
from tousu.cases.errors import CaseError, Forbidden, Invalid, NotFound
from tousu.cases.forms import json_schema
from tousu.cases.models import Complaint
from tousu.cases.privacy import CaseMask, may_reveal, party_dict
from tousu.clocks import services as clock_services
from tousu.clocks.services import time_left
from tousu.processes.selectors import active_process

from . import access
from .params import Id, Name
from .schemas import (
    READ,
    WRITE,
    ActionApplied,
    ActionIn,
    ActionOut,
    AttachmentOut,
    ClockOut,
    ComplaintCreated,
    ComplaintFilters,
    ComplaintIn,
    ComplaintOut,
    ComplaintSummary,
    EventOut,
    ExtendIn,
    PartyOut,
    RevealedParties,
    TaskOut,
    errors,
)
from .selectors import cursor_page, filter_complaints

router = Router(tags=["投诉"])


class Gone(CaseError):
    """What was there is no more: an attachment removed when the case's retention period ended."""

    status, code = 410, "gone"


@router.post("", response={201: ComplaintCreated, **WRITE}, summary="登记投诉")
def create_complaint(
    request,
    payload: ComplaintIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="可见 ASCII 字符，最长 100，如 UUID",
    ),
):
    """登记一件投诉（流程定义允许登记的角色：接待员、投诉专员；实行首诉负责制的流程中也包括科室人员，
    投诉从其所在科室开始）。带 `Idempotency-Key` 头的重复请求只登记一次，并返回第一次的结果。"""
    user = request.user
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
        actor_name=access.actor(request),
        strict_types=True,
    )
    return Status(status, body)


def _summary(c: Complaint, mask: CaseMask) -> dict:
    return {
        "id": c.pk,
        "tracking_number": c.tracking_number,
        "process": c.process.name,
        "state": c.state,
        "state_label": c.state_label,
        "version": c.version,
        "channel": c.channel,
        "title": mask.text(c.title),
        "category": c.category.code if c.category else None,
        "department": c.department.code if c.department else None,
        "severity": c.severity,
        "flags": c.flags,
        "owner": c.owner.username if c.owner_id else None,
        "received_at": c.received_at,
        "updated_at": c.updated_at,
        "closed_at": c.closed_at,
    }


NEXT_CURSOR_HEADER = {
    200: {
        "headers": {
            "X-Next-Cursor": {
                "description": "下一页的 cursor；没有下一页时不出现",
                "schema": {"type": "string"},
            },
            "Link": {
                "description": '下一页的地址（rel="next"）；没有下一页时不出现',
                "schema": {"type": "string"},
            },
        }
    }
}


@router.get(
    "",
    response={200: list[ComplaintSummary], **READ},
    summary="投诉列表",
    openapi_extra={"responses": NEXT_CURSOR_HEADER},
)
def list_complaints(request, response: HttpResponse, filters: Query[ComplaintFilters]):
    """工作台的筛选：范围、搜索、状态、类别、部门、渠道、时限、标记、是否结案、接收日期。
    按接收时间倒序（或 sort 指定的顺序），游标分页：下一页的 cursor 在响应头 `X-Next-Cursor`。
    部门人员只看到本部门的投诉；限定部门的令牌只看到这些部门的投诉。"""
    qs = filter_complaints(access.complaints(request), filters, request.user).select_related(
        "owner"
    )
    rows, next_cursor = cursor_page(
        qs, sort=filters.sort, cursor=filters.cursor, limit=filters.limit
    )
    if next_cursor:
        response["X-Next-Cursor"] = next_cursor
        query = request.GET.copy()
        query["cursor"] = next_cursor
        response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
    masks = selectors.masks_for(rows)
    return Status(200, [_summary(c, masks[c.pk]) for c in rows])


def _tasks(tasks) -> list[dict]:
    return [
        {
            "id": t.pk,
            "department": t.department.code,
            "department_name": t.department.name,
            "kind": t.kind,
            "state": t.state,
            "is_lead": t.is_lead,
            "owner": t.owner.username if t.owner_id else None,
            "opened_at": t.opened_at,
            "closed_at": t.closed_at,
        }
        for t in tasks
    ]


def _events(complaint: Complaint, events, mask: CaseMask) -> list[dict]:
    return [
        {
            "id": e.pk,
            "action": e.action,
            "label": e.label,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "actor": e.actor_name,
            "via": e.via,
            "payload": e.payload,  # masked like everything else in the view
            "shown": [{"label": label, "value": value} for label, value in shown],
            "comment": e.comment,
            "visibility": e.visibility,
            "created_at": e.created_at,
        }
        for e, shown in selectors.event_rows(complaint, events, mask=mask)
    ]


def _clocks(request, complaint: Complaint, clocks) -> list[dict]:
    out = []
    for k in clocks:
        k.complaint = complaint  # can_extend reads the definition through it: no query per clock
        out.append(
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
                "warn_at": k.warn_at,
                "provisional": k.provisional,
                "extended": k.extended,
                "breached": k.breached_at is not None,
                "time_left": time_left(k),
                "can_extend": clock_services.can_extend(k, request.user),
            }
        )
    return out


def _attachments(complaint: Complaint, attachments, mask: CaseMask) -> list[dict]:
    return [
        {
            "id": a.pk,
            "name": mask.text(a.original_name),
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
            "kind": a.kind,
            "is_public": a.is_public,
            "created_at": a.created_at,
            "download": f"/api/v1/complaints/{complaint.pk}/attachments/{a.pk}",
        }
        for a in attachments
    ]


@router.get("/{complaint_id}", response={200: ComplaintOut, **READ}, summary="投诉详情")
def get_complaint(request, complaint_id: Id):
    """案件全貌：当事人（个人信息按角色脱敏）、任务、事件、时限、附件。"""
    complaint = access.complaint(request, complaint_id)
    detail = selectors.case_detail(complaint)
    mask = CaseMask.for_case(complaint, parties=detail["parties"], events=detail["events"])
    return Status(
        200,
        {
            **_summary(complaint, mask),
            "process_version": complaint.process.version,
            "content": mask.text(complaint.content),
            "request": mask.text(complaint.request),
            "complexity": complaint.complexity,
            "severity": complaint.severity,
            "fields": mask.fields(complaint.fields),
            "is_anonymous": complaint.is_anonymous,
            "owner_name": str(complaint.owner) if complaint.owner_id else "",
            "chase_count": complaint.chase_count,
            "parties": [mask.party(p) for p in detail["parties"]],
            "tasks": _tasks(detail["tasks"]),
            "events": _events(complaint, detail["events"], mask),
            "clocks": _clocks(request, complaint, detail["clocks"]),
            "attachments": _attachments(complaint, detail["attachments"], mask),
        },
    )


@router.get(
    "/{complaint_id}/actions",
    response={200: list[ActionOut], **READ},
    summary="当前可执行的动作",
)
def list_actions(request, complaint_id: Id):
    """调用者现在可以执行的动作，每个带中文名称和表单的 JSON Schema（与工作台的按钮相同）。"""
    complaint = access.complaint(request, complaint_id)
    return Status(
        200,
        [
            {
                "name": a.name,
                "label": a.label,
                "to": a.to,
                "description": a.description,
                "form": json_schema(a.form, complaint.process.name),
            }
            for a in engine.possible_actions(complaint, request.user)
        ],
    )


@router.post(
    "/{complaint_id}/actions/{name}",
    response={200: ActionApplied, **WRITE},
    summary="执行动作",
)
def apply_action(request, complaint_id: Id, name: Name, payload: ActionIn):
    """版本不一致返回 409；当前不可执行返回 422 并列出可执行的动作；角色不允许返回 403。"""
    complaint = access.complaint(request, complaint_id)
    complaint, event = engine.apply_action(
        complaint,
        request.user,
        name,
        data=payload.data,
        version=payload.version,
        comment=payload.comment,
        via="api",
        actor_name=access.actor(request),
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


# --- parties ------------------------------------------------------------------------------------


@router.get(
    "/{complaint_id}/parties", response={200: list[PartyOut], **READ}, summary="当事人（脱敏）"
)
def list_parties(request, complaint_id: Id):
    """姓名、电话、证件号码、地址按规则脱敏；单位和本单位部门不脱敏。"""
    complaint = access.complaint(request, complaint_id)
    return Status(200, [party_dict(p, reveal=False) for p in complaint.parties.all()])


@router.post(
    "/{complaint_id}/parties/reveal",
    response={200: RevealedParties, **WRITE},
    summary="查看未脱敏的当事人信息",
)
def reveal_parties(request, complaint_id: Id):
    """接待员、投诉专员、领导可以查看；每次查看都在案件上记一条「查看未脱敏个人信息」事件。
    同时给出未脱敏的投诉内容和行业字段。"""
    complaint = access.complaint(request, complaint_id)
    if not may_reveal(request.user):
        raise Forbidden(
            "您的角色不能查看未脱敏的个人信息",
            {"roles": sorted(PERSONAL_DATA_ROLES)},
        )
    event = services.record_reveal(
        complaint, request.user, via="api", actor_name=access.actor(request)
    )
    return Status(
        200,
        {
            "parties": [party_dict(p, reveal=True) for p in complaint.parties.all()],
            "title": complaint.title,
            "content": complaint.content,
            "request": complaint.request,
            "fields": complaint.fields,
            "event_id": event.pk,
        },
    )


# --- tasks, events, clocks ----------------------------------------------------------------------


@router.get(
    "/{complaint_id}/tasks", response={200: list[TaskOut], **READ}, summary="任务（派工单）"
)
def list_tasks(request, complaint_id: Id):
    complaint = access.complaint(request, complaint_id)
    return Status(200, _tasks(complaint.tasks.select_related("department", "owner")))


@router.get("/{complaint_id}/events", response={200: list[EventOut], **READ}, summary="事件记录")
def list_events(request, complaint_id: Id):
    """案件的全部事件，按时间顺序；只追加，不修改。"""
    complaint = access.complaint(request, complaint_id)
    events = list(complaint.events.select_related("actor"))
    mask = CaseMask.for_case(complaint, events=events)
    return Status(200, _events(complaint, events, mask))


@router.get("/{complaint_id}/clocks", response={200: list[ClockOut], **READ}, summary="时限")
def list_clocks(request, complaint_id: Id):
    complaint = access.complaint(request, complaint_id)
    return Status(200, _clocks(request, complaint, complaint.clocks.all()))


@router.post(
    "/{complaint_id}/clocks/{clock_id}/extend",
    response={200: ActionApplied, **WRITE},
    summary="时限延期",
)
def extend_clock(request, complaint_id: Id, clock_id: Id, payload: ExtendIn):
    """由流程定义中指定的角色批准，需说明理由，不能超过该时限的最大延期。"""
    complaint = access.complaint(request, complaint_id)
    clock = complaint.clocks.filter(pk=clock_id).first()
    if clock is None:
        raise NotFound(f"投诉 {complaint_id} 没有时限 {clock_id}")
    clock_services.extend(
        clock, request.user, payload.amount, payload.reason, **_extension_actor(request)
    )
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


# clocks.services.extend records the API token's identity once it accepts `via` and `actor_name`
# (asked of the lead engineer); until then its event names the user only.
_EXTEND_NAMES_ACTOR = {"via", "actor_name"} <= set(
    inspect.signature(clock_services.extend).parameters
)


def _extension_actor(request) -> dict:
    return {"via": "api", "actor_name": access.actor(request)} if _EXTEND_NAMES_ACTOR else {}


# --- attachments --------------------------------------------------------------------------------

DOWNLOAD_CONTENT = {
    200: {
        "description": "附件内容（总是作为下载，Content-Disposition: attachment）",
        "content": {
            mime: {"schema": {"type": "string", "format": "binary"}} for mime in ALLOWED_TYPES
        },
    }
}


@router.get(
    "/{complaint_id}/attachments",
    response={200: list[AttachmentOut], **READ},
    summary="附件列表",
)
def list_attachments(request, complaint_id: Id):
    complaint = access.complaint(request, complaint_id)
    mask = CaseMask.for_case(complaint)
    return Status(200, _attachments(complaint, complaint.attachments.order_by("pk"), mask))


@router.post(
    "/{complaint_id}/attachments",
    response={201: AttachmentOut, **WRITE},
    summary="上传附件",
)
def upload_attachment(
    request,
    complaint_id: Id,
    file: File[UploadedFile],
    kind: Form[Literal["evidence", "document", "other"]] = "evidence",
    is_public: Form[bool] = False,
):
    """multipart/form-data，字段 `file`。只接受 JPG、PNG、GIF、WebP 图片或 PDF（按内容判断，不看扩展名），
    每个最大 10 MB。与工作台相同：只有现在能处理该投诉的人可以上传。"""
    complaint = access.complaint(request, complaint_id)
    if not engine.possible_actions(complaint, request.user):
        raise Forbidden("您当前不能为该投诉上传材料：只有现在能处理该投诉的人可以上传")
    limit = settings.TOUSU_ATTACHMENT_MAX_BYTES
    content = file.read(limit + 1)  # one byte over the limit is enough to refuse it
    attachment = add_attachment(
        complaint,
        name=file.name or "附件",
        content=content,
        user=request.user,
        kind=kind,
        is_public=is_public,
        via="api",
        actor_name=access.actor(request),
    )
    return Status(201, _attachments(complaint, [attachment], CaseMask.for_case(complaint))[0])


@router.get(
    "/{complaint_id}/attachments/{attachment_id}",
    response={200: None, **READ, **errors(410)},
    summary="下载附件",
    openapi_extra={"responses": DOWNLOAD_CONTENT},
)
def download_attachment(request, complaint_id: Id, attachment_id: Id):
    complaint = access.complaint(request, complaint_id)
    attachment = complaint.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(f"投诉 {complaint_id} 没有附件 {attachment_id}")
    if file_removed(attachment):
        raise Gone(REMOVED_MESSAGE)
    # Always a download, never rendered inline: an uploaded file must not run in our origin.
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
