"""Process definitions: the installed flows (read), their diagrams, and checking a definition file
before an administrator installs it."""

from django.http import HttpResponse
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from tousu.cases.errors import Forbidden, NotFound
from tousu.cases.forms import json_schema
from tousu.processes.diagram import render_svg
from tousu.processes.models import ProcessDefinition
from tousu.processes.validation import DefinitionError, Problem, load_text

from .params import ProcessName
from .schemas import READ, ProcessOut, ProcessSummary, ValidationOut, errors

router = Router(tags=["流程"])
MAX_DEFINITION_BYTES = 512 * 1024


def _summary(p: ProcessDefinition) -> dict:
    d = p.definition
    return {
        "name": p.name,
        "version": p.version,
        "label": p.label,
        "flows": list(d.flows),
        "description": d.description,
        "is_active": p.is_active,
        "installed_at": p.installed_at,
    }


class VersionQuery(Schema):
    version: int | None = Field(None, ge=1, le=100000, description="版本，默认为当前版本")


def _process(name: str, version: int | None) -> ProcessDefinition:
    qs = ProcessDefinition.objects.filter(name=name)
    p = qs.filter(version=version).first() if version else qs.filter(is_active=True).first()
    if p is None:
        which = f" v{version}" if version else ""
        raise NotFound(f"流程「{name}{which}」未安装")
    return p


# Before /{name}: Django takes the first pattern that matches "validate".
@router.post(
    "/validate",
    response={200: ValidationOut, **errors(400, 401, 403, 413, 422)},
    summary="校验流程定义",
)
def validate_definition(request, file: File[UploadedFile]):
    """上传一个 YAML 定义文件（multipart/form-data，字段 `file`，最大 512 KB），返回是否通过以及每个问题的
    位置（如 `actions[3].to`）和行号。只校验，不安装（安装用 `tousu process install`）。管理员可用。"""
    if not request.user.has_role("admin"):
        raise Forbidden("只有管理员可以校验流程定义")
    name = (file.name or "definition.yaml").replace("\\", "/").rsplit("/", 1)[-1][:100]
    raw = file.read(MAX_DEFINITION_BYTES + 1)
    if len(raw) > MAX_DEFINITION_BYTES:
        return Status(200, _invalid(name, "(文件)", None, "文件太大：流程定义最大 512 KB"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Status(200, _invalid(name, "(文件)", None, "文件编码无效，应为 UTF-8"))
    if "\x00" in text:
        return Status(200, _invalid(name, "(文件)", None, "不是文本文件（含 NUL 字符）"))
    try:
        d = load_text(text, name)
    except DefinitionError as exc:
        return Status(200, {"valid": False, "problems": [_problem(p) for p in exc.problems]})
    except RecursionError:
        return Status(200, _invalid(name, "YAML", None, "嵌套层次太深"))
    return Status(
        200,
        {
            "valid": True,
            "name": d.name,
            "label": d.label,
            "version": d.version,
            "states": len(d.states),
            "actions": len(d.actions),
            "problems": [],
        },
    )


@router.get("", response={200: list[ProcessSummary], **errors(401)}, summary="已安装的流程")
def list_processes(request):
    """每个流程的当前版本（已有的投诉仍按各自的版本处理）。"""
    return Status(200, [_summary(p) for p in ProcessDefinition.objects.filter(is_active=True)])


@router.get("/{name}", response={200: ProcessOut, **READ}, summary="流程定义")
def get_process(request, name: ProcessName, params: Query[VersionQuery]):
    """状态、动作（含角色和表单的 JSON Schema）、时限、渠道、行业字段、类别。"""
    p = _process(name, params.version)
    d = p.definition
    return Status(
        200,
        {
            **_summary(p),
            "allow_anonymous": d.allow_anonymous,
            "channels": [{"value": c.value, "label": c.label} for c in d.channels],
            "fields": json_schema(d.fields, p.name),
            "categories": [
                {"code": c.code, "label": c.label, "department": c.department} for c in d.categories
            ],
            "states": [
                {
                    "name": s.name,
                    "label": s.label,
                    "initial": s.initial,
                    "final": s.final,
                    "closed": s.closed or s.final,
                    "description": s.description,
                }
                for s in d.states
            ],
            "actions": [
                {
                    "name": a.name,
                    "label": a.label,
                    "from_states": list(a.source),
                    "to": a.to,
                    "roles": list(a.roles),
                    "visibility": a.visibility,
                    "description": a.description,
                    "form": json_schema(a.form, p.name),
                }
                for a in d.actions
            ],
            "clocks": [
                {
                    "name": c.name,
                    "label": c.label,
                    "basis": c.basis,
                    "unit": c.unit,
                    "amount": c.amount,
                    "start": list(c.start),
                    "stop": list(c.stop),
                    "pause": list(c.pause),
                    "resume": list(c.resume),
                    "warn_before": c.warn_before,
                    "max_extension": c.max_extension,
                    "extension_roles": list(c.extension_roles),
                }
                for c in d.clocks
            ],
        },
    )


SVG = {
    200: {
        "description": "流程图（SVG，离线绘制）",
        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/{name}/diagram",
    response={200: None, **READ},
    summary="流程图",
    openapi_extra={"responses": SVG},
)
def process_diagram(request, name: ProcessName, params: Query[VersionQuery]):
    svg = render_svg(_process(name, params.version).definition)
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


def _problem(p: Problem) -> dict:
    return {"file": p.file, "place": p.place, "line": p.line, "message": p.message}


def _invalid(file: str, place: str, line: int | None, message: str) -> dict:
    return {"valid": False, "problems": [_problem(Problem(file, place, line, message))]}
