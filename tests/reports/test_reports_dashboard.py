"""Every dashboard figure against a count made by hand on the `september` data set (conftest.py).

The cases, received in 2026-09 unless said otherwise (2026-09-20 is a Sunday made a working day,
09-25 is the Mid-Autumn holiday):

    A 09-01 phone  quality   replied same day, implemented, satisfied       closed 09-04 (3 wd)
    B 09-02 web    transport replied 09-04 (24 h missed), dissatisfied,
                             handled again, basically satisfied             closed 09-14 (8 wd)
    C 09-03 visit  —         solved on the spot, satisfied                  closed 09-03 (0 wd)
    D 09-10 letter —         not valid, explanation accepted                closed 09-11 (1 wd)
    E 09-14 phone  quality   same phone as A (repeat); investigating        open, 9 wd on 09-24
    F 09-22 phone  service   five complainants (collective); registered     open, 2 wd on 09-24
    G 08-14 phone  quality   (August) solved on the spot, satisfied         closed 08-14

Read on 2026-09-24 12:00.
"""

from __future__ import annotations

import pytest
from reports_helpers import SAMPLE_PDF, at

from tousu.reports import selectors
from tousu.reports.periods import parse

pytestmark = pytest.mark.django_db
NOW = at("2026-09-24", "12:00")


def _data(**kw):
    return selectors.dashboard(
        selectors.make_filters(parse("2026-09"), **kw), now=NOW, use_cache=False
    )


def _rows(rows):
    return [(r["label"], r["count"]) for r in rows]


def test_headline_figures(september):
    k = _data()["k"]
    assert k["received"] == 6
    assert k["closed"] == 4  # A B C D
    assert k["closed_rate"] == pytest.approx(4 / 6)
    # Clocks: reply_24h met A C D, late B, late again in B's second round (reopened 09-08,
    # answered 09-10), overdue E F; implement_5wd met A, B, B again.
    assert (k["clocks_met"], k["breaches"], k["clocks_judged"]) == (6, 4, 10)
    assert k["on_time_rate"] == pytest.approx(6 / 10)
    # Working days to close, sorted: C 0, D 1, A 3, B 8 → nearest-rank median 1, 90th 8.
    assert (k["median_days"], k["p90_days"]) == (1, 8)
    # First verdicts: A satisfied, B dissatisfied, C satisfied.
    assert (k["satisfied"], k["basically"], k["dissatisfied"], k["verdicts"]) == (2, 0, 1, 3)
    assert k["satisfaction_rate"] == pytest.approx(2 / 3)
    assert (k["reopened"], k["reopen_rate"]) == (1, pytest.approx(1 / 6))
    # Followed up among the closed: A, B, C (D got an explanation, no verdict).
    assert (k["followed_up"], k["follow_up_rate"]) == (3, pytest.approx(3 / 4))
    assert (k["repeat"], k["repeat_rate"]) == (1, pytest.approx(1 / 6))  # E
    assert k["collective"] == 1  # F
    assert (k["capa_verified"], k["capa_failed_cases"]) == (0, 0)


def test_previous_period_and_comparison(september):
    d = _data()
    kp = d["k_prev"]
    assert (kp["received"], kp["closed"], kp["satisfied"], kp["on_time_rate"]) == (1, 1, 1, 1.0)
    assert (kp["median_days"], kp["p90_days"]) == (0, 0)
    kpis = {k["key"]: k for k in d["kpis"]}
    assert kpis["received"]["change"] == pytest.approx(500.0)  # 6 against 1: +500 %
    assert kpis["satisfaction_rate"]["change"] == pytest.approx((2 / 3 - 1) * 100)  # points
    assert kpis["satisfaction_rate"]["trend"] == -1  # worse
    assert kpis["median_days"]["change"] == 1  # 1 working day against 0
    assert d["previous"].key == "2026-08"


