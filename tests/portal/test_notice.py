"""The published complaint contacts (F15) and the printable poster with a QR code to the portal."""

import base64
import io
import subprocess

import pytest

pytestmark = pytest.mark.django_db


def test_the_notice_page_publishes_every_contact_f15_names(client, generic, notice):
    html = client.get("/notice/").content.decode()
    for text in (
        "0510-86801234",  # complaint phone
        "0510-86809999",  # duty phone, nights and holidays
        "夜间及节假日值班电话",
        "门诊大厅一楼院长信箱",
        "tousu@example.org",
        "周一至周六 8:00—12:00，14:00—18:00",  # reception hours (the default)
        "门诊楼一楼投诉接待室",
        "江阴市卫生健康委员会",
        "0510-86860000",
        "江阴市澄江中路 1 号",
        "data:image/png;base64,",  # the QR code
        "http://127.0.0.1/",  # the configured address (first allowed host), not the Host header
    ):
        assert text in html, text


def test_the_poster_is_a_pdf_with_the_contacts_and_a_qr_code_to_the_portal(client, generic, notice):
    from pypdf import PdfReader

    notice.portal_url = "https://tousu.jyrmyy.example.cn"
    notice.intro = (
        "患者及家属对医疗服务有意见或建议，可通过以下方式投诉。我们将按规定时限受理、调查并答复。"
    )
    notice.save()
    response = client.get("/notice/poster.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1  # one sheet to put on the wall
    page = reader.pages[0]
    assert len(page.images) == 1  # the QR code
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    text = "".join(text.split())
    for word in (
        "投诉须知",
        "江阴市人民医院",
        "0510-86801234",
        "0510-86809999",
        "江阴市卫生健康委员会",
        "https://tousu.jyrmyy.example.cn/",
        "扫码在线投诉",
    ):
        assert word in text, word
    # The QR code is the portal's address: the same pixels as a QR code made for it here.
    from PIL import Image

    from tousu.qr import qr_data_uri

    printed = Image.open(io.BytesIO(page.images[0].data)).convert("L")
    expected = qr_data_uri("https://tousu.jyrmyy.example.cn/").split(",", 1)[1]
    expected = Image.open(io.BytesIO(base64.b64decode(expected))).convert("L")
    assert printed.size == expected.size and printed.tobytes() == expected.tobytes()
    assert client.get("/notice/poster.pdf").content == pdf  # printed once, then kept


def test_the_notice_is_editable_in_the_admin(admin_client, generic, notice):
    response = admin_client.get(f"/admin/portal/publicnotice/{notice.pk}/change/")
    assert response.status_code == 200
    assert "夜间及节假日值班电话" in response.content.decode()
