"""Staff pages for documents: the case's documents, issue on demand, correct, download."""

import pytest

from tousu.documents.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(register, act):
    c = register()
    return act(c, "officer", "judge_valid")  # issues the acceptance receipt


def test_staff_see_the_cases_documents_and_download_the_pdf(client, case, staff):
    client.force_login(staff["officer"])
    html = client.get(f"/staff/documents/cases/{case.pk}/").content.decode()
    assert "投诉受理回执" in html and "下载 PDF" in html and "出具公文" in html
    doc = Document.objects.get(complaint=case)
    response = client.get(f"/staff/documents/{doc.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_the_fragment_for_the_case_page(client, case, staff):
    client.force_login(staff["officer"])
    html = client.get(f"/staff/documents/cases/{case.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<section class="documents"')


def test_issue_and_correct_on_demand(client, case, staff):
    client.force_login(staff["officer"])
    url = f"/staff/documents/cases/{case.pk}/"
    response = client.post(f"{url}issue/", {"kind": "registration_form"}, follow=True)
    assert "已出具《投诉登记表》" in response.content.decode()
    doc = Document.objects.get(complaint=case, kind="registration_form")
    refused = client.post(f"/staff/documents/{doc.pk}/correct/", {"reason": ""}, follow=True)
    assert "更正公文必须说明更正原因" in refused.content.decode()
    done = client.post(
        f"/staff/documents/{doc.pk}/correct/", {"reason": "电话号码有误"}, follow=True
    )
    assert "原文书" in done.content.decode() and "作废" in done.content.decode()
    assert Document.objects.filter(kind="registration_form").count() == 2


def test_departmental_staff_of_another_department_and_the_auditor_cannot_issue(client, case, staff):
    client.force_login(staff["handler_q"])  # the case has no department yet: not theirs
    assert client.get(f"/staff/documents/cases/{case.pk}/").status_code == 403
    doc = Document.objects.get(complaint=case)
    assert client.get(f"/staff/documents/{doc.pk}/pdf/").status_code == 403
    client.force_login(staff["auditor"])
    assert client.get(f"/staff/documents/cases/{case.pk}/").status_code == 200  # may read
    assert (
        client.post(
            f"/staff/documents/cases/{case.pk}/issue/", {"kind": "registration_form"}
        ).status_code
        == 403
    )


def test_anonymous_visitors_are_sent_to_log_in(client, case):
    response = client.get(f"/staff/documents/cases/{case.pk}/")
    assert response.status_code == 302 and "/staff/login/" in response.url


def test_administrators_preview_a_template_as_pdf(admin_client, generic):
    from tousu.documents.models import DocumentTemplate

    template = DocumentTemplate.objects.get(kind="written_reply", sector="")
    response = admin_client.get(f"/staff/documents/templates/{template.pk}/preview/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert admin_client.get("/admin/documents/documenttemplate/").status_code == 200


def test_issued_documents_are_read_only_in_the_admin(admin_client, case):
    doc = Document.objects.get(complaint=case)
    page = admin_client.get(f"/admin/documents/document/{doc.pk}/change/")
    assert page.status_code == 200 and doc.serial in page.content.decode()
    assert admin_client.get("/admin/documents/document/").status_code == 200
    assert admin_client.get("/admin/documents/document/add/").status_code == 403
    assert admin_client.post(f"/admin/documents/document/{doc.pk}/delete/").status_code == 403
