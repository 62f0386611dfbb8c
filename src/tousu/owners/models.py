"""How a department hands its cases to people: by hand (the department head), or automatically."""

from django.conf import settings
from django.db import models


class AssignmentPolicy(models.Model):
    """A department's way of giving arriving cases and tasks to its handlers. Departments without a
    row are assigned by hand (the head assigns, a handler may claim)."""

    MANUAL, ROUND_ROBIN, LEAST_OPEN = "manual", "round_robin", "least_open"
    MODES = [
        (MANUAL, "人工指派（科室负责人指派或经办人认领）"),
        (ROUND_ROBIN, "自动：轮流分派给本部门经办人"),
        (LEAST_OPEN, "自动：分派给在办件最少的经办人"),
    ]

    department = models.OneToOneField(
        "accounts.Department",
        verbose_name="部门",
        on_delete=models.CASCADE,
        related_name="assignment_policy",
    )
    mode = models.CharField("分派方式", max_length=20, choices=MODES, default=MANUAL)
    # Round robin's cursor: the handler who got the last case.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="上一次分派给",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "部门分派方式"

    def __str__(self) -> str:
        return f"{self.department}：{self.get_mode_display()}"
