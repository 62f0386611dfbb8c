"""Properties of every template over generated paths (hypothesis), through the real engine: from any
state a case reaches, some role can take it further; a closed case has no clock running; every clock
counts from a moment that has come (never the future) and is due after it."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tousu.processes.services import template_names

pytestmark = pytest.mark.django_db


def _staff_and_registrars(f):
    users = [u for name, u in f.users.items() if name != "admin"]
    roles = set(f.definition.registration.roles)
    registrars = [u for u in users if u.role_codes & roles]
    return users, registrars


def _options(f, complaint, users):
    from tousu.cases.engine import Complainant, is_routine, possible_actions

    out = []
    for user in [*users, Complainant("投诉人")]:
        for action in possible_actions(complaint, user):
            if not is_routine(action):
                out.append((action, user))
    return out


def _check(f, complaint):
    from tousu.clocks.models import Clock

    definition = f.definition
    clocks = list(Clock.objects.filter(complaint=complaint))
    if complaint.state in definition.closed_states:
        running = [k.name for k in clocks if k.state != Clock.STOPPED]
        assert not running, f"{complaint.state} 已结案，但时限仍在计时：{running}"
    started = {e.pk: e.created_at for e in complaint.events.all()}
    latest = max(started.values())
    for k in clocks:
        assert k.started_at <= latest, f"{k.name} 从未来的时间起算"
        assert k.due_at >= k.started_at or k.unit == "hours", k.name
        d = definition.clock(k.name)
        if d and d.counts_from == "received":
            assert k.started_at == complaint.received_at, k.name


@pytest.mark.parametrize("template", template_names())
def test_random_paths_keep_the_invariants(install_flow, template):
    from tousu.cases.attachments import add_attachment
    from tousu.cases.engine import apply_action
    from tousu.cases.errors import Invalid, NotPossible
    from tousu.cases.services import register_complaint
    from tousu.demo.walk import SAMPLE_PDF, _needs_attachment, fill_form

    f = install_flow(template)
    users, registrars = _staff_and_registrars(f)
    channels = [c.value for c in f.definition.channels]

    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        st.sampled_from(channels),
        st.integers(0, len(registrars) - 1),
        st.lists(st.integers(0, 10**6), min_size=3, max_size=22),
    )
    def walk(channel, registrar, choices):
        rng = random.Random(sum(choices))
        fields = {fd.name: f"{fd.label}样例" for fd in f.definition.fields if fd.type in ("text",)}
        complaint, _ = register_complaint(
            process=f.process,
            user=registrars[registrar],
            channel=channel,
            content="随机路径",
            parties=[{"role": "complainant", "name": "张三", "phone": "13812345678"}],
            fields=fields,
        )
        _check(f, complaint)
        for k in choices:
            complaint.refresh_from_db()
            options = _options(f, complaint, users)
            if complaint.state not in f.definition.final_states:
                assert options, f"{template}：状态「{complaint.state}」没有任何角色可以办理"
            if not options:
                break
            action, user = options[k % len(options)]
            data = fill_form(action, rng, f.process, users, complaint)
            if _needs_attachment(action) and not complaint.attachments.exists():
                add_attachment(complaint, name="材料.pdf", content=SAMPLE_PDF, user=None, via="cli")
            try:
                complaint, _ = apply_action(
                    complaint, user, action.name, data=data, version=complaint.version
                )
            except (Invalid, NotPossible):
                continue  # a form the random filler could not make valid: the case is unchanged
            _check(f, complaint)

    walk()
