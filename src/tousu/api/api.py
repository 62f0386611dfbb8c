"""/api/v1: one NinjaAPI, one error shape ({code, message, details}) for every failure."""

import json

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from tousu import pydantic_zh
from tousu.cases.errors import CaseError

from .auth import TokenAuth


class ChineseJSONRenderer(JSONRenderer):
    """Chinese text as UTF-8, not \\u escapes: readable in logs and by integrators."""

    def render(self, request, data, *, response_status):
        return json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False)


api = NinjaAPI(
    renderer=ChineseJSONRenderer(),
    title="投诉 Tousu API",
    version="1",
    description="投诉处理系统接口。认证：`Authorization: Bearer <令牌>`（`tousu token create 用户名` 生成）。"
    "所有错误都返回 {code, message, details}。",
    auth=TokenAuth(),
    urls_namespace="api",
)


def error(request, status: int, code: str, message: str, details: dict | None = None):
    return api.create_response(
        request, {"code": code, "message": message, "details": details or {}}, status=status
    )


@api.exception_handler(CaseError)
def _case_error(request, exc: CaseError):
    return error(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    problems = []
    for err in exc.errors:
        # Drop ninja's own wrapper levels ("body", "payload") from the reported place.
        loc = [p for p in err.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        problems.append({"field": pydantic_zh.place(loc), "message": pydantic_zh.message(err)})
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


from . import complaints  # noqa: E402  (routers register themselves on `api`)

api.add_router("/complaints", complaints.router)
