"""E-mail through a real SMTP server on a local port: the acknowledgement carries the tracking
number once the worker runs; a failing server is retried with back-off and the failure recorded;
an opted-out complainant gets nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from smtp_server import SmtpServer, free_port

from tousu import worker
from tousu.messaging import kinds, optout
from tousu.messaging.delivery import deliver_due, retry_now
from tousu.messaging.models import DeliveryAttempt, Message

pytestmark = pytest.mark.django_db
EMAIL = "zhang.san@example.com"


@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


def _register_by_api(people, client, email=EMAIL):
    from tousu.accounts.services import create_token

    _, raw = create_token(people["receiver"])
    r = client.post(
        "/api/v1/complaints",
        {
            "channel": "phone",
            "content": "快递包装破损，商品摔坏",
            "parties": [
                {"role": "complainant", "name": "张三", "phone": "13812345678", "email": email}
            ],
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert r.status_code == 201, r.content
    return r.json()


@pytest.mark.django_db(transaction=True)  # the worker closes old connections
def test_registration_is_acknowledged_by_email_when_the_worker_runs(people, client, smtp):
    created = _register_by_api(people, client)
    assert smtp.sink.received == []  # nothing is sent in the request
    worker.run(once=True)
    mails = smtp.sink.bodies_to(EMAIL)
    assert len(mails) == 1
    subject, body = mails[0]
    assert created["tracking_number"] in subject and created["tracking_number"] in body
    assert created["access_code"] in body
    m = Message.objects.get(channel=kinds.MAIL, address=EMAIL)
    assert (m.status, m.attempts, m.backend) == (Message.SENT, 1, "smtp")
    assert DeliveryAttempt.objects.get(message=m).ok
    worker.run(once=True)
    assert len(smtp.sink.bodies_to(EMAIL)) == 1  # sent once


def test_a_failing_server_is_retried_with_back_off_and_the_failure_recorded(
    people, client, smtp, settings
):
    settings.TOUSU_MESSAGE_MAX_ATTEMPTS = 3
    settings.TOUSU_MESSAGE_BACKOFF_SECONDS = 60
    _register_by_api(people, client)
    m = Message.objects.get(channel=kinds.MAIL, address=EMAIL)
    smtp.sink.fail_with = "451 4.3.0 Mailbox temporarily unavailable"
    now = timezone.now()
    deliver_due(now)
    m.refresh_from_db()
    assert (m.status, m.attempts) == (Message.QUEUED, 1)
    assert "451" in m.last_error and "temporarily" in m.last_error
    assert timedelta(seconds=60) <= m.next_attempt_at - now <= timedelta(seconds=67)
    deliver_due(now + timedelta(seconds=30))  # not due yet: no attempt
    assert DeliveryAttempt.objects.filter(message=m).count() == 1
    deliver_due(now + timedelta(seconds=70))
    m.refresh_from_db()
    assert m.attempts == 2 and m.next_attempt_at - (now + timedelta(seconds=70)) >= timedelta(
        seconds=120
    )
    deliver_due(now + timedelta(hours=1))
    m.refresh_from_db()
    assert (m.status, m.attempts) == (Message.FAILED, 3)  # given up after the last attempt
    attempts = list(DeliveryAttempt.objects.filter(message=m).values_list("ok", "error"))
    assert len(attempts) == 3 and not any(ok for ok, _ in attempts)
    assert all("451" in error for _, error in attempts)
    assert smtp.sink.received == []
    # The server recovers; an administrator sends it again.
    smtp.sink.fail_with = None
    assert retry_now(Message.objects.filter(pk=m.pk)) == 1
    deliver_due()
    m.refresh_from_db()
    assert m.status == Message.SENT and len(smtp.sink.bodies_to(EMAIL)) == 1


def test_a_permanent_refusal_fails_at_once(people, client, smtp):
    _register_by_api(people, client)
    smtp.sink.fail_with = "550 5.1.1 User unknown"
    deliver_due()
    m = Message.objects.get(channel=kinds.MAIL, address=EMAIL)
    assert (m.status, m.attempts) == (Message.FAILED, 1) and "550" in m.last_error


def test_no_server_listening_is_recorded_and_retried(people, client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    _register_by_api(people, client)
    deliver_due()
    m = Message.objects.get(channel=kinds.MAIL, address=EMAIL)
    assert m.status == Message.QUEUED and m.attempts == 1
    assert "无法发送邮件" in m.last_error and "Connection" in m.last_error


@pytest.mark.django_db(transaction=True)  # the worker closes old connections
def test_an_opted_out_complainant_gets_nothing(people, client, smtp):
    optout.opt_out(kinds.MAIL, EMAIL, source="command")
    optout.opt_out(kinds.SMS, "13812345678", source="command")
    _register_by_api(people, client)
    assert not Message.objects.filter(audience=Message.COMPLAINANT).exists()
    worker.run(once=True)
    assert smtp.sink.received == []


@pytest.mark.django_db(transaction=True)  # the worker closes old connections
def test_opting_out_after_queueing_stops_the_waiting_message(people, client, smtp):
    _register_by_api(people, client)
    # Queued, then the complainant opts out before the worker runs: it is not sent.
    Message.objects.filter(channel=kinds.MAIL).update(status=Message.QUEUED)
    from tousu.messaging.models import OptOut

    OptOut.objects.create(
        channel=kinds.MAIL, address_hash=optout.digest(kinds.MAIL, EMAIL), source="link"
    )
    worker.run(once=True)
    assert smtp.sink.received == []
    m = Message.objects.get(channel=kinds.MAIL, address=EMAIL)
    assert m.status == Message.FAILED and "退订" in m.last_error


@pytest.mark.django_db(transaction=True)  # the worker closes old connections
def test_staff_email_goes_through_the_same_outbox(people, dispatched, smtp):
    from tousu.owners import services as owners

    c = dispatched()
    owners.assign(c, people["handler_q"], by=people["head_q"])
    worker.run(once=True)
    mails = smtp.sink.bodies_to("handler_q@example.org")
    assert len(mails) == 1
    subject, body = mails[0]
    assert subject == "【投诉系统】指派给我或本部门" and c.tracking_number in body
    assert f"/staff/cases/{c.pk}/" in body
