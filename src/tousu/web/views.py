"""Staff workbench. Thin: selectors read, services and the engine write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from tousu.accounts.models import Department, Organisation
from tousu.accounts.roles import ROLES
from tousu.cases import engine, selectors, services
from tousu.cases.attachments import REMOVED_MESSAGE, add_attachment, file_removed
from tousu.cases.errors import CaseError, Forbidden, NotFound
from tousu.cases.forms import form_class
from tousu.cases.models import Complaint
from tousu.cases.privacy import CaseMask, mask_text, may_reveal
from tousu.clocks import selectors as clock_selectors
from tousu.clocks import services as clock_services
from tousu.clocks.services import time_left
from tousu.owners import selectors as owners
from tousu.processes.diagram import notes as diagram_notes
from tousu.processes.diagram import render_svg
from tousu.processes.models import Category
from tousu.processes.selectors import active_process
from tousu.supervision import selectors as supervision
from tousu.triage import selectors as triage

from . import keyset, queues
from .forms import RegistrationForm
from .models import SavedFilter
from .redirects import local_next


def _case_or_error(request, pk):
    try:
        return selectors.complaint_for(request.user, pk), None
    except Forbidden as exc:
        return None, render(request, "web/error.html", {"message": exc.message}, status=403)
    except NotFound as exc:
        return None, render(request, "web/error.html", {"message": exc.message}, status=404)


def _rows(cases):
    cases = list(cases)
    status = clock_selectors.clock_status(cases)
    owners.label_rows(cases)
    supervision.label_rows(cases)
    masks = selectors.masks_for(cases)
    for c in cases:  # lists show every personal value masked
        c.shown_title = masks[c.pk].text(c.title)
    return [(c, *status.get(c.pk, (None, ""))) for c in cases]


def _masked_notes(notes) -> list:
    """Notifications with their text masked like the case they are about (a risk alert quotes the
    complaint's title)."""
    notes = list(notes)
    cases = {n.complaint_id: n.complaint for n in notes if n.complaint_id}
    masks = selectors.masks_for(cases.values())
    for n in notes:
        mask = masks.get(n.complaint_id)
        n.shown = mask.text(n.message) if mask else mask_text(n.message)
    return notes


def _count(qs) -> str:
    return keyset.count_text(keyset.bounded_count(qs))


@login_required
def home(request):
    todo = selectors.with_next_due(
        selectors.visible_complaints(request.user).filter(selectors.actionable(request.user))
    )
    # Person first, then the department's: what I hold, then what nobody holds yet; one screen at
    # a time (keyset), and counts that stop at 1万.
    pager = keyset.paginate_segments(todo, queues.todo_segments(request.user), request.GET, size=30)
    pager.total = _count(todo)
    dept = request.user.department_id
    return render(
        request,
        "web/home.html",
        {
            "pager": pager,
            "rows": _rows(pager.rows),
            "overdue": _count(selectors.filter_by_clock(todo, "overdue")),
            "due_soon": _count(selectors.filter_by_clock(todo, "due_soon")),
            "held": _count(
                owners.filter_owner(
                    selectors.visible_complaints(request.user).filter(closed_at__isnull=True),
                    request.user,
                    "me",
                )
            ),
            "unassigned": _count(
                owners.filter_owner(
                    selectors.visible_complaints(request.user).filter(
                        department_id=dept, closed_at__isnull=True
                    ),
                    request.user,
                    "none",
                )
            )
            if dept
            else None,
            "notes": _masked_notes(
                request.user.notifications.filter(read_at__isnull=True).select_related(
                    "complaint__process"
                )[:8]
            ),
        },
    )


@login_required
def case_list(request):
    if request.method == "POST" and "save_filter" in request.POST:
        name = request.POST.get("filter_name", "").strip()[:50]
        query = request.POST.get("query", "")[:1000]
        if name:
            SavedFilter.objects.update_or_create(
                user=request.user, name=name, defaults={"query": query}
            )
            messages.success(request, f"已保存筛选「{name}」")
        else:
            messages.error(request, "请给筛选起个名字")
        return redirect(f"{request.path}?{query}")
    params = queues.QueueParams.from_request(request.GET)
    pager = queues.page(request.user, params, request.GET)
    query = params.querystring()
    return render(
        request,
        "web/case_list.html",
        {
            "pager": pager,
            "rows": _rows(pager.rows),
            "p": params,
            "query": query,
            "choices": queues.choices(request.user),
            "saved": request.user.saved_filters.all(),
            "can_bulk": request.user.has_role("officer", "leader"),
            "departments": Department.objects.filter(is_active=True),
        },
    )


@login_required
@require_POST
def delete_filter(request, pk):
    request.user.saved_filters.filter(pk=pk).delete()
    return redirect("web:case_list")


@login_required
@require_POST
def bulk_assign(request):
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    department = request.POST.get("department", "")
    result = queues.bulk_assign(request.user, ids, department)
    if result.done:
        messages.success(request, f"已分派 {result.done} 件")
    for tracking, reason in result.skipped[:10]:
        messages.error(request, f"{tracking}：{reason}")
    return redirect(local_next(request) or "web:case_list")


@login_required
def leader_inbox(request):
    if not request.user.has_role("leader"):
        return render(
            request, "web/error.html", {"message": "只有领导可以查看待批事项"}, status=403
        )
    cases = list(
        selectors.with_next_due(
            selectors.visible_complaints(request.user)
            .filter(selectors.actionable(request.user))
            .filter(supervision.awaiting_leader())  # a decision, not an optional record
        ).order_by(F("next_due").asc(nulls_last=True))[:50]
    )
    items = []
    masks = selectors.masks_for(cases)
    for c in cases:
        actions = [
            {"action": a, "form": form_class(c.process, a.name)(prefix=a.name)}
            for a in engine.possible_actions(c, request.user)
            if not engine.is_routine(a)
        ]
        proposal = (
            c.events.exclude(payload={})
            .exclude(action__startswith="clock_")
            .order_by("-id")
            .first()
        )
        mask = CaseMask.for_case(c, parties=None, reveal=False) if proposal else masks[c.pk]
        if proposal:
            proposal, shown = selectors.event_rows(c, [proposal], mask=mask)[0]
        else:
            shown = []
        items.append(
            {
                "c": c,
                "content": mask.text(c.content),
                "actions": actions,
                "proposal": proposal,
                "shown": shown,
            }
        )
    return render(request, "web/leader_inbox.html", {"items": items, "now": timezone.now()})


def _detail_context(request, complaint, *, reveal=False):
    detail = selectors.case_detail(complaint)
    # One masking rule: everything personal masked unless this request recorded a reveal.
    mask = CaseMask.for_case(
        complaint, parties=detail["parties"], events=detail["events"], reveal=reveal
    )
    visited, taken = selectors.path_taken(complaint, detail["events"])
    diagram = render_svg(
        complaint.definition, current=complaint.state, visited=visited, taken=taken
    )
    actions = [
        {"action": a, "form": form_class(complaint.process, a.name)(prefix=a.name)}
        for a in engine.possible_actions(complaint, request.user)
    ]
    return {
        "c": complaint,
        "title": mask.text(complaint.title),
        "content": mask.text(complaint.content),
        "request_text": mask.text(complaint.request),
        "fields": selectors.field_rows(complaint, mask=mask),
        "parties": [mask.party(p) for p in detail["parties"]],
        "revealed": reveal,
        "can_reveal": may_reveal(request.user),
        "tasks": detail["tasks"],
        "events": selectors.event_rows(complaint, detail["events"], mask=mask),
        "attachments": [(a, mask.text(a.original_name)) for a in detail["attachments"]],
        "clocks": [
            (k, time_left(k), clock_services.can_extend(k, request.user)) for k in detail["clocks"]
        ],
        "actions": actions,
        "can_upload": bool(actions),
        "diagram": mark_safe(diagram),  # built from the definition's own labels, all escaped
        "diagram_notes": diagram_notes(complaint.definition),
    }


@login_required
def case_detail(request, pk):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    return render(request, "web/case_detail.html", _detail_context(request, complaint))


@login_required
@require_POST
def reveal(request, pk):
    """Show the parties unmasked, once, and write down who looked."""
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    if not may_reveal(request.user):
        return render(
            request, "web/error.html", {"message": "您的角色不能查看未脱敏的个人信息"}, status=403
        )
    services.record_reveal(complaint, request.user, via="web")
    return render(request, "web/case_detail.html", _detail_context(request, complaint, reveal=True))


@login_required
@require_POST
def apply_action(request, pk, name):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    action = complaint.definition.action(name)
    multi = (
        {f.name for f in action.form if f.type in ("multichoice", "departments", "users")}
        if action
        else set()
    )
    data = {}
    for key, values in request.POST.lists():
        if key.startswith(f"{name}-"):
            field = key.removeprefix(f"{name}-")
            data[field] = values if field in multi else values[-1]
    try:
        version = int(request.POST.get("version", "0"))
        engine.apply_action(
            complaint,
            request.user,
            name,
            data=data,
            version=version,
            comment=request.POST.get("comment", "")[:2000],
            via="web",
        )
        messages.success(request, f"已执行：{action.label if action else name}")
    except CaseError as exc:
        labels = {f.name: f.label for f in action.form} if action else {}
        fields = exc.details.get("fields", {})
        detail = "；".join(f"{labels.get(k, k)}：{'、'.join(v)}" for k, v in fields.items())
        messages.error(request, f"{exc.message}{'：' + detail if detail else ''}")
    except ValueError:
        messages.error(request, "版本号无效，请刷新页面")
    return redirect(local_next(request) or f"/staff/cases/{pk}/")


@login_required
@require_POST
def upload(request, pk):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    if not engine.possible_actions(complaint, request.user):
        return render(
            request, "web/error.html", {"message": "您当前不能为该投诉上传材料"}, status=403
        )
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, "请选择要上传的文件")
    for f in files:
        try:
            add_attachment(complaint, name=f.name, content=f.read(), user=request.user, via="web")
            messages.success(request, f"已上传「{f.name}」")
        except CaseError as exc:
            messages.error(request, exc.message)
    return redirect("web:case_detail", pk=pk)


