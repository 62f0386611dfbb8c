"""Owners: the department head assigns and reassigns with a reason, a handler claims, a department
can assign automatically (round robin or least open cases), and every assignment is an event."""

import threading
from collections import Counter

import pytest
from office_helpers import mails, notes

from tousu.accounts.models import Department
from tousu.cases.errors import Conflict, Forbidden, Invalid
from tousu.cases.models import Complaint, Event, Task
from tousu.owners import services
from tousu.owners.models import AssignmentPolicy

pytestmark = pytest.mark.django_db


def _task(c):
    return Task.objects.get(complaint=c, state=Task.OPEN)


def test_head_assigns_the_case_and_its_task_and_the_handler_is_told(people, dispatched):
    c = dispatched()
    assert c.owner is None and _task(c).owner is None
    # The case reached the department: its head hears of it, once, and nobody else there.
    assert notes(people["head_q"], c, "assigned.department").count() == 1
    assert not notes(people["handler_q"], c).exists()

    event = services.assign(c, people["handler_q"], by=people["head_q"])
    c.refresh_from_db()
    assert c.owner == people["handler_q"]
    assert _task(c).owner == people["handler_q"]  # the department's open task goes along
    assert event.action == "assigned" and event.actor == people["head_q"]
    assert event.payload["owner"] == "handler_q" and event.payload["previous_owner"] is None
    assert notes(people["handler_q"], c, "assigned").count() == 1
    assert mails(people["handler_q"], c, "assigned").count() == 1


def test_reassigning_needs_a_reason_and_tells_both(people, dispatched):
    c = dispatched()
    services.assign(c, people["handler_q"], by=people["head_q"])
    with pytest.raises(Invalid, match="改派承办人需要说明理由"):
        services.assign(c, people["handler_q2"], by=people["head_q"])
    event = services.assign(c, people["handler_q2"], by=people["head_q"], reason="王经办休假")
    c.refresh_from_db()
    assert c.owner == people["handler_q2"] and _task(c).owner == people["handler_q2"]
    assert event.action == "reassigned" and event.comment == "王经办休假"
    assert event.payload["previous_owner"] == "handler_q"
    assert notes(people["handler_q"], c, "assigned.changed").count() == 1
    assert notes(people["handler_q2"], c, "assigned").count() == 1


@pytest.mark.parametrize(
    "who, owner, error",
    [
        ("handler_q", "handler_q2", Forbidden),  # handlers claim, they do not assign
        ("head_t", "handler_q", Forbidden),  # another department's head
        ("officer", "handler_q", Forbidden),
        ("receiver", "handler_q", Forbidden),
        ("auditor", "handler_q", Forbidden),
        ("head_q", "handler_t", Invalid),  # the owner must be of the case's department
        ("head_q", "leader", Invalid),
    ],
)
def test_who_may_not_assign_and_to_whom(people, dispatched, who, owner, error):
    c = dispatched()
    with pytest.raises(error):
        services.assign(c, people[owner], by=people[who])
    c.refresh_from_db()
    assert c.owner is None
    assert not Event.objects.filter(complaint=c, action__in=["assigned", "reassigned"]).exists()


def test_a_leader_may_assign(people, dispatched):
    c = dispatched()
    services.assign(c, people["handler_q3"], by=people["leader"])
    c.refresh_from_db()
    assert c.owner == people["handler_q3"]


def test_no_department_no_owner(people, register):
    c = register()
    with pytest.raises(Invalid, match="尚未确定责任部门"):
        services.assign(c, people["handler_q"], by=people["leader"])


def test_a_handler_claims_once_and_a_second_claim_conflicts(people, dispatched):
    c = dispatched()
    event = services.claim(c, people["handler_q2"])
    c.refresh_from_db()
    assert c.owner == people["handler_q2"] and event.action == "claimed"
    with pytest.raises(Conflict, match="已由"):
        services.claim(c, people["handler_q"])
    with pytest.raises(Forbidden, match="本部门"):
        services.claim(dispatched(), people["handler_t"])


def test_claiming_a_task_of_joint_handling(people, register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "escalate", nature="multiple_items", reason="涉及多个部门")
    c = act(
        c,
        "leader",
        "superior_assign",
        departments=["quality_management", "storage_transport"],
        lead_department="quality_management",
        instruction="共同处理",
    )
    transport_task = Task.objects.get(complaint=c, department__code="storage_transport")
    quality_task = Task.objects.get(complaint=c, department__code="quality_management")
    # Each department's head was told once (the case's own department through the case).
    assert notes(people["head_t"], c, "assigned").count() == 1
    assert notes(people["head_q"], c, "assigned").count() == 1
    services.claim(transport_task, people["handler_t"])
    transport_task.refresh_from_db()
    assert transport_task.owner == people["handler_t"]
    with pytest.raises(Forbidden):
        services.claim(quality_task, people["handler_t"])
    services.assign(quality_task, people["handler_q"], by=people["head_q"])
    quality_task.refresh_from_db()
    assert quality_task.owner == people["handler_q"]
    # The transport head cannot assign the quality task.
    with pytest.raises(Forbidden):
        services.assign(quality_task, people["handler_q2"], by=people["head_t"], reason="x")


