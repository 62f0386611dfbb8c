from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "tousu.documents"
    verbose_name = "公文"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the action_applied receiver)