@login_required
def download(request, pk, attachment_id):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    attachment = complaint.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        return render(request, "web/error.html", {"message": "附件不存在"}, status=404)
    if file_removed(attachment):
        return render(request, "web/error.html", {"message": REMOVED_MESSAGE}, status=410)
    # Always a download, never rendered inline: an uploaded file must not run in our origin.
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def extend_clock(request, pk, clock_id):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    clock = complaint.clocks.filter(pk=clock_id).first()
    if clock is None:
        return render(request, "web/error.html", {"message": "时限不存在"}, status=404)
    try:
        amount = float(request.POST.get("amount", ""))
        clock_services.extend(clock, request.user, amount, request.POST.get("reason", ""))
        messages.success(request, f"已延长「{clock.label}」{amount:g} {clock.unit_label}")
    except ValueError:
        messages.error(request, "延期时长应为数字")
    except CaseError as exc:
        messages.error(request, exc.message)
    return redirect("web:case_detail", pk=pk)


@login_required
def notifications(request):
    items = _masked_notes(request.user.notifications.select_related("complaint__process")[:100])
    if request.method == "POST":
        request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("web:notifications")
    return render(request, "web/notifications.html", {"items": items})


@login_required
def register(request):
    process = active_process(Organisation.current().default_process)
    if process is not None and not selectors.may_register(request.user):
        roles = "、".join(ROLES.get(r, r) for r in process.definition.registration.roles)
        return render(
            request,
            "web/error.html",
            {"message": f"您的角色不能登记投诉；可以登记的角色：{roles}"},
            status=403,
        )
    if process is None:
        return render(
            request, "web/error.html", {"message": "尚未安装流程：请运行 tousu init"}, status=503
        )
    form = RegistrationForm(process, request.POST or None, request.FILES or None)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        kwargs = form.registration_kwargs()
        duplicates = _masked_duplicates(
            triage.find_duplicates(process.name, kwargs["content"], form.phone() or None, limit=5)
        )
        if duplicates and not form.cleaned_data.get("confirm_new"):
            form.add_error(
                None,
                "发现近期可能重复的投诉，请核对；确认是新投诉请勾选「仍然登记为新投诉」后再提交",
            )
        else:
            try:
                complaint, code = services.register_complaint(
                    process=process, user=request.user, via="web", **kwargs
                )
                for f in form.files.getlist("attachments"):
                    add_attachment(
                        complaint, name=f.name, content=f.read(), user=request.user, via="web"
                    )
                if form.cleaned_data.get("on_the_spot"):
                    complaint = form.resolve_on_the_spot(complaint, request.user)
            except CaseError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, f"已登记 {complaint.tracking_number}，查询码 {code}（请告知投诉人）"
                )
                return redirect("web:case_detail", pk=complaint.pk)
    return render(
        request,
        "web/register.html",
        {"form": form, "definition": process.definition, "duplicates": duplicates},
    )


