"""Installing flows: a template's definition, its departments and its category map."""

from django.db import transaction
from django.db.models import Max

from tousu.accounts.models import Department
from tousu.accounts.services import ensure_roles

from .catalog import template_names, template_path  # noqa: F401  (re-exported)
from .models import Category, ProcessDefinition
from .selectors import active_process
from .validation import load_file, load_text


@transaction.atomic
def install_definition(source: str, file: str = "<definition>") -> ProcessDefinition:
    """Install a definition, its departments and categories. Unchanged source is a no-op; a changed
    source becomes a new version (open cases keep theirs)."""
    definition = load_text(source, file)
    checksum = ProcessDefinition.checksum_of(source)
    existing = ProcessDefinition.objects.filter(name=definition.name).order_by("-version")
    same = existing.filter(checksum=checksum).first()
    if same:
        return same
    latest = existing.first()
    version = max(definition.version, latest.version + 1 if latest else 1)
    existing.update(is_active=False)
    process = ProcessDefinition.objects.create(
        name=definition.name,
        version=version,
        label=definition.label,
        source=source,
        checksum=checksum,
        is_active=True,
    )
    active_process.cache_clear()
    if definition.roles:
        ensure_roles({r.code: r.label for r in definition.roles})
    departments = {}
    # Departments are listed in the order the template declares them (the organisation's order);
    # a new one goes after those already there, an administrator's later reordering is kept.
    start = (Department.objects.aggregate(m=Max("sort_order"))["m"] or 0) + 1
    for i, dep in enumerate(definition.departments):  # parents are declared before children
        parent = departments.get(dep.parent) if dep.parent else None
        departments[dep.code], _ = Department.objects.get_or_create(
            code=dep.code, defaults={"name": dep.label, "parent": parent, "sort_order": start + i}
        )
    for cat in definition.categories:
        # An administrator's later change of the mapped department is kept.
        Category.objects.get_or_create(
            process_name=definition.name,
            code=cat.code,
            defaults={"label": cat.label, "department": departments.get(cat.department)},
        )
    return process


def install_template(name: str) -> ProcessDefinition:
    path = template_path(name)
    load_file(path)  # clear errors naming the file
    return install_definition(path.read_text(encoding="utf-8"), str(path))
