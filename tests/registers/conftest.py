"""Fixtures for the import tests: a template installed with one user per role, and registers built
with openpyxl the way offices keep them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def install(db):
    """install(template) → (process, users by role name)."""
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    def _install(template: str):
        ensure_roles()
        process = install_template(template)
        if not Organisation.objects.exists():
            Organisation.objects.create(name="测试单位", default_process=template)
        first = Department.objects.get(code=process.definition.departments[0].code)
        users = {}
        for name, roles, dept in (
            ("officer", ["officer"], None),
            ("receiver", ["receiver"], None),
            ("auditor", ["auditor"], None),
            ("admin", ["admin"], None),
            ("handler", ["handler"], first),
        ):
            users[name] = create_user(
                name, roles=roles, department=dept, password=f"pw-{name}-1234"
            )[0]
        return process, users

    return _install
