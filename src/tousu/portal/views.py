"""The public portal's pages: submit, receipt, track, respond, the published notice. Thin: the forms
check input, `services` write, `selectors` read, `ratelimit` counts and challenges."""

from __future__ import annotations

import hashlib
import os
import time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tousu.accounts.models import Organisation
from tousu.cases import engine
from tousu.cases.attachments import REMOVED_MESSAGE, file_removed
from tousu.cases.errors import CaseError, Conflict, Invalid
from tousu.cases.forms import form_class
from tousu.cases.models import Attachment, Complaint
from tousu.db import storage
from tousu.documents.rendering import render_pdf
from tousu.documents.selectors import public_documents
from tousu.documents.services import ensure_pdf
from tousu.processes.selectors import active_process
from tousu.qr import qr_data_uri

from . import ratelimit, selectors, services
from .forms import RatingForm, SubmitForm, TrackForm

MB = 1024 * 1024
GRANT_KEY = "portal_cases"
GRANT_SECONDS = 2 * 3600
RECEIPT_KEY = "portal_receipt"
MIN_FILL_SECONDS = 3  # a person needs longer than this to write a complaint


def _file_limit() -> int:
    return settings.TOUSU_ATTACHMENT_MAX_BYTES


def _body_limit() -> int:
    return services.MAX_FILES * _file_limit() + MB


def _limits_text() -> str:
    return f"每个附件最大 {_file_limit() // MB} MB，最多 {services.MAX_FILES} 个"


