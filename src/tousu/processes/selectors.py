from cachetools.func import ttl_cache

from .models import ProcessDefinition


@ttl_cache(maxsize=64, ttl=5)
def active_process(name: str) -> ProcessDefinition | None:
    """The version new cases start on. Cached for a few seconds: read on every registration, changed
    only by installing a template (which clears this process's cache; others follow within 5 s)."""
    return ProcessDefinition.objects.filter(name=name, is_active=True).first()


def active_processes():
    return ProcessDefinition.objects.filter(is_active=True).order_by("name")
