"""/api/v1: one NinjaAPI, one error shape ({code, message, details}) for every failure, including
unknown paths and unexpected errors; the OpenAPI document declares each operation's errors and the
webhooks Tousu sends."""

import json
import logging
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from tousu import pydantic_zh
from tousu.cases.errors import CaseError
from tousu.db import storage

from .auth import TokenAuth
from .webhook_docs import WEBHOOKS, WEBHOOKS_DESCRIPTION

log = logging.getLogger("tousu.api")


class ChineseJSONRenderer(JSONRenderer):
    """Chinese text as UTF-8, not \\u escapes: readable in logs and by integrators."""

    def render(self, request, data, *, response_status):
        return json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False)


DESCRIPTION = (
    """投诉处理系统接口：工作台能做的事都能通过接口完成，权限相同。

**认证**：`Authorization: Bearer <令牌>`。令牌由 `tousu token create 用户名 [--roles …] [--departments …] [--days N]`
生成（只显示一次，系统只保存其哈希），`tousu token revoke 前缀` 吊销。令牌可限定角色和部门：
生效的权限是用户权限与令牌限定范围的交集。通过接口的每次写操作都记为案件事件，操作人含令牌前缀。

**错误**：所有错误都返回同一结构 `{code, message, details}`，message 为中文说明。

**分页**：列表按游标分页，下一页的 cursor 在响应头 `X-Next-Cursor`（及 `Link: rel="next"`）。

"""
    + WEBHOOKS_DESCRIPTION
)


class TousuAPI(NinjaAPI):
    """NinjaAPI whose "method not allowed" answers, too, come in the one error shape."""

    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_405(pattern.callback)
        return urls


def _json_405(view):
    @wraps(view)  # keeps csrf_exempt and the other marks ninja puts on its views
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        allowed = response.get("Allow", "")
        out = error(
            request,
            405,
            "method_not_allowed",
            f"该接口不支持 {request.method}；允许：{allowed}",
            {"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
        )
        out["Allow"] = allowed
        return out

    return wrapped


api = TousuAPI(
    renderer=ChineseJSONRenderer(),
    title="投诉 Tousu API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    openapi_extra={"webhooks": WEBHOOKS},
)


def error(request, status: int, code: str, message: str, details: dict | None = None):
    return api.create_response(
        request, {"code": code, "message": message, "details": details or {}}, status=status
    )


@api.exception_handler(CaseError)
def _case_error(request, exc: CaseError):
    return error(request, exc.status, exc.code, exc.message, exc.details)


# Ninja's locations start with where the value came from, then, for a schema, the parameter's own
# name: neither is part of the place a client named.
_SOURCES = frozenset({"body", "query", "path", "header", "form", "file", "cookie"})
_GROUPS = frozenset({"payload", "filters", "params"})


def _place(loc) -> str:
    loc = list(loc)
    if loc and loc[0] in _SOURCES:
        loc = loc[1:]
    if len(loc) > 1 and loc[0] in _GROUPS:
        loc = loc[1:]
    return pydantic_zh.place(loc)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    problems = []
    for err in exc.errors:
        problems.append({"field": _place(err.get("loc", ())), "message": pydantic_zh.message(err)})
    summary = "；".join(f"{p['field']}：{p['message']}" for p in problems[:5])
    return error(request, 422, "invalid", f"请求数据有误：{summary}", {"errors": problems})


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return error(request, 401, "unauthorized", "需要有效的 API 令牌：Authorization: Bearer <令牌>")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error(request, 400, "malformed_json", "请求体不是合法的 JSON")
    return error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error(request, 404, "not_found", "资源不存在")


@api.exception_handler(MultiPartParserError)
def _malformed_multipart(request, exc):
    return error(
        request,
        400,
        "malformed_body",
        "上传内容无法解析：文件应以 multipart/form-data 发送（Content-Type 带 boundary），字段名 file",
    )


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    return error(request, 413, "too_large", "请求体太大：JSON 最大 2 MB，附件最大 10 MB")


@api.exception_handler(DatabaseError)
def _database_error(request, exc: DatabaseError):
    # A full disk is the operator's to fix, not a bug: say so, and that nothing was saved (the
    # transaction rolled back), so the client retries later, with the same Idempotency-Key.
    if not storage.is_storage_full(exc):
        return _unexpected(request, exc)
    log.error("storage full on %s %s: %s", request.method, request.path, exc)
    response = error(request, 503, "storage_full", storage.FULL_MESSAGE)
    response["Retry-After"] = str(storage.RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(Exception)
def _unexpected(request, exc):
    # Still a bug to fix (it is logged with its traceback), but the client gets the one shape.
    log.exception("API error on %s %s", request.method, request.path)
    return error(request, 500, "server_error", "服务器内部错误，已记录；请稍后重试或联系管理员")


from . import complaints, documents, processes, reference, statistics  # noqa: E402

api.add_router("/complaints", complaints.router)
api.add_router("/complaints", documents.router)
api.add_router("", reference.router)
api.add_router("/processes", processes.router)
api.add_router("/statistics", statistics.router)
api.add_router("/triage", "tousu.triage.api.router")
api.add_router("", "tousu.owners.api.router")
api.add_router("", "tousu.supervision.api.router")
api.add_router("", "tousu.messaging.api.router")

# Last: any other path under /api/v1/ answers in the same error shape, not Django's HTML page.
fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False
)
def _unknown_path(request, rest: str):
    return error(
        request, 404, "not_found", f"没有这个接口：{request.path}；接口列表见 /api/v1/docs"
    )


api.add_router("", fallback)
