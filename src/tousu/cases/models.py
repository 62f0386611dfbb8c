import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class Counter(models.Model):
    """Gap-free sequences (tracking numbers per day, document serial numbers per year)."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "编号计数器"

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out on the phone


def new_access_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(8))


def hash_access_code(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{code.strip().upper()}".encode()).hexdigest()
    return f"{salt}${digest}"


# Every flag a definition can set has its Chinese label here (other apps add theirs in ready());
# tests/security/test_no_raw_keys.py fails on a flag without one.
FLAG_LABELS = {
    "escalated": "已请示上级",
    "reopened": "不满意重办",
    "serious": "严重",
    "leadership": "已报领导",
    "medical_dispute": "医疗纠纷",
    "engineering_repair": "工程返修",
    "leadership_coordination": "领导协调",
    "verification_failed": "验证未通过",
}


class Complaint(models.Model):
    """One complaint case. Its state is a projection of its events."""

    COMPLEXITY = [("general", "一般"), ("complex", "复杂")]
    SEVERITY = [("normal", "一般"), ("serious", "严重"), ("critical", "特别严重")]

    tracking_number = models.CharField("投诉编号", max_length=32, unique=True)
    access_code_hash = models.CharField(max_length=90, editable=False)
    # Indexes are chosen, not defaulted: each one is another page written on every registration.
    process = models.ForeignKey(
        "processes.ProcessDefinition", verbose_name="流程", on_delete=models.PROTECT, db_index=False
    )
    state = models.CharField("状态", max_length=50)
    version = models.PositiveIntegerField("版本", default=1)
    channel = models.CharField("渠道", max_length=20)
    title = models.CharField("摘要", max_length=200, blank=True)
    content = models.TextField("投诉内容")
    request = models.TextField("诉求", blank=True)
    category = models.ForeignKey(
        "processes.Category",
        verbose_name="投诉类别",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
    )
    department = models.ForeignKey(  # indexed by (department, state)
        "accounts.Department",
        verbose_name="责任部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaints",
        db_index=False,
    )
    complexity = models.CharField("复杂程度", max_length=10, choices=COMPLEXITY, default="general")
    severity = models.CharField("严重程度", max_length=10, choices=SEVERITY, default="normal")
    flags = models.JSONField("标记", default=list, blank=True)
    fields = models.JSONField("行业字段", default=dict, blank=True)
    is_anonymous = models.BooleanField("匿名", default=False)
    # Dissatisfaction and other reopening actions start a new round (第几轮办理); conditions about
    # what happened look at the current round.
    round = models.PositiveSmallIntegerField("办理轮次", default=1)
    # 首诉负责制: the department that received the complaint first and registered it.
    first_department = models.ForeignKey(
        "accounts.Department",
        verbose_name="首诉部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    received_at = models.DateTimeField("接收时间", default=timezone.now)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    # The named person handling the case in its responsible department (tousu.owners): a
    # projection of the assignment events; chased shows how often the office pressed for it (催办).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="承办人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_complaints",
    )
    chase_count = models.PositiveIntegerField("催办次数", default=0)
    # The nearest due time of the case's running clocks: a projection the clock services keep, so
    # queues sort by deadline and find overdue cases from one index instead of aggregating clocks.
    next_due_at = models.DateTimeField("最近截止", null=True, blank=True, db_index=True)
    # No index: never filtered on, and every index is another page written per registration.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = verbose_name_plural = "投诉"
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["department", "state"]),
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["received_at"]),
            # The queue's "最近更新" sort, paged by keyset: an index walk instead of a sort of
            # every visible case per page.
            models.Index(fields=["updated_at"], name="cases_complaint_updated"),
        ]

    def __str__(self) -> str:
        return self.tracking_number

    def check_access_code(self, code: str) -> bool:
        salt, _, _ = self.access_code_hash.partition("$")
        return hmac.compare_digest(hash_access_code(code, salt), self.access_code_hash)

    @property
    def definition(self):
        return self.process.definition

    @property
    def state_label(self) -> str:
        return self.definition.state_label(self.state)

    @property
    def channel_label(self) -> str:
        return next(
            (c.label for c in self.definition.channels if c.value == self.channel), self.channel
        )

    @property
    def flag_labels(self) -> list[str]:
        return [FLAG_LABELS.get(f, f) for f in self.flags]

    @property
    def is_final(self) -> bool:
        return self.state in self.definition.final_states


class Party(models.Model):
    ROLE = [("complainant", "投诉人"), ("respondent", "被投诉方")]
    KIND = [("person", "个人"), ("organisation", "单位"), ("department", "本单位部门")]

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField("身份", max_length=20, choices=ROLE)
    kind = models.CharField("类型", max_length=20, choices=KIND, default="person")
    name = models.CharField("姓名/名称", max_length=100, blank=True)
    phone = models.CharField("电话", max_length=30, blank=True)
    id_number = models.CharField("证件号码", max_length=30, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    nationality = models.CharField("国籍", max_length=50, blank=True)
    relation = models.CharField("与当事人关系", max_length=50, blank=True)
    email = models.EmailField("电子邮箱", max_length=254, blank=True, default="")
    extra = models.JSONField("其他信息", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "当事人"
        indexes = [models.Index(fields=["phone"]), models.Index(fields=["id_number"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name}"


class AppendOnly(Exception):
    pass


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("事件只能追加，不能修改")

    def delete(self):
        raise AppendOnly("事件只能追加，不能删除")

    def public(self):
        return self.filter(visibility=Event.PUBLIC)


class Event(models.Model):
    """Append-only record of everything that happened to a case."""

    INTERNAL, PUBLIC = "internal", "public"
    VISIBILITY = [(INTERNAL, "内部"), (PUBLIC, "公开")]

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="events")
    action = models.CharField("动作", max_length=50)
    label = models.CharField("名称", max_length=100)
    from_state = models.CharField("原状态", max_length=50, blank=True)
    to_state = models.CharField("新状态", max_length=50, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_name = models.CharField("操作人", max_length=100, blank=True)
    via = models.CharField("途径", max_length=20, default="web")
    payload = models.JSONField("数据", default=dict, blank=True)
    comment = models.TextField("说明", blank=True)
    visibility = models.CharField("可见性", max_length=10, choices=VISIBILITY, default=INTERNAL)
    public_label = models.CharField("公开说明", max_length=200, blank=True)
    round = models.PositiveSmallIntegerField("办理轮次", default=1)
    created_at = models.DateTimeField("时间", default=timezone.now)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "事件"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("事件只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("事件只能追加，不能删除")


class Task(models.Model):
    """One department's piece of work on a case (派工单); several run at once in joint handling."""

    OPEN, DONE, CANCELLED = "open", "done", "cancelled"
    STATE = [(OPEN, "进行中"), (DONE, "已完成"), (CANCELLED, "已取消")]

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey(
        "accounts.Department", verbose_name="部门", on_delete=models.PROTECT
    )
    kind = models.CharField("事项", max_length=100)
    # Tasks opened together (a joint investigation): a join waits for every one of them.
    group = models.CharField("任务组", max_length=50, blank=True)
    round = models.PositiveSmallIntegerField("办理轮次", default=1)
    state = models.CharField("状态", max_length=10, choices=STATE, default=OPEN)
    is_lead = models.BooleanField("牵头", default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="承办人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_tasks",
    )
    opened_at = models.DateTimeField("派发时间", default=timezone.now)
    closed_at = models.DateTimeField("完成时间", null=True, blank=True)
    opened_by = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_by = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "任务"
        ordering = ["opened_at", "id"]
        indexes = [models.Index(fields=["department", "state"])]

    def __str__(self) -> str:
        return f"{self.department} {self.kind}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Stored under a random name: the original name is only metadata, never a path.
    return f"{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


class Attachment(models.Model):
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField("文件名", max_length=200)
    content_type = models.CharField("类型", max_length=100)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    kind = models.CharField("用途", max_length=20, default="evidence")
    is_public = models.BooleanField("投诉人可见", default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "附件"

    def __str__(self) -> str:
        return self.original_name


class IdempotencyRecord(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed on retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]

    def __str__(self) -> str:
        return self.key
