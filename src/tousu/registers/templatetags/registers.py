"""{% imported_row complaint revealed %}: the register row a case was imported from, on its page,
masked like the case's parties unless they are shown in full."""

from django import template

from tousu.cases.privacy import mask_name, mask_phone
from tousu.registers.models import ImportedRow

register = template.Library()


def _mask(text: str) -> str:
    return mask_name(text) if len(text) <= 4 else mask_phone(text)


@register.inclusion_tag("registers/_imported_row.html")
def imported_row(complaint, revealed=False):
    row = ImportedRow.objects.filter(complaint=complaint).first()
    if row is None:
        return {"row": None}
    personal = set(row.data.get("personal_columns", []))
    cells = [
        (header, value if revealed or header not in personal else _mask(value))
        for header, value in row.original.items()
    ]
    return {"row": row, "cells": cells}
