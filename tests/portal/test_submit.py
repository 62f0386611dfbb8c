"""Submitting a complaint on the portal: the receipt, attachments checked by content and size, one
complaint per form however often it is sent, and the abuse protection."""

import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tousu.cases.models import Attachment, Complaint, Event

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def receipt_numbers(response) -> tuple[str, str]:
    html = response.content.decode()
    number = re.search(r'id="tracking-number">([^<]+)<', html).group(1)
    code = re.search(r'id="access-code">([^<]+)<', html).group(1)
    return number, code


def test_the_form_asks_for_the_flows_public_fields_and_consent(client, generic, staff, notice):
    html = client.get("/").content.decode()
    assert "投诉对象" in html and "发生时间" in html  # generic's public fields
    assert "个人信息处理说明" in html and "我已阅读并同意" in html
    assert 'name="anonymous"' not in html  # the generic flow does not take anonymous complaints
    assert 'name="website"' in html and 'tabindex="-1"' in html  # the honeypot
    assert "0510-86801234" in html


def test_a_complaint_is_registered_and_the_receipt_shows_both_numbers(submit, client):
    response = submit(follow=True)
    assert response.status_code == 200
    number, code = receipt_numbers(response)
    c = Complaint.objects.get()
    assert c.tracking_number == number and c.check_access_code(code)
    assert c.channel == "web" and c.state == "registered" and c.fields == {"target": "网店客服"}
    assert c.request == "尽快发货并说明原因" and not c.is_anonymous
    party = c.parties.get(role="complainant")
    assert (party.role, party.name, party.phone) == ("complainant", "张三", "13812345678")
    # 投诉对象 is the flow's respondent field: the respondent is recorded from it.
    assert list(c.parties.filter(role="respondent").values_list("name", flat=True)) == ["网店客服"]
    created = c.events.get(action="created")
    assert created.via == "portal" and created.actor is None and created.actor_name == "张三"
    assert "打印回执" in response.content.decode()
    # The receipt stays on reload (the session keeps it) without the access code, shown once;
    # it leads to the case.
    again = client.get("/receipt/").content.decode()
    assert number in again and code not in again and "不再显示" in again
    assert client.get(f"/track/{number}/").status_code == 200


