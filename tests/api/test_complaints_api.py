import json

import pytest
from django.test import Client

from tousu.accounts.services import create_token, revoke_token
from tousu.cases.models import Complaint, Event, IdempotencyRecord, Party

pytestmark = pytest.mark.django_db
URL = "/api/v1/complaints"


@pytest.fixture
def api(staff):
    def client_for(username="officer"):
        _, raw = create_token(staff[username])
        return ApiClient(raw)

    return client_for


class ApiClient:
    def __init__(self, token: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path):
        return self.client.get(path, headers=self.headers)

    def post(self, path, body=None, raw: str | None = None, idempotency_key: str | None = None):
        data = raw if raw is not None else json.dumps(body or {}, ensure_ascii=False)
        headers = {
            **self.headers,
            **({"Idempotency-Key": idempotency_key} if idempotency_key else {}),
        }
        return self.client.post(path, data=data, content_type="application/json", headers=headers)


BODY = {
    "channel": "phone",
    "content": "快递员服务态度差，包裹破损",
    "request": "赔偿",
    "parties": [{"role": "complainant", "name": "李四", "phone": "13900001111"}],
    "fields": {"target": "快递员"},
}


def test_create_returns_numbers_and_state(api):
    r = api().post(URL, BODY)
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"id", "tracking_number", "access_code", "state", "version"}
    assert body["state"] == "registered" and body["version"] == 1
    c = Complaint.objects.get(pk=body["id"])
    assert c.check_access_code(body["access_code"]) and c.fields == {"target": "快递员"}


def test_same_idempotency_key_creates_once_and_replays_the_body(api):
    client = api()
    first = client.post(URL, BODY, idempotency_key="k-1")
    second = client.post(URL, BODY, idempotency_key="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Complaint.objects.count() == 1 and IdempotencyRecord.objects.count() == 1
    third = client.post(URL, {**BODY, "content": "另一件事"}, idempotency_key="k-1")
    assert third.status_code == 422 and "Idempotency-Key" in third.json()["message"]
    assert Complaint.objects.count() == 1


@pytest.mark.parametrize(
    "raw, status, code, words",
    [
        ('{"channel": "phone", "content": ', 400, "malformed_json", "JSON"),
        (json.dumps({"channel": "phone"}), 422, "invalid", "content：缺少必填项"),
        (json.dumps({**BODY, "content": "长" * 10001}), 422, "invalid", "最多 10000 个字符"),
        (json.dumps({**BODY, "colour": "red"}), 422, "invalid", "colour：未知的字段"),
        (
            json.dumps({**BODY, "parties": [{"name": "x", "age": 3}]}),
            422,
            "invalid",
            "parties[0].age",
        ),
        (json.dumps({**BODY, "channel": "pigeon"}), 422, "invalid", "渠道「pigeon」无效"),
        (json.dumps({**BODY, "fields": {"target": ["a"]}}), 422, "invalid", "应为文本"),
        (json.dumps({**BODY, "fields": {"shoe_size": 42}}), 422, "invalid", "行业字段有误"),
        (json.dumps({**BODY, "content": "   "}), 422, "invalid", "不能为空"),
        (json.dumps([1, 2]), 422, "invalid", ""),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_stores_nothing(api, raw, status, code, words):
    r = api().post(URL, raw=raw)
    assert r.status_code == status, r.content
    body = r.json()
    assert body["code"] == code and words in json.dumps(body, ensure_ascii=False)
    assert set(body) == {"code", "message", "details"}
    assert (
        Complaint.objects.count() == 0 and Party.objects.count() == 0 and Event.objects.count() == 0
    )


def test_unauthenticated_and_revoked(api, staff):
    assert Client().post(URL, data="{}", content_type="application/json").status_code == 401
    token, raw = create_token(staff["officer"])
    client = ApiClient(raw)
    assert client.get(URL).status_code == 200
    revoke_token(token)
    r = client.get(URL)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_read_actions_and_apply(api):
    client = api()
    created = client.post(URL, BODY).json()
    detail = client.get(f"{URL}/{created['id']}").json()
    assert detail["state_label"] == "已登记"
    assert detail["parties"][0]["phone"] == "139****1111" and detail["parties"][0]["name"] == "李*"
    assert [k["name"] for k in detail["clocks"]] == ["reply_24h"]
    actions = client.get(f"{URL}/{created['id']}/actions").json()
    by_name = {a["name"]: a for a in actions}
    assert by_name["resolve_on_spot"]["form"]["required"] == ["solution", "satisfaction"]
    assert by_name["resolve_on_spot"]["label"] == "现场解决"

    r = client.post(
        f"{URL}/{created['id']}/actions/judge_valid", {"version": 1, "data": {"reason": "成立"}}
    )
    assert r.status_code == 200 and r.json()["state"] == "classifying" and r.json()["version"] == 2
    stale = client.post(
        f"{URL}/{created['id']}/actions/assign_department",
        {"version": 1, "data": {"category": "quality"}},
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    impossible = client.post(
        f"{URL}/{created['id']}/actions/instruct", {"version": 2, "data": {"instruction": "x"}}
    )
    assert impossible.status_code == 422
    assert "assign_department" in impossible.json()["details"]["possible"]
    bad = client.post(
        f"{URL}/{created['id']}/actions/assign_department",
        {"version": 2, "data": {"category": "nope"}},
    )
    assert bad.status_code == 422 and "category" in bad.json()["details"]["fields"]
    event = Event.objects.filter(action="judge_valid").get()
    assert event.via == "api" and "API 令牌" in event.actor_name


def test_role_not_allowed_gets_403(api):
    created = api().post(URL, BODY).json()
    r = api("leader").post(f"{URL}/{created['id']}/actions/judge_valid", {"version": 1})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert api("leader").post(URL, BODY).status_code == 403


def test_other_departments_case_is_403_and_unknown_is_404(api, register, act):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="quality")
    assert api("handler_q").get(f"{URL}/{c.pk}").status_code == 200
    assert api("handler_t").get(f"{URL}/{c.pk}").status_code == 403
    assert api("handler_t").get(f"{URL}/999999").status_code == 404
    assert [x["id"] for x in api("handler_t").get(URL).json()] == []


def test_openapi_document_and_offline_docs(api):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/api/v1/complaints"]["post"]
    assert {"201", "422", "401"} <= set(post["responses"])
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"/static/ninja/" in docs.content
