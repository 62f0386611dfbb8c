"""`tousu init --template NAME --demo` works for every shipped template: the organisation, the flow,
its departments and staff, and demo complaints walked through the flow by the engine."""

import pytest

from tousu.processes.services import template_names, template_path
from tousu.processes.validation import load_file

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("template", template_names())
def test_init_with_demo_creates_cases_in_several_states(template):
    from tousu.accounts.models import User
    from tousu.cases.models import Complaint
    from tousu.demo.walk import initialise

    definition = load_file(template_path(template))
    report = initialise(template, with_demo=True, cases=15)
    assert definition.label in report

    cases = Complaint.objects.filter(process__name=definition.name)
    assert cases.count() == 15
    states = set(cases.values_list("state", flat=True))
    assert len(states) >= 3, f"演示投诉只处于 {states}"
    assert states <= {s.name for s in definition.states}
    if template != "generic":  # generic falls back to the built-in texts
        assert 8 <= len(definition.demo_texts) <= 12
        texts = set(cases.values_list("content", flat=True))
        assert texts <= set(definition.demo_texts) and len(texts) >= 8
    for dep in definition.departments:
        assert User.objects.filter(
            username=f"handler_{dep.code}", department__code=dep.code
        ).exists()
    # Every demo case is a real path: its events follow the flow's actions.
    actions = {a.name for a in definition.actions} | {
        "created",
        "attachment_added",
        "risk_flagged",
        "notified",
        "clock_warning",
        "clock_breached",
        "escalated",
        # The office's own work beside the flow: owners, 督办, 催办.
        "assigned",
        "auto_assigned",
        "supervised",
        "chased",
        # A collective complaint (triage/waves.py).
        "wave_started",
        "wave_joined",
    }
    assert set(cases.values_list("events__action", flat=True)) <= actions


@pytest.mark.parametrize("template", template_names())
def test_init_is_idempotent(template):
    from tousu.cases.models import Complaint
    from tousu.demo.walk import initialise

    initialise(template, with_demo=True, cases=3)
    report = initialise(template, with_demo=True, cases=3)
    assert "演示数据已存在" in report and Complaint.objects.count() == 3


@pytest.mark.parametrize("template", template_names())
def test_default_process_of_the_demo_organisation_is_installed(template):
    from tousu.accounts.models import Organisation
    from tousu.demo.walk import initialise
    from tousu.processes.selectors import active_process

    initialise(template, with_demo=False)
    assert active_process(Organisation.current().default_process) is not None


@pytest.mark.parametrize("template", ["hospital", "property", "tourism-authority"])
def test_demo_has_a_realistic_few_collective_complaints(
    template, django_capture_on_commit_callbacks
):
    """群体性事件 on at most 5 % of the demo's cases, and the dashboard's 集体投诉 is the number of
    waves the flag marks (each wave counted once, in the period of its first case)."""
    from datetime import date, timedelta

    from tousu.cases.models import Complaint
    from tousu.demo.walk import initialise
    from tousu.reports import selectors
    from tousu.reports.periods import Period
    from tousu.triage.models import Wave, WaveMember

    with django_capture_on_commit_callbacks(execute=True):
        initialise(template, with_demo=True, cases=40)
    cases = list(Complaint.objects.values_list("pk", "flags"))
    flagged = {pk for pk, flags in cases if "risk_collective" in flags}
    assert len(flagged) <= 0.05 * len(cases), f"{len(flagged)} / {len(cases)} 件带群体性事件标记"
    waves = Wave.objects.count()
    assert waves >= 1
    assert flagged == set(WaveMember.objects.values_list("complaint_id", flat=True))
    today = date.today()
    period = Period("range", today - timedelta(days=60), today + timedelta(days=1))
    d = selectors.dashboard(selectors.make_filters(period), use_cache=False)
    assert d["k"]["collective"] == waves
