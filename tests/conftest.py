"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL points to
one (`make test` does both). Browser tests drive Debian's Chromium."""

import os

import pytest

# The flows' test kit (install_flow, Flow): shared by the flow scenarios and every other test that
# walks a template as an office would.
pytest_plugins = ["flowkit"]

# Playwright's event loop runs beside the live server.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from tousu.cases.signals import action_applied
    from walked import record_edge

    action_applied.connect(record_edge, dispatch_uid="tests.walked_edges", weak=False)


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    # The edge check reads what every other test walked: it runs last.
    last = [i for i in items if i.nodeid.startswith("tests/flows/test_every_edge_walked.py")]
    items[:] = [i for i in items if i not in last] + last

    # PostgreSQL-only tests run in `make test`'s PostgreSQL pass (required in CI by the Makefile's
    # TOUSU_REQUIRE_POSTGRES); on SQLite they are skipped.
    if connection.vendor == "postgresql":
        return
    skip_pg = pytest.mark.skip(reason="PostgreSQL only: runs in the PostgreSQL pass")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _fresh_caches():
    # In-process caches outlive a test's rolled-back transaction.
    from tousu.accounts.models import _current_organisation
    from tousu.clocks.services import invalidate_calendar
    from tousu.processes.selectors import active_process

    _current_organisation.cache_clear()
    active_process.cache_clear()
    invalidate_calendar()
    yield
    invalidate_calendar()


@pytest.fixture(autouse=True)
def _no_lockout(settings):
    # django-axes needs the request on every authenticate(); the test client's login() has none.
    # The lock-out itself is tested with AXES_ENABLED switched back on.
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The production hasher costs ~0.3 s a user by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def generic(db):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    Organisation.objects.create(name="测试公司", default_process="generic")
    return install_template("generic")


@pytest.fixture
def staff(generic):
    """One user per role; departmental staff in quality management and storage/transport."""
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user

    quality = Department.objects.get(code="quality_management")
    transport = Department.objects.get(code="storage_transport")
    specs = {
        "receiver": (["receiver"], None),
        "officer": (["officer"], None),
        "leader": (["leader"], None),
        "auditor": (["auditor"], None),
        "handler_q": (["handler"], quality),
        "head_q": (["dept_head"], quality),
        "handler_t": (["handler"], transport),
    }
    users = {}
    for name, (roles, dept) in specs.items():
        users[name], _ = create_user(
            name, roles=roles, department=dept, password="pw-" + name + "-123"
        )
    return users


@pytest.fixture
def register(generic, staff):
    from tousu.cases.services import register_complaint

    def _register(content="产品质量有问题，要求退货", **kwargs):
        kwargs.setdefault("channel", "phone")
        kwargs.setdefault(
            "parties", [{"role": "complainant", "name": "张三", "phone": "13812345678"}]
        )
        complaint, _ = register_complaint(
            process=generic, user=staff["receiver"], content=content, **kwargs
        )
        return complaint

    return _register


@pytest.fixture
def act(staff):
    from tousu.cases.engine import apply_action

    def _act(complaint, user, name, **data):
        user = staff[user] if isinstance(user, str) else user
        complaint, _ = apply_action(complaint, user, name, data=data, version=complaint.version)
        return complaint

    return _act