def test_volume_by_day_category_department_channel_respondent_site(september):
    d = _data()
    trend = {r["label"]: (r["received"], r["closed"]) for r in d["trend"] if r["received"]}
    assert trend == {
        "9/1": (1, 1),
        "9/2": (1, 1),
        "9/3": (1, 1),
        "9/10": (1, 1),
        "9/14": (1, 0),
        "9/22": (1, 0),
    }
    assert len(d["trend"]) == 30
    assert _rows(d["by_category"]) == [
        ("未分类", 2),
        ("质量问题", 2),
        ("服务问题", 1),
        ("运输问题", 1),
    ]
    assert {r["label"]: r["previous"] for r in d["by_category"]}["质量问题"] == 1  # G
    assert _rows(d["by_department"]) == [
        ("未分派", 2),
        ("质量管理部", 2),
        ("储运部", 1),
        ("客户服务部", 1),
    ]
    assert _rows(d["by_channel"]) == [("来电", 3), ("来信/书面", 1), ("来访", 1), ("网络", 1)]
    assert _rows(d["by_respondent"]) == [("售后服务部", 2), ("物流配送", 1)]
    assert _rows(d["by_site"]) == [("未设置院区/地点", 6)]
    assert _rows(d["by_process"]) == [("通用投诉处理流程", 6)]
    assert sum(r["share"] for r in d["by_category"]) == pytest.approx(1)


def test_site_comes_from_the_department(september):
    from tousu.accounts.models import Department

    Department.objects.filter(code="quality_management").update(site="东院区")
    assert _rows(_data()["by_site"]) == [("未设置院区/地点", 4), ("东院区", 2)]


def test_clocks_handling_backlog(september):
    d = _data()
    clocks = [(c["label"], c["met"], c["late"], c["overdue"], c["pending"]) for c in d["clocks"]]
    assert clocks == [("答复时限", 3, 2, 2, 0), ("落实时限", 3, 0, 0, 0)]  # B late in both rounds
    assert [c["rate"] for c in d["clocks"]] == [pytest.approx(3 / 7), 1.0]
    h = d["handling"]
    assert (h["median"], h["p90"], h["mean"], h["closed"]) == (1, 8, 3.0, 4)
    assert dict(h["buckets"]) == {
        "当日": 1,
        "1": 1,
        "2": 0,
        "3": 1,
        "4–5": 0,
        "6–10": 1,
        "11–20": 0,
        "21–30": 0,
        ">30": 0,
    }
    b = d["backlog"]
    # E: 09-15..18, 09-20 (make-up Sunday), 09-21..24 = 9 working days; F: 09-23, 09-24 = 2.
    assert (b["as_of"].isoformat(), b["total"], b["oldest"]) == ("2026-09-24", 2, 9)
    assert dict(b["buckets"])["5个工作日以内"] == 1
    assert dict(b["buckets"])["6–10个工作日"] == 1
    assert d["routes"] == [] and d["external_cases"] == 0


def test_league_table(september):
    league = {r["label"]: r for r in _data()["league"]}
    # 未分派 is counted by department (above) but is no department to rank.
    assert [r for r in league] == ["质量管理部", "储运部", "客户服务部"]
    q = league["质量管理部"]
    assert (q["rank"], q["received"], q["closed"], q["breaches"], q["backlog"]) == (1, 2, 1, 1, 1)
    assert q["on_time_rate"] == pytest.approx(2 / 3)  # A met twice, E overdue
    assert (q["median_days"], q["p90_days"], q["satisfaction_rate"]) == (3, 3, 1.0)
    t = league["储运部"]
    # B: reply late in both rounds, implemented twice in time.
    assert t["on_time_rate"] == pytest.approx(2 / 4)
    assert (t["median_days"], t["satisfaction_rate"], t["dissatisfied"], t["reopened"]) == (
        8,
        0.0,
        1,
        1,
    )
    s = league["客户服务部"]
    assert (s["on_time_rate"], s["median_days"], s["satisfaction_rate"], s["backlog"]) == (
        0.0,
        None,
        None,
        1,
    )
    assert league["质量管理部"]["previous"] == 1  # G