def test_the_same_form_sent_twice_is_one_complaint_with_the_same_receipt(submit, client, kit):
    token = kit.token_of(client.get("/"))
    first = submit(token=token)  # a double click: the browser shows only the second answer
    second = submit(token=token, follow=True)
    assert first.status_code == 302 and Complaint.objects.count() == 1
    number, code = receipt_numbers(second)  # the code, once, since no receipt was shown yet
    assert Complaint.objects.get().tracking_number == number
    assert "没有重复登记" in second.content.decode()
    # Once shown, a replay of the form gives the same receipt without the code.
    third = submit(token=token, follow=True).content.decode()
    assert number in third and code not in third and "没有重复登记" in third
    assert Complaint.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_of_one_form_make_one_complaint(generic, staff, notice, kit):
    """The double click that arrives while the first request is still writing."""
    from django.db import connection

    from tousu.portal import services
    from tousu.portal.ratelimit import new_form_token, open_form_token

    token, _ = open_form_token(new_form_token())
    barrier = threading.Barrier(2)
    receipts, errors = [], []

    def send():
        try:
            barrier.wait()
            receipts.append(
                services.submit_complaint(
                    token=token,
                    address="127.0.0.1",
                    process=generic,
                    channel="web",
                    content="同一份投诉",
                    parties=[{"role": "complainant", "name": "张三", "phone": "13812345678"}],
                    files=[("照片.png", kit.png())],
                )
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Complaint.objects.count() == 1 and Attachment.objects.count() == 1
    assert len(stored_files()) == 1  # the loser's file was removed with its rows
    (a, b) = receipts
    assert a.complaint.pk == b.complaint.pk and a.access_code == b.access_code
    assert sorted([a.replayed, b.replayed]) == [False, True]


def test_attachments_are_kept_with_the_case_and_visible_to_the_complainant(submit, kit):
    photo = SimpleUploadedFile("漏水照片.png", kit.png(), content_type="image/png")
    submit(files=[photo])
    a = Attachment.objects.get()
    assert a.is_public and a.content_type == "image/png" and a.original_name == "漏水照片.png"
    assert Path(a.file.path).is_relative_to(Path(settings.MEDIA_ROOT))  # under the data dir
    event = Event.objects.get(action="attachment_added")
    assert event.visibility == "public" and event.actor_name == "张三"


def test_an_executable_renamed_to_jpg_is_refused_and_nothing_is_kept(submit, kit):
    fake = SimpleUploadedFile("photo.jpg", kit.ELF, content_type="image/jpeg")
    response = submit(files=[fake])
    assert response.status_code == 400
    html = response.content.decode()
    assert "photo.jpg" in html and "类型不被接受" in html
    assert "只接受JPG、PNG、GIF、WebP 图片或 PDF" in html
    assert Complaint.objects.count() == 0 and Attachment.objects.count() == 0
    assert stored_files() == []
    assert kit.FORM["content"] in html  # what they wrote is still in the form


def test_a_20_mb_upload_is_refused_with_a_clear_message_and_nothing_is_stored(submit, kit):
    big = SimpleUploadedFile("CT片.png", kit.png() + b"\0" * (20 * 1024 * 1024), "image/png")
    response = submit(files=[big])
    assert response.status_code == 400
    html = response.content.decode()
    assert "文件「CT片.png」太大（20.0 MB），每个附件最大 10 MB" in html
    assert "没有保存任何内容" in html
    assert Complaint.objects.count() == 0 and Attachment.objects.count() == 0
    assert stored_files() == []


def test_a_body_beyond_every_limit_gets_the_portals_answer_not_a_bare_400(submit, settings, kit):
    settings.TOUSU_ATTACHMENT_MAX_BYTES = 1024 * 1024  # body limit: 5 × 1 MB + 1 MB
    files = [
        SimpleUploadedFile(f"{i}.png", kit.png() + b"\0" * (900 * 1024), "image/png")
        for i in range(7)
    ]
    response = submit(files=files)
    assert response.status_code == 413
    html = response.content.decode()
    assert "超过上限（每个附件最大 1 MB，最多 5 个）" in html and "没有保存任何内容" in html
    assert 'name="token"' in html  # a fresh form to try again
    assert Complaint.objects.count() == 0 and stored_files() == []


def test_text_beyond_djangos_memory_limit_gets_a_clear_message(submit):
    response = submit(content="字" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2))
    assert response.status_code == 413
    assert "除附件外的文字内容超过 2 MB" in response.content.decode()
    assert Complaint.objects.count() == 0


def test_too_many_files_are_refused(submit, kit):
    files = [SimpleUploadedFile(f"{i}.png", kit.png(), "image/png") for i in range(6)]
    response = submit(files=files)
    assert response.status_code == 400
    assert "最多上传 5 个附件，您选择了 6 个" in response.content.decode()
    assert Complaint.objects.count() == 0


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"content": "长" * 5001}, "投诉内容最多 5000 字"),
        ({"content": ""}, "请填写投诉内容"),
        ({"name": "名" * 51}, "「姓名」最多 50 个字（现有 51 个）"),
        ({"name": ""}, "请填写姓名"),
        ({"phone": "123"}, "电话号码应为 7 至 15 位数字"),
        ({"phone": ""}, "请填写手机号码"),
        ({"request": "求" * 2001}, "「您的诉求」最多 2000 个字"),
        ({"f_target": "对" * 201}, "「投诉对象」最多 200 个字"),
        ({"f_occurred_at": "去年"}, "有效的日期"),
        ({"consent": None}, "请阅读并勾选同意《个人信息处理说明》"),
    ],
)
def test_every_field_has_a_limit_and_a_clear_message(submit, changes, message):
    response = submit(**changes)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html, html[html.find("errors") - 200 : html.find("errors") + 300]
    assert Complaint.objects.count() == 0


# --- abuse protection ----------------------------------------------------------------------------


