from django.conf import settings
from django.db import models

UNIT_LABELS = {
    "hours": "小时",
    "calendar_days": "日",
    "working_days": "个工作日",
    "working_hours": "工作小时",
}


class CalendarOverride(models.Model):
    """A day an administrator declares a working day or a day off, winning over every other source."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("上班", help_text="勾选=上班（含调休上班）；不勾选=放假")
    note = models.CharField("说明", max_length=100, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "节假日调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '放假'}"


class CalendarYear(models.Model):
    """A year whose full official schedule an administrator imported: its dates are no longer provisional."""

    year = models.PositiveSmallIntegerField("年份", primary_key=True)
    source = models.CharField("来源", max_length=200, blank=True)
    imported_at = models.DateTimeField("导入时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "已导入的年度安排"

    def __str__(self) -> str:
        return str(self.year)


class Clock(models.Model):
    """One statutory or internal time limit running on a case."""

    RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"
    STATE = [(RUNNING, "计时中"), (PAUSED, "已暂停"), (STOPPED, "已停止")]

    complaint = models.ForeignKey(
        "cases.Complaint", on_delete=models.CASCADE, related_name="clocks", verbose_name="投诉"
    )
    name = models.SlugField("名称", max_length=50)
    label = models.CharField("时限", max_length=100)
    basis = models.CharField("依据", max_length=500)
    unit = models.CharField("单位", max_length=20)
    amount = models.FloatField("时长")
    state = models.CharField("状态", max_length=10, choices=STATE, default=RUNNING)
    started_at = models.DateTimeField("开始")
    due_at = models.DateTimeField("截止")
    warn_at = models.DateTimeField("预警时间", null=True, blank=True)
    # The due time is always computed from (basis_at, basis_amount): the start, or the last resume or
    # extension, and the amount left then. Reloading a year's schedule recomputes from it exactly.
    basis_at = models.DateTimeField("计算起点")
    basis_amount = models.FloatField("计算时长")
    provisional = models.BooleanField(
        "暂定", default=False, help_text="截止日落在尚未公布放假安排的年份"
    )
    paused_at = models.DateTimeField("暂停时间", null=True, blank=True)
    remaining = models.FloatField("暂停时剩余", null=True, blank=True)
    extended = models.FloatField("已延期", default=0)
    warned_at = models.DateTimeField("已预警", null=True, blank=True)
    breached_at = models.DateTimeField("已超时", null=True, blank=True)
    stopped_at = models.DateTimeField("停止时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "时限"
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["state", "warn_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.label}（{self.complaint_id}）"

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS.get(self.unit, self.unit)

    @property
    def amount_text(self) -> str:
        return f"{self.amount:g} {self.unit_label}"

    @property
    def met(self) -> bool:
        return self.state == self.STOPPED and self.breached_at is None


class Notification(models.Model):
    """The in-app inbox; e-mail copies go through Django's e-mail backend."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name="接收人",
    )
    complaint = models.ForeignKey(
        "cases.Complaint",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="投诉",
    )
    kind = models.CharField("类型", max_length=30)
    message = models.CharField("内容", max_length=300)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        # Not the message: it may quote a case's title, and the admin prints str() in its lists.
        return f"通知 {self.pk}（{self.created_at:%Y-%m-%d %H:%M}）" if self.created_at else "通知"
