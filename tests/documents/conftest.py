"""Fixtures for official documents: a flow installed with one user per role, and helpers that go
through the real services and engine."""

import shutil
import subprocess
from pathlib import Path

import pytest

BASE_USERS = {"receiver": ["receiver"], "officer": ["officer"], "leader": ["leader"]}


class Flow:
    def __init__(self, process, users):
        self.process, self.users = process, users

    def register(self, content="导游强制购物，不购物不让上车", **kwargs):
        from tousu.cases.services import register_complaint

        kwargs.setdefault("channel", self.process.definition.channels[0].value)
        kwargs.setdefault(
            "parties",
            [
                {"role": "complainant", "name": "张三", "phone": "13812345678"},
                {"role": "respondent", "kind": "organisation", "name": "某某国际旅行社"},
            ],
        )
        complaint, _ = register_complaint(
            process=self.process, user=self.users["receiver"], content=content, **kwargs
        )
        return complaint

    def act(self, complaint, who, action, /, **data):
        from tousu.cases.engine import apply_action

        user = self.users[who] if isinstance(who, str) else who
        complaint, _ = apply_action(complaint, user, action, data=data, version=complaint.version)
        return complaint


@pytest.fixture
def flow(db):
    """flow(template) installs a shipped template (once per test) with its users."""
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    installed = {}

    def _install(template):
        if template in installed:
            return installed[template]
        ensure_roles()
        process = install_template(template)
        if not Organisation.objects.exists():
            Organisation.objects.create(name="江阴市文化和旅游局", default_process=template)
        users = {}
        for name, roles in BASE_USERS.items():
            users[name] = _user(name, roles, None)
        for dep in process.definition.departments:
            department = Department.objects.get(code=dep.code)
            users[f"handler_{dep.code}"] = _user(f"handler_{dep.code}", ["handler"], department)
        installed[template] = Flow(process, users)
        return installed[template]

    def _user(username, roles, department):
        from tousu.accounts.models import User

        return (
            User.objects.filter(username=username).first()
            or create_user(
                username, roles=roles, department=department, password=f"pw-{username}-123"
            )[0]
        )

    return _install


class Poppler:
    """pdftotext, pdffonts and pdftoppm from poppler-utils."""

    @staticmethod
    def text(path: Path) -> str:
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout

    @staticmethod
    def fonts(path: Path) -> str:
        return subprocess.run(
            ["pdffonts", str(path)], check=True, capture_output=True, text=True
        ).stdout

    @staticmethod
    def png(path: Path, out: Path, dpi: int = 70) -> Path:
        """The first page as a PNG at `out`."""
        prefix = out.with_suffix("")
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(dpi),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(path),
                str(prefix),
            ],
            check=True,
        )
        return prefix.with_suffix(".png")


@pytest.fixture
def poppler():
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext, pdffonts, pdftoppm) not installed")
    return Poppler()
