"""Every hand-off produces exactly one message per recipient, in the form each recipient chose:
an in-app notification always; with "email" also one e-mail, with "digest" one line held for the
daily digest, with "inapp" nothing more. Nobody else hears of it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tousu.cases.engine import Complainant, apply_action
from tousu.cases.models import Complaint
from tousu.clocks import services as clocks
from tousu.clocks.models import Clock, Notification
from tousu.messaging.models import Message, Preference
from tousu.owners import services as owners
from tousu.supervision import services as supervision

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
EVERYONE = (
    "receiver",
    "officer",
    "leader",
    "auditor",
    "handler_q",
    "handler_q2",
    "handler_q3",
    "head_q",
    "handler_t",
    "head_t",
)


def _counts(people, complaint):
    out = {}
    for name in EVERYONE:
        u = people[name]
        out[name] = (
            Notification.objects.filter(user=u, complaint=complaint).count(),
            Message.objects.filter(user=u, complaint=complaint, status=Message.QUEUED).count(),
            Message.objects.filter(user=u, complaint=complaint, status=Message.HELD).count(),
        )
    return out


def check_handoff(people, complaint, delivery, recipients, kind, do):
    """Run `do()` with every recipient preferring `delivery` for `kind`'s category and check that
    exactly the recipients got exactly one message each, of that kind, in that form."""
    category = kind.split(".")[0]
    for name in EVERYONE:
        Preference.objects.update_or_create(
            user=people[name], category=category, defaults={"delivery": delivery}
        )
    before = _counts(people, complaint)
    do()
    after = _counts(people, complaint)
    expected_mail = (1, 0) if delivery == "email" else (0, 1) if delivery == "digest" else (0, 0)
    for name in EVERYONE:
        delta = tuple(a - b for a, b in zip(after[name], before[name], strict=True))
        if name in recipients:
            assert delta == (1, *expected_mail), (name, delta)
            note = Notification.objects.filter(user=people[name], complaint=complaint).latest("pk")
            assert note.kind.startswith(kind), (name, note.kind)
        else:
            assert delta == (0, 0, 0), (name, delta)


DELIVERIES = ["inapp", "email", "digest"]


def _act(c, who, name, **data):
    c = Complaint.objects.get(pk=c.pk)
    return apply_action(c, who, name, data=data, version=c.version)[0]


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_case_reaches_the_department(people, register, act, delivery):
    c = act(register(), "officer", "judge_valid")
    check_handoff(
        people,
        c,
        delivery,
        {"head_q"},
        "assigned",
        lambda: _act(c, people["officer"], "assign_department", category="quality"),
    )


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_assigned_to_me(people, dispatched, delivery):
    c = dispatched()
    check_handoff(
        people,
        c,
        delivery,
        {"handler_q"},
        "assigned",
        lambda: owners.assign(c, people["handler_q"], by=people["head_q"]),
    )


def _owned(people, dispatched, owner="handler_q2"):
    c = dispatched()
    owners.assign(c, people[owner], by=people["head_q"])
    return Complaint.objects.get(pk=c.pk)


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_plan_waiting_for_my_instruction(people, escalated, delivery):
    c = _owned(people, escalated)
    check_handoff(
        people,
        c,
        delivery,
        {"leader"},
        "plan_waiting",
        lambda: _act(
            c, people["head_q"], "submit_plan_for_instruction", cause="批次问题", plan="退货并赔偿"
        ),  # fmt: skip
    )


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_plan_returned(people, escalated, delivery):
    c = _owned(people, escalated)
    _act(c, people["head_q"], "submit_plan_for_instruction", cause="批次问题", plan="退货")
    # The one whose plan was sent back and the case's owner: one message each.
    check_handoff(
        people,
        c,
        delivery,
        {"head_q", "handler_q2"},
        "plan_returned",
        lambda: _act(c, people["leader"], "return_plan", reason="赔偿标准不明确"),
    )


def _to_verdict(people, c):
    _act(c, people["handler_q2"], "propose_plan", cause="批次问题", plan="退货")
    _act(c, people["officer"], "reply", reply="同意退货并赔偿", method="phone")
    _act(
        c,
        people["handler_q2"],
        "complete_implementation",
        responsible="张三",
        measures="已退货",
        informed=True,
    )
    return Complaint.objects.get(pk=c.pk)


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_complainant_dissatisfied(people, dispatched, delivery):
    c = _to_verdict(people, _owned(people, dispatched))
    assert c.state == "awaiting_verdict"
    check_handoff(
        people,
        c,
        delivery,
        {"handler_q2", "head_q", "officer"},
        "dissatisfied",
        lambda: _act(
            c,
            Complainant("张三"),
            "rate_dissatisfied",
            satisfaction="dissatisfied",
            comment="赔偿太少",
        ),
    )
    note = Notification.objects.filter(user=people["head_q"], complaint=c).latest("pk")
    assert "不满意" in note.message and "赔偿太少" in note.message


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_material_arrived(people, dispatched, delivery):
    c = _owned(people, dispatched)
    _act(c, people["head_q"], "request_material", materials="购买发票")
    check_handoff(
        people,
        c,
        delivery,
        {"handler_q2", "head_q"},  # the owner, and the one who asked
        "material_arrived",
        lambda: _act(c, Complainant(), "provide_material", note="发票已上传"),
    )


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_chase(people, dispatched, delivery):
    c = _owned(people, dispatched)
    check_handoff(
        people,
        c,
        delivery,
        {"handler_q2", "head_q"},
        "chased",
        lambda: supervision.chase(c, people["officer"], "请加快"),
    )


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_supervision_and_its_deadline(people, dispatched, delivery):
    c = _owned(people, dispatched)
    # Only the 督办 clock runs, so that the sweep below is about it alone.
    Clock.objects.filter(complaint=c).update(state=Clock.STOPPED)
    holder = {}
    check_handoff(
        people,
        c,
        delivery,
        {"handler_q2", "head_q"},
        "supervised",
        lambda: holder.setdefault(
            "s", supervision.place(c, people["leader"], instruction="尽快回复", workdays=2)
        ),
    )
    clock = holder["s"].clock
    check_handoff(
        people,
        c,
        delivery,
        {"handler_q2", "head_q", "leader"},
        "supervised.warning",
        lambda: clocks.sweep(clock.warn_at + timedelta(seconds=1)),
    )
    check_handoff(
        people,
        c,
        delivery,
        {"leader"},
        "supervised.answered",
        lambda: supervision.answer(holder["s"], people["handler_q2"], "已处理"),
    )


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_clock_warning(people, dispatched, delivery):
    c = _owned(people, dispatched)
    clock = Clock.objects.get(complaint=c, name="reply_24h")
    # reply_24h names officer and leader; the case's owner hears too.
    check_handoff(
        people,
        c,
        delivery,
        {"officer", "leader", "handler_q2"},
        "clock.warning",
        lambda: clocks.sweep(clock.warn_at + timedelta(seconds=1)),
    )


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_a_case_already_past_due_sends_one_message_not_two(people, register, act, delivery):
    with time_machine.travel(datetime(2025, 3, 3, 9, tzinfo=SH), tick=False):
        c = act(register(), "officer", "judge_valid")
    clock = Clock.objects.get(complaint=c, name="reply_24h")
    result = {}
    # Swept for the first time long after the deadline: the breach only, no "将于…到期".
    check_handoff(
        people,
        c,
        delivery,
        {"officer", "leader"},
        "clock.breached",
        lambda: result.setdefault("r", clocks.sweep(clock.due_at + timedelta(days=3))),
    )
    assert (result["r"].warned, result["r"].breached) == (0, 1)
    assert clocks.sweep(clock.due_at + timedelta(days=4)).warned == 0
    texts = list(
        Notification.objects.filter(complaint=c, user=people["officer"]).values_list(
            "message", flat=True
        )
    )
    assert any("已于" in t and "超时" in t for t in texts)
    assert not any("将于" in t for t in texts)


def test_escalation_is_one_message_to_each_leader(people, register, act):
    """hospital-like: a breach that escalates tells the leaders once ("已上报领导"), not twice."""
    from tousu.clocks.models import Clock as K

    with time_machine.travel(datetime(2025, 3, 3, 9, tzinfo=SH), tick=False):
        c = act(register(), "officer", "judge_valid")
    clock = K.objects.get(complaint=c, name="reply_24h")
    clocks.sweep(clock.due_at + timedelta(days=1))
    assert Notification.objects.filter(user=people["leader"], complaint=c).count() == 1
    assert Notification.objects.filter(user=people["officer"], complaint=c).count() == 1


def test_digest_collects_the_held_lines_into_one_email_a_day(people, dispatched, settings):
    from tousu.messaging.services import send_digests

    settings.TOUSU_DIGEST_HOUR = 8
    Preference.objects.create(user=people["head_q"], category="chased", delivery="digest")
    c = _owned(people, dispatched)
    supervision.chase(c, people["officer"], "一催")
    supervision.chase(Complaint.objects.get(pk=c.pk), people["officer"], "二催")
    held = Message.objects.filter(user=people["head_q"], status=Message.HELD)
    assert held.count() == 2
    tomorrow = datetime.now(SH).date() + timedelta(days=1)
    assert send_digests(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 7, tzinfo=SH)) == 0
    at_eight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, 5, tzinfo=SH)
    assert send_digests(at_eight) == 1
    assert send_digests(at_eight + timedelta(hours=2)) == 0  # once a day
    digest = Message.objects.get(user=people["head_q"], kind="digest")
    assert digest.status == Message.QUEUED and "（2 条）" in digest.subject
    assert "一催" in digest.body and "二催" in digest.body
    assert held.count() == 0
    assert Message.objects.filter(digest=digest).count() == 2
