"""Fixtures for the sector templates' scenario tests.

`install_flow(name)` installs a shipped template, creates one user per role (receiver, officer,
leader, verifier, auditor, admin), a handler and a head for every department the template
declares (`handler_<code>`, `head_<code>`) and the staff of the roles the template names itself,
and returns a `Flow` whose helpers go through the real services and engine, at a given moment
(`at=`) when a test asserts deadlines. Every action applied is recorded as an edge (state, action)
by tests/conftest.py; test_every_edge_walked.py fails unless every edge of every template is walked.
"""

from __future__ import annotations

import struct
import zlib
from contextlib import nullcontext
from dataclasses import dataclass, field

import pytest
import time_machine

from moments import SH


def _when(moment):
    return time_machine.travel(moment, tick=False) if moment else nullcontext()


def _png() -> bytes:
    """A real 1×1 PNG (the attachment check reads the content, not the name)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png()
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

BASE_USERS = {
    "receiver": ["receiver"],
    "officer": ["officer"],
    "leader": ["leader"],
    "verifier": ["verifier"],
    "auditor": ["auditor"],
    "admin": ["admin"],
}


@dataclass
class Flow:
    name: str
    process: object
    users: dict = field(default_factory=dict)

    @property
    def definition(self):
        return self.process.definition

    def user(self, who):
        return self.users[who] if isinstance(who, str) else who

    # --- writes, through the real services ----------------------------------------------------

    def register(
        self,
        content="投诉内容",
        *,
        channel=None,
        category=None,
        parties=None,
        fields=None,
        is_anonymous=False,
        by="receiver",
        at=None,
        **kwargs,
    ):
        from tousu.cases.services import register_complaint

        if parties is None:
            parties = (
                []
                if is_anonymous
                else [{"role": "complainant", "name": "张三", "phone": "13812345678"}]
            )
        with _when(at):
            complaint, _ = register_complaint(
                process=self.process,
                user=None if by is None else self.user(by),
                channel=channel or self.definition.channels[0].value,
                content=content,
                category=category,
                parties=parties,
                fields=fields,
                is_anonymous=is_anonymous,
                **kwargs,
            )
        return complaint

    def act(self, complaint, who, action, /, at=None, **data):
        from tousu.cases.engine import Complainant, apply_action

        user = Complainant("投诉人") if who == "complainant" else self.user(who)
        with _when(at):
            complaint.refresh_from_db()
            complaint, _ = apply_action(
                complaint, user, action, data=data, version=complaint.version
            )
        return complaint

    def refused(self, complaint, who, action, /, error=None, **data):
        """Assert the engine refuses the action and leaves the case exactly as it was."""
        from tousu.cases.engine import Complainant, apply_action
        from tousu.cases.errors import CaseError

        user = Complainant("投诉人") if who == "complainant" else self.user(who)
        state, version = complaint.state, complaint.version
        events = complaint.events.count()
        with pytest.raises(error or CaseError) as exc:
            apply_action(complaint, user, action, data=data, version=complaint.version)
        complaint.refresh_from_db()
        assert (complaint.state, complaint.version) == (state, version)
        assert complaint.events.count() == events
        return exc.value

    def attach(self, complaint, name="书面材料.png", who="receiver"):
        """Upload a real PNG, or a real PDF when the name ends in .pdf."""
        from tousu.cases.attachments import add_attachment

        content = PDF if name.lower().endswith(".pdf") else PNG
        return add_attachment(complaint, name=name, content=content, user=self.user(who))

    # --- reads ---------------------------------------------------------------------------------

    def possible(self, complaint, who):
        from tousu.cases.engine import Complainant, possible_actions

        user = Complainant("投诉人") if who == "complainant" else self.user(who)
        return {a.name for a in possible_actions(complaint, user)}

    def who_can(self, complaint, action):
        """The usernames of this flow's staff who may take `action` now (and "complainant")."""
        names = [u for u in self.users if action in self.possible(complaint, u)]
        return names + (
            ["complainant"] if action in self.possible(complaint, "complainant") else []
        )

    @staticmethod
    def due(complaint, name):
        """The due moment of a clock's latest instance, in Beijing time."""
        from tousu.clocks.models import Clock

        clock = Clock.objects.filter(complaint=complaint, name=name).order_by("-id").first()
        return clock.due_at.astimezone(SH)

    @staticmethod
    def documents(complaint):
        return list(complaint.documents.order_by("id").values_list("kind", flat=True))

    @staticmethod
    def events(complaint):
        """Action names in order (engine actions only; attachments and clock events left out)."""
        skip = {
            "attachment_added",
            "clock_extended",
            "clock_warning",
            "clock_breached",
            "escalated",
            "notified",
            # Triage's own records beside the flow.
            "risk_flagged",
            "linked",
            "unlinked",
            "merged_in",
            "merged_into",
        }
        names = complaint.events.order_by("created_at", "id").values_list("action", flat=True)
        return [n for n in names if n not in skip]

    @staticmethod
    def clocks(complaint):
        """{clock name: state of its latest instance} — running / paused / stopped."""
        from tousu.clocks.models import Clock

        return {c.name: c.state for c in Clock.objects.filter(complaint=complaint).order_by("id")}

    @staticmethod
    def clock(complaint, name):
        from tousu.clocks.models import Clock

        return Clock.objects.filter(complaint=complaint, name=name).order_by("-id").first()

    @staticmethod
    def tasks(complaint):
        return list(complaint.tasks.order_by("id").values_list("department__code", "kind", "state"))


@pytest.fixture
def install_flow(db):
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    def _install(template: str) -> Flow:
        from tousu.demo.walk import flow_role_accounts

        ensure_roles()
        process = install_template(template)
        if not Organisation.objects.exists():
            Organisation.objects.create(name="测试单位", default_process=process.name)
        users = {}
        for username, roles in BASE_USERS.items():
            users[username], _ = create_user(username, roles=roles, password=f"pw-{username}-123")
        for dep in process.definition.departments:
            department = Department.objects.get(code=dep.code)
            for prefix, role in (("handler", "handler"), ("head", "dept_head")):
                username = f"{prefix}_{dep.code}"
                users[username], _ = create_user(
                    username, roles=[role], department=department, password=f"pw-{username}-123"
                )
        for username, roles, dep_code, name in flow_role_accounts(process.definition):
            department = Department.objects.get(code=dep_code) if dep_code else None
            users[username], _ = create_user(
                username, roles=roles, department=department, display_name=name,
                password=f"pw-{username}-123",
            )  # fmt: skip
        return Flow(template, process, users)

    return _install