def test_narrative_is_written_from_the_figures(september):
    text = "".join(_data()["narrative"])
    assert "2026年9月共受理投诉 6 件，较上月增加 500.0%（+5 件）" in text
    assert "已办结 4 件，办结率 66.7%" in text
    assert "中位数为 1 个工作日，90% 在 8 个工作日内结案" in text
    assert "及时率 60.0%，超时 4 项" in text
    assert "“答复时限”超时最多（4 项）" in text
    assert "满意率 66.7%" in text
    assert "重复投诉 1 件" in text and "集体投诉 1 件" in text
    assert "截至 2026-09-24 仍有 2 件未结案" in text


def test_filters_department_category_template(september):
    from tousu.accounts.models import Department
    from tousu.processes.models import Category

    quality = Department.objects.get(code="quality_management")
    assert _data(department_id=quality.pk)["k"]["received"] == 2  # A E
    cat = Category.objects.get(process_name="generic", code="transport")
    d = _data(category_id=cat.pk)
    assert (d["k"]["received"], d["k"]["reopened"]) == (1, 1)  # B
    assert _data(template="generic")["k"]["received"] == 6
    assert _data(template="hospital")["k"]["received"] == 0


def test_departmental_staff_see_their_department(september):
    from tousu.accounts.models import Department

    _, users, _ = september
    handler = users["handler_quality_management"]
    scope = selectors.scope_department(handler)
    assert scope == Department.objects.get(code="quality_management").pk
    # Asking for another department does not widen the scope.
    other = Department.objects.get(code="storage_transport").pk
    f = selectors.make_filters(parse("2026-09"), department_id=other, scope=scope)
    d = selectors.dashboard(f, now=NOW, use_cache=False)
    assert d["k"]["received"] == 2 and f.scope_label == "质量管理部"
    assert selectors.scope_department(users["leader"]) is None
    assert selectors.scope_department(users["auditor"]) is None
    with pytest.raises(selectors.NotAllowed):
        selectors.scope_department(users["receiver"])


def test_descendant_departments_are_included(flow_users):
    from tousu.accounts.models import Department

    flow_users("hospital")
    finance = Department.objects.get(code="finance")
    cashier = Department.objects.get(code="cashier")
    assert set(selectors.descendants(finance.pk)) == {finance.pk, cashier.pk}


def test_past_period_backlog_counts_cases_closed_after_it(september):
    # Read in October, September's backlog is what was open on 09-30: E and F (still open), and
    # nothing closed later. August's backlog on 08-31: nothing (G closed the same day).
    d = selectors.dashboard(
        selectors.make_filters(parse("2026-09")), now=at("2026-10-12"), use_cache=False
    )
    assert (d["backlog"]["as_of"].isoformat(), d["backlog"]["total"]) == ("2026-09-30", 2)
    d = selectors.dashboard(
        selectors.make_filters(parse("2026-08")), now=at("2026-10-12"), use_cache=False
    )
    assert d["backlog"]["total"] == 0


def test_facts_match_a_rebuild(september):
    from tousu.reports.facts import rebuild
    from tousu.reports.models import CaseFact, ClockFact

    def snap():
        return (
            sorted(CaseFact.objects.values_list()),
            sorted(ClockFact.objects.values_list()),
        )

    before = snap()
    assert rebuild() == 7
    assert snap() == before


