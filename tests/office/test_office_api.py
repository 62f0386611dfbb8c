"""The office's work through /api/v1: owners (assign, claim, on the case, the list filter, the tasks),
the workload, the assignment policy, 催办 and 督办, parties' e-mail, notification preferences."""

import json

import pytest
from django.test import Client

from tousu.accounts.services import create_token, create_user
from tousu.cases.models import Complaint, Task

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user, **scope):
        _, raw = create_token(user, **scope)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(
            path,
            json.dumps(body or {}, ensure_ascii=False),
            content_type="application/json",
            headers=self.headers,
        )

    def put(self, path, body):
        return self.client.put(
            path,
            json.dumps(body, ensure_ascii=False),
            content_type="application/json",
            headers=self.headers,
        )


URL = "/api/v1/complaints"


def test_assign_reassign_and_see_the_owner(people, dispatched):
    c = dispatched()
    head = Api(people["head_q"])
    r = head.post(f"{URL}/{c.pk}/owner", {"owner": "handler_q"})
    assert r.status_code == 200, r.content
    assert r.json()["owner"] == "handler_q" and r.json()["owner_name"] == "王经办"
    r = head.post(f"{URL}/{c.pk}/owner", {"owner": "handler_q2"})
    assert r.status_code == 422 and "理由" in r.json()["message"]
    r = head.post(f"{URL}/{c.pk}/owner", {"owner": "handler_q2", "reason": "工作调整"})
    assert r.status_code == 200
    detail = Api(people["officer"]).get(f"{URL}/{c.pk}").json()
    assert detail["owner"] == "handler_q2" and detail["tasks"][0]["owner"] == "handler_q2"
    events = [e["action"] for e in detail["events"]]
    assert events.count("assigned") == 1 and events.count("reassigned") == 1
    # The actor recorded names the token.
    assert "API 令牌" in next(e for e in detail["events"] if e["action"] == "reassigned")["actor"]


@pytest.mark.parametrize("who, status", [("handler_q", 403), ("head_t", 403), ("officer", 403)])
def test_who_may_not_assign_by_api(people, dispatched, who, status):
    c = dispatched()
    r = Api(people[who]).post(f"{URL}/{c.pk}/owner", {"owner": "handler_q"})
    # Another department's head cannot even see the case; the others may see but not assign.
    assert r.status_code == status, r.content
    assert Complaint.objects.get(pk=c.pk).owner is None


def test_an_unknown_owner_is_a_clear_error(people, dispatched):
    c = dispatched()
    r = Api(people["head_q"]).post(f"{URL}/{c.pk}/owner", {"owner": "nobody"})
    assert r.status_code == 422 and "质量管理部" in r.json()["message"]
    assert "王经办" in r.json()["message"]  # says who is allowed


def test_claim_case_and_task_and_filter_mine(people, dispatched):
    a, b = dispatched(), dispatched()
    q2 = Api(people["handler_q2"])
    assert q2.post(f"{URL}/{a.pk}/claim").status_code == 200
    assert q2.post(f"{URL}/{a.pk}/claim").status_code == 409
    task = Task.objects.get(complaint=b)
    assert q2.post(f"{URL}/{b.pk}/tasks/{task.pk}/claim").status_code == 200
    mine = q2.get(URL, owner="me").json()
    assert {m["id"] for m in mine} == {a.pk, b.pk}  # the case's owner, or an open task's
    assert [m["owner"] for m in mine if m["id"] == a.pk] == ["handler_q2"]
    nobody = Api(people["officer"]).get(URL, owner="none").json()
    assert a.pk not in {m["id"] for m in nobody} and b.pk not in {m["id"] for m in nobody}
    tasks = q2.get("/api/v1/tasks").json()
    assert [t["owner"] for t in tasks if t["complaint_id"] == b.pk] == ["handler_q2"]


def test_workload_by_api_and_its_limits(people, dispatched):
    c = dispatched()
    Api(people["head_q"]).post(f"{URL}/{c.pk}/owner", {"owner": "handler_q"})
    dispatched()
    rows = Api(people["head_q"]).get("/api/v1/workload").json()
    by = {r["owner"]: r for r in rows}
    assert by["handler_q"]["open"] == 1 and by[None]["open"] == 1
    assert by[None]["owner_name"] == "未指派承办人"
    assert (
        Api(people["head_q"]).get("/api/v1/workload", department="storage_transport").status_code
        == 403
    )
    assert Api(people["handler_q"]).get("/api/v1/workload").status_code == 403
    assert (
        Api(people["leader"]).get("/api/v1/workload", department="storage_transport").status_code
        == 200
    )
    assert Api(people["leader"]).get("/api/v1/workload", department="nowhere").status_code == 404


