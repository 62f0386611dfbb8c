"""Fixtures for the office's daily work: owners, 催办/督办, the outbox (tests/office)."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_message_templates():
    from tousu.messaging.outbox import _portal, templates_for

    templates_for.cache_clear()
    _portal.cache_clear()
    yield
    templates_for.cache_clear()
    _portal.cache_clear()


@pytest.fixture
def people(staff):
    """The generic fixture's staff with e-mail addresses, two more quality handlers and a head of
    storage and transport."""
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user

    quality = Department.objects.get(code="quality_management")
    transport = Department.objects.get(code="storage_transport")
    users = dict(staff)
    for name, roles, dept in (
        ("handler_q2", ["handler"], quality),
        ("handler_q3", ["handler"], quality),
        ("head_t", ["dept_head"], transport),
    ):
        users[name], _ = create_user(name, roles=roles, department=dept, password=f"pw-{name}-123")
    for name, u in users.items():
        u.email = f"{name}@example.org"
        u.display_name = {"handler_q": "王经办", "head_q": "赵科长", "leader": "李院长"}.get(
            name, ""
        )
        u.save(update_fields=["email", "display_name"])
    return users


@pytest.fixture
def dispatched(people, register, act):
    """A generic case judged valid and sent to quality management (a task 调查处理 opened)."""

    def _make(content="产品质量有问题，要求退货", **kwargs):
        c = register(content, **kwargs)
        c = act(c, "officer", "judge_valid", reason="理由充分")
        return act(c, "officer", "assign_department", category="quality")

    return _make


@pytest.fixture
def escalated(people, register, act):
    """A multiple or complex generic case the superior sent to quality management: its plan goes
    to the leader for instruction (F1, F14)."""

    def _make(content="多批次产品质量有问题，且客服推诿", **kwargs):
        c = register(content, **kwargs)
        c = act(c, "officer", "judge_valid", reason="理由充分")
        c = act(c, "officer", "escalate", nature="complex", reason="多项")
        return act(c, "leader", "superior_assign", departments=["quality_management"],
                   instruction="质量管理部处理")  # fmt: skip

    return _make
