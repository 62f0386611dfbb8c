from django.apps import AppConfig


class OwnersConfig(AppConfig):
    name = "tousu.owners"
    verbose_name = "承办与分派"

    def ready(self) -> None:
        from tousu.cases import signals

        from . import receivers

        signals.complaint_registered.connect(
            receivers.complaint_registered, dispatch_uid="owners.complaint_registered"
        )
        signals.action_applied.connect(
            receivers.action_applied, dispatch_uid="owners.action_applied"
        )