def test_assignment_policy_by_administrators_only(people):
    admin, _ = create_user("admin", roles=["admin"])
    r = Api(people["leader"]).put(
        "/api/v1/departments/quality_management/assignment", {"mode": "round_robin"}
    )
    assert r.status_code == 403
    r = Api(admin).put("/api/v1/departments/quality_management/assignment", {"mode": "lottery"})
    assert r.status_code == 422
    r = Api(admin).put("/api/v1/departments/quality_management/assignment", {"mode": "round_robin"})
    assert r.status_code == 200 and r.json()["mode_label"].startswith("自动")


def test_chase_and_supervise_by_api(people, dispatched):
    c = dispatched()
    r = Api(people["officer"]).post(f"{URL}/{c.pk}/chase", {"note": "请加快"})
    assert r.status_code == 200 and r.json()["chase_count"] == 1
    assert Api(people["handler_q"]).post(f"{URL}/{c.pk}/chase").status_code == 403
    assert (
        Api(people["officer"])
        .post(f"{URL}/{c.pk}/supervision", {"instruction": "x", "workdays": 3})
        .status_code
        == 403
    )
    r = Api(people["leader"]).post(
        f"{URL}/{c.pk}/supervision", {"instruction": "三日内回复", "workdays": 90}
    )
    assert r.status_code == 422
    r = Api(people["leader"]).post(
        f"{URL}/{c.pk}/supervision", {"instruction": "三日内回复", "workdays": 3}
    )
    assert r.status_code == 201, r.content
    sid = r.json()["id"]
    assert r.json()["state"] == "open" and not r.json()["overdue"]
    assert (
        Api(people["leader"])
        .post(f"{URL}/{c.pk}/supervision", {"instruction": "再督办", "workdays": 3})
        .status_code
        == 409
    )
    assert [x["id"] for x in Api(people["officer"]).get(URL, supervision="open").json()] == [c.pk]
    r = Api(people["head_q"]).post(f"{URL}/{c.pk}/supervision/{sid}/answer", {"answer": "已办结"})
    assert r.status_code == 200 and r.json()["state"] == "answered" and r.json()["on_time"] is True
    assert Api(people["officer"]).get(URL, supervision="answered").json()[0]["id"] == c.pk
    detail = Api(people["officer"]).get(f"{URL}/{c.pk}").json()
    assert detail["chase_count"] == 1
    assert {"chased", "supervised", "supervision_answered"} <= {
        e["action"] for e in detail["events"]
    }


def test_party_email_in_and_masked_out(people):
    api = Api(people["receiver"])
    body = {
        "channel": "phone",
        "content": "空调不制冷",
        "parties": [
            {
                "role": "complainant",
                "name": "张三",
                "phone": "13812345678",
                "email": "zhang@example.com",
            }
        ],
    }
    r = api.post(URL, body)
    assert r.status_code == 201, r.content
    c = Complaint.objects.get(pk=r.json()["id"])
    assert c.parties.get().email == "zhang@example.com"
    shown = Api(people["officer"]).get(f"{URL}/{c.pk}").json()["parties"][0]
    assert shown["email"] == "z***@example.com"
    revealed = Api(people["officer"]).post(f"{URL}/{c.pk}/parties/reveal").json()["parties"][0]
    assert revealed["email"] == "zhang@example.com"
    bad = api.post(URL, {**body, "parties": [{"role": "complainant", "email": "不是邮箱"}]})
    assert bad.status_code == 422 and "电子邮箱格式不正确" in bad.json()["message"]


def test_notification_preferences_by_api(people):
    api = Api(people["head_q"])
    rows = api.get("/api/v1/me/notification-preferences").json()
    assert {r["category"] for r in rows} >= {"assigned", "chased", "supervised", "clock"}
    assert all(r["delivery"] == "email" for r in rows)  # the default with an address
    r = api.put(
        "/api/v1/me/notification-preferences",
        {"preferences": {"chased": "digest", "clock": "inapp"}},
    )
    assert r.status_code == 200
    got = {x["category"]: x["delivery"] for x in r.json()}
    assert got["chased"] == "digest" and got["clock"] == "inapp" and got["assigned"] == "email"
    r = api.put("/api/v1/me/notification-preferences", {"preferences": {"chased": "pigeon"}})
    assert r.status_code == 422 and "接收方式" in r.json()["message"]
