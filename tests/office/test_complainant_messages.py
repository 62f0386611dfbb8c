"""The complainant is kept informed: acknowledgement, requests for material, extensions with their
reason, the reply, closing and the invitation to rate, by SMS and e-mail, from the organisation's
templates (only what they say is sent), never to an address that opted out."""

import re

import pytest

from tousu.cases.engine import Complainant, apply_action
from tousu.cases.models import Complaint
from tousu.clocks import services as clocks
from tousu.clocks.models import Clock
from tousu.messaging import kinds, optout
from tousu.messaging.models import Message, MessageTemplate
from tousu.messaging.receivers import _kind
from tousu.owners import services as owners

pytestmark = pytest.mark.django_db
PHONE, EMAIL = "13812345678", "zhang.san@example.com"
PARTY = {"role": "complainant", "name": "张三", "phone": PHONE, "email": EMAIL}


def sent_to_complainant(c, kind=None):
    qs = Message.objects.filter(complaint=c, audience=Message.COMPLAINANT).order_by("pk")
    return qs.filter(kind=kind) if kind else qs


def _act(c, who, name, **data):
    c = Complaint.objects.get(pk=c.pk)
    return apply_action(c, who, name, data=data, version=c.version)[0]


def test_registration_acknowledges_by_sms_and_email(people, generic):
    from tousu.cases.services import register_complaint

    c, code = register_complaint(
        process=generic,
        user=people["receiver"],
        channel="phone",
        content="买到的冰箱不制冷，要求退货",
        parties=[
            PARTY,
            {"role": "respondent", "kind": "person", "name": "李销售", "phone": "13900001111"},
        ],
    )
    acks = sent_to_complainant(c, kinds.ACKNOWLEDGEMENT)
    assert sorted(acks.values_list("channel", "address")) == [("email", EMAIL), ("sms", PHONE)]
    for m in acks:
        assert c.tracking_number in m.body and code in m.body
        assert f"/track/?n={c.tracking_number}" in m.body
        assert m.status == Message.QUEUED and m.sent_at is None  # the worker sends
        # Only what the template says: no names, not the respondent's phone, not the content.
        for private in ("张三", "李销售", "13900001111", "冰箱"):
            assert private not in m.body and private not in m.subject
    sms = acks.get(channel="sms")
    assert dict(sms.params)["tracking_number"] == c.tracking_number
    email = acks.get(channel="email")
    assert c.tracking_number in email.subject and "/messages/optout/" in email.body


def test_nothing_without_a_mobile_number_or_address(people, register):
    c = register(parties=[{"role": "complainant", "name": "张三", "phone": "0512-5551234"}])
    assert not sent_to_complainant(c).exists()  # a landline takes no SMS


def test_the_whole_round_tells_the_complainant_at_each_step(people, register, act):
    c = register(parties=[PARTY])
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="quality")
    owners.assign(c, people["handler_q"], by=people["head_q"])
    _act(
        c, people["handler_q"], "request_material", materials="购买发票和照片", due_on="2030-01-10"
    )
    asked = sent_to_complainant(c, kinds.MATERIAL_REQUEST)
    assert asked.count() == 2
    assert all("购买发票和照片" in m.body for m in asked)
    assert "2030年1月10日" in asked.get(channel="email").body
    _act(c, Complainant("张三"), "provide_material", note="已上传")
    assert sent_to_complainant(c).count() == 4  # nothing for what they did themselves
    # An extension of the reply clock, with its reason.
    clock = Clock.objects.get(complaint=c, name="reply_24h")
    clocks.extend(clock, people["leader"], 12, "需要质检报告")
    extended = sent_to_complainant(c, kinds.EXTENSION)
    assert extended.count() == 2 and all("需要质检报告" in m.body for m in extended)
    assert all("答复时限" in m.body for m in extended)
    _act(c, people["handler_q"], "propose_plan", cause="批次问题", plan="退货")
    assert sent_to_complainant(c).count() == 6  # internal steps say nothing
    _act(c, people["officer"], "reply", reply="同意为您退货，并补偿运费", method="phone")
    reply = sent_to_complainant(c, kinds.REPLY)
    assert "同意为您退货" in reply.get(channel="email").body
    assert c.tracking_number in reply.get(channel="sms").body
    _act(
        c,
        people["handler_q"],
        "complete_implementation",
        responsible="张工",
        measures="已退货",
        informed=True,
    )
    invited = sent_to_complainant(c, kinds.RATING_INVITATION)
    assert invited.count() == 2 and all("评价" in m.body for m in invited)
    _act(c, people["officer"], "confirm_satisfied", satisfaction="satisfied")
    assert sent_to_complainant(c, kinds.CLOSING).count() == 2
    _act(c, people["officer"], "archive")
    assert sent_to_complainant(c).count() == 12  # archiving a closed case says nothing more
    # Staff names never reach the complainant.
    for m in sent_to_complainant(c):
        assert "王经办" not in m.body and "李院长" not in m.body and "张工" not in m.body


