from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "tousu.supervision"
    verbose_name = "催办与督办"
