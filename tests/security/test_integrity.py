"""Smaller holes of issue 15 §4: the triage API told a token limited to one department whether a
phone number had complained anywhere; pages and PDFs with personal data could be kept by browsers
and proxies (Cache-Control)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_department_limited_token_learns_nothing_of_other_departments_complaints(world):
    """Case B (storage/transport) was filed by 13812345678; an officer token limited to quality
    management asks about that number with a text that matches nothing of its own."""
    from tousu.accounts.services import create_token

    b = world.cases["B"]
    phone = b.parties.get(role="complainant").phone
    _, scoped = create_token(
        world.users["officer"], name="只看储运以外", departments=["quality_management"]
    )
    body = {"process": "generic", "text": "与任何投诉都不相同的一段文字", "phone": phone}

    def ask(token):
        r = Client().post(
            "/api/v1/triage/suggest",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.content
        return r.json()

    everyone = ask(world.tokens["officer"])
    assert everyone["repeat_count"] >= 1  # the unlimited officer may know
    limited = ask(scoped)
    # Cases A and A2 are the scoped department's own: counting those is its business; B is not.
    own = {c.pk for c in (world.cases["A"], world.cases["A2"])}
    from tousu.cases.models import Party

    own_count = (
        Party.objects.filter(complaint_id__in=own, role="complainant", phone=phone)
        .values("complaint_id")
        .distinct()
        .count()
    )
    assert limited["repeat_count"] == own_count < everyone["repeat_count"]
    assert b.pk not in {d["id"] for d in limited["duplicates"]}


@pytest.mark.parametrize(
    "column,path",
    [
        ("officer", "/staff/"),
        ("officer", "/staff/cases/"),
        ("officer", "/staff/cases/{A}/"),
        ("handler", "/staff/documents/{doc}/pdf/"),
        ("officer", "/staff/reports/export.csv"),
        ("auditor", "/staff/privacy/disclosures/"),
        ("complainant", "/track/{number}/"),
        ("complainant", "/track/{number}/documents/{doc}/"),
    ],
)
def test_pages_and_documents_with_personal_data_are_not_stored(world, column, path):
    a = world.cases["A"]
    url = path.format(A=a.pk, doc=world.documents["A"].pk, number=a.tracking_number)
    r = world.web_client(column).get(url)
    assert r.status_code == 200, (url, r.status_code)
    assert "no-store" in r.get("Cache-Control", ""), (url, r.get("Cache-Control"))


def test_the_api_is_not_stored_either(world):
    a = world.cases["A"]
    r = Client().get(
        f"/api/v1/complaints/{a.pk}",
        headers={"Authorization": f"Bearer {world.tokens['officer']}"},
    )
    assert r.status_code == 200 and "no-store" in r.get("Cache-Control", "")


def test_webhooks_carry_no_personal_data(generic, staff, settings):
    """A complaint from the portal is recorded by its complainant's name: the webhook's event says
    投诉人, never the name, and no payload holds a phone or a name."""
    import json

    from tousu.portal.services import submit_complaint
    from tousu.webhooks import services
    from tousu.webhooks.models import Delivery, Subscription

    Subscription.objects.create(
        name="集成", url="http://127.0.0.1:9/hook", events=["complaint.created"]
    )
    services.active_subscriptions.cache_clear()
    submit_complaint(
        token="webhook-probe",
        address="127.0.0.1",
        process=generic,
        channel="web",
        content="联系我 13700001111，我是欧阳明月",
        parties=[{"role": "complainant", "name": "欧阳明月", "phone": "13700001111"}],
    )
    payloads = [json.dumps(d.payload, ensure_ascii=False) for d in Delivery.objects.all()]
    assert payloads
    for text in payloads:
        assert "欧阳明月" not in text and "13700001111" not in text
        assert '"actor": "投诉人"' in text


def test_a_person_complained_about_is_masked_in_the_statistics(register, staff):
    from django.core.cache import cache

    cache.clear()  # the dashboard's figures are cached: another test's may be there
    register(
        parties=[
            {"role": "complainant", "name": "张三", "phone": "13812345678"},
            {"role": "respondent", "kind": "person", "name": "司马快递员"},
        ]
    )
    register(
        parties=[
            {"role": "complainant", "name": "李四", "phone": "13812345679"},
            {"role": "respondent", "kind": "organisation", "name": "某某物流有限公司"},
        ]
    )
    client = Client()
    client.force_login(staff["leader"])
    html = client.get("/staff/reports/").content.decode()
    assert "司马快递员" not in html and "司****" in html
    assert "某某物流有限公司" in html


def test_a_risk_alert_masks_the_complainants_data(register, staff):
    from tousu.clocks.models import Notification

    register(
        content="医生打人了！我是欧阳明月，电话13700002222，要求严肃处理",
        parties=[{"role": "complainant", "name": "欧阳明月", "phone": "13700002222"}],
    )
    messages = list(
        Notification.objects.filter(kind="triage.risk").values_list("message", flat=True)
    )
    assert messages
    for m in messages:
        assert "13700002222" not in m and "欧阳明月" not in m
