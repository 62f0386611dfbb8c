"""A retried 催办 creates nothing twice: the API's Idempotency-Key, the web form's one-time token."""

import json
import re

import pytest
from django.test import Client

from tousu.accounts.services import create_token
from tousu.clocks.models import Notification
from tousu.messaging.models import Message

pytestmark = pytest.mark.django_db


def _post(user, path, body, key=None):
    _, raw = create_token(user)
    headers = {"Authorization": f"Bearer {raw}"}
    if key:
        headers["Idempotency-Key"] = key
    return Client().post(
        path, json.dumps(body, ensure_ascii=False), content_type="application/json", headers=headers
    )


def _traces(c):
    return (
        c.events.filter(action="chased").count(),
        Notification.objects.filter(complaint=c, kind="chased").count(),
        Message.objects.filter(complaint=c, kind="chased").count(),
    )


def test_api_chase_with_the_same_key_chases_once(people, dispatched):
    c = dispatched()
    url = f"/api/v1/complaints/{c.pk}/chase"
    first = _post(people["officer"], url, {"note": "请加快"}, key="chase-1")
    assert first.status_code == 200, first.content
    after_first = _traces(c)
    assert after_first[0] == 1 and after_first[1] >= 1
    again = _post(people["officer"], url, {"note": "请加快"}, key="chase-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert _traces(c) == after_first
    c.refresh_from_db()
    assert c.chase_count == 1
    # The same key for another request is refused in Chinese; a new key chases again.
    other = _post(people["officer"], url, {"note": "另一条"}, key="chase-1")
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["message"]
    assert (
        _post(people["officer"], url, {"note": "请加快"}, key="chase-2").json()["chase_count"] == 2
    )
    # Without a key each request is a 催办 of its own, as before.
    assert _post(people["officer"], url, {"note": "请加快"}).json()["chase_count"] == 3


def test_web_form_resent_chases_once(people, dispatched, client):
    c = dispatched()
    client.force_login(people["officer"])
    html = client.get(f"/staff/cases/{c.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', html)[1]
    for _ in range(2):  # a double click, or the browser resending the form
        r = client.post(
            f"/staff/supervision/cases/{c.pk}/chase/",
            {"note": "客户催问", "form_token": token},
            follow=True,
        )
        assert "已催办（第 1 次）" in r.content.decode()
    c.refresh_from_db()
    assert c.chase_count == 1 and c.events.filter(action="chased").count() == 1
    # A newly rendered form carries a new token: a second 催办 on purpose counts.
    html = client.get(f"/staff/cases/{c.pk}/").content.decode()
    fresh = re.search(r'name="form_token" value="([^"]+)"', html)[1]
    assert fresh != token
    client.post(f"/staff/supervision/cases/{c.pk}/chase/", {"note": "再催", "form_token": fresh})
    c.refresh_from_db()
    assert c.chase_count == 2
