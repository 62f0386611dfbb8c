from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "tousu.messaging"
    verbose_name = "消息与通知"

    def ready(self) -> None:
        from tousu.cases import signals
        from tousu.clocks import signals as clock_signals

        from . import receivers

        signals.complaint_registered.connect(
            receivers.complaint_registered, dispatch_uid="messaging.complaint_registered"
        )
        signals.action_applied.connect(
            receivers.action_applied, dispatch_uid="messaging.action_applied"
        )
        clock_signals.clock_extended.connect(
            receivers.clock_extended, dispatch_uid="messaging.clock_extended"
        )
