"""Risk flags from text (pure), and on registration: marked case, event, leaders told at once."""

import pytest
from django.core import mail

from tousu.triage.risk import risk_flags


def codes(text):
    return {f.code for f in risk_flags(text)}


RAISING = [
    ("再不给个说法，我就拿刀去找那个医生，大不了同归于尽", "risk_violence"),
    ("你们不处理，我就从住院部楼上跳下去", "risk_violence"),
    ("我要杀了那个保安", "risk_violence"),
    ("我父亲术后第二天死亡，医院必须给个交代", "risk_death"),
    ("病人死在手术台上，家属要求尸检", "risk_death"),
    ("我已经联系了电视台的记者，明天就来曝光你们", "risk_media"),
    ("再不解决我就发到抖音上，让大家都看看", "risk_media"),
    ("我们已经请了律师，准备去法院起诉医院", "risk_lawsuit"),
    ("不赔偿就打官司，我们奉陪到底", "risk_lawsuit"),
    ("如果再不处理我就去法院起诉你们", "risk_lawsuit"),
    ("全楼几十户业主准备明天去售楼处拉横幅", "risk_mass_action"),
    ("我们二十多位业主联名投诉物业", "risk_mass_action"),
    ("孩子在游乐场被铁丝划伤了脸，流了很多血", "risk_minor"),
    ("三岁的孩子在电梯里被夹到手", "risk_minor"),
    ("没办法，只能起诉了", "risk_lawsuit"),
]

NOT_RAISING = [
    "电梯突然停了，好在没有人受伤",
    "幸好并未造成人员伤亡",
    "我们并未起诉，只想要个说法",
    "我们不会找媒体，希望私下解决",
    "不打算打官司，请尽快退钱",
    "病人没有死亡，但抢救太慢",
    "气死我了，排队排了三个小时，热死了",
    "电梯门锈死了，开不开",
    "我母亲脑梗死住院，护士打针不规范",
    "小区花坛里的花都死了，也没人补种",
    "我家孩子的自行车放在楼下被偷了",
    "卫生死角没人打扫",
]


@pytest.mark.parametrize(("text", "code"), RAISING)
def test_threats_media_lawsuits_and_harm_raise_flags(text, code):
    assert code in codes(text), text


@pytest.mark.parametrize("text", NOT_RAISING)
def test_negated_and_figurative_texts_raise_nothing(text):
    assert codes(text) == set(), text


def test_flags_name_the_terms_and_the_most_severe_comes_first():
    flags = risk_flags("医生把人治死了，我们已经找了记者")
    assert [f.code for f in flags] == ["risk_death", "risk_media"]
    assert flags[0].severity == "critical" and flags[1].severity == "serious"
    assert "治死" in flags[0].terms and "记者" in flags[1].terms


def test_shipped_samples_rarely_raise_flags():
    # Everyday complaints must not flood leadership: ≤ 5 % of the samples raise anything.
    from tousu.triage.selectors import samples

    texts = samples("hospital").texts + samples("property").texts
    flagged = sum(1 for t in texts if risk_flags(t))
    assert flagged / len(texts) < 0.05


# --- on registration -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_threatening_complaint_is_marked_and_leaders_notified_at_once(
    hospital, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from tousu.cases.models import Complaint
    from tousu.clocks.models import Notification
    from tousu.triage.tasks import send_risk_alert_emails

    with django_capture_on_commit_callbacks(execute=True):
        c = hospital.register("医生把我父亲治死了！再不给说法我就找记者曝光，还要去法院起诉")
    c = Complaint.objects.get(pk=c.pk)
    assert {"risk_death", "risk_media", "risk_lawsuit"} <= set(c.flags)
    assert c.severity == "critical"
    event = c.events.get(action="risk_flagged")
    assert set(event.payload["flags"]) == {"risk_death", "risk_media", "risk_lawsuit"}
    assert "治死" in event.comment
    notes = Notification.objects.filter(complaint=c, kind="triage.risk")
    assert {n.user.username for n in notes} == {"leader", "leader2"}
    assert "死亡" in notes[0].message and c.tracking_number in notes[0].message
    assert not Notification.objects.filter(complaint=c, user__username="receiver").exists()
    # The e-mail is queued for the worker once the registration commits (leaders with an address).
    queued = DBTaskResult.objects.get(task_path__endswith="send_risk_alert_emails")
    assert queued.args_kwargs["args"][0] == ["leader@example.org"]
    mail.outbox.clear()
    send_risk_alert_emails.call(*queued.args_kwargs["args"])
    assert mail.outbox[0].subject == "【投诉系统】风险提示"
    assert mail.outbox[0].to == ["leader@example.org"] and c.tracking_number in mail.outbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "flag", "severity"),
    [
        ("你们再不处理，我就拿刀来跟你们拼了", "risk_violence", "critical"),
        ("我已经联系了报社记者", "risk_media", "serious"),
        ("我们准备委托律师起诉", "risk_lawsuit", "serious"),
    ],
)
def test_each_kind_marks_the_case(hospital, text, flag, severity):
    from tousu.cases.models import Complaint
    from tousu.clocks.models import Notification

    c = Complaint.objects.get(pk=hospital.register(text).pk)
    assert flag in c.flags and c.severity == severity
    assert Notification.objects.filter(complaint=c, user__username="leader").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "电梯突然停了，好在没有人受伤",
        "我们并未起诉，只希望医院道个歉",
        "我们不会找媒体，请尽快处理",
    ],
)
def test_negated_complaint_is_not_marked_and_nobody_is_notified(hospital, text):
    from tousu.cases.models import Complaint
    from tousu.clocks.models import Notification

    c = Complaint.objects.get(pk=hospital.register(text).pk)
    assert c.flags == [] and c.severity == "normal"
    assert not c.events.filter(action="risk_flagged").exists()
    assert not Notification.objects.filter(complaint=c).exists()


@pytest.mark.django_db
def test_a_triage_failure_never_loses_a_complaint(hospital, monkeypatch):
    from tousu.cases.models import Complaint
    from tousu.triage import services

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "on_registered", broken)
    c = hospital.register("我要去法院起诉你们")
    assert Complaint.objects.filter(pk=c.pk).exists()
    assert c.events.filter(action="created").exists()
