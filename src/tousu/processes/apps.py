from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "tousu.processes"
    verbose_name = "流程定义"
