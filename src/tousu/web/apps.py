from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "tousu.web"
    verbose_name = "工作台"
