"""Analytics storage: a compact fact row per case and per clock, the periodic reports, the export log.

The facts are a projection of the cases tables (complaints, parties, events, clocks), kept current by
signal receivers (facts.py) and written directly by the data generator; `tousu report --rebuild-facts`
recomputes them from the source rows. They exist because the dashboard must aggregate a million cases
in well under a second on SQLite: a narrow row of integers with one covering index is read several
times faster than joining the wide cases tables and parsing their JSON. The monthly rollups of the
facts (Month*, rollup.py) go one step further for long periods: a year is read from twelve months of
pre-added counts, kept current with the facts in the same transactions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

# Satisfaction codes stored on CaseFact (the first verdict the complainant gave).
NO_VERDICT, SATISFIED, BASICALLY_SATISFIED, DISSATISFIED = 0, 1, 2, 3
SATISFACTION_LABELS = {SATISFIED: "满意", BASICALLY_SATISFIED: "基本满意", DISSATISFIED: "不满意"}


class CaseFact(models.Model):
    """One case, reduced to what the statistics need. Days are local (Asia/Shanghai) dates written as
    the integer YYYYMMDD: compared and grouped as integers, and readable in plain SQL."""

    complaint = models.OneToOneField(
        "cases.Complaint", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    process_id = models.BigIntegerField("流程版本")
    received_day = models.IntegerField("接收日期")
    closed_day = models.IntegerField("结案日期", null=True, blank=True)
    state = models.CharField("状态", max_length=50)
    department_id = models.BigIntegerField("责任部门", null=True, blank=True)
    category_id = models.BigIntegerField("投诉类别", null=True, blank=True)
    channel = models.CharField("渠道", max_length=20)
    respondent = models.CharField("被投诉方", max_length=100, blank=True)
    # A keyed hash of the complainant's phone or ID number: repeat complainants are found without
    # copying personal data into the statistics.
    complainant_key = models.CharField(max_length=16, blank=True)
    repeat = models.BooleanField("重复投诉", default=False)
    collective = models.BooleanField("集体投诉", default=False)
    handling_days = models.IntegerField("办理工作日", null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField("满意度", default=NO_VERDICT)
    reopened = models.BooleanField("不满意重办", default=False)
    followed_up = models.BooleanField("已回访", default=False)
    external_route = models.CharField("外部途径", max_length=200, blank=True)
    external_outcome = models.CharField("外部途径结果", max_length=50, blank=True)
    capa_verified = models.BooleanField("纠正措施验证通过", default=False)
    capa_failed = models.PositiveSmallIntegerField("纠正措施验证未通过次数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "统计事实（投诉）"
        indexes = [
            # Covering: every period query of the dashboard reads this index only, in day order.
            models.Index(
                fields=[
                    "received_day",
                    "process_id",
                    "department_id",
                    "category_id",
                    "channel",
                    "closed_day",
                    "satisfaction",
                    "reopened",
                    "followed_up",
                    "collective",
                    "repeat",
                    "handling_days",
                    "capa_verified",
                    "capa_failed",
                ],
                name="reports_fact_period",
            ),
            # Backlog: open cases (and those closed after a past period's end), by age.
            models.Index(
                fields=["closed_day", "received_day", "process_id", "department_id", "category_id"],
                name="reports_fact_backlog",
            ),
            # Respondents and external routes: rarely set, read without touching the table.
            models.Index(
                fields=[
                    "received_day",
                    "process_id",
                    "department_id",
                    "category_id",
                    "respondent",
                    "external_route",
                    "external_outcome",
                ],
                name="reports_fact_respondent",
            ),
            models.Index(fields=["complainant_key", "received_day"], name="reports_fact_person"),
        ]

    def __str__(self) -> str:
        return f"fact {self.complaint_id}"


class ClockFact(models.Model):
    """One clock instance, with the filter dimensions of its case copied in (no join at query time)."""

    RUNNING, PAUSED, STOPPED = 0, 1, 2

    clock_id = models.BigIntegerField(primary_key=True)
    complaint_id = models.BigIntegerField(db_index=True)
    process_id = models.BigIntegerField()
    received_day = models.IntegerField()
    department_id = models.BigIntegerField(null=True, blank=True)
    category_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=50)
    state = models.PositiveSmallIntegerField(default=RUNNING)
    # Breached (by the sweep) or stopped after its due time.
    late = models.BooleanField(default=False)
    due_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "统计事实（时限）"
        indexes = [
            models.Index(
                fields=[
                    "received_day",
                    "process_id",
                    "department_id",
                    "category_id",
                    "name",
                    "state",
                    "late",
                    "due_at",
                ],
                name="reports_clockfact_period",
            ),
            # Running clocks not (yet) late: the dashboard counts those past their due time as
            # overdue when it is read. Few rows (open cases only), so partial.
            models.Index(
                fields=[
                    "due_at",
                    "received_day",
                    "process_id",
                    "department_id",
                    "category_id",
                    "name",
                ],  # fmt: skip
                condition=Q(state=0, late=False),
                name="reports_clockfact_running",
            ),
        ]

    def __str__(self) -> str:
        return f"clock fact {self.clock_id}"


# --- monthly rollups of the facts (rollup.py) ----------------------------------------------------
# One row per (month received, process version, department, category, …) with the counts the
# dashboard adds up, kept current with the facts in the same transaction: a year is twelve months
# of a few hundred rows each instead of a third of a million facts. Department and category are
# 0 when the case has none (a unique key treats NULLs as distinct).


class _Rollup(models.Model):
    month = models.IntegerField("接收月份")  # YYYYMM, local
    process_id = models.BigIntegerField("流程版本")
    department_id = models.BigIntegerField("责任部门", default=0)  # 0: none
    category_id = models.BigIntegerField("投诉类别", default=0)  # 0: none

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.month} {self.process_id}/{self.department_id}/{self.category_id}"


class MonthCases(_Rollup):
    """The per-case counts of CaseFact, by channel."""

    channel = models.CharField("渠道", max_length=20)
    received = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically = models.IntegerField(default=0)
    dissatisfied = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    followed_up = models.IntegerField(default=0)  # followed up among the closed
    collective = models.IntegerField(default=0)
    repeat = models.IntegerField(default=0)
    capa_verified = models.IntegerField(default=0)
    capa_failed_cases = models.IntegerField(default=0)
    capa_failed_rounds = models.IntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "统计月汇总（投诉）"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "process_id", "department_id", "category_id", "channel"],
                name="reports_monthcases_key",
            )
        ]


class MonthHandling(_Rollup):
    """Closed cases by working days to close: the histogram medians and percentiles come from."""

    handling_days = models.IntegerField("办理工作日")
    cases = models.IntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "统计月汇总（办理时长）"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "process_id", "department_id", "category_id", "handling_days"],
                name="reports_monthhandling_key",
            )
        ]


class MonthClocks(_Rollup):
    """Clock instances, kept (stopped in time) and late. Overdue depends on the moment of reading:
    it is counted from ClockFact's running clocks (few) when the dashboard is read."""

    name = models.CharField(max_length=50)
    clocks = models.IntegerField(default=0)
    met = models.IntegerField(default=0)
    late = models.IntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "统计月汇总（时限）"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "process_id", "department_id", "category_id", "name"],
                name="reports_monthclocks_key",
            )
        ]


