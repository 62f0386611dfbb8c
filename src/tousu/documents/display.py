"""Values in the words of the flow's forms: choice labels, 是/否, category and department names,
dates the Chinese way. Shared by the documents and the portal's public timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from tousu.accounts.models import Department, User
from tousu.processes.definition import FieldDef
from tousu.processes.models import Category


def chinese_date(value: dt.date | dt.datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = (
                dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
            )
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.year}年{value.month}月{value.day}日"


def chinese_datetime(value: dt.datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"


def names_for(process_name: str, values: Iterable[Any]) -> dict[str, str]:
    """Display names of the codes among `values` (categories, departments, users)."""

    codes = {
        v
        for value in values
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, str)
    }
    if not codes:
        return {}
    names = dict(Department.objects.filter(code__in=codes).values_list("code", "name"))
    names |= dict(
        Category.objects.filter(process_name=process_name, code__in=codes).values_list(
            "code", "label"
        )
    )
    names |= {u.username: str(u) for u in User.objects.filter(username__in=codes)}
    return names


def display(field: FieldDef | None, value: Any, names: Mapping[str, str]) -> str:
    values = value if isinstance(value, list) else [value]
    if field is None:
        return "、".join(names.get(v, str(v)) if isinstance(v, str) else str(v) for v in values)
    match field.type:
        case "boolean":
            return "是" if value else "否"
        case "choice" | "multichoice":
            labels = {c.value: c.label for c in field.choices}
            return "、".join(labels.get(v, str(v)) for v in values)
        case "category" | "department" | "departments" | "users":
            return "、".join(names.get(v, str(v)) for v in values)
        case "date":
            return chinese_date(value)
        case "datetime":
            return chinese_datetime(value)
    return str(value)


def field_rows(
    fields: Iterable[FieldDef],
    data: Mapping[str, Any],
    names: Mapping[str, str],
    *,
    public_only: bool = False,
) -> list[dict[str, str]]:
    """[{name, label, value}] for the given fields that have a value, in the form's order."""
    rows = []
    for f in fields:
        if public_only and not f.public:
            continue
        value = data.get(f.name)
        if value in (None, "", []):
            continue
        rows.append({"name": f.name, "label": f.label, "value": display(f, value, names)})
    return rows
