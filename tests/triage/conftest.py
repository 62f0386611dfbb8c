"""Fixtures for triage: an installed template with staff, a registration helper, and trained
models reused across tests (training the hospital model takes seconds; its file outlives each
test's rolled-back transaction, so later tests only re-register the row)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@pytest.fixture(autouse=True)
def _fresh_triage_caches():
    from tousu.triage import selectors

    # Ids are reused after a rolled-back test on SQLite: caches keyed by id must not outlive it.
    selectors.forget_loaded()
    selectors.category_map.cache_clear()
    selectors._definition.cache_clear()
    selectors.routing_setting.cache_clear()
    yield
    selectors.forget_loaded()
    selectors.routing_setting.cache_clear()  # a threshold set here must not route other tests' cases


@dataclass
class Org:
    name: str
    process: object
    users: dict = field(default_factory=dict)

    def register(
        self,
        content: str,
        *,
        phone: str | None = "13800000001",
        id_number: str = "",
        name: str = "张三",
        category: str | None = None,
        by: str | None = "receiver",
        **kwargs,
    ):
        from tousu.cases.services import register_complaint

        parties = []
        if phone or id_number:
            parties = [
                {"role": "complainant", "name": name, "phone": phone or "", "id_number": id_number}
            ]
        channel = kwargs.pop("channel", self.process.definition.channels[0].value)
        complaint, _ = register_complaint(
            process=self.process,
            user=self.users[by] if by else None,
            channel=channel,
            content=content,
            category=category,
            parties=parties,
            **kwargs,
        )
        return complaint

    def act(self, complaint, who, action, /, **data):
        from tousu.cases.engine import apply_action

        complaint, _ = apply_action(
            complaint, self.users[who], action, data=data, version=complaint.version
        )
        return complaint


@pytest.fixture
def install(db):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    def _install(template: str) -> Org:
        ensure_roles()
        process = install_template(template)
        if not Organisation.objects.exists():
            Organisation.objects.create(name="测试单位", default_process=process.name)
        users = {}
        for username, roles in {
            "receiver": ["receiver"],
            "officer": ["officer"],
            "leader": ["leader"],
            "leader2": ["leader"],
            "auditor": ["auditor"],
        }.items():
            users[username], _ = create_user(username, roles=roles, password=f"pw-{username}-1")
        users["leader"].email = "leader@example.org"
        users["leader"].save(update_fields=["email"])
        return Org(template, process, users)

    return _install


@pytest.fixture
def hospital(install):
    return install("hospital")


@pytest.fixture
def property_org(install):
    return install("property")


_TRAINED: dict[str, tuple[str, str, list[str]]] = {}


@pytest.fixture
def trained(db):
    """Put a model trained on the shipped samples in use, training it once per test session."""
    from tousu.triage import services
    from tousu.triage.models import TriageModel

    def _trained(process_name: str) -> TriageModel:
        if process_name not in _TRAINED:
            row = services.train(process_name, with_cases=False)
            _TRAINED[process_name] = (row.file, row.sha256, row.classes)
            return row
        file, sha, classes = _TRAINED[process_name]
        TriageModel.objects.filter(process_name=process_name).update(is_active=False)
        return TriageModel.objects.create(
            process_name=process_name,
            version=1 + TriageModel.objects.filter(process_name=process_name).count(),
            file=file,
            sha256=sha,
            algorithm="cached",
            sklearn_version="",
            classes=classes,
            is_active=True,
        )

    return _trained