def test_routes_and_corrective_actions(flow_users):
    """Hospital: a mediation ending in agreement; enterprise-quality: QA fails the measures once,
    then verifies them."""
    import time_machine

    from tousu.cases.engine import apply_action
    from tousu.cases.services import register_complaint

    process, users = flow_users("hospital")

    def act(c, who, action, when, **data):
        with time_machine.travel(when, tick=False):
            return apply_action(c, users[who], action, data=data, version=c.version)[0]

    with time_machine.travel(at("2026-09-01"), tick=False):
        c, _ = register_complaint(
            process=process, user=users["receiver"], channel="phone", content="医疗纠纷",
            category="medical_quality", received_at=at("2026-09-01"),
        )  # fmt: skip
    c = act(c, "officer", "office_register", at("2026-09-01", "11:00"),
            category="medical_quality", situation="情况")  # fmt: skip
    c = act(c, "officer", "start_investigation", at("2026-09-02"), departments=["medical_affairs"])
    c = act(c, "handler_medical_affairs", "submit_findings", at("2026-09-03"), findings="意见")
    c = act(c, "officer", "write_report", at("2026-09-04"), report="报告", conclusion="partly_true")
    c = act(c, "officer", "reply_to_complainant", at("2026-09-07"), reply="答复", method="phone")
    c = act(c, "officer", "apply_mediation", at("2026-09-08"), route="mediation_centre",
            accepted_on="2026-09-08")  # fmt: skip
    c = act(c, "officer", "record_route_outcome", at("2026-09-21"), outcome="mediation_agreement",
            detail="达成协议")  # fmt: skip

    eq, eq_users = flow_users("enterprise-quality")
    users.update(eq_users)
    d = _data()
    assert d["external_cases"] == 1
    assert [(r["label"], r["count"], r["outcomes"]) for r in d["routes"]] == [
        ("市医疗纠纷调处中心", 1, [("达成调解协议", 1)])
    ]
    from tousu.reports.facts import refresh
    from tousu.reports.models import CaseFact

    # Enterprise quality: the QA verdicts, through the facts of a walked case.
    with time_machine.travel(at("2026-09-02"), tick=False):
        q, _ = register_complaint(
            process=eq, user=users["receiver"], channel="phone", content="阀门砂眼",
            category=None, received_at=at("2026-09-02"),
        )  # fmt: skip
    from tousu.cases.attachments import add_attachment

    with time_machine.travel(at("2026-09-02", "10:10"), tick=False):
        add_attachment(q, name="检验报告.pdf", content=SAMPLE_PDF, user=users["receiver"])
    walk = [
        ("receiver", "accept", {"summary": "砂眼"}),
        ("receiver", "refer_to_vp", {"reason": "需要品保"}),
        ("leader", "designate_department", {"category": eq.definition.categories[0].code}),
    ]
    day = 2
    for who, action, data in walk:
        q = act(q, who, action, at(f"2026-09-{day:02d}", "11:00"), **data)
    dept = q.department.code
    actor = f"handler_{dept}"
    q = act(q, actor, "record_corrective_action", at("2026-09-03"), cause="铸造",
            corrective_action="改模", preventive_action="抽检", responsible="赵六")  # fmt: skip
    q = act(q, "verifier", "reject_measures", at("2026-09-07"), qa_opinion="抽检仍有砂眼")
    q = act(q, actor, "record_corrective_action", at("2026-09-08"), cause="铸造",
            corrective_action="再改", preventive_action="全检", responsible="赵六")  # fmt: skip
    q = act(q, "verifier", "verify_measures", at("2026-09-09"), qa_opinion="合格")
    fact = CaseFact.objects.get(complaint=q)
    assert (fact.capa_verified, fact.capa_failed) == (True, 1)
    refresh(q)
    capa = _data()["capa"]
    assert (capa["verified"], capa["failed_cases"], capa["failed_rounds"]) == (1, 1, 1)
    assert capa["first_pass_rate"] == 0.0


@pytest.mark.django_db(transaction=True)
def test_two_threads_give_the_same_figures(september, monkeypatch):
    """Outside a transaction the queries run on two connections at once; the figures are the same."""
    from django.db import connection

    assert not connection.in_atomic_block
    parallel = _data()
    monkeypatch.setattr(selectors, "PARALLEL", False)
    serial = _data()
    for key in ("k", "k_prev", "by_category", "by_department", "league", "clocks", "routes"):
        assert parallel[key] == serial[key], key
    assert parallel["backlog"]["total"] == serial["backlog"]["total"] == 2
