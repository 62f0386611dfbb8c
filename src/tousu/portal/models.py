"""What the public portal keeps of its own: the organisation's published complaint contacts (F15), the
one-time tokens that make a double submission one complaint, and the per-address hits the rate limits
count."""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.db import models
from django.utils import timezone

from tousu.accounts.models import Organisation

DEFAULT_PRIVACY_NOTICE = (
    "我们收集您填写的姓名、联系电话、地址和投诉内容，仅用于受理、调查和答复您的投诉，"
    "以及依法进行的统计分析。您的个人信息只向办理本投诉的工作人员显示，"
    "在列表和导出中脱敏处理，查看原文均有记录；除法律法规另有规定或经您同意外，"
    "不会提供给第三方。投诉材料按档案管理规定保存。匿名举报的，我们不要求您提供身份信息，"
    "但无法向您主动答复，请凭投诉编号和查询码自行查询。"
)

# Internal flow codes (F14 …) are the designers' references to the source charts: a complainant
# sees the organisation's own rule instead.
_LEADING_CODE = re.compile(r"^\s*F\d+[^：:（(]*[：:]\s*")
_CODE_ASIDE = re.compile(r"\s*[（(][^）)]*(?<![A-Za-z0-9])F\d+[^）)]*[）)]")
_CODE = re.compile(r"\s*(?<![A-Za-z0-9])F\d+(?![0-9])\s*")


class PublicNotice(models.Model):
    """The complaint contacts the organisation must publish (F15; 《医疗纠纷预防和处理条例》第十八条:
    the complaint route, procedure and contacts). The first row is used."""

    display_name = models.CharField(
        "公示单位名称", max_length=100, blank=True, help_text="不填则使用组织名称"
    )
    complaint_phone = models.CharField("投诉电话", max_length=50, blank=True)
    duty_phone = models.CharField(
        "夜间及节假日值班电话", max_length=50, blank=True, help_text="周末、节假日和夜间"
    )
    mailbox = models.CharField(
        "投诉信箱", max_length=200, blank=True, help_text="信箱位置或通信地址"
    )
    email = models.EmailField("电子邮箱", blank=True)
    reception_hours = models.CharField(
        "接待时间", max_length=200, blank=True, default="周一至周六 8:00—12:00，14:00—18:00"
    )
    reception_place = models.CharField("接待地点", max_length=200, blank=True)
    supervisor_name = models.CharField(
        "上级主管部门", max_length=100, blank=True, help_text="如：市卫生健康委员会"
    )
    supervisor_phone = models.CharField("主管部门投诉电话", max_length=50, blank=True)
    rule_name = models.CharField(
        "投诉处理制度名称",
        max_length=100,
        blank=True,
        help_text="如：《某某医院投诉管理办法》。投诉人看到的时限依据写这个名称；不填则写流程名称",
    )
    supervisor_address = models.CharField("主管部门地址", max_length=200, blank=True)
    portal_url = models.URLField(
        "投诉网站地址",
        blank=True,
        help_text="印在海报和公文二维码上的地址，如 https://tousu.example.org/；不填则用访问本站的地址",
    )
    intro = models.TextField(
        "投诉须知", blank=True, help_text="显示在投诉页面和公示页面上的说明，可留空"
    )
    privacy_notice = models.TextField("个人信息处理说明", default=DEFAULT_PRIVACY_NOTICE)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "投诉公示信息"

    def __str__(self) -> str:
        return self.display_name or "投诉公示信息"

    # The public contacts live here, beside the model, so that documents (which print them) and
    # messaging read them without importing the portal's selectors, which import documents.
    @classmethod
    def current(cls) -> PublicNotice:
        return cls.objects.order_by("pk").first() or cls()

    def organisation_name(self) -> str:
        return self.display_name or Organisation.current().name

    def contacts(self) -> dict[str, str]:
        return {
            "name": self.organisation_name(),
            "complaint_phone": self.complaint_phone,
            "duty_phone": self.duty_phone,
            "mailbox": self.mailbox,
            "email": self.email,
            "reception_hours": self.reception_hours,
            "reception_place": self.reception_place,
            "supervisor_name": self.supervisor_name,
            "supervisor_phone": self.supervisor_phone,
            "supervisor_address": self.supervisor_address,
        }

    def public_address(self, request=None) -> str:
        """The portal's public address, for posters and documents: the administrator's, else the
        one this request came in on, else TOUSU_PUBLIC_URL, else the first allowed host."""
        if self.portal_url:
            return self.portal_url.rstrip("/") + "/"
        if request is not None:
            return request.build_absolute_uri("/")
        if env := os.environ.get("TOUSU_PUBLIC_URL"):
            return env.rstrip("/") + "/"
        host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")
        return f"http://{host.lstrip('.')}/"

    def track_address(self, request=None) -> str:
        return self.public_address(request) + "track/"

    def rule_name_for(self, process) -> str:
        if name := self.rule_name.strip():
            return name
        return f"《{process.label}》" if process is not None else "本单位投诉处理规定"

    def public_basis(self, basis: str, process) -> str:
        """A clock's basis in the words a complainant may read: no internal flow codes."""
        if not basis:
            return ""
        text = _LEADING_CODE.sub(lambda m: f"{self.rule_name_for(process)}：", basis, count=1)
        text = _CODE_ASIDE.sub("", text)
        return _CODE.sub("", text).strip()


class SubmissionToken(models.Model):
    """One submit form, used once. The access code is kept only encrypted with the token the browser
    holds, so a retry of the same form can show the same receipt and nobody else can read it."""

    key_hash = models.CharField(max_length=64, unique=True)
    complaint = models.ForeignKey(
        "cases.Complaint", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    code_cipher = models.CharField(max_length=64, blank=True)
    address = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "提交令牌"

    def __str__(self) -> str:
        return self.key_hash[:12]


class Hit(models.Model):
    """One counted request (a submission, a failed lookup, a suspicious form) for the rate limits.
    Old rows are purged; the limits look back an hour at most."""

    bucket = models.CharField(max_length=20)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "访问计数"
        indexes = [models.Index(fields=["bucket", "key", "at"])]

    def __str__(self) -> str:
        return f"{self.bucket}:{self.key}"