@login_required
@require_POST
def register_suggest(request):
    """While the receiver types: the suggested category (pre-selected only when none is chosen yet),
    the risk words found, and earlier cases from the same complainant or with the same text."""
    process = active_process(Organisation.current().default_process)
    if process is None or not selectors.may_register(request.user):
        return render(request, "web/_triage.html", {})
    text = request.POST.get("content", "")[:10000]
    phone = request.POST.get("complainant_phone", "").strip()[:30] or None
    suggestion = triage.suggest(process.name, text) if len(text.strip()) >= 6 else None
    return render(
        request,
        "web/_triage.html",
        {
            "suggestion": suggestion,
            "risks": triage.risk_flags(text),
            "duplicates": _masked_duplicates(
                triage.find_duplicates(process.name, text, phone, limit=5)
                if text.strip() or phone
                else []
            ),
            "preselect": suggestion and not request.POST.get("category"),
            "categories": Category.objects.filter(process_name=process.name, is_active=True),
        },
    )


def _masked_duplicates(duplicates: list) -> list:
    """Earlier cases' titles, masked like every list (cases/privacy.py)."""
    from dataclasses import replace

    masks = selectors.masks_for(
        Complaint.objects.select_related("process").filter(pk__in=[d.id for d in duplicates])
    )
    return [replace(d, title=masks[d.id].text(d.title)) if d.id in masks else d for d in duplicates]
