"""Uploads: SVG and HTML are refused (also an HTML page named .png), whatever the name says, on the
workbench, the API and the portal; a name with directories, backslashes or control characters is
kept only as a harmless display name, the file itself lies under a random name inside the
attachments directory; and every download is an attachment with X-Content-Type-Options: nosniff,
so not even an accepted polyglot (an image that is also HTML) can run in our origin."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from security_helpers import PNG

from tousu.cases.models import Attachment

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.domain)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
REFUSED = [
    ("图.svg", SVG, "image/svg+xml"),
    ("页面.html", HTML, "text/html"),
    ("照片.png", HTML, "image/png"),  # an HTML page renamed
    ("照片.jpg", SVG, "image/jpeg"),  # an SVG renamed
]
# An image that is also an HTML page: a GIF header, then markup. Accepted as a GIF, served inertly.
POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/<script>alert(1)</script>" + b"\x00" * 16
HOSTILE_NAMES = {
    "../../etc/passwd.png": "passwd.png",
    "..\\..\\windows\\system32\\evil.png": "evil.png",
    "C:\\Users\\张三\\照片.png": "照片.png",
    "line\r\nSet-Cookie: x=1.png": "line  Set-Cookie: x=1.png",
    # A right-to-left override would show "exe.png"; and a PNG keeps a PNG's extension.
    "\u202egnp.exe": "gnp.png",
    "..": "附件.png",
}


def _staff(staff, who="officer"):
    from django.test import Client

    client = Client()
    client.force_login(staff[who])
    return client


def _stored_safely(attachment: Attachment) -> None:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = Path(attachment.file.path).resolve()
    assert path.is_relative_to(root) and path.is_file(), path
    assert ".." not in attachment.file.name and "\\" not in attachment.file.name
    assert attachment.original_name not in attachment.file.name  # a random name on disk


@pytest.mark.parametrize(("name", "content", "mime"), REFUSED, ids=[n for n, _, _ in REFUSED])
def test_svg_and_html_are_refused_everywhere(staff, register, name, content, mime):
    from tousu.accounts.services import create_token

    c = register()
    r = _staff(staff).post(
        f"/staff/cases/{c.pk}/attachments/",
        {"files": [SimpleUploadedFile(name, content, mime)]},
        follow=True,
    )
    assert "类型不被接受" in r.content.decode()
    _, token = create_token(staff["officer"])
    api = _staff(staff).post(
        f"/api/v1/complaints/{c.pk}/attachments",
        {"file": SimpleUploadedFile(name, content, mime)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422 and "类型不被接受" in api.json()["message"]
    assert not c.attachments.exists()


def test_portal_refuses_svg_and_html_material(world):
    a = world.cases["A"]  # waits for the complainant's material
    client = world.web_client("complainant")
    before = a.attachments.count()
    for name, content, mime in REFUSED:
        r = client.post(
            f"/track/{a.tracking_number}/respond/provide_material/",
            {
                "version": a.version,
                "note": "补充",
                "files": [SimpleUploadedFile(name, content, mime)],
            },
            follow=True,
        )
        assert "类型不被接受" in r.content.decode(), name
    assert a.attachments.count() == before
    a.refresh_from_db()
    assert a.state == "awaiting_material"


def test_hostile_names_are_only_display_names(staff, register):
    from tousu.cases.attachments import add_attachment

    c = register()
    for name, shown in HOSTILE_NAMES.items():
        attachment = add_attachment(c, name=name, content=PNG, user=staff["officer"])
        assert attachment.original_name == shown, name
        _stored_safely(attachment)
    # Through HTTP as well (Django's parser strips directories first; our rule must agree).
    r = _staff(staff).post(
        f"/staff/cases/{c.pk}/attachments/",
        {"files": [SimpleUploadedFile("../../etc/passwd.png", PNG, "image/png")]},
    )
    assert r.status_code == 302
    latest = c.attachments.latest("pk")
    assert latest.original_name == "passwd.png"
    _stored_safely(latest)


def _assert_download(response, filename_part: str) -> None:
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert filename_part in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] in ("image/png", "image/gif")
    b"".join(response.streaming_content)


def test_downloads_are_attachments_with_nosniff(world):
    from tousu.cases.attachments import add_attachment

    a = world.cases["A"]
    polyglot = add_attachment(
        a, name="x.gif", content=POLYGLOT, user=world.users["officer"], is_public=True
    )
    assert polyglot.content_type == "image/gif"
    hostile = add_attachment(
        a, name="a\r\nX-Evil: 1.png", content=PNG, user=world.users["officer"], is_public=True
    )
    officer = world.web_client("officer")
    complainant = world.web_client("complainant")
    token = {"Authorization": f"Bearer {world.tokens['officer']}"}
    for item, part in ((polyglot, "x.gif"), (hostile, "X-Evil")):
        _assert_download(officer.get(f"/staff/cases/{a.pk}/attachments/{item.pk}/"), part)
        _assert_download(
            officer.get(f"/api/v1/complaints/{a.pk}/attachments/{item.pk}", headers=token), part
        )
        _assert_download(complainant.get(f"/track/{a.tracking_number}/files/{item.pk}/"), part)