def _read_post(request) -> tuple[str | None, int, bool]:
    """Read a POST body within our limits: (error message or None, HTTP status for it, whether the
    form data is usable).

    Portal views are exempt from the CSRF middleware only so that an oversized or broken upload gets
    this clear answer instead of Django's bare 400 page; the CSRF check runs here, after parsing."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > _body_limit():
        return (
            f"提交的内容共 {length / MB:.1f} MB，超过上限（{_limits_text()}），"
            "没有保存任何内容。请压缩或减少附件后重新提交。",
            413,
            False,
        )
    try:
        request.POST  # noqa: B018  (parses the body)
        request.FILES  # noqa: B018
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // MB
        return (
            f"除附件外的文字内容超过 {limit} MB，没有保存任何内容。请精简后重新提交。",
            413,
            False,
        )
    except (TooManyFieldsSent, TooManyFilesSent):
        return f"提交的项目或文件太多：{_limits_text()}。", 400, False
    except (MultiPartParserError, OSError):
        return "上传没有完成（可能是网络中断），没有保存任何内容，请重新提交。", 400, False
    rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    if rejected is not None:
        return "页面已过期或浏览器禁用了 Cookie，请刷新页面后重新提交。", 403, True
    return None, 200, True


def _files(request) -> list[tuple[str, bytes]]:
    uploads = request.FILES.getlist("files")
    if len(uploads) > services.MAX_FILES:
        raise Invalid(f"最多上传 {services.MAX_FILES} 个附件，您选择了 {len(uploads)} 个")
    files = []
    for f in uploads:
        if f.size > _file_limit():  # refused before it is read into memory
            raise Invalid(
                f"文件「{f.name}」太大（{f.size / MB:.1f} MB），每个附件最大 {_file_limit() // MB} MB，"
                "没有保存任何内容"
            )
        files.append((f.name or "附件", f.read()))
    return files


def _base_context(request) -> dict:
    return {"contacts": selectors.public_contacts(), "notice": selectors.notice()}


def _process():
    return active_process(Organisation.current().default_process)


def _channel(definition) -> str:
    values = [c.value for c in definition.channels]
    for preferred in ("web", "letter"):  # a portal complaint is a written complaint
        if preferred in values or not values:
            return preferred
    return values[0]


# --- submit ----------------------------------------------------------------------------------------


def _render_submit(request, process, form, *, error="", status=200):
    challenge = form["challenge"].value() if form.is_bound else form.initial.get("challenge")
    return render(
        request,
        "portal/submit.html",
        {
            **_base_context(request),
            "form": form,
            "definition": process.definition,
            "question": ratelimit.challenge_question(challenge) if challenge else "",
            "error": error,
            "limits": _limits_text(),
            "max_files": services.MAX_FILES,
            "stashed": getattr(request, "portal_stashed", []),
        },
        status=status,
    )


def _suspicious(address: str) -> bool:
    return ratelimit.reached(ratelimit.limit("challenge"), address) or ratelimit.reached(
        ratelimit.limit("suspect"), address
    )


@never_cache  # the form carries a one-time token
@csrf_exempt
def submit(request):
    process = _process()
    if process is None:
        return render(
            request,
            "portal/message.html",
            {**_base_context(request), "title": "网上投诉暂未开放", "message": "请拨打投诉电话。"},
            status=503,
        )
    address = ratelimit.client_address(request)
    if request.method != "POST":
        return _blank_form(request, process, address)
    return _submitted(request, process, address)


def _again(request, process, data, error, status=400, bound=True):
    """The form again, with what was sent and why it was not registered."""
    definition = process.definition
    form = (
        SubmitForm(definition, process.name, data)
        if bound
        else SubmitForm(definition, process.name, initial=data)
    )
    return _render_submit(request, process, form, error=error, status=status)


def _blank_form(request, process, address: str):
    signed, token = ratelimit.new_form()
    initial = {"token": signed}
    if _suspicious(address):
        initial["challenge"] = ratelimit.new_challenge(
            token
        )  # bound to the token, not its signature
    return _render_submit(
        request, process, SubmitForm(process.definition, process.name, initial=initial)
    )


def _submitted(request, process, address: str):
    error, status, usable = _read_post(request)
    if error:  # nothing was checked yet: show what arrived, without field errors
        data = request.POST.dict() if usable else {}
        data["token"] = data.get("token") or ratelimit.new_form_token()
        return _again(request, process, data, error, status=status, bound=False)
    data = request.POST.copy()
    try:
        token, shown_at = ratelimit.open_form_token(data.get("token", ""))
    except ratelimit.TokenError as exc:
        data["token"], token = ratelimit.new_form()
        data["challenge"] = ""
        _keep_files(request, token)  # the files stay with the new form
        return _again(request, process, data, str(exc))
    if earlier := services.earlier_receipt(token):  # the same form again: the same receipt
        return _receipt_redirect(request, earlier)
    if error := _keep_files(request, token):
        return _again(request, process, data, error)
    if refused := _over_limit_or_robot(request, process, data, token, shown_at, address):
        return refused
    return _register(request, process, data, token, address)


def _over_limit_or_robot(request, process, data, token: str, shown_at: float, address: str):
    """The form again when this address has sent too many, or the sender looks like a robot and
    has not answered the challenge; None to go on."""
    hard = ratelimit.limit("submit")
    if ratelimit.reached(hard, address):
        phone = selectors.public_contacts()["complaint_phone"]
        return _again(
            request,
            process,
            data,
            f"同一网络 {hard.window_text}内最多提交 {hard.count} 件投诉，已达上限，请稍后再试"
            + (f"，或拨打投诉电话 {phone}" if phone else "")
            + "。",
            status=429,
        )
    if data.get("website"):
        ratelimit.hit("suspect", address)
        data["website"] = ""
        data["challenge"], data["answer"] = ratelimit.new_challenge(token), ""
        return _again(
            request,
            process,
            data,
            "提交未通过校验：隐藏的「网址」一栏应为空。请回答下面的验证问题后重新提交。",
        )
    too_fast = time.time() - shown_at < MIN_FILL_SECONDS
    if too_fast:
        ratelimit.hit("suspect", address)
    if (too_fast or _suspicious(address)) and not ratelimit.check_challenge(
        data.get("challenge", ""), data.get("answer", ""), token
    ):
        answered = bool(data.get("challenge") and data.get("answer"))
        data["challenge"], data["answer"] = ratelimit.new_challenge(token), ""
        return _again(
            request,
            process,
            data,
            "验证问题的答案不正确，请重新计算后提交（可填阿拉伯数字）。"
            if answered
            else "为防止恶意提交，请回答下面的验证问题后再提交。",
        )
    return None


def _register(request, process, data, token: str, address: str):
    definition = process.definition
    form = SubmitForm(definition, process.name, data)
    if not form.is_valid():
        return _render_submit(request, process, form, error="请按提示修改后重新提交。", status=400)
    try:
        receipt = services.submit_complaint(
            token=token,
            address=address,
            process=process,
            channel=_channel(definition),
            files=services.stashed_files(token),
            **form.registration(),
        )
    except CaseError as exc:
        return _render_submit(request, process, form, error=exc.message, status=400)
    except DatabaseError as exc:
        if not storage.is_storage_full(exc):
            raise
        # Nothing was saved (one transaction); the form keeps what was typed and the same token, so
        # sending it again later registers it once.
        response = _render_submit(request, process, form, error=storage.FULL_MESSAGE, status=503)
        response["Retry-After"] = str(storage.RETRY_AFTER_SECONDS)
        return response
    if not receipt.replayed:
        ratelimit.hit("submit", address)
    services.discard_stash(token)
    return _receipt_redirect(request, receipt)


def _keep_files(request, token: str) -> str:
    """Keep this request's uploads (and those kept before, less any the complainant removed) with
    the form token, so that a failed check loses no file; the error message, if a file is refused."""
    drop = [int(i) for i in request.POST.getlist("drop") if i.isdigit()]
    if drop:
        services.drop_stashed(token, drop)
    try:
        request.portal_stashed = services.stash_files(token, _files(request))
    except CaseError as exc:
        request.portal_stashed = services.stash_files(token, [])
        return exc.message
    return ""


def _grant(request, number: str, by: str = services.BY_CODE) -> None:
    grants = request.session.get(GRANT_KEY, {})
    if not grants:
        request.session.cycle_key()  # a new session id once it opens a case
    earlier = grants.get(number)
    if isinstance(earlier, dict) and earlier.get("by") == services.BY_CODE:
        by = services.BY_CODE  # the access code was given in this session: keep it
    grants[number] = {"at": time.time(), "by": by}
    request.session[GRANT_KEY] = grants


def _granted(request, number: str) -> str:
    """How the case was opened in this session (services.BY_CODE or BY_PHONE), or ""."""
    grant = request.session.get(GRANT_KEY, {}).get(number)
    if isinstance(grant, dict):
        at, by = grant.get("at", 0), grant.get("by", services.BY_PHONE)
    else:  # a grant from before grants said how: reading only
        at, by = grant or 0, services.BY_PHONE
    return by if at and time.time() - at < GRANT_SECONDS else ""


def _receipt_redirect(request, receipt: services.Receipt):
    c = receipt.complaint
    _grant(request, c.tracking_number)
    request.session[RECEIPT_KEY] = {
        "tracking_number": c.tracking_number,
        "access_code": receipt.access_code,
        "received": selectors.chinese_datetime(c.received_at),
        "anonymous": c.is_anonymous,
        "replayed": receipt.replayed,
    }
    return redirect("portal:receipt")


@never_cache  # the access code must not stay in a shared browser's cache
def receipt(request):
    data = request.session.get(RECEIPT_KEY)
    if not data:
        return redirect("portal:home")
    response = render(request, "portal/receipt.html", {**_base_context(request), "r": data})
    if data.get("access_code"):
        # Shown once: neither this page again nor a replay of the form shows it after this.
        request.session[RECEIPT_KEY] = {**data, "access_code": "", "code_shown": True}
        complaint = Complaint.objects.filter(tracking_number=data["tracking_number"]).first()
        if complaint is not None:
            services.access_code_shown(complaint)
    return response


# --- track -----------------------------------------------------------------------------------------


@never_cache
def track(request):
    form = TrackForm(request.POST or None, initial={"number": request.GET.get("n", "")[:32]})
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        address = ratelimit.client_address(request)
        number = form.cleaned_data["number"].strip().upper()
        pair = f"{number}|{address}"[:64]
        by_address = ratelimit.limit("track_fail")
        by_pair = ratelimit.limit("track_fail_pair")
        by_number = ratelimit.limit("track_fail_number")
        # Only the guesser is throttled: an address that failed too often, or too often on this
        # number. Others' failures on a number never lock its complainant out: the access code
        # is checked before the per-number limit, which only stops lookups by phone number.
        throttled = next(
            (
                lim
                for lim, key in ((by_address, address), (by_pair, pair))
                if ratelimit.reached(lim, key)
            ),
            None,
        )
        if throttled is not None:
            error = (
                f"查询失败次数过多：{throttled.window_text}内最多输错 {throttled.count} 次，"
                f"请 {throttled.window_text}后再试。"
                "忘记查询码的，可改用登记的手机号码查询，或拨打投诉电话。"
            )
            status = 429
        else:
            phone_paused = ratelimit.reached(by_number, number)
            complaint, by = services.match_case(
                number, form.cleaned_data["secret"], allow_phone=not phone_paused
            )
            if complaint is not None:
                _grant(request, complaint.tracking_number, by)
                return redirect("portal:case", number=complaint.tracking_number)
            ratelimit.hit(by_address.bucket, address)
            ratelimit.hit(by_pair.bucket, pair)
            ratelimit.hit(by_number.bucket, number)
            # The same words whether the number is unknown or the code is wrong: nothing to probe.
            error = "投诉编号或查询码（手机号码）不正确，请核对后重试。"
            if phone_paused:
                error += "该投诉编号近期查询失败较多，暂时只能用查询码查询。"
            status = 400
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "portal/track.html",
        {**_base_context(request), "form": form, "error": error},
        status=status,
    )


def _case(request, number):
    if not _granted(request, number):
        return None
    return (
        Complaint.objects.select_related("process", "category", "department")
        .filter(tracking_number=number)
        .first()
    )


def _render_case(request, complaint, *, rating=None, material_error="", status=200):
    view = selectors.public_case(complaint)
    can_write = _granted(request, complaint.tracking_number) == services.BY_CODE
    others = [
        {
            "action": a,
            "form": form_class(complaint.process, a.name)(prefix=a.name),
        }
        for a in view["other_actions"]
    ]
    return render(
        request,
        "portal/case.html",
        {
            **_base_context(request),
            "c": view,
            "rating": rating or RatingForm(),
            "others": others,
            "material_error": material_error,
            "limits": _limits_text(),
            "max_files": services.MAX_FILES,
            "can_write": can_write,
        },
        status=status,
    )


@never_cache
def case(request, number):
    complaint = _case(request, number)
    if complaint is None:
        return redirect(f"{reverse('portal:track')}?n={number}")
    return _render_case(request, complaint)


@csrf_exempt
@require_POST
def respond(request, number, name):
    complaint = _case(request, number)
    if complaint is None:
        return redirect(f"{reverse('portal:track')}?n={number}")
    error, _, _ = _read_post(request)
    if error:
        messages.error(request, error)
        return redirect("portal:case", number=number)
    if _granted(request, number) != services.BY_CODE:
        # The phone number shows the progress; what the complainant writes (material, a rating
        # that may close the case) needs the access code.
        messages.error(request, "用手机号码查询只能查看办理进度。评价、补充材料等请先输入查询码。")
        return redirect("portal:case", number=number)
    address = ratelimit.client_address(request)
    lim = ratelimit.limit("respond")
    if ratelimit.reached(lim, address):
        messages.error(
            request, f"操作过于频繁：{lim.window_text}内最多提交 {lim.count} 次，请稍后再试。"
        )
        return redirect("portal:case", number=number)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, "页面已过期，请刷新后重试。")
        return redirect("portal:case", number=number)
    rating = None
    try:
        if name == "rate":
            rating = RatingForm(request.POST)
            if not rating.is_valid():
                return _render_case(request, complaint, rating=rating, status=400)
            pair = selectors.rating_actions(
                engine.possible_actions(complaint, engine.Complainant())
            )
            if pair is None:
                messages.error(request, "现在不需要评价：办理情况已更新，请查看最新进度。")
                return redirect("portal:case", number=number)
            action, data = rating.action_and_data(pair)
            files = []
        elif name == selectors.MATERIAL_ACTION:
            action, data = name, {"note": request.POST.get("note", "")}
            files = _files(request)
        else:
            action = name
            definition_action = complaint.definition.action(name)
            multi = {
                f.name
                for f in (definition_action.form if definition_action else ())
                if f.type in ("multichoice", "departments", "users")
            }
            data = {
                k.removeprefix(f"{name}-"): (v if k.removeprefix(f"{name}-") in multi else v[-1])
                for k, v in request.POST.lists()
                if k.startswith(f"{name}-")
            }
            files = []
        ratelimit.hit("respond", address)
        services.respond(complaint, action, data=data, version=version, files=files)
    except Conflict:
        messages.error(request, "办理情况已更新，请查看最新进度后重新操作。")
        return redirect("portal:case", number=number)
    except CaseError as exc:
        fields = exc.details.get("fields", {})
        detail = "；".join("、".join(v) for v in fields.values())
        message = exc.message + (f"：{detail}" if detail and detail not in exc.message else "")
        messages.error(request, message)
        if name == "rate":
            return _render_case(request, complaint, rating=rating, status=400)
        return redirect("portal:case", number=number)
    if name == "rate":
        dissatisfied = rating.cleaned_data["verdict"] == "dissatisfied"
        done = "已收到您的意见，我们将进一步处理。" if dissatisfied else "感谢您的评价。"
    elif name == selectors.MATERIAL_ACTION:
        done = "补充材料已提交，我们将继续办理。"
    else:
        done = "已提交。"
    messages.success(request, done)
    return redirect("portal:case", number=number)


@require_POST
def leave(request, number):
    grants = request.session.get(GRANT_KEY, {})
    grants.pop(number, None)
    request.session[GRANT_KEY] = grants
    receipt_data = request.session.get(RECEIPT_KEY)
    if receipt_data and receipt_data.get("tracking_number") == number:
        del request.session[RECEIPT_KEY]
    return redirect("portal:track")


def attachment(request, number, pk):
    complaint = _case(request, number)
    if complaint is None:
        raise Http404("请先查询")
    item = Attachment.objects.filter(pk=pk, complaint=complaint, is_public=True).first()
    if item is None:
        raise Http404("附件不存在")
    if file_removed(item):
        return render(
            request,
            "portal/message.html",
            {**_base_context(request), "title": "附件已删除", "message": REMOVED_MESSAGE},
            status=410,
        )
    return FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.original_name,
        content_type=item.content_type,
    )


def document(request, number, pk):
    complaint = _case(request, number)
    if complaint is None:
        raise Http404("请先查询")
    doc = next((d for d in public_documents(complaint) if d.pk == pk), None)
    if doc is None:
        raise Http404("文书不存在")
    pdf = ensure_pdf(doc)
    return FileResponse(
        pdf.file.open("rb"),
        as_attachment=False,
        filename=f"{doc.title}-{complaint.tracking_number}.pdf",
        content_type="application/pdf",
    )


# --- the published notice (F15) ---------------------------------------------------------------


def notice(request):
    url = selectors.portal_url()  # configured, never the request's Host header
    return render(
        request,
        "portal/notice.html",
        {**_base_context(request), "portal_url": url, "qr": qr_data_uri(url)},
    )


def poster(request):
    """The printable poster: contacts, hours, place, the supervising authority, a QR code to the
    portal. Printed once per content and kept, so the public URL costs no rendering per request."""

    # The QR code points to the configured public address, never to the request's Host header:
    # one file, not one per host name and port a visitor makes up.
    html = selectors.poster_html(selectors.portal_url())
    folder = settings.DATA_DIR / "portal"
    folder.mkdir(exist_ok=True, mode=0o700)
    path = folder / f"poster-{hashlib.sha256(html.encode()).hexdigest()[:16]}.pdf"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # no two writers share a file
        tmp.write_bytes(render_pdf(html))
        tmp.replace(path)
        for old in folder.glob("poster-*.pdf"):  # an earlier content's poster
            if old != path:
                old.unlink(missing_ok=True)
    response = HttpResponse(path.read_bytes(), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="poster.pdf"'
    return response
