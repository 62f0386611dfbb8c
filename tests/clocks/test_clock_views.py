from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from tousu.accounts.services import create_token
from tousu.clocks import services
from tousu.clocks.models import Clock, Notification

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def client(username):
    c = Client()
    assert c.login(username=username, password=f"pw-{username}-123")
    return c


def test_list_filters_overdue_due_soon_and_provisional(new_case):
    now = timezone.now()
    overdue = new_case(now - timedelta(days=30))
    fresh = new_case(now)
    future = new_case(datetime(2027, 12, 20, 9, tzinfo=SH))
    soon = new_case(now)
    Clock.objects.filter(complaint=soon).update(
        warn_at=now - timedelta(minutes=1), due_at=now + timedelta(hours=3)
    )
    officer = client("officer")

    def listed(flt):
        page = officer.get(f"/staff/cases/?clock={flt}").content.decode()
        return {
            c.tracking_number for c in (overdue, fresh, future, soon) if c.tracking_number in page
        }

    assert listed("overdue") == {overdue.tracking_number}
    assert listed("due_soon") == {soon.tracking_number}
    assert listed("provisional") == {future.tracking_number}


def test_case_page_shows_clock_basis_and_extension_form(new_case):
    c = new_case(timezone.now())
    page = client("leader").get(f"/staff/cases/{c.pk}/").content.decode()
    assert "受理时限" in page and "第十四条" in page and "个工作日" in page and "申请延期" in page
    assert "申请延期" not in client("officer").get(f"/staff/cases/{c.pk}/").content.decode()


def test_extension_through_the_page_and_the_api(new_case, clockflow):
    _, users = clockflow
    c = new_case(timezone.now())
    clock = Clock.objects.get(complaint=c)
    r = client("leader").post(
        f"/staff/cases/{c.pk}/clocks/{clock.pk}/extend/",
        {"amount": "2", "reason": "等待检测报告"},
        follow=True,
    )
    assert "已延长" in r.content.decode()
    _, raw = create_token(users["leader"])
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    url = f"/api/v1/complaints/{c.pk}/clocks/{clock.pk}/extend"
    too_much = api.post(url, {"amount": 5, "reason": "再延"}, content_type="application/json")
    assert too_much.status_code == 422 and "最多可延期" in too_much.json()["message"]
    ok = api.post(url, {"amount": 1, "reason": "再延一天"}, content_type="application/json")
    assert ok.status_code == 200
    clock.refresh_from_db()
    assert clock.extended == 3
    detail = api.get(f"/api/v1/complaints/{c.pk}").json()
    assert detail["clocks"][0]["extended"] == 3 and detail["clocks"][0]["basis"].startswith(
        "《市场监督"
    )


def test_notifications_inbox(new_case, clockflow):
    c = new_case(timezone.now() - timedelta(days=40))
    services.sweep()
    assert Notification.objects.filter(user__username="officer", complaint=c).exists()
    officer = client("officer")
    page = officer.get("/staff/notifications/").content.decode()
    assert c.tracking_number in page and "超时" in page
    officer.post("/staff/notifications/")
    assert not Notification.objects.filter(user__username="officer", read_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_worker_once_sweeps(new_case, capsys):
    from tousu.cli import main

    new_case(timezone.now() - timedelta(days=40))
    assert main(["worker", "--once"]) == 0
    assert "超时 1 项" in capsys.readouterr().out
