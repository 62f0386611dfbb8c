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
