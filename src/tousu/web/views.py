"""Staff pages. Thin: selectors read, services and the engine write."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tousu.accounts.models import Organisation
from tousu.cases import engine, selectors, services
from tousu.cases.errors import CaseError, Forbidden, NotFound
from tousu.cases.forms import form_class
from tousu.cases.models import Counter
from tousu.cases.privacy import party_dict
from tousu.clocks import services as clock_services
from tousu.clocks.services import time_left
from tousu.processes.diagram import notes as diagram_notes
from tousu.processes.diagram import render_svg
from tousu.processes.selectors import active_process

from .forms import RegistrationForm


def _case_or_error(request, pk):
    try:
        return selectors.complaint_for(request.user, pk), None
    except Forbidden as exc:
        return None, HttpResponseForbidden(exc.message)
    except NotFound as exc:
        return None, render(request, "web/error.html", {"message": exc.message}, status=404)


@login_required
def home(request):
    return redirect("web:case_list")


@login_required
def case_list(request):
    qs = selectors.visible_complaints(request.user)
    state = request.GET.get("state", "")
    if state:
        qs = qs.filter(state=state)
    clock = request.GET.get("clock", "")
    if clock in selectors.CLOCK_FILTERS:
        qs = selectors.filter_by_clock(qs, clock)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "web/case_list.html",
        {"page": page, "state": state, "clock": clock, "clock_filters": selectors.CLOCK_FILTERS},
    )


@login_required
def case_detail(request, pk):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    detail = selectors.case_detail(complaint)
    visited, taken = selectors.path_taken(complaint, detail["events"])
    diagram = render_svg(
        complaint.definition, current=complaint.state, visited=visited, taken=taken
    )
    actions = []
    for action in engine.possible_actions(complaint, request.user):
        form = form_class(complaint.process, action.name)(prefix=action.name)
        actions.append({"action": action, "form": form})
    return render(
        request,
        "web/case_detail.html",
        {
            "c": complaint,
            "parties": [party_dict(p, reveal=False) for p in detail["parties"]],
            "tasks": detail["tasks"],
            "events": selectors.event_rows(complaint, detail["events"]),
            "clocks": [
                (k, time_left(k), clock_services.can_extend(k, request.user))
                for k in detail["clocks"]
            ],
            "actions": actions,
            "diagram": mark_safe(diagram),  # built from the definition's own labels, all escaped
            "diagram_notes": diagram_notes(complaint.definition),
        },
    )


@login_required
@require_POST
def apply_action(request, pk, name):
    complaint, error = _case_or_error(request, pk)
    if error:
        return error
    data = {
        k.removeprefix(f"{name}-"): v for k, v in request.POST.lists() if k.startswith(f"{name}-")
    }
    # Single-valued fields arrive as one-element lists from QueryDict.lists().
    action = complaint.definition.action(name)
    multi = (
        {f.name for f in action.form if f.type in ("multichoice", "departments", "users")}
        if action
        else set()
    )
    data = {k: (v if k in multi else v[-1]) for k, v in data.items()}
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
    return redirect("web:case_detail", pk=pk)


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
    items = request.user.notifications.select_related("complaint")[:100]
    if request.method == "POST":
        request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("web:notifications")
    return render(request, "web/notifications.html", {"items": items})


@login_required
def register(request):
    if not request.user.has_role("receiver", "officer"):
        return HttpResponseForbidden("只有接待员或投诉专员可以登记投诉")
    process = active_process(Organisation.current().default_process)
    if process is None:
        return render(
            request, "web/error.html", {"message": "尚未安装流程：请运行 tousu init"}, status=503
        )
    form = RegistrationForm(process, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            complaint, code = services.register_complaint(
                process=process, user=request.user, via="web", **form.registration_kwargs()
            )
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"已登记 {complaint.tracking_number}，查询码 {code}（请告知投诉人）"
            )
            return redirect("web:case_detail", pk=complaint.pk)
    return render(request, "web/register.html", {"form": form, "definition": process.definition})


@csrf_exempt
@require_POST
def bench_floor(request):
    """The benchmark's floor: the same server inserting one row and answering (TOUSU_BENCH_FLOOR=1 only)."""
    Counter.objects.create(key=uuid.uuid4().hex, value=0)
    return JsonResponse({"ok": True}, status=201)
