"""The complainant sees only the deadlines owed to them: the definition's `public: true` clocks. The
督办 clock (the office's own) and a department's internal period stay on the staff pages — on the
tracking page and in what the portal renders from (portal.selectors.public_case)."""

import random

import pytest
from django.test import Client

from tousu.processes.services import template_names, template_path
from tousu.processes.validation import load_file

pytestmark = pytest.mark.django_db


def _track(number, code) -> str:
    client = Client()
    r = client.post("/track/", {"number": number, "secret": code})
    assert r.status_code == 302
    return client.get(f"/track/{number}/").content.decode()


def _register(f):
    from tousu.cases.services import register_complaint

    return register_complaint(
        process=f.process, user=f.users["receiver"], channel=f.definition.channels[0].value,
        content="质量问题，要求退货",
        parties=[{"role": "complainant", "name": "张三", "phone": "13812345678"}],
    )  # fmt: skip


def test_supervision_clock_is_not_shown_to_the_complainant(install_flow):
    from tousu.clocks.models import Clock
    from tousu.portal.selectors import public_case
    from tousu.supervision import services as supervision

    f = install_flow("generic")
    c, code = _register(f)
    c = f.act(c, "officer", "judge_valid")
    c = f.act(c, "officer", "assign_department", category="quality")
    supervision.place(c, f.users["leader"], instruction="三日内回复", workdays=3)
    assert Clock.objects.filter(complaint=c, name="supervision", state="running").exists()
    assert [k["label"] for k in public_case(c)["clocks"]] == ["答复时限"]
    page = _track(c.tracking_number, code)
    assert "答复时限" in page
    assert "督办" not in page and "三日内回复" not in page


def test_an_internal_clock_of_the_definition_is_not_shown(install_flow):
    """Tourism authority: accepting starts the 30-working-day handling period (owed to the
    tourist) and the 5-day period to notify the respondent (the authority's own step)."""
    from tousu.clocks.models import Clock
    from tousu.demo.walk import fill_form
    from tousu.portal.selectors import public_case

    f = install_flow("tourism-authority")
    c, code = _register(f)
    accept = f.definition.action("accept")
    data = fill_form(accept, random.Random(1), f.process, list(f.users.values()), c)
    c = f.act(c, "officer", "accept", **data)
    names = set(Clock.objects.filter(complaint=c).values_list("name", flat=True))
    assert {"respondent_notice_5wd", "handling_30wd"} <= names
    shown = [k["label"] for k in public_case(c)["clocks"]]
    assert "处理时限" in shown and "通知被投诉者时限" not in shown
    page = _track(c.tracking_number, code)
    assert "处理时限" in page and "通知被投诉者时限" not in page


@pytest.mark.parametrize("template", template_names())
def test_every_template_owes_the_complainant_a_deadline(template):
    """Each flow marks at least one clock public, and a reopening starts a public one, so the
    complainant always sees when to expect the answer."""
    d = load_file(template_path(template))
    public = {k.name for k in d.clocks if k.public}
    assert public, f"{template} 没有向投诉人公开的时限"
    for action in d.actions:
        if action.reopen:
            started = {k.name for k in d.clocks if action.name in k.start or "reopened" in k.start}
            assert started & public, f"{template}.{action.name} 重新办理后投诉人看不到新的期限"
