"""Staff views for official documents: the case's documents (a page, or a fragment the case page can
load with htmx), issuing one on demand, a correction, the PDF, and an administrator's preview."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tousu.cases import selectors as case_selectors
from tousu.cases.errors import CaseError, Forbidden, NotFound
from tousu.web.redirects import local_next

from . import selectors, services
from .kinds import kind as kind_of
from .models import Document, DocumentTemplate
from .rendering import RenderError, full_html, render_body, render_pdf, sample_context

ISSUER_ROLES = ("receiver", "officer", "leader", "admin")


def _case(request, pk):
    try:
        return case_selectors.complaint_for(request.user, pk), None
    except (Forbidden, NotFound) as exc:
        status = 403 if isinstance(exc, Forbidden) else 404
        return None, HttpResponse(
            exc.message, status=status, content_type="text/plain; charset=utf-8"
        )


def _back(request, pk):
    return redirect(local_next(request, also_query=True) or reverse("documents:case", args=[pk]))


@login_required
def case_documents(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    context = {
        "c": complaint,
        "documents": selectors.documents_for(complaint),
        "kinds": [(k, kind_of(k).title) for k in services.issuable_kinds(complaint)],
        "can_issue": request.user.has_role(*ISSUER_ROLES),
        "next": request.GET.get("next", ""),
    }
    template = "documents/_case_documents.html" if request.htmx else "documents/case_documents.html"
    return render(request, template, context)


@login_required
@require_POST
def issue(request, pk):
    complaint, error = _case(request, pk)
    if error:
        return error
    if not request.user.has_role(*ISSUER_ROLES):
        return HttpResponseForbidden("只有接待员、投诉专员或领导可以出具公文")
    try:
        doc = services.issue_on_demand(
            complaint,
            request.POST.get("kind", ""),
            request.user,
            request.POST.get("reason", "")[:500],
        )
        messages.success(request, f"已出具《{doc.title}》{doc.serial}")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, pk)


@login_required
@require_POST
def correct(request, doc_pk):
    doc = get_object_or_404(Document.objects.select_related("complaint"), pk=doc_pk)
    complaint, error = _case(request, doc.complaint_id)
    if error:
        return error
    if not request.user.has_role(*ISSUER_ROLES):
        return HttpResponseForbidden("只有接待员、投诉专员或领导可以更正公文")
    try:
        new = services.correct_document(doc, request.user, request.POST.get("reason", ""))
        messages.success(request, f"已出具更正文书 {new.serial}，原文书 {doc.serial} 作废")
    except CaseError as exc:
        messages.error(request, exc.message)
    return _back(request, complaint.pk)


@login_required
def download(request, doc_pk):
    doc = get_object_or_404(Document, pk=doc_pk)
    complaint, error = _case(request, doc.complaint_id)
    if error:
        return error
    copy = services.copy_for(doc, request.user, via="web")
    suffix = "（脱敏）" if copy.masked else ""
    return FileResponse(
        copy.open(),
        filename=f"{doc.title}-{complaint.tracking_number}-{doc.number:04d}{suffix}.pdf",
        content_type="application/pdf",
    )


@staff_member_required
def preview(request, template_pk):
    """The template filled with made-up data, as the PDF it would print."""
    template = get_object_or_404(DocumentTemplate, pk=template_pk)
    context = sample_context()
    try:
        body = render_body(template.body, context)
    except RenderError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    html = full_html(template.title, context["doc"]["serial"], context["org"]["name"], body)
    return HttpResponse(render_pdf(html), content_type="application/pdf")


def case_url(pk: int) -> str:
    return reverse("documents:case", kwargs={"pk": pk})
