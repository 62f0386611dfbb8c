"""督办: a leader's instruction on a case with a deadline of its own, answered by the department."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Supervision(models.Model):
    OPEN, ANSWERED = "open", "answered"
    STATE = [(OPEN, "督办中"), (ANSWERED, "已回复")]

    complaint = models.ForeignKey(
        "cases.Complaint",
        verbose_name="投诉",
        on_delete=models.CASCADE,
        related_name="supervisions",
    )
    instruction = models.TextField("督办要求")
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="督办领导",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    placed_by_name = models.CharField("督办领导", max_length=100)
    placed_at = models.DateTimeField("督办时间")
    workdays = models.PositiveSmallIntegerField("督办时限（工作日）")
    # The deadline runs as a clock of the case (name "supervision"), swept like every other one.
    clock = models.OneToOneField(
        "clocks.Clock",
        verbose_name="时限",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervision",
    )
    due_at = models.DateTimeField("督办截止")
    state = models.CharField("状态", max_length=10, choices=STATE, default=OPEN)
    answer = models.TextField("督办回复", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="回复人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_by_name = models.CharField("回复人", max_length=100, blank=True)
    answered_at = models.DateTimeField("回复时间", null=True, blank=True)
    on_time = models.BooleanField("按时回复", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "督办"
        ordering = ["-placed_at", "-id"]
        constraints = [
            # One open 督办 per case: a second one waits for the department's answer to the first.
            models.UniqueConstraint(
                fields=["complaint"], condition=Q(state="open"), name="supervision_one_open"
            )
        ]
        indexes = [models.Index(fields=["placed_at"]), models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"督办 {self.complaint_id}（{self.get_state_display()}）"
