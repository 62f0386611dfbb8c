from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportBatch(models.Model):
    """One import of one file: what was read, how it was mapped, what it made."""

    ANALYSED, QUEUED, RUNNING, DONE, FAILED = "analysed", "queued", "running", "done", "failed"
    STATUS = [
        (ANALYSED, "待确认"),
        (QUEUED, "排队中"),
        (RUNNING, "导入中"),
        (DONE, "已完成"),
        (FAILED, "失败"),
    ]

    process = models.ForeignKey(
        "processes.ProcessDefinition", verbose_name="流程", on_delete=models.PROTECT
    )
    source = models.CharField(
        "来源", max_length=100, help_text="登记表或平台的名称：同一来源再次导入时更新已导入的投诉"
    )
    preset = models.CharField("预设", max_length=50, blank=True)
    file_name = models.CharField("文件名", max_length=255)
    file_sha256 = models.CharField("文件 SHA-256", max_length=64)
    file_size = models.PositiveIntegerField("文件大小", default=0)
    # The uploaded file, kept under DATA_DIR/imports/ until the import is confirmed or abandoned.
    stored_file = models.CharField(max_length=200, blank=True, editable=False)
    sheets = models.JSONField("工作表", default=list, blank=True)
    mapping = models.JSONField("对应关系", default=dict, blank=True)
    status = models.CharField("状态", max_length=10, choices=STATUS, default=ANALYSED)
    skip_errors = models.BooleanField("跳过有错误的行", default=False)
    rows = models.PositiveIntegerField("数据行", default=0)
    created = models.PositiveIntegerField("新建", default=0)
    updated = models.PositiveIntegerField("更正", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    skipped = models.PositiveIntegerField("跳过", default=0)
    linked = models.PositiveIntegerField("关联重复", default=0)
    error_count = models.PositiveIntegerField("错误", default=0)
    warning_count = models.PositiveIntegerField("提示", default=0)
    issues = models.JSONField("问题（前 500 条）", default=list, blank=True)
    message = models.TextField("说明", blank=True)
    via = models.CharField("途径", max_length=10, default="web")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("上传时间", default=timezone.now)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    seconds = models.FloatField("用时（秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "导入批次"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"


class ImportedRow(models.Model):
    """One register row and the case it made. (source, key) is unique: importing the same register
    again finds its rows and changes only what changed."""

    source = models.CharField("来源", max_length=100)
    key = models.CharField(
        "行标识", max_length=200, help_text="外部编号（如工单编号），或 工作表#序号、工作表@行号"
    )
    complaint = models.OneToOneField(
        "cases.Complaint", verbose_name="投诉", on_delete=models.CASCADE, related_name="imported"
    )
    batch = models.ForeignKey(
        ImportBatch, verbose_name="导入批次", on_delete=models.PROTECT, related_name="+"
    )
    last_batch = models.ForeignKey(
        ImportBatch, verbose_name="最近更正批次", on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField("文件名", max_length=255)
    sheet = models.CharField("工作表", max_length=100)
    row_number = models.PositiveIntegerField("行号")
    original = models.JSONField("原始行", default=dict)
    data = models.JSONField("导入值", default=dict)
    digest = models.CharField(max_length=64)
    # The case's version right after the import wrote it: a later import corrects the case only
    # while nobody has acted on it since.
    case_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField("导入时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "导入的行"
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="registers_row_source_key")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"


class SavedMapping(models.Model):
    """A column mapping the user kept for the next file of the same register."""

    process_name = models.SlugField("流程", max_length=50)
    name = models.CharField("名称", max_length=100)
    text = models.TextField("对应关系（YAML）")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="保存人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "导入对应关系"
        ordering = ["process_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["process_name", "name"], name="registers_mapping_process_name"
            )
        ]

    def __str__(self) -> str:
        return self.name
