"""Fixtures for the analytics tests: a flow installed with one user per role, and a hand-built data
set whose every figure can be computed by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Test modules are imported by path (--import-mode=importlib): the helpers module beside them is
# found through sys.path, set here before any of them is imported.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reports_helpers import at  # noqa: E402

BASE_USERS = {
    "receiver": ["receiver"],
    "officer": ["officer"],
    "leader": ["leader"],
    "verifier": ["verifier"],
    "auditor": ["auditor"],
}


@pytest.fixture(autouse=True)
def _empty_dashboard_cache():
    # The dashboard keeps figures for two minutes per process; tests must not see each other's.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def flow_users(db):
    """install(template) → (process, users): users by username, handler_/head_<dept> per department."""
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    def install(template: str):
        ensure_roles()
        process = install_template(template)
        if not Organisation.objects.exists():
            Organisation.objects.create(name="测试单位", default_process=process.name)
        from tousu.accounts.models import User

        wanted = dict(BASE_USERS)
        departments = {}
        for dep in process.definition.departments:
            departments[dep.code] = Department.objects.get(code=dep.code)
            wanted[f"handler_{dep.code}"] = ["handler"]
            wanted[f"head_{dep.code}"] = ["dept_head"]
        users = {}
        for name, roles in wanted.items():
            users[name] = User.objects.filter(username=name).first()
            if users[name] is None:
                dept = departments.get(name.split("_", 1)[1]) if "_" in name else None
                users[name], _ = create_user(
                    name, roles=roles, department=dept, password=f"pw-{name}-123"
                )
        from tousu.demo.walk import flow_role_accounts

        for name, roles, dep_code, label in flow_role_accounts(process.definition):
            users[name] = User.objects.filter(username=name).first() or create_user(
                name, roles=roles, department=departments.get(dep_code), display_name=label,
                password=f"pw-{name}-123",
            )[0]  # fmt: skip
        return process, users

    return install


@pytest.fixture
def september(flow_users):
    """Seven generic cases walked through the real engine at fixed moments (2026-08/09), so every
    dashboard figure can be counted by hand. See test_reports_dashboard.py for the arithmetic."""
    import time_machine

    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint

    process, users = flow_users("generic")

    def register(when, channel, *, phone="13800000001", category=None, target=None,
                 people=1, content="产品质量有问题，要求退货"):  # fmt: skip
        parties = [
            {
                "role": "complainant",
                "name": f"张{i}",
                "phone": phone if i == 0 else f"1390000{i:04d}",
            }
            for i in range(people)
        ]
        with time_machine.travel(when, tick=False):
            c, _ = register_complaint(
                process=process,
                user=users["receiver"],
                channel=channel,
                content=content,
                parties=parties,
                fields={"target": target} if target else None,
                category=category,
                received_at=when,
            )
        return c

    def act(c, who, action, when, **data):
        with time_machine.travel(when, tick=False):
            c, _ = apply_action(c, users[who], action, data=data, version=c.version)
        return c

    def handle(c, day, cat, *, reply_at, done_at, dept_user):
        c = act(c, "officer", "judge_valid", at(day, "10:30"))
        c = act(c, "officer", "assign_department", at(day, "11:00"), category=cat)
        c = act(c, dept_user, "propose_plan", at(day, "14:00"), cause="原因", plan="方案")
        c = act(c, "officer", "reply", reply_at, reply="答复", method="phone")
        return act(c, dept_user, "complete_implementation", done_at, responsible="李四",
                   measures="已落实", informed=True)  # fmt: skip

    cases = {}
    hq, ht = "handler_quality_management", "handler_storage_transport"
    # A: quality, replied the same day, implemented in time, satisfied; closed 09-04.
    a = register(at("2026-09-01", "09:00"), "phone", category="quality", target="售后服务部")
    a = handle(a, "2026-09-01", "quality", reply_at=at("2026-09-01", "16:00"),
               done_at=at("2026-09-03"), dept_user=hq)  # fmt: skip
    cases["A"] = act(a, "officer", "confirm_satisfied", at("2026-09-04"), satisfaction="satisfied")
    # B: transport, replied after 24 h (late), dissatisfied → handled again → basically satisfied.
    b = register(at("2026-09-02"), "web", phone="13800000002", target="物流配送")
    b = handle(b, "2026-09-02", "transport", reply_at=at("2026-09-04", "11:00"),
               done_at=at("2026-09-07"), dept_user=ht)  # fmt: skip
    b = act(b, "officer", "report_dissatisfied", at("2026-09-08"), comment="不满意")
    b = act(b, ht, "propose_plan", at("2026-09-09"), cause="再查", plan="补偿")
    b = act(b, "officer", "reply", at("2026-09-10"), reply="再答复", method="phone")
    b = act(b, ht, "complete_implementation", at("2026-09-11"), responsible="王五",
            measures="已补偿", informed=True)  # fmt: skip
    cases["B"] = act(b, "officer", "confirm_satisfied", at("2026-09-14"),
                     satisfaction="basically_satisfied")  # fmt: skip
    # C: solved on the spot, satisfied, no category.
    c = register(at("2026-09-03"), "visit", phone="13800000003")
    cases["C"] = act(c, "receiver", "resolve_on_spot", at("2026-09-03", "10:20"),
                     solution="当场退货", satisfaction="satisfied")  # fmt: skip
    # D: not valid, explained, accepted on 09-11; no verdict.
    d = register(at("2026-09-10"), "letter", phone="13800000004")
    d = act(d, "officer", "judge_invalid", at("2026-09-10", "11:00"), explanation="说明",
            method="written")  # fmt: skip
    cases["D"] = act(d, "officer", "accept_explanation", at("2026-09-11"))
    # E: the same complainant as A again (repeat), quality, still being investigated.
    e = register(at("2026-09-14"), "phone", category="quality", target="售后服务部")
    e = act(e, "officer", "judge_valid", at("2026-09-14", "10:30"))
    cases["E"] = act(e, "officer", "assign_department", at("2026-09-14", "11:00"),
                     category="quality")  # fmt: skip
    # F: five complainants (collective), service, untouched.
    cases["F"] = register(at("2026-09-22"), "phone", phone="13800000006", category="service",
                          people=5)  # fmt: skip
    # G: last month, solved on the spot.
    g = register(at("2026-08-14"), "phone", phone="13800000007", category="quality")
    cases["G"] = act(g, "receiver", "resolve_on_spot", at("2026-08-14", "10:30"),
                     solution="当场解决", satisfaction="satisfied")  # fmt: skip
    return process, users, cases
