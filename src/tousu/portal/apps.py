from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tousu.portal"
    verbose_name = "投诉人门户"
