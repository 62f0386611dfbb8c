"""What the public portal keeps of its own: the organisation's published complaint contacts (F15), the
one-time tokens that make a double submission one complaint, and the per-address hits the rate limits
count."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

DEFAULT_PRIVACY_NOTICE = (
    "我们收集您填写的姓名、联系电话、地址和投诉内容，仅用于受理、调查和答复您的投诉，"
    "以及依法进行的统计分析。您的个人信息只向办理本投诉的工作人员显示，"
    "在列表和导出中脱敏处理，查看原文均有记录；除法律法规另有规定或经您同意外，"
    "不会提供给第三方。投诉材料按档案管理规定保存。匿名举报的，我们不要求您提供身份信息，"
    "但无法向您主动答复，请凭投诉编号和查询码自行查询。"
)


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
