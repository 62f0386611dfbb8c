"""Attachments: type checked by content (not by name), size limited, stored under the data
directory with a random name, never under static."""

from __future__ import annotations

import hashlib

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from tousu.accounts.models import User

from .errors import Invalid
from .models import Attachment, Complaint, Event

ALLOWED_TYPES = {
    "image/jpeg": "JPG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "application/pdf": "PDF",
}
ALLOWED_TEXT = "JPG、PNG、GIF、WebP 图片或 PDF"


def check_upload(name: str, content: bytes) -> str:
    """The content type if the file is acceptable; Invalid with the reason otherwise."""
    limit = settings.TOUSU_ATTACHMENT_MAX_BYTES
    if len(content) > limit:
        raise Invalid(
            f"文件「{name}」太大（{len(content) / 1048576:.1f} MB），每个附件最大 {limit // 1048576} MB",
            {"fields": {"file": [f"最大 {limit // 1048576} MB"]}},
        )
    if not content:
        raise Invalid(f"文件「{name}」是空的", {"fields": {"file": ["空文件"]}})
    kind = filetype.guess(content[:8192])
    if kind is None or kind.mime not in ALLOWED_TYPES:
        found = f"（实际内容是 {kind.mime}）" if kind else ""
        raise Invalid(
            f"文件「{name}」的类型不被接受{found}；只接受{ALLOWED_TEXT}",
            {"fields": {"file": [f"只接受{ALLOWED_TEXT}"]}},
        )
    return kind.mime


# The extensions each accepted type may carry; the first is the one a file is given.
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
}


def safe_file_name(name: str, content_type: str | None = None) -> str:
    """The name to show and offer on download: no directories (either slash), no control or
    invisible characters (bidi overrides; line breaks become spaces), not "." or "..", and an
    extension that agrees with the content (a PNG sent as 照片.html is kept as 照片.png). The file
    itself is stored under a random name (models.attachment_path): this is only metadata."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in name).strip()
    name = name if name not in ("", ".", "..") else "附件"
    allowed = EXTENSIONS.get(content_type or "")
    if allowed:
        stem, dot, suffix = name.rpartition(".")
        if not dot or not stem:
            stem = name
        if not (dot and stem and f".{suffix.lower()}" in allowed):
            name = stem.rstrip(".") + allowed[0]
    if len(name) > 200:  # keep the extension
        stem, dot, suffix = name.rpartition(".")
        name = stem[: 199 - len(suffix)] + "." + suffix if dot and len(suffix) < 10 else name[:200]
    return name


@transaction.atomic
def add_attachment(
    complaint: Complaint,
    *,
    name: str,
    content: bytes,
    user: User | None,
    kind: str = "evidence",
    is_public: bool = False,
    via: str = "web",
    actor_name: str = "",
) -> Attachment:
    content_type = check_upload(name, content)
    safe_name = safe_file_name(name, content_type)
    attachment = Attachment(
        complaint=complaint,
        original_name=safe_name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        kind=kind,
        is_public=is_public,
        uploaded_by=user,
    )
    attachment.file.save(safe_name, ContentFile(content), save=False)
    try:  # a failed write removes the file again: nothing half-written
        attachment.save()
        Event.objects.create(
            complaint=complaint,
            action="attachment_added",
            label="上传附件",
            from_state=complaint.state,
            to_state=complaint.state,
            actor=user,
            actor_name=actor_name or (str(user) if user else "投诉人"),
            via=via,
            payload={"attachment": attachment.pk, "name": safe_name, "size": len(content)},
            visibility=Event.PUBLIC if is_public else Event.INTERNAL,
            public_label="已提交材料" if is_public else "",
        )
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


REMOVED_MESSAGE = "该附件已按个人信息保存期限删除，只保留了类型、大小和上传时间"


def file_removed(attachment: Attachment) -> bool:
    """The file went at the end of the case's retention period (ops/retention.py)."""
    return not attachment.file