def test_moving_the_case_to_another_department_releases_its_owner(people, register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "escalate", category="quality", nature="complex", reason="需上级决定")
    services.assign(c, people["handler_q"], by=people["head_q"])
    c = Complaint.objects.get(pk=c.pk)
    c = act(
        c,
        "leader",
        "superior_assign",
        departments=["storage_transport"],
        instruction="由储运部处理",
    )
    c.refresh_from_db()
    assert c.department.code == "storage_transport" and c.owner is None
    assert Event.objects.filter(complaint=c, action="unassigned").count() == 1
    assert notes(people["handler_q"], c, "assigned.changed").count() == 1
    assert notes(people["head_t"], c, "assigned.department").count() == 1


def _policy(code, mode):
    return AssignmentPolicy.objects.update_or_create(
        department=Department.objects.get(code=code), defaults={"mode": mode}
    )[0]


def test_round_robin_takes_turns_and_each_turn_is_an_event(people, dispatched):
    _policy("quality_management", AssignmentPolicy.ROUND_ROBIN)
    owners = [dispatched(f"第{i}件质量投诉").owner.username for i in range(6)]
    assert owners == ["handler_q", "handler_q2", "handler_q3"] * 2
    c = Complaint.objects.order_by("-pk").first()
    auto = Event.objects.get(complaint=c, action="auto_assigned", payload__mode="round_robin")
    assert auto.actor is None and auto.actor_name == "系统"
    # The new owner is told; the head, who chose automatic assignment, is not asked to assign.
    assert notes(people["handler_q3"], c, "assigned").count() == 1
    assert not notes(people["head_q"], c).exists()
    assert _task(c).owner.username == "handler_q3"  # the task follows the case's owner


def test_least_open_fills_the_emptiest_first(people, dispatched):
    busy = dispatched()
    services.assign(busy, people["handler_q"], by=people["head_q"])
    services.assign(dispatched(), people["handler_q"], by=people["head_q"])
    services.assign(dispatched(), people["handler_q2"], by=people["head_q"])
    _policy("quality_management", AssignmentPolicy.LEAST_OPEN)
    owners = [dispatched().owner.username for _ in range(4)]
    # q3 had none, q2 one, q1 two: q3, then q2/q3 level at one each, then everyone at two.
    assert owners[0] == "handler_q3"
    load = services.open_load([people[n].pk for n in ("handler_q", "handler_q2", "handler_q3")])
    assert sorted(load.values()) == [2, 2, 3]


def test_manual_departments_are_not_assigned_automatically(people, dispatched):
    _policy("quality_management", AssignmentPolicy.MANUAL)
    assert dispatched().owner is None


def test_only_administrators_switch_the_policy(people):
    from tousu.accounts.services import create_user

    dept = Department.objects.get(code="quality_management")
    with pytest.raises(Forbidden):
        services.set_policy(dept, "round_robin", by=people["leader"])
    admin, _ = create_user("admin", roles=["admin"])
    with pytest.raises(Invalid, match="分派方式"):
        services.set_policy(dept, "lottery", by=admin)
    assert services.set_policy(dept, "least_open", by=admin).mode == "least_open"


def _run_at_once(jobs, workers=8):
    """Run the jobs from `workers` threads started together; re-raise the first failure."""
    from django.db import connection

    barrier = threading.Barrier(workers)
    errors = []

    def work(chunk):
        try:
            barrier.wait()
            for job in chunk:
                job()
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(jobs[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [AssignmentPolicy.ROUND_ROBIN, AssignmentPolicy.LEAST_OPEN])
def test_automatic_assignment_is_fair_under_concurrency(people, dispatched, mode, monkeypatch):
    """24 cases arrive in one department from eight threads at once: each gets exactly one owner
    and the three handlers get eight each. Choosing is made slow (as under load), so the threads
    really overlap between reading the loads and recording their choice."""
    import time

    from django.db import transaction

    cases = [dispatched(f"并发投诉{i}") for i in range(24)]  # the department assigns by hand yet
    _policy("quality_management", mode)
    pick = services._pick

    def slow_pick(policy, candidates):
        chosen = pick(policy, candidates)
        time.sleep(0.03)
        return chosen

    monkeypatch.setattr(services, "_pick", slow_pick)

    def arrival(pk):
        def job():
            with transaction.atomic():
                services.arrive(Complaint.objects.get(pk=pk), key=f"test{pk}")

        return job

    _run_at_once([arrival(c.pk) for c in cases])
    owners = Counter(
        Complaint.objects.filter(pk__in=[c.pk for c in cases]).values_list(
            "owner__username", flat=True
        )
    )
    assert None not in owners
    assert sorted(owners.values()) == [8, 8, 8]
    auto = Event.objects.filter(action="auto_assigned", complaint__in=cases, payload__mode=mode)
    assert auto.count() == 24


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dispatching_through_the_engine_from_many_threads_stays_fair(people, register, act):
    _policy("quality_management", AssignmentPolicy.ROUND_ROBIN)
    cases = [act(register(f"并发投诉{i}"), "officer", "judge_valid") for i in range(24)]

    def dispatch(pk):
        return lambda: act(
            Complaint.objects.get(pk=pk), "officer", "assign_department", category="quality"
        )

    _run_at_once([dispatch(c.pk) for c in cases])
    owners = Counter(
        Complaint.objects.filter(pk__in=[c.pk for c in cases]).values_list(
            "owner__username", flat=True
        )
    )
    assert sorted(owners.values()) == [8, 8, 8]
