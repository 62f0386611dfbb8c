"""SMS: the `log` backend (the default), and the two providers through their own SDKs against local
servers that speak their APIs and check the request signatures; per-phone rate limits."""

from datetime import timedelta

import pytest
from django.utils import timezone
from sms_providers import FakeAliyun, FakeTencent

from tousu.messaging import kinds
from tousu.messaging.delivery import deliver_due
from tousu.messaging.models import DeliveryAttempt, Message, MessageTemplate
from tousu.messaging.outbox import templates_for

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
PARTY = {"role": "complainant", "name": "张三", "phone": PHONE}


def _sms(c):
    return Message.objects.get(complaint=c, channel=kinds.SMS, kind=kinds.ACKNOWLEDGEMENT)


def _provider_template(code):
    from tousu.accounts.models import Organisation

    templates_for(Organisation.current().pk)  # stores the defaults
    MessageTemplate.objects.filter(kind=kinds.ACKNOWLEDGEMENT, channel=kinds.SMS).update(
        provider_template=code
    )
    templates_for.cache_clear()


def test_the_log_backend_keeps_the_text_for_administrators(
    people, register, admin_client, settings
):
    settings.TOUSU_SMS_BACKEND = "log"
    c = register(parties=[PARTY])
    run = deliver_due()
    m = _sms(c)
    assert run.sent >= 1 and (m.status, m.backend, m.provider_id) == ("sent", "log", f"log-{m.pk}")
    assert c.tracking_number in m.body
    listing = admin_client.get("/admin/messaging/message/", {"channel": "sms"}).content.decode()
    assert PHONE in listing and "log" in listing
    page = admin_client.get(f"/admin/messaging/message/{m.pk}/change/").content.decode()
    assert c.tracking_number in page


@pytest.fixture
def aliyun(monkeypatch, settings):
    server = FakeAliyun("LTAI-test-key", "test-secret").start()
    settings.TOUSU_SMS_BACKEND = "aliyun"
    for name, value in {
        "TOUSU_SMS_ALIYUN_ACCESS_KEY_ID": "LTAI-test-key",
        "TOUSU_SMS_ALIYUN_ACCESS_KEY_SECRET": "test-secret",
        "TOUSU_SMS_ALIYUN_SIGN_NAME": "测试医院",
        "TOUSU_SMS_ALIYUN_ENDPOINT": server.endpoint,
        "TOUSU_SMS_ALIYUN_PROTOCOL": "http",
        "TOUSU_SMS_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def test_aliyun_sends_a_signed_request_with_the_template_and_its_parameters(
    people, register, aliyun
):
    _provider_template("SMS_465930001")
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert m.status == "sent" and m.backend == "aliyun", m.last_error
    assert m.provider_id.endswith("^0")
    [request] = aliyun.accepted
    assert request["PhoneNumbers"] == PHONE and request["SignName"] == "测试医院"
    assert request["TemplateCode"] == "SMS_465930001" and request["OutId"] == str(m.pk)
    # The template's variables by name, exactly the values the text was rendered with.
    assert request["TemplateParam"]["tracking_number"] == c.tracking_number
    assert set(request["TemplateParam"]) == {"tracking_number", "access_code", "track_url"}


def test_aliyun_refuses_a_wrong_signature_and_the_reason_is_recorded(
    people, register, aliyun, monkeypatch
):
    _provider_template("SMS_465930001")
    monkeypatch.setenv("TOUSU_SMS_ALIYUN_ACCESS_KEY_SECRET", "not-the-secret")
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert aliyun.accepted == [] and aliyun.rejected == ["SignatureDoesNotMatch"]
    assert m.status == "failed" and "SignatureDoesNotMatch" in m.last_error  # no point retrying
    assert "SignatureDoesNotMatch" in DeliveryAttempt.objects.get(message=m).error


def test_aliyun_rate_control_is_retried_later(people, register, aliyun):
    _provider_template("SMS_465930001")
    aliyun.answer_code = "isv.BUSINESS_LIMIT_CONTROL"
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert (m.status, m.attempts) == ("queued", 1) and "BUSINESS_LIMIT_CONTROL" in m.last_error
    aliyun.answer_code = None
    deliver_due(timezone.now() + timedelta(minutes=5))
    m.refresh_from_db()
    assert m.status == "sent" and len(aliyun.accepted) == 1


