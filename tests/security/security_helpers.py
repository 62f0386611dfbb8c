"""Helpers of the security tests, and the machinery of the authorisation matrix (tests/security/test_authz_matrix.py): every URL pattern
the project defines, the values its path parameters take, the bodies its POSTs send, and one request
per (pattern, method, variant, caller) inside a rolled-back savepoint, so no request sees what an
earlier one wrote.

An outcome is the status code, "L" for a redirect to a login page, plus "w" when the request wrote
to the database (a case event, an attachment, a document, a saved filter, a report, an export log, a
link between cases, a notification marked read, a notification preference, an opt-out, a department's
assignment policy)."""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field

from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

ADMIN_PREFIX = "admin/"
LOGIN_PATHS = ("/staff/login/", "/admin/login/")


@dataclass(frozen=True)
class Pattern:
    key: str  # the matrix key: the route, with "#name" where several patterns share a route
    route: str
    name: str | None
    callback: object


def walk(resolver=None, prefix: str = ""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from walk(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name, p.callback


def patterns() -> list[Pattern]:
    """Every pattern of the root URLconf; the admin's many patterns are one group, ADMIN_PREFIX."""
    found = [(r, n, cb) for r, n, cb in walk() if not r.startswith(ADMIN_PREFIX)]
    counts: dict[str, int] = {}
    for route, _, _ in found:
        counts[route] = counts.get(route, 0) + 1
    out = [
        Pattern(route if counts[route] == 1 else f"{route}#{name}", route, name, cb)
        for route, name, cb in found
    ]
    if any(r.startswith(ADMIN_PREFIX) for r, _, _ in walk()):
        out.append(Pattern(ADMIN_PREFIX, ADMIN_PREFIX, "admin", None))
    return out


def ninja_methods(pattern: Pattern) -> set[str] | None:
    """The HTTP methods of a django-ninja operation, read from its PathView (several operations may
    share one path; the URL pattern is named after its own); None for a view that is not ninja's."""
    view = getattr(pattern.callback, "__wrapped__", pattern.callback)
    for cell in getattr(view, "__closure__", None) or ():
        path_view = cell.cell_contents
        if hasattr(path_view, "operations"):
            ops = path_view.operations
            mine = [op for op in ops if op.view_func.__name__ == pattern.name] or ops
            return {m for op in mine for m in op.methods}
    return None


# --- the data the requests name ------------------------------------------------------------------


@dataclass
class World:
    users: dict
    tokens: dict  # column -> raw token
    cases: dict  # "A", "B" (the two departments), "A2" (A's department), "R" (unassigned)
    codes: dict  # "A", "B" -> access code
    attachments: dict = field(default_factory=dict)
    clocks: dict = field(default_factory=dict)
    documents: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)  # "A", "B" -> the case's open task (派工单)
    supervisions: dict = field(default_factory=dict)  # "A" -> 督办 on A2, "B" -> on B2
    saved_filter: object = None
    report: object = None
    template: object = None
    department_codes: dict = field(default_factory=dict)  # "A", "B" -> department code
    process_name: str = ""

    def web_client(self, column: str, *, enforce_csrf_checks: bool = False) -> Client:
        """A logged-in client for a staff role, the complainant's portal session (granted case A),
        or an anonymous one. A client that enforces CSRF checks holds a CSRF cookie, whose secret
        is in `client.csrf_secret` for the forms that should pass."""
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        client.csrf_secret = ""
        if enforce_csrf_checks:
            from django.conf import settings
            from django.middleware.csrf import _get_new_csrf_string

            client.csrf_secret = _get_new_csrf_string()
            client.cookies[settings.CSRF_COOKIE_NAME] = client.csrf_secret
        if column in self.users:
            client.force_login(self.users[column])
        elif column == "complainant":
            a = self.cases["A"]
            form = {"number": a.tracking_number, "secret": self.codes["A"]}
            if client.csrf_secret:
                form["csrfmiddlewaretoken"] = client.csrf_secret
            r = client.post("/track/", form)
            assert r.status_code == 302, r.content.decode()[:500]
        else:
            assert column == "anonymous", column
        return client


# --- path parameters and bodies ---------------------------------------------------------------

_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def fill(route: str, variant: str, w) -> str:
    """The route with its parameters filled in for the variant: "A" names department A's case and
    its objects, "B" department B's."""
    case = w.cases[variant]
    if "supervision_id>" in route:  # the 督办 is on the department's second case
        case = w.supervisions[variant].complaint

    def value(m):
        name = m["name"]
        if name == "pk":
            if route.startswith("staff/cases/filters/"):
                return str(w.saved_filter.pk)
            if route.startswith("staff/reports/periodic/"):
                return str(w.report.pk)
            if route.startswith("track/") and "/files/" in route:
                return str(w.attachments[variant].pk)
            if route.startswith("track/") and "/documents/" in route:
                return str(w.documents[variant].pk)
            return str(case.pk)
        if name == "complaint_id":
            return str(case.pk)
        if name == "attachment_id":
            return str(w.attachments[variant].pk)
        if name == "clock_id":
            return str(w.clocks[variant].pk)
        if name in ("doc_pk", "document_id"):
            return str(w.documents[variant].pk)
        if name == "template_pk":
            return str(w.template.pk)
        if name == "task_id":
            return str(w.tasks[variant].pk)
        if name == "supervision_id":
            return str(w.supervisions[variant].pk)
        if name == "token":  # the opt-out link in an e-mail to case A's complainant
            from tousu.messaging.optout import token

            return token("sms", "13812345678")
        if name == "number":
            return case.tracking_number
        if name == "fmt":
            return "csv"
        if name == "code":
            codes = getattr(w, "department_codes", None) or {
                "A": "quality_management",
                "B": "storage_transport",
            }
            return codes[variant]
        if name == "username":
            return "officer"
        if name == "rest":
            return "no-such-endpoint"
        if name == "name":
            if route.startswith("api/v1/processes/"):
                return getattr(w, "process_name", "") or "generic"
            if route.startswith("track/"):
                return "provide_material"
            return "add_note"
        raise AssertionError(f"no value for <{m[0]}> in {route}: add one to authz.fill")

    return "/" + _PARAM.sub(value, route)


def _png_bytes() -> bytes:
    """A real 1×1 PNG: attachments are checked by content, not by name."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png_bytes()


def web_body(key: str, variant: str, w) -> dict:
    """Form data of a workbench, reports, documents or portal POST: valid, so that a caller who is
    allowed gets through and one who is not is refused by the rule, not by a form error."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = w.cases[variant]
    return {
        "staff/login/": {"username": "nobody", "password": "wrong"},
        "staff/cases/": {"save_filter": "1", "filter_name": "矩阵", "query": "q=x"},
        "staff/account/password/": {
            "old_password": "wrong",
            "new_password1": "Matrix-新密码-1",
            "new_password2": "Matrix-新密码-1",
        },
        "staff/cases/bulk-assign/": {"ids": [w.cases["R"].pk], "department": "quality_management"},
        "staff/cases/new/": {
            "channel": "phone",
            "complainant_name": "李四",
            "complainant_phone": "13900001111",
            "content": "授权矩阵登记的一件新投诉，内容足够长",
            "confirm_new": "on",
        },
        "staff/cases/new/suggest/": {"content": "产品质量有问题，要求退货", "category": ""},
        "staff/cases/<int:pk>/actions/<slug:name>/": {
            "version": case.version,
            "add_note-note": "授权矩阵的备注",
        },
        "staff/cases/<int:pk>/attachments/": {
            "files": [SimpleUploadedFile("矩阵.png", PNG, "image/png")]
        },
        "staff/cases/<int:pk>/clocks/<int:clock_id>/extend/": {"amount": "1", "reason": "矩阵"},
        "staff/reports/periodic/new/": {"format": "pdf", "period": "2026-01"},
        "staff/documents/cases/<int:pk>/issue/": {"kind": "registration_form", "reason": "矩阵"},
        "staff/documents/<int:doc_pk>/correct/": {"reason": "矩阵更正"},
        "": {},
        "track/": {"number": case.tracking_number, "secret": w.codes[variant]},
        "track/<str:number>/respond/<slug:name>/": {"version": case.version, "note": "补充"},
        "staff/work/cases/<int:pk>/owner/": {"owner": "handler", "reason": "矩阵"},
        "staff/work/cases/<int:pk>/tasks/<int:task_id>/owner/": {
            "owner": "handler",
            "reason": "矩阵",
        },
        "staff/supervision/cases/<int:pk>/chase/": {"note": "矩阵催办"},
        "staff/supervision/cases/<int:pk>/supervise/": {"instruction": "矩阵督办", "workdays": "3"},
        "staff/supervision/cases/<int:pk>/supervise/<int:supervision_id>/answer/": {
            "answer": "矩阵回复"
        },
        "staff/triage/cases/<int:pk>/link/": {"other": w.cases["A2"].pk},
        "staff/triage/cases/<int:pk>/unlink/": {"other": w.cases["A2"].pk},
        "staff/triage/cases/<int:pk>/merge/": {"duplicate": w.cases["A2"].pk, "note": "矩阵"},
        "staff/triage/cases/<int:pk>/auto-route/undo/": {"note": "矩阵"},
        "staff/triage/cases/<int:pk>/auto-route/correct/": {"category": "quality"},
        "staff/messages/settings/": {"chased": "digest"},
        "staff/messages/cases/<int:pk>/optout/": {"on": "1"},
    }.get(key, {})


def api_body(key: str, variant: str, w) -> tuple[str, dict]:
    """("json", body) or ("multipart", fields) for an API POST."""
    case, other = w.cases[variant], w.cases["A2"]
    bodies = {
        "api/v1/complaints#create_complaint": {
            "channel": "phone",
            "content": "授权矩阵通过接口登记的投诉",
            "parties": [{"name": "王五", "phone": "13700001111"}],
        },
        "api/v1/complaints/<complaint_id>/actions/<name>": {
            "version": case.version,
            "data": {"note": "授权矩阵的备注"},
        },
        "api/v1/complaints/<complaint_id>/clocks/<clock_id>/extend": {
            "amount": 1,
            "reason": "矩阵",
        },
        "api/v1/triage/suggest": {"process": "generic", "text": "运输途中包装破损，货物摔坏"},
        "api/v1/triage/complaints/<complaint_id>/link": {"other": other.pk, "note": "矩阵"},
        "api/v1/triage/complaints/<complaint_id>/merge": {"duplicate": other.pk, "note": "矩阵"},
        "api/v1/triage/complaints/<complaint_id>/auto-route/undo": {"note": "矩阵"},
        "api/v1/triage/complaints/<complaint_id>/auto-route/correct": {
            "category": "quality",
            "note": "矩阵",
        },
        "api/v1/complaints/<complaint_id>/owner": {"owner": "handler", "reason": "矩阵"},
        "api/v1/complaints/<complaint_id>/tasks/<task_id>/owner": {
            "owner": "handler",
            "reason": "矩阵",
        },
        "api/v1/complaints/<complaint_id>/chase": {"note": "矩阵催办"},
        "api/v1/complaints/<complaint_id>/supervision#place": {
            "instruction": "矩阵督办",
            "workdays": 3,
        },
        "api/v1/complaints/<complaint_id>/supervision/<supervision_id>/answer": {
            "answer": "矩阵回复"
        },
        "api/v1/departments/<code>/assignment": {"mode": "round_robin"},
        "api/v1/me/notification-preferences#put_preferences": {"preferences": {"chased": "digest"}},
    }
    if key == "api/v1/complaints/<complaint_id>/attachments#upload_attachment":
        from django.core.files.uploadedfile import SimpleUploadedFile

        return "multipart", {"file": SimpleUploadedFile("矩阵.png", PNG, "image/png")}
    if key == "api/v1/processes/validate":
        from django.core.files.uploadedfile import SimpleUploadedFile

        return "multipart", {"file": SimpleUploadedFile("x.yaml", b"name: x\n", "text/yaml")}
    return "json", bodies.get(key, {})


# --- running requests ---------------------------------------------------------------------------


def fingerprint() -> tuple:
    """What a request may have written, as counts."""
    from tousu.cases.models import Attachment, Complaint, Event
    from tousu.clocks.models import Notification
    from tousu.documents.models import Document
    from tousu.messaging.models import OptOut, Preference
    from tousu.owners.models import AssignmentPolicy
    from tousu.reports.models import ExportLog, Report
    from tousu.triage.models import CaseLink
    from tousu.web.models import SavedFilter

    return (
        Complaint.objects.count(),
        Event.objects.count(),
        Attachment.objects.count(),
        Document.objects.count(),
        SavedFilter.objects.count(),
        Report.objects.count(),
        ExportLog.objects.count(),
        CaseLink.objects.count(),
        Notification.objects.filter(read_at__isnull=True).count(),
        Preference.objects.count(),
        OptOut.objects.count(),
        AssignmentPolicy.objects.count(),
    )


class _Rollback(Exception):
    pass


def outcome(client: Client, method: str, path: str, **kwargs) -> str:
    """The request's outcome; the database and the client's cookies as they were before it."""
    cookies = client.cookies.copy()
    result = None
    try:
        with transaction.atomic():
            before = fingerprint()
            try:
                response = getattr(client, method.lower())(path, **kwargs)
            except Exception as exc:  # a crash is an outcome too: the matrix shows it
                result = f"EXC:{type(exc).__name__}"
            else:
                if getattr(response, "streaming", False):  # the client closes it when consumed
                    b"".join(response.streaming_content)
                status = response.status_code
                location = response.get("Location", "")
                if status == 302 and location.split("?")[0].endswith(LOGIN_PATHS):
                    result = "L"
                else:
                    result = str(status)
                if fingerprint() != before:
                    result += "w"
            raise _Rollback
    except _Rollback:
        pass
    client.cookies = cookies
    return result


def api_request(column: str, w, method: str, path: str, key: str, variant: str) -> dict:
    """Keyword arguments for the test client: the caller's token, the body."""
    headers = {}
    if column not in ("anonymous", "session"):
        headers["Authorization"] = f"Bearer {w.tokens[column]}"
    kwargs: dict = {"headers": headers}
    if method in ("POST", "PUT"):
        kind, body = api_body(key, variant, w)
        if kind == "json":
            kwargs.update(
                data=json.dumps(body, ensure_ascii=False), content_type="application/json"
            )
        else:
            kwargs.update(data=body)
    return kwargs
