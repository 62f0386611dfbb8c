from django.apps import AppConfig


class ClocksConfig(AppConfig):
    name = "tousu.clocks"
    verbose_name = "时限与节假日"
