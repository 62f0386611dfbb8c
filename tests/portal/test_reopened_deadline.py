"""A case reopened by dissatisfaction is timed again, and the complainant sees the new deadline on
the portal (in every template that reopens: the definition's validation refuses a reopening action
that starts no clock)."""

import pytest
from django.test import Client

from tousu.processes.services import template_names, template_path
from tousu.processes.validation import load_file

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("template", template_names())
def test_every_reopening_action_starts_a_clock(template):
    d = load_file(template_path(template))
    for action in d.actions:
        if action.reopen:
            started = [c.name for c in d.clocks if action.name in c.start or "reopened" in c.start]
            assert started, f"{template}.{action.name} 重新办理却没有时限"


def test_the_complainant_sees_the_new_deadline_after_rating_dissatisfied(install_flow):
    import time_machine

    from moments import at
    from tousu.cases.services import register_complaint

    f = install_flow("generic")
    with time_machine.travel(at(2026, 11, 2, 9, 0), tick=False):
        c, code = register_complaint(
            process=f.process, user=f.users["receiver"], channel="phone", content="质量问题",
            parties=[{"role": "complainant", "name": "张三", "phone": "13812345678"}],
        )  # fmt: skip
    c = f.act(c, "officer", "judge_valid", at=at(2026, 11, 2, 9, 30))
    c = f.act(c, "officer", "assign_department", category="quality")
    c = f.act(c, "handler_quality_management", "propose_plan", cause="批次", plan="退货")
    c = f.act(c, "officer", "reply", reply="退货", method="phone", at=at(2026, 11, 2, 15, 0))
    c = f.act(c, "handler_quality_management", "complete_implementation", responsible="质检",
              measures="已退货", informed=True, at=at(2026, 11, 4, 10, 0))  # fmt: skip
    client = Client()
    with time_machine.travel(at(2026, 11, 5, 10, 0), tick=False):
        r = client.post("/track/", {"number": c.tracking_number, "secret": code})
        assert r.status_code == 302
        r = client.post(
            f"/track/{c.tracking_number}/respond/rate/",
            {"version": c.version, "verdict": "dissatisfied", "comment": "退货后又发来同批次"},
        )
        assert r.status_code == 302
        page = client.get(f"/track/{c.tracking_number}/").content.decode()
    c.refresh_from_db()
    assert c.state == "investigating" and c.round == 2
    # The new round's reply clock: 24 hours from the rating, shown with its due moment.
    assert "答复时限" in page and "2026年11月6日 10:00" in page, page
