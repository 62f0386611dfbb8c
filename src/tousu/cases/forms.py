"""Forms declared in process definitions, as Django forms (Chinese messages for free) and as JSON
schema (for the API). The web UI and the API validate through the same form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms

from tousu.accounts.models import Department, User
from tousu.processes.definition import FieldDef
from tousu.processes.models import Category

JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "choice": "string",
    "date": "string",
    "datetime": "string",
    "category": "string",
    "department": "string",
    "integer": "integer",
    "boolean": "boolean",
    "multichoice": "array",
    "departments": "array",
    "users": "array",
}


def _category_choices(process_name: str):
    def choices():
        return [("", "——")] + list(
            Category.objects.filter(process_name=process_name, is_active=True).values_list(
                "code", "label"
            )
        )

    return choices


def _department_choices():
    return [("", "——")] + list(
        Department.objects.filter(is_active=True).values_list("code", "name")
    )


def _user_choices(roles: tuple[str, ...]):
    """The people a users field may name: active staff holding one of the field's roles."""

    def choices():
        users = User.objects.filter(is_active=True, roles__code__in=roles).distinct()
        return [(u.username, str(u)) for u in users.order_by("username")]

    return choices


class YesNoRadio(forms.RadioSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs, choices=[("true", "是"), ("false", "否")])

    def format_value(self, value):
        if value in (True, "True", "true", "1"):
            return ["true"]
        if value in (False, "False", "false", "0"):
            return ["false"]
        return []


class YesNoField(forms.NullBooleanField):
    """A yes/no question: 是 and 否 are both answers; `required` means one must be given."""

    widget = YesNoRadio

    def validate(self, value):
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


def form_field(field: FieldDef, process_name: str) -> forms.Field:
    common = {"label": field.label, "required": field.required, "help_text": field.help}
    match field.type:
        case "text":
            return forms.CharField(max_length=field.effective_max_length, **common)
        case "textarea":
            return forms.CharField(
                max_length=field.effective_max_length,
                widget=forms.Textarea(attrs={"rows": 3}),
                **common,
            )
        case "integer":
            return forms.IntegerField(min_value=-(10**9), max_value=10**9, **common)
        case "boolean":
            return YesNoField(**common)
        case "choice":
            return forms.ChoiceField(
                choices=[("", "——")] + [(c.value, c.label) for c in field.choices], **common
            )
        case "multichoice":
            return forms.MultipleChoiceField(
                choices=[(c.value, c.label) for c in field.choices],
                widget=forms.CheckboxSelectMultiple,
                **common,
            )
        case "date":
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        case "datetime":
            return forms.DateTimeField(
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
            )
        case "category":
            return forms.ChoiceField(choices=_category_choices(process_name), **common)
        case "department":
            return forms.ChoiceField(choices=_department_choices, **common)
        case "departments":
            return forms.MultipleChoiceField(
                choices=lambda: _department_choices()[1:],
                widget=forms.CheckboxSelectMultiple,
                **common,
            )
        case "users":
            return forms.MultipleChoiceField(
                choices=_user_choices(field.roles),
                widget=forms.CheckboxSelectMultiple,
                **common,
            )
    raise ValueError(f"unknown field type {field.type}")


class ChineseForm(forms.Form):
    """Chinese labels take no colon after them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def lead_field(field: FieldDef) -> forms.Field:
    """The lead department of a `departments` field: one radio button per department, in the
    organisation's order, with no empty entry (left unticked it means "the only one chosen")."""
    return forms.ChoiceField(
        label=field.label,
        required=field.required,
        help_text=field.help,
        choices=lambda: _department_choices()[1:],
        widget=forms.RadioSelect(attrs={"class": "lead-choice"}),
    )


def build_form(fields: Iterable[FieldDef], process_name: str) -> type[forms.Form]:
    fields = list(fields)
    leads = {f.lead for f in fields if f.type == "departments" and f.lead}
    attrs = {
        f.name: lead_field(f) if f.name in leads else form_field(f, process_name) for f in fields
    }
    return type("ActionForm", (ChineseForm,), attrs)


_FORM_CLASSES: dict[tuple[int, str, str], type[forms.Form]] = {}


def form_class(process, action: str | None = None) -> type[forms.Form]:
    """The form of an action (or, with no action, the registration's sector fields), built once per
    process version: a version's definition never changes."""
    key = (process.pk, process.checksum, action or "")
    cls = _FORM_CLASSES.get(key)
    if cls is None:
        definition = process.definition
        fields = definition.action(action).form if action else definition.fields
        cls = _FORM_CLASSES[key] = build_form(fields, process.name)
    return cls


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def type_errors(fields: Iterable[FieldDef], data: Mapping[str, Any]) -> dict[str, list[str]]:
    """JSON clients: wrong types and unknown keys are errors, never silently coerced."""
    fields = list(fields)
    known = {f.name: f for f in fields}
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in known:
            allowed = "、".join(known) or "无"
            errors[key] = [f"未知字段「{key}」；允许的字段：{allowed}"]
    for name, field in known.items():
        value = data.get(name)
        if value is None:
            continue
        expected = JSON_TYPES[field.type]
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[expected]
        if not ok:
            what = {
                "string": "文本",
                "integer": "整数",
                "boolean": "true 或 false",
                "array": "文本列表",
            }[expected]
            errors[name] = [f"「{field.label}」应为{what}"]
    return errors


def json_schema(fields: Iterable[FieldDef], process_name: str) -> dict:
    properties, required = {}, []
    for f in fields:
        prop: dict[str, Any] = {"title": f.label, "type": JSON_TYPES[f.type]}
        if f.help:
            prop["description"] = f.help
        if f.type in ("text", "textarea"):
            prop["maxLength"] = f.effective_max_length
        elif f.type == "date":
            prop["format"] = "date"
        elif f.type == "datetime":
            prop["format"] = "date-time"
        elif f.type == "choice":
            prop["enum"] = [c.value for c in f.choices]
        elif f.type == "multichoice":
            prop["items"] = {"type": "string", "enum": [c.value for c in f.choices]}
        elif f.type == "category":
            prop["enum"] = [c for c, _ in _category_choices(process_name)() if c]
        elif f.type in ("department", "departments"):
            codes = [c for c, _ in _department_choices() if c]
            if f.type == "department":
                prop["enum"] = codes
            else:
                prop["items"] = {"type": "string", "enum": codes}
        elif f.type == "users":
            prop["items"] = {"type": "string"}
        if f.required:
            required.append(f.name)
            if f.type in ("departments", "users", "multichoice"):
                prop["minItems"] = max(1, f.min_items or 1)
        properties[f.name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
