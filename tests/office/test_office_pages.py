"""The workbench: owners on the queue, the case page and the to-do (person first, then department),
the workload view and who may see it, the assign/claim/chase/督办 forms, the preferences page, and the
owner column of the export."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tousu.cases.models import Complaint
from tousu.messaging.models import Preference
from tousu.owners import services as owners
from tousu.supervision import services as supervision

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def page(client, user, path, **params):
    client.force_login(user)
    r = client.get(path, params)
    return r.status_code, r.content.decode()


def test_the_queue_shows_owners_and_filters_on_them(people, dispatched, client):
    a, b = dispatched("第一件"), dispatched("第二件")
    owners.assign(a, people["handler_q"], by=people["head_q"])
    status, html = page(client, people["officer"], "/staff/cases/")
    assert status == 200 and "承办人" in html and "王经办" in html
    _, mine = page(client, people["handler_q"], "/staff/cases/", owner="me")
    assert a.tracking_number in mine and b.tracking_number not in mine
    _, nobody = page(client, people["head_q"], "/staff/cases/", owner="none")
    assert b.tracking_number in nobody and a.tracking_number not in nobody


def test_my_todo_lists_what_i_hold_first_then_the_departments(people, dispatched, client):
    with time_machine.travel(datetime(2025, 6, 2, 9, tzinfo=SH), tick=False):
        early = dispatched("先到的，未指派")  # the nearest deadline
    held = dispatched("后到的，我承办")
    other = dispatched("别人承办的")
    owners.assign(held, people["handler_q"], by=people["head_q"])
    owners.assign(other, people["handler_q2"], by=people["head_q"])
    _, html = page(client, people["handler_q"], "/staff/")
    order = [html.index(c.tracking_number) for c in (held, early, other)]
    assert order == sorted(order)
    assert "我承办的" in html and "本部门待指派" in html


def test_the_case_page_offers_each_role_its_forms(people, dispatched, client):
    c = dispatched()
    _, head = page(client, people["head_q"], f"/staff/cases/{c.pk}/")
    assert "指派承办人" in head and "认领此投诉" in head and "督办要求" not in head
    _, handler = page(client, people["handler_q"], f"/staff/cases/{c.pk}/")
    assert "认领此投诉" in handler and "指派承办人" not in handler
    _, leader = page(client, people["leader"], f"/staff/cases/{c.pk}/")
    assert "督办要求" in leader and "催办说明" in leader
    _, officer = page(client, people["officer"], f"/staff/cases/{c.pk}/")
    assert "催办说明" in officer and "督办要求" not in officer and "指派承办人" not in officer
    _, auditor = page(client, people["auditor"], f"/staff/cases/{c.pk}/")
    assert "催办说明" not in auditor and "认领" not in auditor


def test_forms_assign_claim_chase_supervise_and_answer(people, dispatched, client):
    c = dispatched()
    client.force_login(people["handler_t"])
    assert (
        client.post(f"/staff/work/cases/{c.pk}/claim/").status_code == 403
    )  # not their department
    client.force_login(people["handler_q"])
    r = client.post(f"/staff/work/cases/{c.pk}/owner/", {"owner": "handler_q2"}, follow=True)
    assert "只有质量管理部的科室负责人或领导可以指派承办人" in r.content.decode()
    client.post(f"/staff/work/cases/{c.pk}/claim/")
    assert Complaint.objects.get(pk=c.pk).owner == people["handler_q"]
    client.force_login(people["head_q"])
    r = client.post(
        f"/staff/work/cases/{c.pk}/owner/",
        {"owner": "handler_q2", "reason": "平衡工作量"},
        follow=True,
    )
    assert "已指派承办人" in r.content.decode()
    client.force_login(people["officer"])
    client.post(f"/staff/supervision/cases/{c.pk}/chase/", {"note": "客户催问"})
    client.force_login(people["leader"])
    r = client.post(
        f"/staff/supervision/cases/{c.pk}/supervise/",
        {"instruction": "两日内回复", "workdays": "二"},
        follow=True,
    )
    assert "督办时限应为 1 至 60 个工作日" in r.content.decode()
    client.post(
        f"/staff/supervision/cases/{c.pk}/supervise/",
        {"instruction": "两日内回复", "workdays": "2"},
    )
    s = c.supervisions.get()
    client.force_login(people["handler_q2"])
    html = client.get(f"/staff/cases/{c.pk}/").content.decode()
    assert (
        "督办件" in html
        and "两日内回复" in html
        and "提交督办回复" in html
        and "已催办 1 次" in html
    )
    client.post(
        f"/staff/supervision/cases/{c.pk}/supervise/{s.pk}/answer/", {"answer": "已处理完毕"}
    )
    s.refresh_from_db()
    assert s.state == "answered" and s.answered_by == people["handler_q2"]


def test_workload_view_counts_and_who_may_see_it(people, dispatched, client):
    with time_machine.travel(datetime(2025, 6, 2, 9, tzinfo=SH), tick=False):
        late = dispatched("已超时的")  # reply within 24 hours: long past
    soon = dispatched("快到期的")
    fresh = dispatched("刚来的")
    for c in (late, soon):
        owners.assign(c, people["handler_q"], by=people["head_q"])
    supervision.place(
        Complaint.objects.get(pk=soon.pk), people["leader"], instruction="快办", workdays=2
    )
    owners.assign(fresh, people["handler_q2"], by=people["head_q"])
    # 21 hours after "soon" arrived its 24-hour clock is past its warning time.
    with time_machine.travel(datetime.now(SH) + timedelta(hours=21), tick=False):
        status, html = page(client, people["head_q"], "/staff/work/workload/")
    assert status == 200
    from tousu.accounts.models import Department
    from tousu.owners.selectors import workload

    with time_machine.travel(datetime.now(SH) + timedelta(hours=21), tick=False):
        rows = {r.label: r for r in workload(Department.objects.get(code="quality_management"))}
    q = rows["王经办"]
    assert (q.open, q.overdue, q.due_soon, q.supervised) == (2, 1, 1, 1)
    assert (rows["handler_q2"].open, rows["handler_q2"].due_soon) == (1, 1)
    assert "王经办" in html and "未指派承办人" in html
    assert page(client, people["handler_q"], "/staff/work/workload/")[0] == 403
    status, _ = page(
        client, people["head_q"], "/staff/work/workload/", department="storage_transport"
    )
    assert status == 403
    status, other = page(
        client, people["leader"], "/staff/work/workload/", department="storage_transport"
    )
    assert status == 200 and "储运部" in other


def test_preferences_page(people, client):
    client.force_login(people["head_q"])
    html = client.get("/staff/messages/settings/").content.decode()
    assert "通知设置" in html and "每日汇总" in html and "督办" in html
    client.post("/staff/messages/settings/", {"chased": "digest", "clock": "inapp"})
    assert dict(
        Preference.objects.filter(user=people["head_q"]).values_list("category", "delivery")
    ) == {
        "chased": "digest",
        "clock": "inapp",
    }
    r = client.post("/staff/messages/settings/", {"chased": "fax"}, follow=True)
    assert "接收方式「fax」无效" in r.content.decode()


def test_the_export_has_the_owner_column(people, dispatched):
    from tousu.reports.periods import parse
    from tousu.reports.selectors import make_filters
    from tousu.reports.services import EXPORT_COLUMNS, export_queryset, export_rows

    c = dispatched()
    owners.assign(c, people["handler_q"], by=people["head_q"])
    dispatched()
    f = make_filters(parse(datetime.now(SH).strftime("%Y-%m")))
    ids = list(export_queryset(people["officer"], f).values_list("pk", flat=True))
    rows = list(export_rows(people["officer"], ids))
    col = EXPORT_COLUMNS.index("承办人")
    assert sorted(r[col] for r in rows) == ["", "王经办"]
