from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "tousu.ops"
    verbose_name = "运维与个人信息保护"
