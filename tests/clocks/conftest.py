import pytest

# A small flow with every clock feature: working-day acceptance clock, paused while waiting for the
# complainant's material, extendable by a leader, escalating on breach.
FLOW = """
name: clocktest
version: 1
label: 时限测试流程
channels: [{value: phone, label: 来电}]
departments: [{code: office, label: 办公室}]
categories: [{code: general, label: 一般, department: office}]
states:
  - {name: received, label: 已接收, initial: true}
  - {name: waiting, label: 等待补充材料}
  - {name: accepted, label: 已受理}
  - {name: done, label: 已办结, final: true}
actions:
  - {name: ask_material, label: 要求补充材料, from: [received], to: waiting, roles: [officer]}
  - {name: material_received, label: 收到补充材料, from: [waiting], to: received, roles: [officer]}
  - {name: accept, label: 受理, from: [received], to: accepted, roles: [officer]}
  - {name: conclude, label: 办结, from: [accepted], to: done, roles: [officer]}
clocks:
  - name: accept_7wd
    label: 受理时限
    basis: 《市场监督管理投诉举报处理暂行办法》第十四条：七个工作日内决定是否受理
    unit: working_days
    amount: 7
    start: [created]
    stop: [accept]
    pause: [ask_material]
    resume: [material_received]
    warn_before: 2
    extension_roles: [leader]
    max_extension: 3
    on_breach: [flag, notify, escalate]
    notify_roles: [officer, dept_head]
  - name: conclude_24h
    label: 办结时限
    basis: 内部规定：受理后 24 小时内办结
    unit: hours
    amount: 24
    start: [accept]
    stop: [conclude]
    warn_before: 4
    notify_roles: [officer]
"""


@pytest.fixture
def clockflow(db):
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_definition

    ensure_roles()
    Organisation.objects.create(name="测试", default_process="clocktest")
    process = install_definition(FLOW, "clocktest.yaml")
    office = Department.objects.get(code="office")
    users = {
        "officer": create_user("officer", roles=["officer"], password="pw-officer-123")[0],
        "leader": create_user("leader", roles=["leader"], password="pw-leader-123")[0],
        "head": create_user("head", roles=["dept_head"], department=office, password="pw-head-123")[
            0
        ],
    }
    users["officer"].email = "officer@example.org"
    users["officer"].save()
    return process, users


@pytest.fixture
def new_case(clockflow):
    from tousu.cases.services import register_complaint

    process, users = clockflow

    def _new(at):
        import time_machine

        # Registered when it was received: a case registered late, with its clocks already past
        # due, is breached at once (tested on its own).
        with time_machine.travel(at, tick=False):
            return _register(at)

    def _register(at):
        complaint, _ = register_complaint(
            process=process,
            user=users["officer"],
            channel="phone",
            content="测试",
            category="general",
            received_at=at,
        )
        return complaint

    return _new
