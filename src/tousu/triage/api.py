"""Triage endpoints: suggestions while registering, duplicates of a case, linking and merging.
Thin: selectors read, services write. Mounted by the API at /triage:

    api.add_router("/triage", tousu.triage.api.router)
"""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from tousu.api import access
from tousu.api.schemas import Code, Text
from tousu.cases.errors import Forbidden, Invalid
from tousu.cases.models import Complaint
from tousu.cases.selectors import masks_for
from tousu.processes.selectors import active_process

from . import selectors, services


class ErrorOut(Schema):
    code: str
    message: str
    details: dict


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class SuggestIn(Schema):
    process: Code = Field(..., description="流程名，如 hospital")
    # Text: no NUL, valid UTF-8; they are looked up in the database.
    text: Text = Field(..., description="投诉内容", min_length=1, max_length=20000)
    phone: Text | None = Field(None, description="投诉人电话（查重复）", max_length=30)
    id_number: Text | None = Field(None, description="投诉人证件号码（查重复）", max_length=30)


class AlternativeOut(Schema):
    category: str
    category_label: str
    department: str
    department_label: str
    confidence: float


class RiskOut(Schema):
    code: str
    label: str
    severity: str
    terms: list[str]


class DuplicateOut(Schema):
    id: int
    tracking_number: str
    title: str
    state: str
    state_label: str
    received_at: datetime
    similarity: float
    same_complainant: bool
    reasons: list[str]
    reason_labels: list[str]
    link: str | None = None


class SuggestOut(Schema):
    category: str | None = Field(None, description="建议类别；置信度不足时为空，由人工选择")
    category_label: str | None = None
    department: str | None = None
    department_label: str | None = None
    confidence: float | None = None
    alternatives: list[AlternativeOut]
    explanation: str
    source: str = Field(..., description="model（模型）、keywords（关键词规则）或 none")
    model_version: int | None = None
    min_confidence: float
    risk_flags: list[RiskOut]
    duplicates: list[DuplicateOut]
    repeat_count: int = Field(..., description="该投诉人（电话或证件号码）以往投诉件数")


class LinkIn(Schema):
    other: int = Field(..., description="另一件投诉的 id")
    note: Text = Field("", max_length=200)  # Text: no NUL, valid UTF-8 (PostgreSQL stores it)


class MergeIn(Schema):
    duplicate: int = Field(..., description="并入本件的重复投诉 id")
    note: Text = Field("", max_length=200)


class LinkOut(Schema):
    other_id: int
    other_number: str
    kind: str
    label: str
    created_at: datetime


class ModelOut(Schema):
    process: str
    version: int
    is_active: bool
    created_at: datetime
    algorithm: str
    classes: list[str]
    n_samples: int
    n_cases: int


router = Router(tags=["智能分派"])


def _staff(request) -> None:
    user = request.user
    if not getattr(user, "is_authenticated", False) or not user.role_codes:
        raise Forbidden("需要工作人员身份")


def _duplicate(d) -> dict:
    return {**d.__dict__, "reason_labels": d.reason_labels}


def _masked(duplicates: list) -> list:
    """Other cases' titles, masked like every list (cases/privacy.py)."""
    from dataclasses import replace

    cases = Complaint.objects.select_related("process").filter(pk__in=[d.id for d in duplicates])
    masks = masks_for(cases)
    return [replace(d, title=masks[d.id].text(d.title)) if d.id in masks else d for d in duplicates]


def _repeat_count(request, phone, id_number) -> int:
    """How often this complainant complained: among all cases for a caller who sees all of them;
    a caller limited to some departments (its token, or a departmental role) learns only of the
    cases it may see, never whether the number complained anywhere else."""
    if access.scope_of(request) is None and not request.user.is_departmental_only:
        return selectors.repeat_count(phone, id_number)
    from django.db.models import Q

    phones, ids = selectors.phone_variants(phone), selectors.id_variants(id_number)
    if not phones and not ids:
        return 0
    match = Q(parties__role="complainant") & (
        Q(parties__phone__in=phones) | Q(parties__id_number__in=ids)
    )
    return access.complaints(request).filter(match).distinct().count()


