"""Lock-out (django-axes, AXES_FAILURE_LIMIT 5, cool-off 15 minutes), beyond the workbench case in
tests/web/test_workbench.py: the admin's login counts and locks the same way, a lock holds for both
login pages, and it opens again 15 minutes after the last attempt (an attempt while locked, right
password or not, starts the 15 minutes again)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

PASSWORD = "pw-officer-123"


def _fail(client: Client, path: str, times: int) -> None:
    for _ in range(times):
        r = client.post(path, {"username": "officer", "password": "wrong"})
        assert r.status_code == 200  # the form again, with the error


def test_sixth_attempt_is_refused_on_both_login_pages_until_the_cool_off(staff, settings):
    settings.AXES_ENABLED = True
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_TIME == 0.25
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = Client()
        _fail(client, "/admin/login/", 3)
        _fail(client, "/staff/login/", 1)
        r = client.post("/staff/login/", {"username": "officer", "password": "wrong"})
        assert r.status_code == 429  # the fifth failure locks
        for path in ("/staff/login/", "/admin/login/"):
            r = client.post(path, {"username": "officer", "password": PASSWORD})
            assert r.status_code == 429 and "暂时锁定" in r.content.decode(), path
        assert "_auth_user_id" not in client.session

    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        r = Client().post("/staff/login/", {"username": "officer", "password": PASSWORD})
        assert r.status_code == 429

    with time_machine.travel(start + timedelta(minutes=14 + 16), tick=False):
        client = Client()
        r = client.post("/staff/login/", {"username": "officer", "password": PASSWORD})
        assert r.status_code == 302 and client.session["_auth_user_id"] == str(staff["officer"].pk)
