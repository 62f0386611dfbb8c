"""Official documents: the templates administrators edit, and the documents issued from them.

An issued document is fixed at issue: its serial number (文号), the data it was filled with and the
exact HTML it was printed from are written once and never changed; a correction is a new document
that names the one it corrects. The PDF is rendered from that HTML and kept under the data directory.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models
from django.utils import timezone

from .kinds import kind_choices


class Immutable(Exception):
    pass


def document_storage() -> Storage:
    # settings.STORAGES["documents"]: DATA_DIR/documents, or the object store's documents/ folder;
    # never under static. A callable, so the migrations do not depend on where files are kept.
    from tousu.db import files

    return files.documents


class IssuerProfile(models.Model):
    """How this organisation signs its documents (one row; the first is used)."""

    issuer_name = models.CharField(
        "落款单位", max_length=100, blank=True, help_text="不填则使用组织名称"
    )
    serial_prefix = models.CharField(
        "文号前缀",
        max_length=20,
        blank=True,
        help_text="文号形如「前缀+代字〔2026〕第 0001 号」，如「某医投」；不填则使用组织名称",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "公文落款与文号"

    def __str__(self) -> str:
        return self.issuer_name or "公文落款与文号"


class DocumentTemplate(models.Model):
    """The body of one kind of document, for one sector (a process name) or for all (blank).

    The body is a Django template rendered in a sandbox: no file loaders, no custom tag libraries,
    autoescaped, over plain data (no model objects), so an administrator's template can print the
    case's data but not reach anything else."""

    kind = models.CharField("公文种类", max_length=50, choices=kind_choices())
    sector = models.CharField(
        "适用流程",
        max_length=50,
        blank=True,
        help_text="流程名称，如 tourism-company；不填则适用于所有流程",
    )
    title = models.CharField("标题", max_length=100)
    serial_code = models.CharField("文号代字", max_length=10, blank=True)
    body = models.TextField(
        "正文模板（HTML）",
        help_text="Django 模板语法，可用变量：case、complainant、respondent、action、data、rows、"
        "doc、org、contacts、clocks、track_url、qr",
    )
    is_public = models.BooleanField(
        "送达投诉人", default=True, help_text="投诉人可在投诉查询页面下载"
    )
    is_active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "公文模板"
        ordering = ["kind", "sector"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "sector"], name="document_template_kind_sector")
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.sector or '通用'}）"


def document_path(instance: DocumentFile, filename: str) -> str:
    return f"{timezone.now():%Y}/{secrets.token_hex(16)}.pdf"


class DocumentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise Immutable("公文出具后不能修改；如需更正，请出具更正文书")

    def delete(self):
        raise Immutable("公文出具后不能删除")


class Document(models.Model):
    """One issued document. Written once: saving an existing row or deleting one is refused."""

    complaint = models.ForeignKey(
        "cases.Complaint", on_delete=models.PROTECT, related_name="documents", verbose_name="投诉"
    )
    kind = models.CharField("公文种类", max_length=50)
    title = models.CharField("标题", max_length=100)
    year = models.PositiveSmallIntegerField("年度")
    number = models.PositiveIntegerField("序号")
    serial = models.CharField("文号", max_length=80)
    is_public = models.BooleanField("送达投诉人", default=False)
    event = models.ForeignKey(
        "cases.Event",
        verbose_name="出具依据的动作",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name="更正的文书",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    reason = models.CharField("更正或补发原因", max_length=500, blank=True)
    context = models.JSONField("填入的数据")
    html = models.TextField("出具时的文本（HTML）")
    issued_at = models.DateTimeField("出具时间", default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="出具人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_by_name = models.CharField("出具人", max_length=100, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "已出具公文"
        ordering = ["issued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "number"], name="document_serial")
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.serial}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise Immutable("公文出具后不能修改；如需更正，请出具更正文书")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise Immutable("公文出具后不能删除")


class DocumentFile(models.Model):
    """The PDF of a document, rendered once from its fixed HTML and kept under the data directory."""

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="pdf")
    file = models.FileField(storage=document_storage, upload_to=document_path, max_length=200)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "公文文件"

    def __str__(self) -> str:
        return self.file.name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise Immutable("公文文件生成后不能修改")
        super().save(*args, **kwargs)
