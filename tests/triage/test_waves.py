"""Collective complaints (群体性投诉): waves of different complainants about the same matter or
respondent, one flag, one dashboard count and one message to leadership per wave (triage/waves.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

NOISE = "小区东门外的工地每天晚上施工到凌晨两点，噪音太大，老人孩子都睡不着，请物业出面协调"
VARIANTS = [
    NOISE,
    NOISE + "！",
    "业主反映：" + NOISE,
    "东门外工地每天晚上施工到凌晨两点，噪音太大，老人孩子都睡不着，请物业出面协调解决",
    NOISE.replace("凌晨两点", "凌晨三点"),
    "又是" + NOISE,
]


@pytest.fixture
def register_committed(django_capture_on_commit_callbacks):
    """Registration with its after-commit work run (the wave check)."""

    def _register(org, text, **kwargs):
        from tousu.cases.models import Complaint

        with django_capture_on_commit_callbacks(execute=True):
            c = org.register(text, **kwargs)
        return Complaint.objects.get(pk=c.pk)

    return _register


def _flagged(pks):
    from tousu.cases.models import Complaint

    rows = Complaint.objects.filter(pk__in=pks).values_list("pk", "flags")
    return {pk for pk, flags in rows if "risk_collective" in flags}


def _collective_count():
    from tousu.reports.models import CaseFact

    return CaseFact.objects.filter(collective=True).count()


@pytest.mark.django_db
def test_a_wave_needs_the_templates_number_of_different_complainants(
    property_org, register_committed
):
    from tousu.clocks.models import Notification
    from tousu.messaging.models import Message
    from tousu.triage.models import Wave

    cases = [
        register_committed(property_org, t, phone=f"1390000000{i}")
        for i, t in enumerate(VARIANTS[:4])
    ]
    assert not Wave.objects.exists() and not _flagged([c.pk for c in cases])  # 4 of 5
    assert _collective_count() == 0
    cases.append(register_committed(property_org, VARIANTS[4], phone="13900000004"))
    wave = Wave.objects.get()
    assert wave.people == 5 and wave.threshold == 5 and wave.first_id == cases[0].pk
    assert _flagged([c.pk for c in cases]) == {c.pk for c in cases}
    assert cases[0].events.filter(action="wave_started").count() == 1
    assert all(c.events.filter(action="wave_started").count() == 0 for c in cases[1:])
    # The dashboard counts the wave once, on its first case.
    assert _collective_count() == Wave.objects.count() == 1
    # Leadership is told once per wave: one in-app message each, one e-mail for the leader
    # who has an address.
    notes = Notification.objects.filter(kind="risk.wave")
    assert sorted(notes.values_list("user__username", flat=True)) == ["leader", "leader2"]
    assert Message.objects.filter(kind="risk.wave", audience=Message.STAFF).count() == 1
    # A sixth complainant joins the wave: flagged, not announced again, still one wave.
    sixth = register_committed(property_org, VARIANTS[5], phone="13900000005")
    assert "risk_collective" in sixth.flags
    assert sixth.events.filter(action="wave_joined").count() == 1
    assert Wave.objects.get().members.count() == 6 and Wave.objects.get().people == 6
    assert Notification.objects.filter(kind="risk.wave").count() == 2
    assert _collective_count() == Wave.objects.count() == 1


@pytest.mark.django_db
def test_the_same_complainant_again_is_a_repeat_not_a_wave(property_org, register_committed):
    from tousu.reports.models import CaseFact
    from tousu.triage.models import Wave

    cases = [register_committed(property_org, t, phone="13900000009") for t in VARIANTS]
    assert not Wave.objects.exists() and not _flagged([c.pk for c in cases])
    # … and the statistics know it as a repeat complaint.
    assert CaseFact.objects.filter(repeat=True).count() == len(VARIANTS) - 1


@pytest.mark.django_db
def test_different_matters_make_no_wave(property_org, register_committed):
    from tousu.triage.models import Wave

    texts = [
        "楼道里的感应灯坏了一个多月了，晚上上下楼黑乎乎的，报修三次都没人来修",
        "电梯这个月已经困人两次了，物业说在等配件，一直没有修好",
        "地下车库入口的栏杆总是抬不起来，早上排队很久，物业也不派人指挥",
        "楼上住户在阳台养了很多鸽子，鸽子粪便掉到我家窗台上，气味很大",
        "小区绿化带被人开垦种菜，还施农家肥，夏天臭味熏天",
        "物业费账单上的面积比我房产证上多了五平米，要求重新核算",
    ]
    for i, t in enumerate(texts):
        register_committed(property_org, t, phone=f"1380000010{i}")
    assert not Wave.objects.exists()


@pytest.mark.django_db
def test_outside_the_window_no_wave(property_org, register_committed, settings):
    from tousu.triage.models import Wave

    settings.TOUSU_WAVE_WINDOW_DAYS = 30
    now = timezone.now()
    for i, t in enumerate(VARIANTS[:5]):
        # 40 days apart: never 5 in any 30 days.
        register_committed(
            property_org, t, phone=f"1390000002{i}", received_at=now - timedelta(days=40 * (5 - i))
        )
    assert not Wave.objects.exists()


@pytest.mark.django_db
def test_same_respondent_with_a_looser_text(hospital, register_committed):
    """Five patients about the same clinic, in their own words: a wave by respondent."""
    from tousu.triage import waves
    from tousu.triage.models import Wave

    texts = [
        "骨科门诊的医生看病时态度很差，问两句就不耐烦，开了一堆检查也不解释",
        "在骨科门诊看病，医生态度恶劣，问他检查是做什么的他就不耐烦",
        "骨科门诊医生态度太差了，我问检查结果他不解释还让我出去",
        "昨天在骨科门诊就诊，医生很不耐烦，开检查也不说明原因",
        "骨科门诊那位医生对病人态度差，多问一句就发脾气，也不解释检查",
    ]
    # Not near-identical to each other: these are found through the respondent, not the text.
    assert min(waves.similarities("hospital", texts[0], texts[1:])) < waves.MATTER_SIMILARITY
    cases = []
    for i, t in enumerate(texts):
        cases.append(
            register_committed(
                hospital,
                t,
                phone=f"1370000000{i}",
                fields={"involved_department": "骨科门诊"},
            )
        )
    wave = Wave.objects.get()
    assert wave.respondent == "骨科门诊" and wave.members.count() == 5


@pytest.mark.django_db
def test_a_joint_complaint_is_a_wave_of_its_own(install, register_committed):
    """Tourism: 4 or more complainants on one matter make a joint complaint (旅游投诉处理办法)."""
    from tousu.triage.models import Wave

    org = install("tourism-authority")
    c = register_committed(
        org, "旅行社擅自增加购物点，导游强迫我们消费", fields={"complainant_count": 6}
    )
    wave = Wave.objects.get()
    assert wave.first_id == c.pk and wave.people == 6 and wave.threshold == 4
    assert "risk_collective" in c.flags
    assert _collective_count() == 1


@pytest.mark.django_db
def test_api_lists_the_waves(property_org, register_committed, client):
    from tousu.triage.models import Wave

    cases = [
        register_committed(property_org, t, phone=f"1390000003{i}")
        for i, t in enumerate(VARIANTS[:5])
    ]
    from tousu.accounts.services import create_token

    auth = {"HTTP_AUTHORIZATION": f"Bearer {create_token(property_org.users['officer'])[1]}"}
    r = client.get("/api/v1/triage/waves", **auth)
    assert r.status_code == 200, r.content
    [w] = r.json()
    assert w["id"] == Wave.objects.get().pk and w["people"] == 5
    assert w["first"] == cases[0].tracking_number
    assert [x["tracking_number"] for x in w["cases"]] == [c.tracking_number for c in cases]
    detail = client.get(f"/api/v1/complaints/{cases[3].pk}", **auth).json()
    assert "risk_collective" in detail["flags"]