def test_a_provider_needs_its_template_code(people, register, aliyun):
    c = register(parties=[PARTY])  # the administrator has not entered the provider's code
    deliver_due()
    m = _sms(c)
    assert m.status == "failed" and "模板 CODE" in m.last_error and aliyun.accepted == []


@pytest.fixture
def tencent(monkeypatch, settings):
    server = FakeTencent("AKID-test", "tencent-secret", "1400006666").start()
    settings.TOUSU_SMS_BACKEND = "tencent"
    for name, value in {
        "TOUSU_SMS_TENCENT_SECRET_ID": "AKID-test",
        "TOUSU_SMS_TENCENT_SECRET_KEY": "tencent-secret",
        "TOUSU_SMS_TENCENT_SDK_APP_ID": "1400006666",
        "TOUSU_SMS_TENCENT_SIGN_NAME": "测试医院",
        "TOUSU_SMS_TENCENT_ENDPOINT": server.endpoint,
        "TOUSU_SMS_TENCENT_PROTOCOL": "http",
        "TOUSU_SMS_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def test_tencent_sends_a_signed_request_with_the_parameters_in_order(people, register, tencent):
    _provider_template("2345678")
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert m.status == "sent" and m.backend == "tencent", m.last_error
    assert m.provider_id.startswith("2645:")
    [request] = tencent.accepted
    assert request["PhoneNumberSet"] == [f"+86{PHONE}"] and request["TemplateId"] == "2345678"
    assert request["SmsSdkAppId"] == "1400006666" and request["SignName"] == "测试医院"
    # Tencent's templates number their parameters: the values in the order the text uses them.
    assert request["TemplateParamSet"] == [value for _, value in m.params]
    assert request["TemplateParamSet"][0] == c.tracking_number


def test_tencent_refuses_a_wrong_key_and_the_reason_is_recorded(
    people, register, tencent, monkeypatch
):
    _provider_template("2345678")
    monkeypatch.setenv("TOUSU_SMS_TENCENT_SECRET_KEY", "wrong")
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert tencent.accepted == [] and tencent.rejected == ["AuthFailure.SignatureFailure"]
    assert m.status == "failed" and "AuthFailure.SignatureFailure" in m.last_error, m.last_error


def test_tencent_frequency_limit_is_retried(people, register, tencent):
    _provider_template("2345678")
    tencent.answer_code = "LimitExceeded.PhoneNumberThirtySecondLimit"
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert (m.status, m.attempts) == ("queued", 1) and "LimitExceeded" in m.last_error


def test_a_missing_configuration_is_a_clear_failure(people, register, settings, monkeypatch):
    settings.TOUSU_SMS_BACKEND = "aliyun"
    monkeypatch.delenv("TOUSU_SMS_ALIYUN_ACCESS_KEY_ID", raising=False)
    c = register(parties=[PARTY])
    deliver_due()
    m = _sms(c)
    assert m.status == "failed" and "TOUSU_SMS_ALIYUN_ACCESS_KEY_ID" in m.last_error


def test_one_phone_gets_at_most_the_limit_and_the_rest_waits(
    people, register, settings, monkeypatch
):
    settings.TOUSU_SMS_BACKEND = "log"
    monkeypatch.setenv("TOUSU_SMS_RATE_LIMITS", "1/minute,2/hour")
    cases = [register(f"第{i}件", parties=[PARTY]) for i in range(3)]
    now = timezone.now()
    run = deliver_due(now)
    assert run.sent == 1 and run.held_back >= 1
    waiting = Message.objects.filter(channel=kinds.SMS, status="queued")
    assert waiting.count() == 2
    assert all("频率受限" in m.last_error and m.attempts == 0 for m in waiting)
    assert all(m.next_attempt_at > now for m in waiting)
    with_later = deliver_due(now + timedelta(minutes=2))
    assert with_later.sent == 1  # the second, a minute later
    assert deliver_due(now + timedelta(minutes=4)).sent == 0  # two an hour
    assert deliver_due(now + timedelta(minutes=70)).sent == 1  # none lost
    assert Message.objects.filter(channel=kinds.SMS, status="sent").count() == 3
    assert len(cases) == 3
