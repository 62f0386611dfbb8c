from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tousu.cases"
    verbose_name = "投诉案件"