def _definition(name):
    from tousu.processes.services import install_template

    return install_template(name).definition


class _E:
    def __init__(self, from_state, to_state):
        self.from_state, self.to_state = from_state, to_state


@pytest.mark.parametrize(
    "template, action, from_state, to_state, expected",
    [
        ("hospital", "request_material", "registered", "awaiting_material", kinds.MATERIAL_REQUEST),
        ("hospital", "reply_to_complainant", "replying", "awaiting_verdict", kinds.REPLY),
        ("hospital", "judge_not_true", "registered", "explained", kinds.REPLY),
        ("hospital", "sign_agreement", "awaiting_dispute_verdict", "settled", kinds.CLOSING),
        ("hospital", "request_appraisal", "external_route", "external_route", None),  # not theirs
        ("hospital", "start_investigation", "registered", "investigating", None),
        ("enterprise-quality", "request_proof", "received", "received", kinds.MATERIAL_REQUEST),
        ("supervision-report", "reply_to_reporter", "result_reported", "replied", kinds.REPLY),
        ("tourism-authority", "not_accept", "received", "not_accepted", kinds.CLOSING),
        # Handled now (F12): the answer itself, then the owner's verdict; no work order, no 回访.
        ("property", "handle_now", "received", "awaiting_owner_verdict", kinds.REPLY),
        ("property", "report_back", "in_progress", "awaiting_followup", kinds.RATING_INVITATION),
        (
            "generic",
            "complete_implementation",
            "implementing",
            "awaiting_verdict",
            kinds.RATING_INVITATION,
        ),
        ("generic", "archive", "closed", "archived", None),
    ],
)
def test_which_step_tells_the_complainant_what_in_every_template(
    generic, template, action, from_state, to_state, expected
):
    d = _definition(template)
    assert _kind(None, d.action(action), _E(from_state, to_state), d) == expected


def test_the_administrators_template_is_what_is_sent(people, register):
    from tousu.accounts.models import Organisation

    org = Organisation.current()
    register()  # the defaults are stored for the organisation on first use
    t = MessageTemplate.objects.get(organisation=org, kind=kinds.ACKNOWLEDGEMENT, channel="sms")
    t.body = "【测试】编号{{ tracking_number }}已收到。"
    t.full_clean()
    t.save()
    MessageTemplate.objects.filter(
        organisation=org, kind=kinds.ACKNOWLEDGEMENT, channel="email"
    ).update(is_active=False)
    from tousu.messaging.outbox import templates_for

    templates_for.cache_clear()
    c = register(parties=[PARTY])
    acks = sent_to_complainant(c, kinds.ACKNOWLEDGEMENT)
    assert [(m.channel, m.body) for m in acks] == [
        ("sms", f"【测试】编号{c.tracking_number}已收到。")
    ]


@pytest.mark.parametrize(
    "body, message",
    [
        ("您好 {{ name }}", "只能使用变量"),
        ("{{ tracking_number|upper }}", "不能用标签或过滤器"),
        ("{% if access_code %}码{% endif %}", "只能使用变量"),
        ("{{ complaint.content }}", "只能使用变量"),
        ("{% now 'Y' %}", "不能用标签"),
        ("编号{{ }}", "模板格式有误"),
    ],
)
def test_templates_may_use_only_the_listed_variables(generic, body, message):
    from django.core.exceptions import ValidationError

    from tousu.accounts.models import Organisation

    t = MessageTemplate(
        organisation=Organisation.objects.get(), kind=kinds.REPLY, channel="sms", body=body
    )
    with pytest.raises(ValidationError, match=message):
        t.full_clean()


def test_an_opted_out_complainant_gets_nothing_more(people, register, act, client):
    c = register(parties=[PARTY])
    assert sent_to_complainant(c).count() == 2
    client.force_login(people["officer"])
    r = client.post(f"/staff/messages/cases/{c.pk}/optout/", {"on": "1"})
    assert r.status_code == 302
    # What was still waiting is not sent either.
    assert set(sent_to_complainant(c).values_list("status", flat=True)) == {Message.FAILED}
    assert optout.is_opted_out("sms", PHONE) and optout.is_opted_out("email", EMAIL)
    c = act(
        Complaint.objects.get(pk=c.pk),
        "officer",
        "judge_invalid",
        explanation="不属于质量问题",
        method="oral",
    )
    assert sent_to_complainant(c).count() == 2
    # A new complaint from the same person: still nothing.
    assert not sent_to_complainant(register(parties=[PARTY])).exists()
    assert c.events.filter(action="messages_opted_out").exists()


