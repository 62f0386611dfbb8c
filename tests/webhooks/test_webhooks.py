"""Webhooks: every event reaches a subscribed receiver once, signed; a failing receiver is retried
with exponential back-off and every attempt is logged; case handling never waits for a receiver."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tousu.accounts.services import create_token
from tousu.cases.models import Complaint
from tousu.clocks.services import sweep
from tousu.webhooks import signing
from tousu.webhooks.models import Delivery, DeliveryAttempt
from tousu.webhooks.services import deliver_due, record, retry_now

URL = "/api/v1/complaints"
BODY = {
    "channel": "phone",
    "content": "快递员服务态度差，包裹破损",
    "parties": [{"role": "complainant", "name": "李四", "phone": "13900001111"}],
}


class Api:
    def __init__(self, user):
        _, raw = create_token(user)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def post(self, path, body):
        return self.client.post(
            path, json.dumps(body), content_type="application/json", headers=self.headers
        )


def _walk_a_little(api):
    created = api.post(URL, BODY)
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    r = api.post(f"{URL}/{cid}/actions/judge_valid", {"version": 1, "data": {"reason": "成立"}})
    assert r.status_code == 200, r.content
    r = api.post(
        f"{URL}/{cid}/actions/assign_department", {"version": 2, "data": {"category": "quality"}}
    )
    assert r.status_code == 200, r.content
    return cid


@pytest.mark.django_db
def test_each_event_reaches_the_receiver_once_with_a_valid_signature(staff, receiver, subscribe):
    sub = subscribe(receiver.url)
    api = Api(staff["officer"])
    cid = _walk_a_little(api)
    # Nothing is sent while handling the case: deliveries wait for the worker.
    assert receiver.requests == []
    assert Delivery.objects.filter(status=Delivery.PENDING).count() == 3
    # The 24-hour reply clock: its warning (4 hours before) and its breach, each swept once.
    assert sweep(now=timezone.now() + timedelta(hours=21)).warned == 1
    result = sweep(now=timezone.now() + timedelta(days=2))
    assert (result.warned, result.breached) == (0, 1)

    run = deliver_due()
    assert (run.attempted, run.succeeded) == (5, 5)
    assert deliver_due().attempted == 0  # each delivery once
    assert sweep(now=timezone.now() + timedelta(days=3)).breached == 0

    assert sorted(receiver.events()) == sorted(
        [
            "complaint.created",
            "complaint.action_applied",
            "complaint.action_applied",
            "clock.warning",
            "clock.breached",
        ]
    )
    assert len({r.headers["Tousu-Delivery"] for r in receiver.requests}) == 5
    for r in receiver.requests:
        assert signing.verify(
            sub.secret, r.body, r.headers["Tousu-Timestamp"], r.headers["Tousu-Signature"]
        )
        assert not signing.verify(
            "whsec_wrong", r.body, r.headers["Tousu-Timestamp"], r.headers["Tousu-Signature"]
        )
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        payload = json.loads(r.body)
        assert payload["type"] == r.headers["Tousu-Event"]
        assert payload["data"]["complaint"]["id"] == cid
        # Identifiers and states only: no complaint text, no personal data.
        assert "13900001111" not in r.body.decode() and "李四" not in r.body.decode()
        assert "包裹破损" not in r.body.decode()
    actions = [json.loads(r.body)["data"]["event"]["action"] for r in receiver.requests]
    assert {
        "created",
        "judge_valid",
        "assign_department",
        "clock_warning",
        "clock_breached",
    } == set(actions)
    breach = next(
        json.loads(r.body)
        for r in receiver.requests
        if r.headers["Tousu-Event"] == "clock.breached"
    )
    assert breach["data"]["clock"]["name"] == "reply_24h"
    assert "API 令牌" in next(
        json.loads(r.body)["data"]["event"]["actor"]
        for r in receiver.requests
        if r.headers["Tousu-Event"] == "complaint.action_applied"
    )


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_backoff_and_logged(
    staff, receiver, subscribe, settings, admin_client
):
    settings.TOUSU_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 500
    subscribe(receiver.url, events=["complaint.created"])
    assert Api(staff["receiver"]).post(URL, BODY).status_code == 201
    delivery = Delivery.objects.get()

    t0 = timezone.now()
    assert deliver_due(now=t0).retrying == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    first_wait = delivery.next_attempt_at - t0
    assert timedelta(seconds=30) <= first_wait <= timedelta(seconds=33)

    assert deliver_due(now=t0 + timedelta(seconds=20)).attempted == 0  # not due yet
    t1 = delivery.next_attempt_at
    assert deliver_due(now=t1).retrying == 1
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - t1
    assert timedelta(seconds=60) <= second_wait <= timedelta(seconds=66)  # doubled

    assert deliver_due(now=delivery.next_attempt_at).gave_up == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3
    assert len({r.headers["Tousu-Delivery"] for r in receiver.requests}) == 1  # the same delivery
    log = list(DeliveryAttempt.objects.filter(delivery=delivery))
    assert [a.status_code for a in log] == [500, 500, 500]
    assert all("HTTP 500" in a.error for a in log)

    # The delivery log in the admin, and a retry once the receiver is fixed.
    page = admin_client.get("/admin/webhooks/delivery/")
    assert page.status_code == 200 and "已放弃" in page.content.decode()
    assert admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").status_code == 200
    receiver.status = 204
    assert retry_now(Delivery.objects.all()) == 1
    assert deliver_due().succeeded == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.delivered_at is not None


@pytest.mark.django_db
def test_unreachable_and_slow_receivers_are_errors_with_a_reason(
    staff, receiver, subscribe, settings
):
    settings.TOUSU_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.5
    subscribe(receiver.url, events=["complaint.created"])
    subscribe("http://127.0.0.1:9/nothing-listens-here", events=["complaint.created"])
    assert Api(staff["receiver"]).post(URL, BODY).status_code == 201
    started = time.monotonic()
    run = deliver_due()
    assert run.retrying == 2
    assert time.monotonic() - started < 1.2  # sent side by side, each within its timeout
    errors = sorted(Delivery.objects.values_list("last_error", flat=True))
    assert errors[0].startswith("无法连接") and errors[1].startswith("超时")


@pytest.mark.django_db(transaction=True)
def test_case_actions_are_not_delayed_by_a_slow_receiver(staff, receiver, subscribe, settings):
    """The worker is in the middle of posting to a receiver that takes three seconds and then
    fails; meanwhile staff register and handle cases at full speed."""
    settings.TOUSU_WEBHOOK_TIMEOUT_SECONDS = 10
    receiver.delay, receiver.status = 3.0, 500
    subscribe(receiver.url)
    api = Api(staff["officer"])
    _walk_a_little(api)  # warm: forms built, definitions parsed (as on any running server)

    def worker():
        try:
            deliver_due()
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 5
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.requests, "the worker should be posting by now"

    started = time.monotonic()
    cid = _walk_a_little(api)  # register + two actions while the receiver is still busy
    elapsed = time.monotonic() - started
    assert thread.is_alive(), "the receiver was meant to be still busy"
    assert elapsed < 1.0, f"case handling took {elapsed:.2f}s beside a slow receiver"
    thread.join()
    assert Complaint.objects.get(pk=cid).state == "investigating"
    assert Delivery.objects.filter(status=Delivery.PENDING).count() == 6  # 3 retrying + 3 new
    assert Delivery.objects.filter(attempts=1, last_status_code=500).count() == 3


@pytest.mark.django_db
def test_a_failed_action_queues_nothing_and_unsubscribed_events_are_not_queued(
    staff, receiver, subscribe
):
    subscribe(receiver.url, events=["clock.breached"])
    api = Api(staff["officer"])
    cid = api.post(URL, BODY).json()["id"]
    assert api.post(f"{URL}/{cid}/actions/judge_valid", {"version": 7}).status_code == 409
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_recording_costs_no_query_without_subscribers(django_assert_num_queries):
    from tousu.webhooks.services import active_subscriptions

    active_subscriptions()  # warm the per-process cache, as any running server has
    built = []
    with django_assert_num_queries(0):
        assert record("complaint.created", 1, lambda: built.append(1) or {}) == []
    assert built == []


@pytest.mark.django_db
def test_a_deleted_subscription_never_breaks_case_handling(staff, receiver, subscribe, monkeypatch):
    from tousu.webhooks import services

    sub = subscribe(receiver.url)
    pk = sub.pk
    sub.delete()
    # Another process still has it in its cache for a few seconds.
    monkeypatch.setattr(
        services, "active_subscriptions", lambda: ((pk, frozenset({"complaint.created"})),)
    )
    assert Api(staff["receiver"]).post(URL, BODY).status_code == 201
    assert deliver_due().gave_up == 1
    assert Delivery.objects.get().last_error == "订阅已删除"
    assert receiver.requests == []


def test_signatures_check_body_secret_and_age():
    body = b'{"type":"complaint.created"}'
    ts = int(time.time())
    sig = signing.sign("whsec_x", ts, body)
    assert sig.startswith("sha256=") and signing.verify("whsec_x", body, str(ts), sig)
    assert not signing.verify("whsec_x", body + b" ", str(ts), sig)
    assert not signing.verify("whsec_y", body, str(ts), sig)
    old = ts - 3600
    assert not signing.verify("whsec_x", body, str(old), signing.sign("whsec_x", old, body))
    assert not signing.verify("whsec_x", body, "soon", sig)
    assert not signing.verify("whsec_x", body, None, sig)


@pytest.mark.django_db
def test_cli_adds_lists_and_delivers(capsys, receiver):
    from tousu.cli import main

    assert main(["webhooks", "add", receiver.url, "--events", "complaint.created"]) == 0
    assert "签名密钥" in capsys.readouterr().out
    assert main(["webhooks", "add", receiver.url, "--events", "complaint.deleted"]) == 2
    assert main(["webhooks", "list"]) == 0
    assert receiver.url in capsys.readouterr().out
    assert main(["webhooks", "deliver"]) == 0


@pytest.mark.django_db
def test_intake_makes_no_extra_query_for_webhooks_nobody_subscribed_to(staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tousu.cases.signals import complaint_registered
    from tousu.webhooks import receivers
    from tousu.webhooks.services import active_subscriptions

    api = Api(staff["receiver"])
    api.post(URL, BODY)  # warm every per-process cache, as on a running server
    active_subscriptions()

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.post(URL, BODY).status_code == 201
        return len(ctx.captured_queries)

    with_webhooks = count()
    complaint_registered.disconnect(dispatch_uid="webhooks.created")
    try:
        without = count()
    finally:
        complaint_registered.connect(
            receivers.on_complaint_registered, dispatch_uid="webhooks.created"
        )
    assert with_webhooks == without