def _visible(request, duplicates: list) -> list:
    """Only the cases the caller may open: a department's staff, or a token limited to some
    departments, must not learn of other departments' cases through the duplicate check."""
    ids = {d.id for d in duplicates}
    if not ids:
        return duplicates
    seen = set(access.complaints(request).filter(pk__in=ids).values_list("pk", flat=True))
    return [d for d in duplicates if d.id in seen]


@router.post("/suggest", response={200: SuggestOut, **ERRORS}, summary="分类建议、风险提示与查重")
def suggest(request, payload: SuggestIn):
    """登记时调用：建议的投诉类别和责任部门（置信度不足时不给建议，只列出候选）、风险提示、
    可能重复的投诉（同一电话或证件号码，或内容相近）。"""
    _staff(request)
    if not request.user.has_role("receiver", "officer"):  # as for registering, on the API and web
        raise Forbidden("只有接待员或投诉专员可以在登记时获取分类建议和查重结果")
    if active_process(payload.process) is None:
        raise Invalid(f"流程「{payload.process}」未安装", {"fields": {"process": ["未安装的流程"]}})
    r = selectors.rank(payload.process, payload.text)
    threshold = selectors.min_confidence()
    top = r.top if r.top and r.top.confidence >= threshold else None
    return {
        "category": top.category if top else None,
        "category_label": top.category_label if top else None,
        "department": top.department if top else None,
        "department_label": top.department_label if top else None,
        "confidence": top.confidence if top else None,
        "alternatives": [a.__dict__ for a in r.items[(1 if top else 0) : 4]],
        "explanation": r.explanation if top else "",
        "source": r.source,
        "model_version": r.model_version,
        "min_confidence": threshold,
        "risk_flags": [f.__dict__ for f in selectors.risk_flags(payload.text)],
        "duplicates": [
            _duplicate(d)
            for d in _masked(
                _visible(
                    request,
                    selectors.find_duplicates(
                        payload.process, payload.text, payload.phone, payload.id_number
                    ),
                )
            )
        ],
        "repeat_count": _repeat_count(request, payload.phone, payload.id_number),
    }


@router.get(
    "/complaints/{complaint_id}/duplicates",
    response={200: list[DuplicateOut], **ERRORS},
    summary="可能重复的投诉",
)
def duplicates(request, complaint_id: int):
    """同一投诉人（电话、证件号码）在时间窗口内的其他投诉，以及内容相近的投诉。"""
    complaint = access.complaint(request, complaint_id)
    return [_duplicate(d) for d in _masked(_visible(request, selectors.duplicates_of(complaint)))]


@router.get(
    "/complaints/{complaint_id}/links",
    response={200: list[LinkOut], **ERRORS},
    summary="关联与合并",
)
def links(request, complaint_id: int):
    complaint = access.complaint(request, complaint_id)
    return [v.__dict__ for v in selectors.links_of(complaint)]


@router.post(
    "/complaints/{complaint_id}/link",
    response={201: list[LinkOut], **ERRORS},
    summary="关联两件投诉",
)
def link(request, complaint_id: int, payload: LinkIn):
    """两件投诉涉及同一事项：互相关联，各自继续办理，双方各记一条事件。"""
    complaint = access.complaint(request, complaint_id)
    other = access.complaint(request, payload.other)
    services.link(complaint, other, request.user, payload.note)
    return Status(201, [v.__dict__ for v in selectors.links_of(complaint)])


@router.post(
    "/complaints/{complaint_id}/merge",
    response={201: list[LinkOut], **ERRORS},
    summary="把重复投诉并入本件",
)
def merge(request, complaint_id: int, payload: MergeIn):
    """重复投诉并入本件（主投诉）：两件的事件记录都保留，重复件标记为已合并并停止计时。"""
    complaint = access.complaint(request, complaint_id)
    duplicate = access.complaint(request, payload.duplicate)
    services.merge(complaint, duplicate, request.user, payload.note)
    return Status(201, [v.__dict__ for v in selectors.links_of(complaint)])


