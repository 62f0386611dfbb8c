"""The rest of /api/v1: the case list's filters, search and cursor pages; parties and their logged
reveal; tasks, events, clocks, attachments; reference data; process definitions; statistics;
notifications; errors in one shape everywhere."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tousu.cases.models import Event

pytestmark = pytest.mark.django_db
URL = "/api/v1/complaints"


@pytest.fixture
def cases(register, act):
    q = act(
        act(register("冰箱外壳有裂纹，要求换货"), "officer", "judge_valid"),
        "officer",
        "assign_department",
        category="quality",
    )
    t = act(
        act(register("运输途中包装破损", channel="web"), "officer", "judge_valid"),
        "officer",
        "assign_department",
        category="transport",
    )
    new = register("客服电话打不通")
    return {"quality": q, "transport": t, "new": new}


def ids(response):
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()]


def test_list_filters(client_for, cases):
    api = client_for("officer")
    q, t, new = cases["quality"], cases["transport"], cases["new"]
    assert set(ids(api.get(URL))) == {q.pk, t.pk, new.pk}
    assert ids(api.get(URL, state="registered")) == [new.pk]
    assert ids(api.get(URL, category="transport")) == [t.pk]
    assert ids(api.get(URL, department="quality_management")) == [q.pk]
    assert ids(api.get(URL, channel="web")) == [t.pk]
    assert ids(
        api.get(URL, process="generic", state="investigating", department="storage_transport")
    ) == [t.pk]
    assert ids(api.get(URL, q="裂纹")) == [q.pk]
    assert ids(api.get(URL, q=q.tracking_number)) == [q.pk]
    assert ids(api.get(URL, q="不存在的词")) == []
    assert ids(api.get(URL, closed="true")) == []
    assert set(ids(api.get(URL, closed="false"))) == {q.pk, t.pk, new.pk}
    today = timezone.localdate()
    assert (
        len(ids(api.get(URL, received_from=today.isoformat(), received_to=today.isoformat()))) == 3
    )
    assert ids(api.get(URL, received_to=(today - timedelta(days=1)).isoformat())) == []
    assert ids(api.get(URL, clock="overdue")) == []
    assert len(ids(api.get(URL, clock="provisional"))) in (0, 1, 2, 3)
    assert ids(api.get(URL, flag="escalated")) == []
    # "mine": the cases the caller can act on now; "department": their department's.
    assert set(ids(client_for("handler_q").get(URL, scope="mine"))) <= {q.pk}
    assert ids(client_for("handler_t").get(URL, scope="department")) == [t.pk]
    bad = api.get(URL, clock="someday")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"
    assert "clock" in json.dumps(bad.json(), ensure_ascii=False)
    assert api.get(URL, received_from="1999-01-01").status_code == 422


def test_clock_and_flag_filters(client_for, cases):
    from tousu.cases.models import Complaint
    from tousu.clocks.models import Clock

    now = timezone.now()
    q, t = cases["quality"], cases["transport"]
    Clock.objects.filter(complaint=q).update(due_at=now - timedelta(hours=1))
    Clock.objects.filter(complaint=t).update(
        warn_at=now - timedelta(hours=1), due_at=now + timedelta(hours=1)
    )
    Complaint.objects.filter(pk=t.pk).update(flags=["escalated", "serious"])
    from tousu.clocks.services import refresh_next_due

    for c in (q, t):  # the clocks were moved behind the services' back: refresh the projection
        refresh_next_due(c)
    api = client_for("officer")
    assert ids(api.get(URL, clock="overdue")) == [q.pk]
    assert ids(api.get(URL, clock="due_soon")) == [t.pk]
    assert ids(api.get(URL, flag="escalated")) == [t.pk]
    assert ids(api.get(URL, flag="escalate")) == []
    summary = api.get(URL, flag="serious").json()[0]
    assert summary["flags"] == ["escalated", "serious"]
    stats = api.get("/api/v1/statistics").json()
    assert (stats["overdue"], stats["due_soon"]) == (1, 1)


def test_cursor_pages_walk_everything_once(client_for, register):
    made = [register(f"第 {i} 件投诉") for i in range(7)]
    api = client_for("officer")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = api.get(URL, **params)
        assert r.status_code == 200
        seen += [c["id"] for c in r.json()]
        pages += 1
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            assert "Link" not in r.headers
            break
        assert 'rel="next"' in r.headers["Link"] and "cursor=" in r.headers["Link"]
        register("翻页时新登记的投诉不会打乱后面的页")
    assert pages == 3 and seen == sorted((c.pk for c in made), reverse=True)
    ascending = api.get(URL, sort="received", limit=50).json()
    assert [c["id"] for c in ascending][:7] == [c.pk for c in made]
    broken = api.get(URL, cursor="not-a-cursor")
    assert broken.status_code == 422 and "cursor" in broken.json()["message"]


def test_parties_are_masked_and_reveal_is_logged(client_for, cases):
    c = cases["new"]
    api = client_for("receiver")
    masked = api.get(f"{URL}/{c.pk}/parties").json()
    assert masked[0]["name"] == "张*" and masked[0]["phone"] == "138****5678"
    r = api.post(f"{URL}/{c.pk}/parties/reveal")
    assert r.status_code == 200, r.content
    assert r.json()["parties"][0]["phone"] == "13812345678"
    event = Event.objects.get(pk=r.json()["event_id"])
    assert event.action == "personal_data_revealed" and event.via == "api"
    assert "API 令牌" in event.actor_name
    denied = client_for("auditor").post(f"{URL}/{c.pk}/parties/reveal")
    assert denied.status_code == 403 and denied.json()["details"]["roles"]
    assert Event.objects.filter(action="personal_data_revealed").count() == 1


def test_tasks_events_and_clocks(client_for, cases):
    c = cases["quality"]
    api = client_for("officer")
    tasks = api.get(f"{URL}/{c.pk}/tasks").json()
    assert [t["department"] for t in tasks] == ["quality_management"] and tasks[0][
        "state"
    ] == "open"
    events = api.get(f"{URL}/{c.pk}/events").json()
    assert [e["action"] for e in events] == ["created", "judge_valid", "assign_department"]
    assert {"label": "投诉类别", "value": "质量问题"} in events[2]["shown"]
    clocks = api.get(f"{URL}/{c.pk}/clocks").json()
    assert clocks[0]["name"] == "reply_24h" and clocks[0]["can_extend"] is False
    leader = client_for("leader")
    assert leader.get(f"{URL}/{c.pk}/clocks").json()[0]["can_extend"] is True
    r = leader.post(
        f"{URL}/{c.pk}/clocks/{clocks[0]['id']}/extend", {"amount": 4, "reason": "需要检测"}
    )
    assert r.status_code == 200, r.content
    assert api.get(f"{URL}/{c.pk}/clocks").json()[0]["extended"] == 4
    too_much = leader.post(
        f"{URL}/{c.pk}/clocks/{clocks[0]['id']}/extend", {"amount": 100, "reason": "再延"}
    )
    assert too_much.status_code == 422
    mine = client_for("handler_q").get("/api/v1/tasks").json()
    assert [(t["complaint_id"], t["department"]) for t in mine] == [(c.pk, "quality_management")]
    assert (
        client_for("handler_t").get("/api/v1/tasks", department="quality_management").json() == []
    )


def test_attachments_upload_download_and_refusals(client_for, cases, png, pdf):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = cases["new"]
    api = client_for("officer")
    r = api.upload(
        f"{URL}/{c.pk}/attachments",
        {"file": SimpleUploadedFile("现场照片.png", png, content_type="image/png")},
        kind="evidence",
    )
    assert r.status_code == 201, r.content
    att = r.json()
    assert att["name"] == "现场照片.png" and att["content_type"] == "image/png"
    listed = api.get(f"{URL}/{c.pk}/attachments").json()
    assert [a["id"] for a in listed] == [att["id"]]
    got = api.get(att["download"])
    assert got.status_code == 200 and b"".join(got.streaming_content) == png
    assert got["Content-Type"] == "image/png" and "attachment" in got["Content-Disposition"]
    assert got["X-Content-Type-Options"] == "nosniff"
    # A script named .pdf is refused by content; so is an empty file.
    fake = api.upload(
        f"{URL}/{c.pk}/attachments",
        {
            "file": SimpleUploadedFile(
                "报告.pdf", b"<script>alert(1)</script>", content_type="application/pdf"
            )
        },
    )
    assert fake.status_code == 422 and "只接受" in fake.json()["message"]
    assert api.upload(f"{URL}/{c.pk}/attachments", {}).status_code == 422
    pdf = api.upload(f"{URL}/{c.pk}/attachments", {"file": SimpleUploadedFile("a.pdf", pdf)})
    assert pdf.status_code == 201
    # The same rule as the workbench: only someone who can act on the case now may upload.
    auditor = client_for("auditor")
    assert auditor.get(f"{URL}/{c.pk}/attachments").status_code == 200
    denied = auditor.upload(f"{URL}/{c.pk}/attachments", {"file": SimpleUploadedFile("b.png", png)})
    assert denied.status_code == 403
    assert api.get(f"{URL}/{c.pk}/attachments/999999").status_code == 404
    event = Event.objects.filter(complaint=c, action="attachment_added").first()
    assert event.via == "api" and "API 令牌" in event.actor_name


def test_reference_data(client_for, staff):
    api = client_for("handler_q")
    depts = {d["code"]: d for d in api.get("/api/v1/departments").json()}
    assert depts["quality_management"]["name"] == "质量管理部"
    assert api.get("/api/v1/departments/quality_management").json()["code"] == "quality_management"
    assert api.get("/api/v1/departments/nowhere").status_code == 404
    cats = api.get("/api/v1/categories", process="generic").json()
    assert {
        "process": "generic",
        "code": "quality",
        "label": "质量问题",
        "department": "quality_management",
        "department_name": "质量管理部",
        "is_active": True,
    } in cats
    users = {u["username"]: u for u in api.get("/api/v1/users").json()}
    assert users["handler_q"] == {
        "username": "handler_q",
        "display_name": "",
        "department": "quality_management",
        "roles": ["handler"],
        "is_active": True,
    }
    # A handler names the staff of their own department only (issue 15 §3); an officer, anyone.
    assert set(users) == {"handler_q", "head_q"}
    assert api.get("/api/v1/users", role="leader").json() == []
    assert api.get("/api/v1/users/leader").status_code == 404
    officer = client_for("officer")
    assert [u["username"] for u in officer.get("/api/v1/users", role="leader").json()] == ["leader"]
    assert officer.get("/api/v1/users/leader").json()["roles"] == ["leader"]
    assert api.get("/api/v1/users/nobody").status_code == 404
    me = api.get("/api/v1/me").json()
    assert (
        me["user"]["username"] == "handler_q" and me["user"]["department"] == "quality_management"
    )


def test_process_definitions(client_for):
    api = client_for("officer")
    listed = api.get("/api/v1/processes").json()
    assert [p["name"] for p in listed] == ["generic"]
    d = api.get("/api/v1/processes/generic").json()
    assert d["label"] == "通用投诉处理流程" and d["states"][0]["initial"]
    judge = next(a for a in d["actions"] if a["name"] == "judge_valid")
    assert judge["from_states"] == ["registered"] and "receiver" in judge["roles"]
    assert judge["form"]["type"] == "object"
    assert api.get("/api/v1/processes/generic", version=99).status_code == 404
    assert api.get("/api/v1/processes/nothing").status_code == 404
    svg = api.get("/api/v1/processes/generic/diagram")
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
    assert svg.content.startswith(b"<svg") and "已登记".encode() in svg.content


def test_validating_an_uploaded_definition(staff, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tousu.accounts.services import create_user
    from tousu.processes.catalog import template_path

    admin, _ = create_user("root", roles=["admin"], password="pw-root-12345")
    api = client_for(admin)
    good = template_path("generic").read_bytes()
    r = api.upload("/api/v1/processes/validate", {"file": SimpleUploadedFile("generic.yaml", good)})
    assert r.status_code == 200 and r.json()["valid"] is True and r.json()["name"] == "generic"
    broken = good.replace(b"to: classifying", b"to: nowhere", 1)
    r = api.upload("/api/v1/processes/validate", {"file": SimpleUploadedFile("mine.yaml", broken)})
    body = r.json()
    assert r.status_code == 200 and body["valid"] is False
    problem = body["problems"][0]
    assert problem["file"] == "mine.yaml" and problem["place"].endswith(".to")
    assert problem["line"] == good[: good.index(b"to: classifying")].count(b"\n") + 1
    assert "nowhere" in problem["message"]
    r = api.upload(
        "/api/v1/processes/validate", {"file": SimpleUploadedFile("x.yaml", b"a: [1, 2")}
    )
    assert r.json()["valid"] is False and r.json()["problems"][0]["place"] == "YAML"
    r = api.upload(
        "/api/v1/processes/validate", {"file": SimpleUploadedFile("x.yaml", b"\xff\xfe")}
    )
    assert "UTF-8" in r.json()["problems"][0]["message"]
    deep = b"[" * 5000 + b"]" * 5000
    assert (
        api.upload(
            "/api/v1/processes/validate", {"file": SimpleUploadedFile("d.yaml", deep)}
        ).json()["valid"]
        is False
    )
    assert (
        client_for("officer")
        .upload("/api/v1/processes/validate", {"file": SimpleUploadedFile("g.yaml", good)})
        .status_code
        == 403
    )


def test_statistics(client_for, cases):
    stats = client_for("officer").get("/api/v1/statistics").json()
    assert stats["total"] == 3 and stats["open"] == 3 and stats["closed"] == 0
    assert {
        "process": "generic",
        "state": "investigating",
        "label": "部门处理中",
        "count": 2,
    } in stats["by_state"]
    assert {"department": None, "name": "未分派", "count": 1} in stats["by_department"]
    assert client_for("handler_q").get("/api/v1/statistics").json()["total"] == 1


def test_notifications(client_for, staff, cases):
    from tousu.clocks.services import sweep

    sweep(now=timezone.now() + timedelta(days=2))
    api = client_for("officer")
    unread = api.get("/api/v1/notifications", unread="true").json()
    assert unread and all(n["read_at"] is None for n in unread)
    assert api.post("/api/v1/notifications/read").json()["marked"] == len(unread)
    assert api.get("/api/v1/notifications", unread="true").json() == []


def test_errors_have_one_shape_everywhere(client_for):
    api = client_for("officer")
    for response in (
        api.get("/api/v1/nothing-here"),
        api.post("/api/v1/complaints/abc/actions/x", {}),
        api.get(f"{URL}/0"),
        api.get(f"{URL}/99999999"),
        api.post(URL, raw="{"),
        api.post(URL, {"channel": "phone", "content": "x\u0000y"}),
        api.post(
            URL, {"channel": "phone", "content": "测试", "received_at": "2999-01-01T00:00:00+08:00"}
        ),
        Client().get(URL),
        api.client.put(URL, headers=api.headers),
    ):
        assert response.status_code in (400, 401, 404, 405, 422), response.content
        assert set(response.json()) == {"code", "message", "details"}, response.content


def test_every_operation_declares_its_errors():
    doc = Client().get("/api/v1/openapi.json").json()
    assert set(doc["webhooks"]) == {
        "complaint.created",
        "complaint.action_applied",
        "clock.warning",
        "clock.breached",
    }
    error_ref = "#/components/schemas/ErrorOut"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = {c for c in op["responses"] if c.startswith(("4", "5"))}
            assert "401" in codes, (method, path)
            for code in codes:
                schema = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, (method, path, code)
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok and all(op["responses"][c].get("content") for c in ok), (method, path)
            assert op.get("summary"), (method, path)


def test_documents_issued_by_actions_are_listed_and_downloaded(client_for, cases):
    c = cases["quality"]  # judge_valid issued the acceptance receipt
    api = client_for("officer")
    docs = api.get(f"{URL}/{c.pk}/documents").json()
    assert [d["kind"] for d in docs] == ["acceptance_receipt"] and docs[0]["serial"]
    pdf = api.get(docs[0]["download"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert api.get(f"{URL}/{c.pk}/documents/999999").status_code == 404
    assert client_for("handler_t").get(f"{URL}/{c.pk}/documents").status_code == 403


def test_received_at_without_zone_is_beijing_time_and_never_in_the_future(client_for):
    from tousu.cases.models import Complaint

    api = client_for("receiver")
    body = {"channel": "phone", "content": "上午来电投诉", "received_at": "2026-01-05T09:30:00"}
    r = api.post(URL, body)
    assert r.status_code == 201, r.content
    received = timezone.localtime(Complaint.objects.get(pk=r.json()["id"]).received_at)
    assert (received.hour, received.minute, str(received.tzinfo)) == (9, 30, "Asia/Shanghai")
    for bad in ("2999-01-01T00:00:00+08:00", "1999-12-31T00:00:00+08:00", "0001-01-01T00:00:00"):
        r = api.post(URL, {**body, "received_at": bad})
        assert r.status_code == 422 and "接收时间" in r.json()["message"], bad
