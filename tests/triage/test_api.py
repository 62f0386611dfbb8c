"""The triage router, mounted on a test API with the real token authentication and the real
error handlers (the lead mounts it on /api/v1 at /triage)."""

import pytest
from ninja import NinjaAPI
from ninja.testing import TestClient

pytestmark = pytest.mark.django_db

TEXT = "护士给我扎了四次针都没扎进去，手背全青了，再不处理我就找记者曝光"


@pytest.fixture
def client():
    from tousu.api.api import api as main
    from tousu.api.auth import TokenAuth
    from tousu.triage.api import router

    test_api = NinjaAPI(urls_namespace="triage-test", auth=TokenAuth(), renderer=main.renderer)
    for exc, handler in main._exception_handlers.items():
        test_api.add_exception_handler(exc, handler)
    test_api.add_router("/triage", router)
    return TestClient(test_api)


@pytest.fixture
def token(hospital):
    from tousu.accounts.services import create_token

    def _token(username):
        return {"Authorization": f"Bearer {create_token(hospital.users[username])[1]}"}

    return _token


def test_suggest_returns_category_risks_and_duplicates(client, token, hospital, trained):
    trained("hospital")
    earlier = hospital.register(TEXT, phone="13911112222")
    r = client.post(
        "/triage/suggest",
        json={"process": "hospital", "text": TEXT, "phone": "13911112222"},
        headers=token("receiver"),
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["category"], body["department"]) == ("nursing_quality", "nursing")
    assert body["source"] == "model" and body["confidence"] >= body["min_confidence"]
    assert len(body["alternatives"]) == 3 and body["explanation"]
    assert [f["code"] for f in body["risk_flags"]] == ["risk_media"]
    assert body["duplicates"][0]["id"] == earlier.pk
    assert body["duplicates"][0]["reason_labels"] == ["同一电话", "内容相近"]
    assert body["repeat_count"] == 1


def test_low_confidence_leaves_the_choice_to_a_person(client, token, hospital, settings):
    settings.TOUSU_TRIAGE_MIN_CONFIDENCE = 0.99
    r = client.post(
        "/triage/suggest",
        json={"process": "hospital", "text": "出院结算发现多收了检查费"},
        headers=token("officer"),
    )
    body = r.json()
    assert body["category"] is None and body["explanation"] == ""
    assert body["alternatives"][0]["category"] == "charges"  # candidates still listed


def test_errors_have_the_common_shape(client, token, hospital):
    r = client.post(
        "/triage/suggest", json={"process": "nope", "text": "x"}, headers=token("officer")
    )
    assert (
        r.status_code == 422 and r.json()["code"] == "invalid" and "未安装" in r.json()["message"]
    )
    r = client.post("/triage/suggest", json={"process": "hospital", "text": "x"})
    assert r.status_code == 401


def test_link_merge_and_duplicates_endpoints(client, token, hospital):
    a = hospital.register(TEXT, phone="13911112222")
    b = hospital.register(TEXT, phone="13911112222")
    r = client.get(f"/triage/complaints/{b.pk}/duplicates", headers=token("officer"))
    assert [d["id"] for d in r.json()] == [a.pk]
    r = client.post(
        f"/triage/complaints/{a.pk}/merge", json={"duplicate": b.pk}, headers=token("receiver")
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = client.post(
        f"/triage/complaints/{a.pk}/merge",
        json={"duplicate": b.pk, "note": "重复"},
        headers=token("officer"),
    )
    assert r.status_code == 201 and r.json()[0]["kind"] == "merged_in"
    r = client.get(f"/triage/complaints/{b.pk}/links", headers=token("officer"))
    assert r.json()[0]["other_id"] == a.pk and r.json()[0]["kind"] == "merged_into"
    c = hospital.register("另一件事情，门诊排队太久了", phone="13911112222")
    r = client.post(
        f"/triage/complaints/{c.pk}/link", json={"other": a.pk}, headers=token("receiver")
    )
    assert r.status_code == 201 and r.json()[0]["kind"] == "related"
    r = client.post(
        f"/triage/complaints/{c.pk}/link", json={"other": 999999}, headers=token("receiver")
    )
    assert r.status_code == 404


def test_models_endpoint(client, token, hospital, trained):
    trained("hospital")
    r = client.get("/triage/models?process=hospital", headers=token("officer"))
    assert r.status_code == 200 and r.json()[0]["is_active"] and len(r.json()[0]["classes"]) == 11
