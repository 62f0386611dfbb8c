"""What an outside probe of the portal found (issue 15 §2), each now closed: the anti-bot question
carried its answer and the question shown with the page refused the right answer, files were lost
on a failed check, a phone number could rate (and close) a case, others' wrong guesses locked a
complainant out (tests/portal/test_track.py), the access code was shown again on every reload and
replay and kept in clear for API retries, the poster was printed per Host header, and a file's
extension could disagree with its content."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from tousu.cases.models import Attachment, Complaint

pytestmark = pytest.mark.django_db


def _suspicious_page(client, settings, submit):
    settings.TOUSU_PORTAL_LIMITS = {"challenge": (1, 60)}
    submit()
    page = client.get("/")
    assert 'class="q"' in page.content.decode(), "the question is shown with the page"
    return page


def test_the_challenge_field_does_not_carry_its_answer(client, settings, submit, kit):
    page = _suspicious_page(client, settings, submit)
    answer = int(kit.solve(page))
    data = signing.loads(kit.challenge_of(page), salt="tousu.portal.challenge")
    numbers = [v for v in data.values() if isinstance(v, int) and not isinstance(v, bool)]
    assert answer not in numbers and str(answer) not in {str(v) for v in data.values()}
    assert set(data) == {"q", "h"}


def test_the_question_shown_with_the_page_accepts_the_right_answer(client, settings, submit, kit):
    page = _suspicious_page(client, settings, submit)
    photo = SimpleUploadedFile("现场.png", kit.png(), "image/png")
    right = submit(
        token=kit.token_of(page),
        challenge=kit.challenge_of(page),
        answer=kit.solve(page),
        files=[photo],
    )
    assert right.status_code == 302, right.content.decode()[:500]
    newest = Complaint.objects.order_by("-pk").first()
    assert [a.original_name for a in newest.attachments.all()] == ["现场.png"]


def test_files_are_kept_across_a_failed_check(client, settings, submit, kit):
    page = _suspicious_page(client, settings, submit)
    token = kit.token_of(page)
    photo = SimpleUploadedFile("收据.png", kit.png(), "image/png")
    failed = submit(token=token, challenge=kit.challenge_of(page), answer="", files=[photo])
    assert failed.status_code == 400
    html = failed.content.decode()
    assert "已收到的附件" in html and "收据.png" in html
    # Sent again without choosing the file again: the complaint has it.
    again = submit(token=token, challenge=kit.challenge_of(failed), answer=kit.solve(failed))
    assert again.status_code == 302
    newest = Complaint.objects.order_by("-pk").first()
    assert [a.original_name for a in newest.attachments.all()] == ["收据.png"]


def test_a_removed_kept_file_does_not_go_with_the_complaint(client, settings, submit, kit):
    page = _suspicious_page(client, settings, submit)
    token = kit.token_of(page)
    files = [
        SimpleUploadedFile("一.png", kit.png(), "image/png"),
        SimpleUploadedFile("二.png", kit.png(), "image/png"),
    ]
    failed = submit(token=token, challenge=kit.challenge_of(page), answer="", files=files)
    ok = submit(token=token, challenge=kit.challenge_of(failed), answer=kit.solve(failed), drop="0")
    assert ok.status_code == 302
    newest = Complaint.objects.order_by("-pk").first()
    assert [a.original_name for a in newest.attachments.all()] == ["二.png"]


@pytest.fixture
def replied(submit, client, act):
    """A portal complaint answered and waiting for the complainant's verdict: (case, code)."""
    response = submit(follow=True)
    code = re.search(r'id="access-code">([^<]+)<', response.content.decode()).group(1)
    c = Complaint.objects.get()
    client.post(f"/track/{c.tracking_number}/leave/")
    c = act(c, "officer", "judge_valid", reason="属实")
    c = act(c, "officer", "assign_department", category="transport")
    c = act(c, "handler_t", "propose_plan", cause="原因", plan="方案")
    c = act(c, "officer", "reply", reply="已处理", method="sms")
    c = act(
        c,
        "handler_t",
        "complete_implementation",
        responsible="某人",
        measures="已落实",
        informed=True,
    )
    assert c.state == "awaiting_verdict"
    return c, code


def test_the_phone_number_reads_but_cannot_rate_or_close(client, replied):
    c, code = replied
    assert client.post("/track/", {"number": c.tracking_number, "secret": "13812345678"}).url
    html = client.get(f"/track/{c.tracking_number}/").content.decode()
    assert "已处理" in html  # the reply is readable
    assert 'action="/track/' + c.tracking_number + '/respond/rate/"' not in html
    assert "请输入提交投诉时显示的查询码" in html
    r = client.post(
        f"/track/{c.tracking_number}/respond/rate/",
        {"version": c.version, "verdict": "satisfied"},
        follow=True,
    )
    c.refresh_from_db()
    assert c.state == "awaiting_verdict" and not c.events.filter(action="rate_satisfied").exists()
    assert "只能查看办理进度" in r.content.decode()
    # The access code, given in the same session, opens the writes.
    assert client.post("/track/", {"number": c.tracking_number, "secret": code}).status_code == 302
    r = client.post(
        f"/track/{c.tracking_number}/respond/rate/", {"version": c.version, "verdict": "satisfied"}
    )
    c.refresh_from_db()
    assert r.status_code == 302 and c.events.filter(action="rate_satisfied").exists()


def test_the_access_code_is_kept_nowhere_in_clear_for_api_retries(staff):
    from django.test import Client

    from tousu.accounts.services import create_token
    from tousu.cases.models import IdempotencyRecord

    _, raw = create_token(staff["receiver"])
    api = Client()
    body = {"channel": "phone", "content": "接口登记", "parties": [{"name": "王五"}]}
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "k-1"}
    first = api.post("/api/v1/complaints", body, content_type="application/json", headers=headers)
    again = api.post("/api/v1/complaints", body, content_type="application/json", headers=headers)
    code = first.json()["access_code"]
    assert first.status_code == again.status_code == 201 and again.json()["access_code"] == code
    stored = IdempotencyRecord.objects.get()
    assert code not in str(stored.body) and code.lower() not in str(stored.body).lower()


def test_the_poster_is_one_file_whatever_the_host_header(client, generic, notice, settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    folder = settings.DATA_DIR / "portal"
    for f in folder.glob("poster-*.pdf") if folder.exists() else []:
        f.unlink()
    for host in ("localhost:1111", "localhost:2222", "127.0.0.1:3333", "testserver"):
        r = client.get("/notice/poster.pdf", headers={"host": host})
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert len(list(folder.glob("poster-*.pdf"))) == 1
    html = client.get("/notice/", headers={"host": "localhost:4444"}).content.decode()
    assert "4444" not in html


@pytest.mark.parametrize("name", ["照片.html", "照片.svg", "照片", "照片.exe.html"])
def test_a_files_extension_agrees_with_its_content(submit, kit, name):
    r = submit(files=[SimpleUploadedFile(name, kit.png(), "text/html")])
    assert r.status_code == 302
    a = Attachment.objects.get()
    assert a.content_type == "image/png" and a.original_name.endswith(".png")
    assert a.original_name.startswith("照片")
