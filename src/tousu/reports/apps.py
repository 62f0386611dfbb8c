from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tousu.reports"
    verbose_name = "统计分析"

    def ready(self) -> None:
        from . import facts

        facts.connect()
