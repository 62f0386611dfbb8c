"""The leader's inbox lists only the cases that wait for a leader's decision now, overdue ones
marked; a routine action a leader may take (an optional record) puts no case there."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tousu.cases.engine import apply_action

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")

FLOW = """
name: inboxtest
version: 1
label: 领导待办测试流程
channels: [{value: phone, label: 来电}]
states:
  - {name: received, label: 已接收, initial: true}
  - {name: awaiting_leader, label: 待领导决定}
  - {name: done, label: 已办结, closed: true}
  - {name: archived, label: 已归档, final: true}
actions:
  - {name: escalate, label: 报领导, from: [received], to: awaiting_leader, roles: [officer]}
  - {name: decide, label: 领导决定, from: [awaiting_leader], to: done, roles: [leader]}
  - {name: close, label: 办结, from: [received], to: done, roles: [officer]}
  - name: review_closed
    label: 领导阅示（可选）
    from: [done]
    roles: [leader]
    routine: true
    form:
      - {name: remark, label: 阅示意见, type: textarea}
  - name: leader_remark
    label: 领导批注（记录）
    from: [done]
    roles: [leader]
    form:
      - {name: remark, label: 批注, type: textarea}
  - {name: archive, label: 归档, from: [done], to: archived, roles: [officer]}
clocks:
  - name: decide_24h
    label: 决定时限
    basis: 内部规定
    unit: hours
    amount: 24
    start: [escalate]
    stop: [decide]
"""


@pytest.fixture
def inboxflow(db):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_definition

    ensure_roles()
    Organisation.objects.create(name="测试", default_process="inboxtest")
    process = install_definition(FLOW, "inboxtest.yaml")
    users = {
        name: create_user(name, roles=[name], password=f"pw-{name}-123")[0]
        for name in ("officer", "leader")
    }
    return process, users


def _case(process, users, text, *steps):
    from tousu.cases.services import register_complaint

    c, _ = register_complaint(process=process, user=users["officer"], channel="phone", content=text)
    for who, name in steps:
        c, _ = apply_action(c, users[who], name, version=c.version)
    return c


def test_only_cases_waiting_for_a_decision_and_overdue_marked(inboxflow, client):
    process, users = inboxflow
    with time_machine.travel(datetime(2025, 3, 3, 9, tzinfo=SH), tick=False):
        late = _case(process, users, "早已报领导的投诉", ("officer", "escalate"))
    waiting = _case(process, users, "刚报领导的投诉", ("officer", "escalate"))
    closed = _case(process, users, "已办结的投诉", ("officer", "close"))
    untouched = _case(process, users, "尚未处理的投诉")
    client.force_login(users["leader"])
    page = client.get("/staff/leader/").content.decode()
    assert late.tracking_number in page and waiting.tracking_number in page
    # A closed case where a leader may only add a routine action or a record (no decision moves
    # it on), and one nobody escalated: not there.
    assert closed.tracking_number not in page and untouched.tracking_number not in page
    assert "共 2 件" in page
    # The overdue one is marked and comes first.
    assert page.count("已超时") == 1
    assert (
        page.index(late.tracking_number)
        < page.index("已超时")
        < page.index(waiting.tracking_number)
    )
    assert page.index(late.tracking_number) < page.index(waiting.tracking_number)
    # The routine action is still possible on the closed case itself.
    detail = client.get(f"/staff/cases/{closed.pk}/").content.decode()
    assert "领导阅示（可选）" in detail


def test_leaders_only(inboxflow, client):
    _, users = inboxflow
    client.force_login(users["officer"])
    assert client.get("/staff/leader/").status_code == 403


def test_the_leader_is_told_when_a_decision_waits(inboxflow):
    from tousu.clocks.models import Notification

    process, users = inboxflow
    c = _case(process, users, "需要领导决定", ("officer", "escalate"))
    assert (
        Notification.objects.filter(user=users["leader"], complaint=c, kind="plan_waiting").count()
        == 1
    )
    c2 = _case(process, users, "直接办结", ("officer", "close"))
    # A state where the leader has only a routine action does not call them.
    assert not Notification.objects.filter(user=users["leader"], complaint=c2).exists()


@pytest.mark.parametrize(
    "template, waits, does_not",
    [
        (
            "hospital",
            {"awaiting_leadership", "dispute_group_review"},
            {"replying", "closed", "settled"},
        ),
        ("generic", {"awaiting_instruction", "awaiting_superior"}, {"investigating", "closed"}),
        # F5: the VP designates and signs off; F14's instruction step is not in this flow any more.
        ("enterprise-quality", {"awaiting_vp", "vp_signoff"}, {"cause_analysis", "closed"}),
    ],
)
def test_which_states_wait_for_a_leader(db, template, waits, does_not):
    from tousu.processes.services import install_template
    from tousu.supervision.selectors import decision_states

    states = decision_states(install_template(template).definition)
    assert waits <= states and not (does_not & states)
