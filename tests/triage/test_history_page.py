"""The staff case page: the complainant's other cases (masked, only those the viewer may open), and
link and merge as buttons that go through the same services as the API; a merged duplicate is
closed by the engine with an event on both cases."""

import pytest

from tousu.cases.models import Complaint
from tousu.triage.models import CaseLink

pytestmark = pytest.mark.django_db

TEXT = "住院部三楼护士站的护士态度很差，家属询问病情时不耐烦，还让我们别烦她"
OTHER = "门诊收费处多收了一次检查费，退费要跑三个窗口，排了一上午的队"


def page(client, user, case):
    client.force_login(user)
    r = client.get(f"/staff/cases/{case.pk}/")
    assert r.status_code == 200
    return r.content.decode()


def history_of(html: str) -> str:
    start = html.index('id="history"')
    return html[start : html.index("</section>", start)]


def test_case_page_lists_the_complainants_other_cases_masked(hospital, client):
    mine = hospital.register(TEXT, phone="13911112222")
    earlier = hospital.register(
        "上次反映的问题没人理，我的电话13911112222，请回电：" + OTHER, phone="13911112222"
    )
    same_person_by_id = hospital.register(OTHER, phone="", id_number="110101199001011234")
    stranger = hospital.register(OTHER, phone="13700000000")
    html = history_of(page(client, hospital.users["officer"], mine))
    assert earlier.tracking_number in html
    assert "同一电话" in html
    assert stranger.tracking_number not in html and same_person_by_id.tracking_number not in html
    assert "13911112222" not in html  # the other case's title is masked, as every list is
    # Someone with no other case sees that said, in Chinese.
    assert "没有其他投诉" in history_of(page(client, hospital.users["officer"], stranger))


def test_buttons_follow_the_roles(hospital, client):
    a = hospital.register(TEXT, phone="13911112222")
    b = hospital.register(OTHER, phone="13911112222")
    officer = history_of(page(client, hospital.users["officer"], a))
    assert f"/staff/triage/cases/{a.pk}/link/" in officer
    assert f"/staff/triage/cases/{a.pk}/merge/" in officer
    receiver = history_of(page(client, hospital.users["receiver"], a))
    assert f"/staff/triage/cases/{a.pk}/link/" in receiver
    assert "/merge/" not in receiver
    auditor = history_of(page(client, hospital.users["auditor"], a))
    assert b.tracking_number in auditor and "<form" not in auditor


def test_link_button_links_once(hospital, client):
    a = hospital.register(TEXT, phone="13911112222")
    b = hospital.register(OTHER, phone="13911112222")
    client.force_login(hospital.users["receiver"])
    url = f"/staff/triage/cases/{a.pk}/link/"
    r = client.post(url, {"other": b.pk, "next": f"/staff/cases/{a.pk}/"})
    assert r.status_code == 302 and r["Location"] == f"/staff/cases/{a.pk}/"
    again = client.post(url, {"other": b.pk}, follow=True)
    assert "已关联" in again.content.decode()  # the Chinese conflict message, nothing twice
    assert CaseLink.objects.count() == 1
    assert a.events.filter(action="linked").count() == b.events.filter(action="linked").count() == 1
    html = history_of(page(client, hospital.users["officer"], a))
    assert "取消关联" in html
    client.post(f"/staff/triage/cases/{a.pk}/unlink/", {"other": b.pk})
    assert not CaseLink.objects.exists()


def test_merge_button_closes_the_duplicate_through_the_engine(hospital, client):
    primary = hospital.register(TEXT, phone="13911112222")
    duplicate = hospital.register("再次反映：" + TEXT, phone="13911112222")
    client.force_login(hospital.users["receiver"])
    refused = client.post(
        f"/staff/triage/cases/{primary.pk}/merge/", {"duplicate": duplicate.pk}, follow=True
    )
    assert "投诉专员、领导" in refused.content.decode() and not CaseLink.objects.exists()
    client.force_login(hospital.users["officer"])
    r = client.post(
        f"/staff/triage/cases/{primary.pk}/merge/", {"duplicate": duplicate.pk, "note": "重复"}
    )
    assert r.status_code == 302
    dup = Complaint.objects.get(pk=duplicate.pk)
    assert dup.state == "closed" and dup.closed_at is not None and "merged" in dup.flags
    assert dup.events.filter(action="closed_by_system").count() == 1
    assert primary.events.filter(action="related_closed").count() == 1
    assert primary.events.filter(action="merged_in").count() == 1
    html = history_of(page(client, hospital.users["officer"], primary))
    assert "已并入本件" in html and "/merge/" not in html
    # Posting again (a double click) merges and closes nothing twice.
    client.post(f"/staff/triage/cases/{primary.pk}/merge/", {"duplicate": duplicate.pk})
    assert dup.events.filter(action="closed_by_system").count() == 1
    assert CaseLink.objects.count() == 1


def test_a_department_sees_only_its_own_cases_in_the_history(hospital, client):
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user

    deps = list(Department.objects.order_by("pk")[:2])
    a = hospital.register(TEXT, phone="13911112222")
    b = hospital.register(OTHER, phone="13911112222")
    Complaint.objects.filter(pk=a.pk).update(department=deps[0])
    Complaint.objects.filter(pk=b.pk).update(department=deps[1])
    handler, _ = create_user("h0", roles=["handler"], department=deps[0], password="pw-h0-12345")
    html = history_of(page(client, handler, a))
    assert b.tracking_number not in html and "<form" not in html


def test_bad_form_is_a_clear_error(hospital, client):
    a = hospital.register(TEXT)
    client.force_login(hospital.users["officer"])
    r = client.post(f"/staff/triage/cases/{a.pk}/link/", {"other": "abc"})
    assert r.status_code == 400 and "请选择" in r.content.decode()
    r = client.post(f"/staff/triage/cases/{a.pk}/link/", {"other": 999999})
    assert r.status_code == 404
