"""Staff accounts (issue 15 §3): one-time passwords are changed at the first login, staff change
their own password, the administrator resets one to a new one-time password; behind a reverse
proxy the lock-out counts the address the proxy saw, so a forged X-Forwarded-For locks nobody else
out; guessing one user name from many addresses is slowed without locking its owner out for long;
/api/v1/users lists only the staff the caller's role needs."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _login(client, username, password, **extra):
    return client.post("/staff/login/", {"username": username, "password": password}, **extra)


def test_a_one_time_password_is_changed_at_the_first_login(generic):
    from tousu.accounts.services import create_user

    user, one_time = create_user("newbie", roles=["officer"])
    assert user.must_change_password
    client = Client()
    assert _login(client, "newbie", one_time).status_code == 302
    for path in ("/staff/", "/staff/cases/", "/admin/"):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/staff/account/password/"), path
    page = client.get("/staff/account/password/").content.decode()
    assert "一次性密码" in page and "当前密码" in page
    # The same password again, a mismatch, a too common one: refused, in Chinese.
    same = client.post(
        "/staff/account/password/",
        {"old_password": one_time, "new_password1": one_time, "new_password2": one_time},
    )
    assert same.status_code == 400 and "不能与当前密码相同" in same.content.decode()
    weak = client.post(
        "/staff/account/password/",
        {"old_password": one_time, "new_password1": "password", "new_password2": "password"},
    )
    assert weak.status_code == 400 and "密码" in weak.content.decode()
    ok = client.post(
        "/staff/account/password/",
        {
            "old_password": one_time,
            "new_password1": "Xq7-投诉-2026",
            "new_password2": "Xq7-投诉-2026",
        },
    )
    assert ok.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password("Xq7-投诉-2026")
    assert client.get("/staff/").status_code == 200  # still logged in, on to work


def test_staff_change_their_own_password_from_the_workbench(staff):
    client = Client()
    client.force_login(staff["handler_q"])
    assert "修改密码" in client.get("/staff/").content.decode()
    wrong = client.post(
        "/staff/account/password/",
        {"old_password": "nope", "new_password1": "Kp9!新的密码", "new_password2": "Kp9!新的密码"},
    )
    assert wrong.status_code == 400
    ok = client.post(
        "/staff/account/password/",
        {
            "old_password": "pw-handler_q-123",
            "new_password1": "Kp9!新的密码",
            "new_password2": "Kp9!新的密码",
        },
    )
    assert ok.status_code == 302
    staff["handler_q"].refresh_from_db()
    assert staff["handler_q"].check_password("Kp9!新的密码")


def test_the_administrator_resets_a_password_to_a_new_one_time_one(staff):
    from tousu.accounts.services import create_user

    admin, _ = create_user("root", roles=["admin"], password="pw-root-123", is_superuser=True)
    other = Client()
    other.force_login(staff["officer"])  # the officer's session, before the reset
    client = Client()
    client.force_login(admin)
    r = client.post(
        "/admin/accounts/user/",
        {"action": "reset_passwords", "_selected_action": [staff["officer"].pk]},
        follow=True,
    )
    text = r.content.decode()
    assert "一次性密码（只显示这一次）" in text
    new = text.split("的一次性密码（只显示这一次）：")[1].split("<")[0].strip()
    staff["officer"].refresh_from_db()
    assert staff["officer"].must_change_password and staff["officer"].check_password(new)
    assert not staff["officer"].check_password("pw-officer-123")
    assert other.get("/staff/").status_code == 302  # the old session ended with the old password
    fresh = Client()
    assert _login(fresh, "officer", new).status_code == 302
    assert fresh.get("/staff/")["Location"].startswith("/staff/account/password/")


def test_behind_a_proxy_a_forged_address_locks_out_nobody_else(staff, settings):
    """nginx appends the address it saw to X-Forwarded-For; a client may write anything before
    it. Five failures from an attacker who forges the victim's address lock only the attacker."""
    settings.AXES_ENABLED = True
    settings.TOUSU_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request reaches us from the proxy
    attacker = {**proxy, "HTTP_X_FORWARDED_FOR": "192.168.1.50, 203.0.113.9"}
    for _ in range(5):
        _login(Client(), "officer", "wrong", **attacker)
    assert _login(Client(), "officer", "pw-officer-123", **attacker).status_code == 429
    # The officer, at 192.168.1.50 as the proxy saw it, logs in.
    officer = {**proxy, "HTTP_X_FORWARDED_FOR": "192.168.1.50"}
    assert _login(Client(), "officer", "pw-officer-123", **officer).status_code == 302


def test_guessing_one_user_name_from_many_addresses_is_slowed_not_locked(staff, settings):
    settings.AXES_ENABLED = True
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for i in range(10):
            r = _login(Client(), "officer", "wrong", REMOTE_ADDR=f"198.51.100.{i}")
            assert r.status_code == 200
        slowed = _login(Client(), "officer", "wrong", REMOTE_ADDR="198.51.100.99")
        assert slowed.status_code == 429 and "30 秒" in slowed.content.decode()
        # Even the right password waits its turn: at most 30 seconds, not a 15-minute lock.
        assert (
            _login(Client(), "officer", "pw-officer-123", REMOTE_ADDR="10.1.1.1").status_code == 429
        )
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        assert (
            _login(Client(), "officer", "pw-officer-123", REMOTE_ADDR="10.1.1.1").status_code == 302
        )
    # Another user name is not slowed.
    with time_machine.travel(start, tick=False):
        assert (
            _login(Client(), "leader", "pw-leader-123", REMOTE_ADDR="10.1.1.2").status_code == 302
        )


@pytest.mark.parametrize(
    "who,sees_all",
    [
        ("officer", True),
        ("leader", True),
        ("auditor", True),
        ("handler_q", False),
        ("head_q", False),
        ("receiver", False),
    ],
)
def test_the_user_list_holds_what_the_role_needs(staff, who, sees_all):
    from tousu.accounts.services import create_token

    _, raw = create_token(staff[who])
    auth = {"Authorization": f"Bearer {raw}"}
    names = {u["username"] for u in Client().get("/api/v1/users", headers=auth).json()}
    everyone = set(u.username for u in staff.values())
    if sees_all:
        assert names == everyone
        return
    mine = {u.username for u in staff.values() if u.department_id == staff[who].department_id}
    expected = (mine if staff[who].department_id else set()) | {who}
    assert names == expected
    other = next(u for u in staff.values() if u.username not in expected)
    assert Client().get(f"/api/v1/users/{other.username}", headers=auth).status_code == 404


def test_a_department_limited_token_lists_that_departments_staff(staff):
    from tousu.accounts.services import create_token

    _, raw = create_token(staff["officer"], departments=["quality_management"])
    auth = {"Authorization": f"Bearer {raw}"}
    names = {u["username"] for u in Client().get("/api/v1/users", headers=auth).json()}
    assert names == {"officer", "handler_q", "head_q"}
