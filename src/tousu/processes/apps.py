from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "tousu.processes"
    verbose_name = (
        "流程与类别"  # not the same words as its model (流程定义): no 「流程定义 / 流程定义」
    )
