from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "tousu.triage"
    verbose_name = "智能分派"
