"""The cases of a bulk export that carried personal data unmasked: one row per case, so the
disclosure log can say, per case, who exported it (the export itself is reports.ExportLog, one row
per download). Append-only, like the export log."""

from django.db import models


class ExportedCase(models.Model):
    export = models.ForeignKey(
        "reports.ExportLog", verbose_name="导出", on_delete=models.PROTECT, related_name="+"
    )
    complaint = models.ForeignKey(
        "cases.Complaint", verbose_name="投诉", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "导出的投诉"
        indexes = [models.Index(fields=["complaint"])]

    def __str__(self) -> str:
        return f"{self.export_id}:{self.complaint_id}"