class MonthRespondents(_Rollup):
    respondent = models.CharField(max_length=100)
    cases = models.IntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "统计月汇总（被投诉方）"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "process_id", "department_id", "category_id", "respondent"],
                name="reports_monthrespondents_key",
            )
        ]


class MonthRoutes(_Rollup):
    external_route = models.CharField(max_length=200)
    external_outcome = models.CharField(max_length=50, blank=True)
    cases = models.IntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "统计月汇总（外部途径）"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "process_id",
                    "department_id",
                    "category_id",
                    "external_route",
                    "external_outcome",
                ],
                name="reports_monthroutes_key",
            )
        ]


def report_storage():
    # settings.STORAGES["reports"]: DATA_DIR/reports, or the object store's reports/ folder.
    from tousu.db import files

    return files.reports


class Report(models.Model):
    """A periodic report (monthly or quarterly statistics pack) stored as a file under
    DATA_DIR/reports. Scheduled reports are unique per period and format, so two workers never
    produce the same one twice."""

    PENDING, DONE, FAILED = "pending", "done", "failed"
    STATUS = [(PENDING, "生成中"), (DONE, "已生成"), (FAILED, "失败")]
    FORMATS = [("pdf", "PDF"), ("xlsx", "Excel")]

    period = models.CharField("统计期间", max_length=30)
    period_label = models.CharField("期间名称", max_length=60)
    format = models.CharField("格式", max_length=5, choices=FORMATS)
    status = models.CharField("状态", max_length=10, choices=STATUS, default=PENDING)
    scheduled = models.BooleanField("定期生成", default=False)
    file = models.CharField("文件", max_length=200, blank=True)
    size = models.PositiveIntegerField("大小", default=0)
    sha256 = models.CharField("文件摘要（SHA-256）", max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="生成人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    seconds = models.FloatField("耗时（秒）", null=True, blank=True)
    error = models.TextField("错误", blank=True)
    emailed_to = models.TextField("已发送至", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "定期报告"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "format"],
                condition=Q(scheduled=True),
                name="reports_report_scheduled_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_label}（{self.format}）"

    def exists(self) -> bool:
        return bool(self.file) and report_storage().exists(self.file)

    def open(self):
        return report_storage().open(self.file, "rb")

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    def location(self) -> str:
        """Where the file is, for a person: a path on disk, or the object's key in the bucket."""
        storage = report_storage()
        try:
            return storage.path(self.file)
        except NotImplementedError:  # object storage has keys, not paths
            return f"对象存储 {getattr(storage, 'bucket_name', '')}/{storage.location}/{self.file}"

    @property
    def filename(self) -> str:
        return f"投诉统计分析报告-{self.period}.{self.format}"


class AppendOnly(Exception):
    pass


class ExportLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("导出记录只能追加，不能修改")

    def delete(self):
        raise AppendOnly("导出记录只能追加，不能删除")


class ExportLog(models.Model):
    """Who exported which cases, when, in what form. One row per export, not an Event per exported
    case (100,000 events for one download would drown the cases' own history); the cases table has
    no organisation-level log, so this is it. Append-only like the event log."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="导出人", on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField("用户名", max_length=150)
    format = models.CharField("格式", max_length=5)
    filters = models.JSONField("筛选条件", default=dict)
    filters_text = models.CharField("筛选条件说明", max_length=300, blank=True)
    rows = models.PositiveIntegerField("导出件数", default=0)
    personal_data = models.BooleanField("含未遮盖的个人信息", default=False)
    via = models.CharField("途径", max_length=20, default="web")
    created_at = models.DateTimeField("时间", auto_now_add=True)

    objects = ExportLogQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "导出记录"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} {self.format} {self.rows}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("导出记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("导出记录只能追加，不能删除")


class Snapshot(models.Model):
    """The dashboard's figures for an organisation-wide standard period (this and last month,
    quarter and year), computed by the worker every few minutes so that a year of a million cases
    opens at once; any other filter is computed when asked for."""

    key = models.CharField(max_length=200, unique=True)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    data = models.BinaryField()  # zlib-compressed pickle, written only by the worker

    class Meta:
        verbose_name = verbose_name_plural = "统计快照"

    def __str__(self) -> str:
        return self.key
