from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "tousu.triage"
    verbose_name = "智能分派"

    def ready(self):
        from tousu.cases import signals
        from tousu.cases.models import FLAG_LABELS

        from . import receivers
        from .risk import FLAG_LABELS as RISK_LABELS

        signals.complaint_registered.connect(
            receivers.complaint_registered, dispatch_uid="triage.complaint_registered"
        )
        signals.action_applied.connect(
            receivers.action_applied, dispatch_uid="triage.action_applied"
        )
        # Case pages show flags through cases.models.FLAG_LABELS; ours join that registry.
        FLAG_LABELS.update(RISK_LABELS)
        FLAG_LABELS.setdefault("merged", "已合并")