@router.get("/models", response={200: list[ModelOut], **ERRORS}, summary="分类模型版本")
def models(request, process: str | None = None):
    _staff(request)
    return [
        {
            "process": m.process_name,
            "version": m.version,
            "is_active": m.is_active,
            "created_at": m.created_at,
            "algorithm": m.algorithm,
            "classes": m.classes,
            "n_samples": m.n_samples,
            "n_cases": m.n_cases,
        }
        for m in selectors.models_of(process)
    ]


class WaveCaseOut(Schema):
    id: int
    tracking_number: str
    received_at: datetime
    similarity: float


class WaveOut(Schema):
    id: int
    process: str
    respondent: str
    people: int = Field(..., description="不同投诉人的人数")
    threshold: int = Field(..., description="认定为群体性投诉所需的人数（按模板）")
    started_at: datetime
    first: str = Field(..., description="首件投诉编号（统计中的集体投诉按首件计一次）")
    cases: list[WaveCaseOut] = Field(..., description="调用方可查看的本批投诉")


@router.get("/waves", response={200: list[WaveOut], **ERRORS}, summary="群体性投诉")
def waves_list(request, process: str | None = None):
    """同一事项或同一被投诉方、时间窗口内不同投诉人达到模板规定人数的投诉批次；每批的每件投诉都带
    「群体性事件」标记，统计中的集体投诉数等于批次数（按首件的受理日期计）。"""
    from . import waves

    _staff(request)
    rows = list(waves.waves(process))
    visible = set(
        access.complaints(request)
        .filter(pk__in=[m.complaint_id for w in rows for m in w.members.all()])
        .values_list("pk", flat=True)
    )
    from tousu.cases.selectors import masks_for

    # The respondent may be a person named on the first case: masked as every list is.
    masks = masks_for([w.first for w in rows])
    out = []
    for w in rows:
        cases = [
            {
                "id": m.complaint_id,
                "tracking_number": m.complaint.tracking_number,
                "received_at": m.complaint.received_at,
                "similarity": m.similarity,
            }
            for m in sorted(w.members.all(), key=lambda m: m.complaint.received_at)
            if m.complaint_id in visible
        ]
        if not cases:
            continue  # a department learns only of waves among the cases it may see
        out.append(
            {
                "id": w.pk,
                "process": w.process_name,
                "respondent": masks[w.first_id].text(w.respondent),
                "people": w.people,
                "threshold": w.threshold,
                "started_at": w.started_at,
                "first": w.first.tracking_number,
                "cases": cases,
            }
        )
    return out


class RouteUndoIn(Schema):
    note: Text = Field("", max_length=200, description="说明（可选）")


class RouteCorrectIn(Schema):
    category: Code = Field(description="正确的投诉类别代码")
    note: Text = Field("", max_length=200, description="说明（可选）")


class RouteOut(Schema):
    event_id: int
    label: str
    category: str | None
    department: str | None
    version: int


def _route_out(event) -> dict:
    c = event.complaint
    return {
        "event_id": event.pk,
        "label": event.label,
        "category": c.category.code if c.category_id else None,
        "department": c.department.code if c.department_id else None,
        "version": c.version,
    }


@router.post(
    "/complaints/{complaint_id}/auto-route/undo",
    response={200: RouteOut, **ERRORS},
    summary="撤销自动分派",
)
def route_undo(request, complaint_id: int, payload: RouteUndoIn):
    """系统按置信度自动分派的类别与部门撤回：投诉回到未分类，记一条「撤销自动分派」事件和一条更正记录。"""
    from . import routing

    complaint = access.complaint(request, complaint_id)
    return _route_out(routing.undo(complaint, request.user, payload.note))


@router.post(
    "/complaints/{complaint_id}/auto-route/correct",
    response={200: RouteOut, **ERRORS},
    summary="更正自动分派的类别",
)
def route_correct(request, complaint_id: int, payload: RouteCorrectIn):
    """把自动分派的类别改为正确的类别（部门随类别），记一条事件和一条更正记录；更正累计到设定条数时后台重新训练。"""
    from . import routing

    complaint = access.complaint(request, complaint_id)
    return _route_out(routing.correct(complaint, request.user, payload.category, payload.note))
