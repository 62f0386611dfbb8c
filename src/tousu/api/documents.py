"""Official documents issued on a case (tousu.documents): list them and download their PDFs.
Issuing happens through the flow's actions (an action names its document), as in the workbench."""

from django.http import FileResponse
from ninja import Router, Status

from tousu.cases.errors import NotFound
from tousu.cases.privacy import CaseMask
from tousu.documents.services import copy_for

from . import access
from .params import Id
from .schemas import READ, DocumentOut

router = Router(tags=["公文"])

PDF = {
    200: {
        "description": "公文 PDF（作为下载）",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _document(complaint_id: int, d, mask) -> dict:
    return {
        "id": d.pk,
        "kind": d.kind,
        "title": d.title,
        "serial": d.serial,
        "is_public": d.is_public,
        "issued_at": d.issued_at,
        "issued_by": d.issued_by_name,
        "corrects": d.corrects_id,
        "reason": mask.text(d.reason),
        "download": f"/api/v1/complaints/{complaint_id}/documents/{d.pk}",
    }


@router.get(
    "/{complaint_id}/documents", response={200: list[DocumentOut], **READ}, summary="已出具的公文"
)
def list_documents(request, complaint_id: Id):
    complaint = access.complaint(request, complaint_id)
    mask = CaseMask.for_case(complaint)
    return Status(
        200, [_document(complaint.pk, d, mask) for d in complaint.documents.order_by("pk")]
    )


@router.get(
    "/{complaint_id}/documents/{document_id}",
    response={200: None, **READ},
    summary="下载公文",
    openapi_extra={"responses": PDF},
)
def download_document(request, complaint_id: Id, document_id: Id):
    """PDF 在第一次下载时按出具时固定的文本生成，之后不变。不能查看个人信息的角色得到脱敏的版本；
    其他角色下载原件，每次下载都记入该投诉的个人信息查看记录。"""

    complaint = access.complaint(request, complaint_id)
    document = complaint.documents.filter(pk=document_id).first()
    if document is None:
        raise NotFound(f"投诉 {complaint_id} 没有公文 {document_id}")
    copy = copy_for(document, request.user, via="api", actor_name=access.actor(request))
    response = FileResponse(
        copy.open(),
        as_attachment=True,
        filename=f"{document.title}{'（脱敏）' if copy.masked else ''}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
