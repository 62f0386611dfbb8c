from .models import ProcessDefinition


def active_process(name: str) -> ProcessDefinition | None:
    return ProcessDefinition.objects.filter(name=name, is_active=True).first()


def active_processes():
    return ProcessDefinition.objects.filter(is_active=True).order_by("name")