def test_the_honeypot_refuses_the_form_and_asks_the_question_next_time(submit, client):
    response = submit(website="http://spam.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert "隐藏的「网址」一栏应为空" in html and "等于几" in html
    assert Complaint.objects.count() == 0
    assert "等于几" in client.get("/").content.decode()  # this address is now suspicious


def test_after_suspicious_volume_the_offline_challenge_is_asked(submit, client, settings, kit):
    settings.TOUSU_PORTAL_LIMITS = {"challenge": (2, 60)}
    submit()
    submit()
    page = client.get("/")
    html = page.content.decode()
    question = re.search(r'<div class="q">([^<]+)</div>', html).group(1)
    assert re.fullmatch(r"[一二三四五六七八九十]+[加减乘][一二三四五六七八九十]+等于几？", question)
    token, challenge = kit.token_of(page), kit.challenge_of(page)
    no_answer = submit(token=token, challenge=challenge)
    assert no_answer.status_code == 400 and "请回答下面的验证问题" in no_answer.content.decode()
    wrong = submit(token=token, challenge=challenge, answer="999")
    assert wrong.status_code == 400 and "答案不正确" in wrong.content.decode()
    challenge = kit.challenge_of(wrong)  # a new question after a wrong answer
    # Another form's solved question is no good here: answers are bound to one form.
    other = kit.token_of(client.get("/"))
    answer = kit.solve(wrong)
    assert submit(token=other, challenge=challenge, answer=answer).status_code == 400
    right = submit(token=token, challenge=challenge, answer=answer)
    assert right.status_code == 302 and Complaint.objects.count() == 3


def test_chinese_numerals_are_accepted_as_answers():
    from tousu.portal.ratelimit import chinese_number, parse_answer

    assert [chinese_number(n) for n in (3, 10, 12, 20, 45)] == [
        "三",
        "十",
        "十二",
        "二十",
        "四十五",
    ]
    assert parse_answer("十二") == 12 and parse_answer("１２") == 12 and parse_answer(" 7 ") == 7
    assert parse_answer("很多") is None


def test_a_form_sent_faster_than_a_person_can_write_gets_the_question(submit, monkeypatch):
    monkeypatch.setattr("tousu.portal.views.MIN_FILL_SECONDS", 3)
    response = submit()
    assert response.status_code == 400 and "等于几" in response.content.decode()
    assert Complaint.objects.count() == 0


def test_per_address_limit_refuses_beyond_it_with_a_clear_message(submit, client, settings, kit):
    settings.TOUSU_PORTAL_LIMITS = {"submit": (2, 60), "challenge": (100, 60)}
    assert submit().status_code == 302
    assert submit().status_code == 302
    third = submit()
    assert third.status_code == 429
    html = third.content.decode()
    assert "同一网络 1 小时内最多提交 2 件投诉" in html and "0510-86801234" in html
    assert Complaint.objects.count() == 2
    # Another address is not affected.
    token = kit.token_of(client.get("/", REMOTE_ADDR="10.1.2.3"))
    other = client.post("/", {**kit.FORM, "token": token}, REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302


def test_a_forged_or_expired_token_keeps_what_was_written(submit, kit):
    response = submit(token="forged:token")
    assert response.status_code == 400
    html = response.content.decode()
    assert "页面已失效" in html and kit.FORM["content"] in html
    assert Complaint.objects.count() == 0


# --- anonymous reports ---------------------------------------------------------------------------


@pytest.fixture
def supervision(db, notice):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    Organisation.objects.create(name="江阴市卫生监督所", default_process="supervision-report")
    return install_template("supervision-report")


def test_anonymous_reports_where_the_flow_allows_them(client, supervision, kit):
    page = client.get("/")
    html = page.content.decode()
    assert "匿名投诉（举报）" in html and "被举报单位或个人" in html
    response = client.post(
        "/",
        {
            "token": kit.token_of(page),
            "anonymous": "on",
            "content": "某足浴店毛巾不消毒",
            "f_reported_party": "某足浴店",
            "f_report_type": "report",
            "consent": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    c = Complaint.objects.get()
    assert (
        c.is_anonymous and not c.parties.filter(role="complainant").exists() and c.channel == "web"
    )
    assert c.fields == {"reported_party": "某足浴店", "report_type": "report"}
    assert c.events.get(action="created").actor_name == "匿名投诉人"
    assert "只能凭投诉编号和查询码查询" in response.content.decode()


def test_anonymity_is_not_offered_where_the_flow_does_not_allow_it(submit):
    response = submit(anonymous="on", name="", phone="")
    assert response.status_code == 400
    assert "请填写姓名" in response.content.decode()
    assert Complaint.objects.count() == 0


def test_a_flow_without_a_web_channel_takes_portal_complaints_as_written_ones(client, notice, kit):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    Organisation.objects.create(name="某旅行社", default_process="tourism-company")
    install_template("tourism-company")
    page = client.get("/")
    data = {k: v for k, v in kit.FORM.items() if k != "f_target"}  # not a tourism field
    client.post("/", {**data, "f_tour_route": "华东五市游", "token": kit.token_of(page)})
    c = Complaint.objects.get()
    assert c.channel == "letter"  # tourism-company has no web channel
    assert c.fields["tour_route"] == "华东五市游"
