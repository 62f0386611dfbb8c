from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "tousu.webhooks"
    verbose_name = "Webhook 推送"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
