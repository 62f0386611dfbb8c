"""From a case to a document: which template, the data it is filled with, HTML, then PDF.

Administrators' templates are rendered by a Django template engine of their own: no loaders (no
{% include %} or {% extends %} of files), no tag libraries beyond the built-ins, autoescaped, over
plain dicts. WeasyPrint then prints the HTML with the machine's CJK fonts, fetching nothing but
`data:` URIs: a template cannot make the server reach the network or read a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from tousu.accounts.models import Organisation
from tousu.portal.models import PublicNotice  # the model only: portal's selectors import us
from tousu.qr import qr_data_uri

from .display import chinese_date, chinese_datetime, field_rows, names_for
from .kinds import kind as kind_of

DEFAULTS_DIR = Path(__file__).parent / "defaults"
# Default templates written once for a group of flows (both tourism templates share the 办法's words).
SECTOR_DIRS = {
    "tourism": ("tourism-authority", "tourism-company"),
    "hospital": ("hospital",),
    "supervision-report": ("supervision-report",),
}
_TITLE = re.compile(r"^\{#\s*title:\s*(.+?)\s*#\}[ \t]*\n?")
FALLBACK_BODY = (
    '<p class="to">{{ complainant.display_name }}：</p>\n'
    "<p>您于{{ case.received_date }}提出的投诉（投诉编号：{{ case.tracking_number }}），"
    "本单位已作出如下处理：{{ action.label }}。</p>\n"
    '<table class="form">{% for r in rows %}<tr><th>{{ r.label }}</th>'
    '<td class="pre">{{ r.value }}</td></tr>{% endfor %}</table>\n'
    '<div class="sign"><p>{{ org.issuer }}</p><p>{{ doc.date }}</p></div>\n'
)


class RenderError(Exception):
    """A template that does not compile or render; the message says where."""


@dataclass(frozen=True)
class Spec:
    kind: str
    sector: str
    title: str
    code: str
    body: str
    is_public: bool


def _read_default(path: Path, kind: str, sector: str) -> Spec:
    text = path.read_text(encoding="utf-8")
    k = kind_of(kind)
    match = _TITLE.match(text)
    title = match.group(1) if match else k.title
    return Spec(kind, sector, title, k.code, text[match.end() :] if match else text, k.public)


@lru_cache(maxsize=1)
def default_specs() -> tuple[Spec, ...]:
    """The shipped templates: one per kind for every flow, plus sector wordings."""
    specs = [_read_default(p, p.stem, "") for p in sorted(DEFAULTS_DIR.glob("*.html"))]
    for folder, sectors in SECTOR_DIRS.items():
        for p in sorted((DEFAULTS_DIR / folder).glob("*.html")):
            specs += [_read_default(p, p.stem, sector) for sector in sectors]
    return tuple(specs)


def template_spec(kind: str, process_name: str) -> Spec:
    """The template for this kind and flow. Once administrators have templates of a kind in the
    database (seeded or their own), only those count: the flow's own, else the general one. Before
    that, the shipped defaults. A kind nobody wrote a template for gets a neutral letter."""
    from .models import DocumentTemplate

    rows = list(DocumentTemplate.objects.filter(kind=kind))
    if rows:
        active = {r.sector: r for r in rows if r.is_active}
        row = active.get(process_name) or active.get("")
        if row is None:
            raise RenderError(f"公文「{kind_of(kind).title}」的模板均已停用，请管理员启用一个")
        return Spec(
            kind,
            row.sector,
            row.title,
            row.serial_code or kind_of(kind).code,
            row.body,
            row.is_public,
        )
    shipped = {s.sector: s for s in default_specs() if s.kind == kind}
    spec = shipped.get(process_name) or shipped.get("")
    if spec is None:
        k = kind_of(kind)
        spec = Spec(kind, "", k.title, k.code, FALLBACK_BODY, k.public)
    return spec


# --- the sandbox -----------------------------------------------------------------------------------

SANDBOX = Engine(loaders=[], libraries={}, autoescape=True, string_if_invalid="", debug=False)


def compile_body(body: str):
    try:
        return SANDBOX.from_string(body)
    except TemplateSyntaxError as exc:
        raise RenderError(f"模板语法错误：{exc}") from None


def render_body(body: str, context: dict[str, Any]) -> str:
    template = compile_body(body)
    try:
        return template.render(Context(context, autoescape=True))
    except Exception as exc:  # any failure in an administrator's template is theirs to fix
        raise RenderError(f"模板无法填写：{type(exc).__name__}: {exc}") from None


def full_html(title: str, serial: str, org_name: str, body_html: str, corrects=None) -> str:
    return render_to_string(
        "documents/pdf.html",
        {
            "title": title,
            "serial": serial,
            "org_name": org_name,
            "body": mark_safe(body_html),  # produced by the autoescaping sandbox above
            "corrects": corrects,
        },
    )


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


# --- the data a document is filled with ----------------------------------------------------------


def _party(party, anonymous: bool) -> dict[str, str]:
    if party is None:
        name = "匿名投诉人" if anonymous else ""
        return {"name": name or "—", "display_name": name or "投诉人", "phone": "", "address": ""}
    return {
        "name": party.name or "—",
        "display_name": party.name or "投诉人",
        "phone": party.phone,
        "address": party.address,
        "nationality": party.nationality,
        "relation": party.relation,
        "id_number": party.id_number,
    }


def _source_event(complaint, kind: str):
    """For a document issued on demand: the latest action of this case that issues this kind."""
    definition = complaint.definition
    names = [a.name for a in definition.actions if a.document == kind]
    return complaint.events.filter(action__in=names).order_by("-created_at", "-id").first()


def build_context(
    complaint,
    kind: str,
    *,
    event=None,
    serial: str,
    title: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """Everything a template may print, as plain JSON-able data (kept with the document)."""
    definition = complaint.definition
    event = event or _source_event(complaint, kind)
    action = definition.action(event.action) if event else None
    payload = dict(event.payload) if event else {}
    parties = list(complaint.parties.all())
    complainant = next((p for p in parties if p.role == "complainant"), None)
    respondent = next((p for p in parties if p.role == "respondent"), None)
    names = names_for(complaint.process.name, [*payload.values(), *complaint.fields.values()])
    rows = field_rows(action.form, payload, names) if action else []
    org = Organisation.current()
    profile = _issuer_profile()
    notice = PublicNotice.current()
    contacts = notice.contacts()
    url = notice.track_address()
    clocks = [
        {
            "label": k.label,
            "due": chinese_datetime(k.due_at) if k.unit == "hours" else chinese_date(k.due_at),
            "amount": k.amount_text,
            "basis": notice.public_basis(k.basis, complaint.process),
            "state": k.get_state_display(),
        }
        for k in complaint.clocks.exclude(state="stopped").order_by("due_at")
    ]
    return {
        "org": {
            "name": org.name,
            "issuer": (profile.issuer_name if profile else "") or org.name,
        },
        "contacts": contacts,
        "case": {
            "tracking_number": complaint.tracking_number,
            "received_date": chinese_date(complaint.received_at),
            "received_time": chinese_datetime(complaint.received_at),
            "channel": complaint.channel_label,
            "title": complaint.title,
            "content": complaint.content,
            "request": complaint.request,
            "category": complaint.category.label if complaint.category_id else "",
            "department": complaint.department.name if complaint.department_id else "",
            "process": definition.label,
            "is_anonymous": complaint.is_anonymous,
            "fields": field_rows(definition.fields, complaint.fields, names),
        },
        "complainant": _party(complainant, complaint.is_anonymous),
        "respondent": {"name": respondent.name if respondent else ""},
        "action": {
            "name": event.action if event else "",
            "label": (action.label if action else event.label) if event else "",
            "date": chinese_date(event.created_at) if event else chinese_date(issued_at),
            "time": chinese_datetime(event.created_at) if event else chinese_datetime(issued_at),
            "actor": event.actor_name if event else "",
        },
        "data": {r["name"]: r["value"] for r in rows},
        "rows": [{"label": r["label"], "value": r["value"]} for r in rows],
        "doc": {
            "title": title,
            "serial": serial,
            "date": chinese_date(issued_at),
            "year": timezone.localtime(issued_at).year,
        },
        "clocks": clocks,
        "track_url": url,
        "qr": qr_data_uri(url) if url else "",
    }


def _issuer_profile():
    from .models import IssuerProfile

    return IssuerProfile.objects.order_by("pk").first()


def serial_prefix(org_name: str) -> str:
    profile = _issuer_profile()
    return (profile.serial_prefix if profile else "") or org_name


def sample_context() -> dict[str, Any]:
    """Made-up data to try an administrator's template before it is saved."""
    return {
        "org": {"name": "示例单位", "issuer": "示例单位投诉管理办公室"},
        "contacts": {"complaint_phone": "0510-12345678", "supervisor_name": "示例主管部门"},
        "case": {
            "tracking_number": "TS-20260105-0001",
            "received_date": "2026年1月5日",
            "received_time": "2026年1月5日 09:30",
            "channel": "网上投诉",
            "title": "示例",
            "content": "示例投诉内容",
            "request": "示例诉求",
            "category": "示例类别",
            "department": "示例部门",
            "process": "示例流程",
            "is_anonymous": False,
            "fields": [{"label": "示例字段", "value": "示例值"}],
        },
        "complainant": {"name": "张三", "display_name": "张三", "phone": "13800000000"},
        "respondent": {"name": "示例被投诉方"},
        "action": {
            "name": "x",
            "label": "示例动作",
            "date": "2026年1月6日",
            "time": "",
            "actor": "",
        },
        "data": {},
        "rows": [{"label": "示例", "value": "示例"}],
        "doc": {"title": "示例", "serial": "示例〔2026〕第 0001 号", "date": "2026年1月6日"},
        "clocks": [],
        "track_url": "http://example.invalid/track/",
        "qr": "",
    }
