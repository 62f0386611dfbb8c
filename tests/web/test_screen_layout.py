"""Section 5 of issue 17: the screens as a new user meets them."""

import re

import pytest
from django.test import Client

from tousu.accounts.models import Department
from tousu.cases.forms import form_class

pytestmark = pytest.mark.django_db


def client_for(username):
    c = Client()
    assert c.login(username=username, password=f"pw-{username}-123")
    return c


def test_departments_are_checkboxes_with_a_lead_radio_in_the_organisations_order(generic):
    # The template declares them in the organisation's order, not by code.
    assert list(Department.objects.values_list("code", flat=True)) == [
        "customer_service",
        "storage_transport",
        "quality_management",
        "management_office",
    ]
    # An administrator puts the general manager's office first.
    Department.objects.filter(code="management_office").update(sort_order=0)
    html = str(form_class(generic, "superior_assign")(prefix="superior_assign"))
    assert "——" not in html and "<select" not in html
    boxes = re.findall(r'type="checkbox" name="superior_assign-departments" value="(\w+)"', html)
    radios = re.findall(r'type="radio" name="superior_assign-lead_department" value="(\w+)"', html)
    expected = ["management_office", "customer_service", "storage_transport", "quality_management"]
    assert boxes == expected and radios == expected
    assert "牵头部门" in html


def test_new_departments_of_a_later_template_go_after_the_existing(generic):
    from tousu.processes.services import install_template

    before = Department.objects.count()
    install_template("property")
    new = Department.objects.order_by("sort_order", "code")[before:]
    assert min(d.sort_order for d in new) > max(
        Department.objects.filter(code="management_office").values_list("sort_order", flat=True)
    )


def _register_form(**extra):
    data = {
        "channel": "letter",
        "complainant_name": "张三",
        "complainant_phone": "13812345678",
        "content": "上月寄来的投诉信：货物破损，要求赔偿",
    }
    return {**data, **extra}


def test_registration_asks_the_respondent_once_in_the_flows_words(staff):
    page = client_for("officer").get("/staff/cases/new/").content.decode()
    assert "投诉对象" in page and "被投诉部门/人员" not in page
    assert "收到时间" in page and 'type="datetime-local"' in page
    # The F6 checklist is ticked in the form: each item a checkbox of the registration form.
    assert page.count('name="checklist"') == 7 and page.count('form="register-form"') == 7


def test_hospital_registration_asks_the_relation_once(db):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    Organisation.objects.create(name="测试医院", default_process="hospital")
    install_template("hospital")
    create_user("officer", roles=["officer"], password="pw-officer-123")
    page = client_for("officer").get("/staff/cases/new/").content.decode()
    assert "投诉人与患者关系" in page and "与当事人关系" not in page.replace("投诉人与患者关系", "")
    r = client_for("officer").post(
        "/staff/cases/new/",
        _register_form(
            channel="visit", f_relation="family", f_patient_name="李四", confirm_new="on"
        ),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    from tousu.cases.models import Complaint

    c = Complaint.objects.get()
    assert c.parties.get(role="complainant").relation == "家属"


def test_checklist_received_at_and_respondent_are_recorded(staff):
    import datetime as dt

    from django.utils import timezone

    from tousu.cases.models import Complaint

    earlier = timezone.localtime() - dt.timedelta(days=3)
    r = client_for("officer").post(
        "/staff/cases/new/",
        _register_form(
            f_target="储运部司机",
            checklist=["listen", "ask", "record"],
            received_at=earlier.strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    c = Complaint.objects.get()
    assert c.received_at == earlier.replace(second=0, microsecond=0)
    # The clock runs from the letter's receipt: 24 hours, so it is already past due.
    clock = c.clocks.get()
    assert clock.started_at == c.received_at and clock.breached_at is not None
    assert c.parties.get(role="respondent").name == "储运部司机"
    created = c.events.get(action="created")
    assert created.payload["checklist"] == ["聆听", "询问", "记录"]
    page = client_for("officer").get(f"/staff/cases/{c.pk}/").content.decode()
    assert "接待要点" in page and "聆听、询问、记录" in page


def test_received_at_in_the_future_is_refused(staff):
    import datetime as dt

    from django.utils import timezone

    later = timezone.localtime() + dt.timedelta(hours=2)
    r = client_for("officer").post(
        "/staff/cases/new/", _register_form(received_at=later.strftime("%Y-%m-%dT%H:%M"))
    )
    assert r.status_code == 200
    assert "收到时间不能晚于现在" in r.content.decode()
    from tousu.cases.models import Complaint

    assert not Complaint.objects.exists()


def test_a_generic_dashboard_shows_no_hospital_sites_until_departments_have_one(staff, register):
    register()
    officer = client_for("officer")
    page = officer.get("/staff/reports/").content.decode()
    assert "统计分析" in page and "院区" not in page
    Department.objects.filter(code="quality_management").update(site="东院区")
    assert "按院区/地点" in officer.get("/staff/reports/").content.decode()


def test_unassigned_is_not_ranked_as_a_department(staff, register):
    register()  # nobody's yet: 未分派
    page = client_for("officer").get("/staff/reports/").content.decode()
    league = page[page.index("部门排名") :]
    assert "未分派" not in league.split("</table>")[0]
