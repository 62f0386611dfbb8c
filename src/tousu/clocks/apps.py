from django.apps import AppConfig


class ClocksConfig(AppConfig):
    name = "tousu.clocks"
    verbose_name = "时限与节假日"

    def ready(self) -> None:
        # The engine (tousu.cases) starts and stops clocks through this seam, not an import.
        from tousu.cases.hooks import register_clock_rules

        from . import services

        register_clock_rules(services)