@pytest.mark.parametrize("who", ["handler_q", "head_q", "auditor"])
def test_only_those_who_speak_with_the_complainant_switch_it(people, register, client, who):
    c = register(parties=[PARTY])
    client.force_login(people[who])
    r = client.post(f"/staff/messages/cases/{c.pk}/optout/", {"on": "1"})
    assert r.status_code in (403, 302)
    assert not optout.is_opted_out("sms", PHONE)


def test_the_link_in_an_email_opts_out_on_post_only(people, register, client):
    c = register(parties=[PARTY])
    email = sent_to_complainant(c, kinds.ACKNOWLEDGEMENT).get(channel="email")
    path = re.search(r"/messages/optout/[^/\s]+/", email.body).group(0)
    page = client.get(path)
    assert page.status_code == 200 and "确认退订" in page.content.decode()
    assert not optout.is_opted_out(
        "email", EMAIL
    )  # a mail scanner opening the link changes nothing
    done = client.post(path)
    assert "已退订" in done.content.decode() and "z***@example.com" in done.content.decode()
    assert optout.is_opted_out("email", EMAIL) and not optout.is_opted_out("sms", PHONE)
    assert client.get("/messages/optout/forged-token/").status_code == 404


def test_the_portal_shows_what_was_sent_and_opts_out(people, register, client):
    from tousu.messaging.delivery import deliver_due

    c = register(parties=[PARTY])
    deliver_due()
    # Without opening the case first (number and code), the opt-out does nothing.
    r = client.post(f"/messages/track/{c.tracking_number}/optout/")
    assert r.status_code == 302 and not optout.is_opted_out("sms", PHONE)
    session = client.session
    import time

    session["portal_cases"] = {c.tracking_number: time.time()}
    session.save()
    page = client.get(f"/track/{c.tracking_number}/").content.decode()
    assert "我们发给您的通知" in page and "登记回执" in page
    client.post(f"/messages/track/{c.tracking_number}/optout/")
    assert optout.is_opted_out("sms", PHONE) and optout.is_opted_out("email", EMAIL)
    assert "您已退订" in client.get(f"/track/{c.tracking_number}/").content.decode()


def test_staff_see_each_message_and_its_delivery_record(people, register, client):
    from tousu.messaging.delivery import deliver_due

    c = register(parties=[PARTY])
    deliver_due()
    client.force_login(people["officer"])
    page = client.get(f"/staff/cases/{c.pk}/").content.decode()
    assert "发给投诉人的消息" in page and "已发送" in page and "登记回执" in page
    assert PHONE not in page and EMAIL not in page  # addresses only in the parties, masked


def test_the_api_lists_the_messages_with_their_attempts(people, register, client):
    from tousu.accounts.services import create_token
    from tousu.messaging.delivery import deliver_due

    c = register(parties=[PARTY])
    deliver_due()
    _, raw = create_token(people["officer"])
    r = client.get(
        f"/api/v1/complaints/{c.pk}/messages", headers={"Authorization": f"Bearer {raw}"}
    )
    assert r.status_code == 200
    rows = r.json()
    assert {m["channel"] for m in rows} == {"sms", "email"}
    assert all(m["status"] == "sent" and len(m["attempts"]) == 1 for m in rows)
    assert all(PHONE not in m["address"] and EMAIL not in m["address"] for m in rows)


def test_administrators_edit_the_texts_in_chinese_and_bad_ones_are_refused(
    people, register, admin_client
):
    register()  # the organisation's defaults are stored on first use
    t = MessageTemplate.objects.get(kind=kinds.REPLY, channel="sms")
    url = f"/admin/messaging/messagetemplate/{t.pk}/change/"
    form = admin_client.get(url).content.decode()
    assert "投诉人消息模板" in form and "{{ tracking_number }} 投诉编号" in form
    data = {
        "organisation": t.organisation_id,
        "kind": t.kind,
        "channel": t.channel,
        "is_active": "on",
        "subject": "",
        "body": "您好{{ 投诉人姓名 }}，您的投诉已答复",
        "provider_template": "",
    }
    refused = admin_client.post(url, data).content.decode()
    assert "只能使用变量" in refused
    t.refresh_from_db()
    assert "投诉人姓名" not in t.body
    data["body"] = "编号{{ tracking_number }}已答复，详见{{ track_url }}"
    assert admin_client.post(url, data).status_code == 302
    t.refresh_from_db()
    assert t.body == "编号{{ tracking_number }}已答复，详见{{ track_url }}"
