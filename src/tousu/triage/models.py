from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TriageModel(models.Model):
    """One trained version of a template's classifier. The model itself is a file under
    DATA_DIR/triage/; this row says which file, how it was made, and whether it is in use."""

    process_name = models.SlugField("流程", max_length=50)
    version = models.PositiveIntegerField("版本")
    file = models.CharField("文件", max_length=200, help_text="相对于数据目录下的 triage/")
    sha256 = models.CharField("文件摘要（SHA-256）", max_length=64, editable=False)
    algorithm = models.CharField("算法", max_length=100)
    sklearn_version = models.CharField("scikit-learn 版本", max_length=20)
    classes = models.JSONField("类别", default=list)
    left_out = models.JSONField("样本不足未参与的类别", default=dict, blank=True)
    n_samples = models.PositiveIntegerField("内置样本数", default=0)
    n_cases = models.PositiveIntegerField("本单位案例数", default=0)
    seconds = models.FloatField("训练耗时（秒）", default=0)
    metrics = models.JSONField("评估结果", default=dict, blank=True)
    is_active = models.BooleanField("使用中", default=False)
    created_at = models.DateTimeField("训练时间", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="训练人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "分类模型"
        ordering = ["process_name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["process_name", "version"], name="triage_model_process_version"
            ),
            models.UniqueConstraint(
                fields=["process_name"], condition=Q(is_active=True), name="triage_one_active_model"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_name} v{self.version}{'（使用中）' if self.is_active else ''}"


class Choice(models.Model):
    """What a member of staff chose as a case's category (at registration or in an action): the
    organisation's own labels, which retraining learns from."""

    complaint = models.ForeignKey(
        "cases.Complaint", verbose_name="投诉", on_delete=models.CASCADE, related_name="+"
    )
    process_name = models.SlugField("流程", max_length=50)
    category = models.CharField("类别", max_length=50)
    department = models.CharField("部门", max_length=50, blank=True)
    source = models.CharField("来源", max_length=60, help_text="registration 或动作名")
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="选择人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "人工分类记录"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} → {self.category}"


class TextPrint(models.Model):
    """A case's text fingerprint (4 MinHash band keys, see fingerprint.py), indexed with the time
    of receipt so "near-identical within the window" is 4 index range scans."""

    complaint = models.OneToOneField(
        "cases.Complaint", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    received_at = models.DateTimeField()
    b0 = models.BigIntegerField()
    b1 = models.BigIntegerField()
    b2 = models.BigIntegerField()
    b3 = models.BigIntegerField()

    BANDS = ("b0", "b1", "b2", "b3")

    class Meta:
        verbose_name = verbose_name_plural = "文本指纹"
        indexes = [
            models.Index(fields=["b0", "received_at"], name="triage_print_b0"),
            models.Index(fields=["b1", "received_at"], name="triage_print_b1"),
            models.Index(fields=["b2", "received_at"], name="triage_print_b2"),
            models.Index(fields=["b3", "received_at"], name="triage_print_b3"),
        ]

    def __str__(self) -> str:
        return str(self.complaint_id)


class CaseLink(models.Model):
    """Two cases about the same matter. `related`: linked, both handled (source has the lower id).
    `merged`: the source (duplicate) was merged into the target (primary); both keep their own
    event logs, and the primary's page shows the duplicate's events beside its own."""

    RELATED, MERGED = "related", "merged"
    KIND = [(RELATED, "关联"), (MERGED, "合并")]

    source = models.ForeignKey(
        "cases.Complaint", verbose_name="投诉", on_delete=models.CASCADE, related_name="+"
    )
    target = models.ForeignKey(
        "cases.Complaint", verbose_name="关联投诉", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField("方式", max_length=10, choices=KIND, default=RELATED)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "关联与合并"
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="triage_link_pair"),
            models.UniqueConstraint(
                fields=["source"], condition=Q(kind="merged"), name="triage_merged_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.get_kind_display()} {self.target_id}"


class Wave(models.Model):
    """A collective complaint (群体性投诉): at least the template's threshold of different
    complainants about the same matter or respondent within the window (triage/waves.py). One
    case with that many complainants (a joint complaint, 联名) is a wave of its own. Every member
    carries the flag `risk_collective`; the dashboard's 集体投诉 counts waves, each once, in the
    period of its first case (the fact `collective` of that case)."""

    process_name = models.SlugField("流程", max_length=50)
    first = models.ForeignKey(
        "cases.Complaint",
        verbose_name="首件投诉",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    respondent = models.CharField("被投诉方", max_length=100, blank=True)
    people = models.PositiveIntegerField("投诉人数", default=0)
    threshold = models.PositiveIntegerField("认定人数", default=5)
    started_at = models.DateTimeField("认定时间", default=timezone.now)
    last_at = models.DateTimeField("最近一件时间", default=timezone.now)
    notified_at = models.DateTimeField("通知领导时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "群体性投诉"
        constraints = [models.UniqueConstraint(fields=["first"], name="triage_wave_first")]

    def __str__(self) -> str:
        return f"群体性投诉 {self.pk}（{self.people} 人）"


class WaveMember(models.Model):
    """A case of a wave; a case belongs to at most one wave."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="members")
    complaint = models.OneToOneField(
        "cases.Complaint", on_delete=models.CASCADE, related_name="wave_member"
    )
    similarity = models.FloatField("文本相似度", default=1.0)
    joined_at = models.DateTimeField("纳入时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "群体性投诉的案件"

    def __str__(self) -> str:
        return f"{self.wave_id}:{self.complaint_id}"


class RoutingSetting(models.Model):
    """Automatic routing of a flow's portal and API complaints, set by the administrator: off
    (no threshold) until the model has been evaluated on the organisation's own closed cases."""

    process_name = models.SlugField("流程", max_length=50, unique=True)
    threshold = models.FloatField(
        "自动分派置信度阈值",
        null=True,
        blank=True,
        help_text="置信度不低于此值的网上和接口投诉自动分派类别与部门；留空为关闭",
    )
    retrain_after = models.PositiveIntegerField(
        "累计多少条人工更正后重新训练", default=20, help_text="0 为不自动重新训练"
    )
    updated_at = models.DateTimeField("修改时间", default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="修改人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "自动分派设置"
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__isnull=True) | Q(threshold__gt=0, threshold__lte=1),
                name="triage_routing_threshold_range",
            )
        ]

    def __str__(self) -> str:
        state = f"阈值 {self.threshold:.2f}" if self.threshold is not None else "关闭"
        return f"{self.process_name} 自动分派：{state}"


class Correction(models.Model):
    """A member of staff changed (or undid) a category the system had applied by itself: kept,
    to count towards retraining and to show how often automatic routing is wrong."""

    complaint = models.ForeignKey(
        "cases.Complaint", verbose_name="投诉", on_delete=models.CASCADE, related_name="+"
    )
    process_name = models.SlugField("流程", max_length=50)
    predicted = models.CharField("自动分派的类别", max_length=50)
    confidence = models.FloatField("置信度")
    model_version = models.PositiveIntegerField("模型版本", null=True, blank=True)
    corrected = models.CharField("更正后的类别", max_length=50, blank=True, help_text="撤销时为空")
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="更正人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "自动分派更正记录"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["process_name", "created_at"], name="triage_corr_proc")]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.predicted} → {self.corrected or '撤销'}"
