from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "tousu.documents"
    verbose_name = "公文"
