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
