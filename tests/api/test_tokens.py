"""API tokens: hashed, scoped to a subset of their user's roles and departments, expiring,
revocable; the token lookup stays one query."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tousu.accounts.models import ApiToken
from tousu.accounts.selectors import user_for_token
from tousu.accounts.services import (
    TokenNotFound,
    TokenScopeError,
    create_token,
    create_user,
    revoke_token,
    revoke_token_by_prefix,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/complaints"


@pytest.fixture
def cases(register, act):
    """One case of quality management, one of storage and transport, one not yet assigned."""
    q = act(
        act(register("产品有裂纹"), "officer", "judge_valid"),
        "officer",
        "assign_department",
        category="quality",
    )
    t = act(
        act(register("运输途中破损"), "officer", "judge_valid"),
        "officer",
        "assign_department",
        category="transport",
    )
    new = register("还没分派")
    return {"quality": q, "transport": t, "new": new}


def test_only_the_hash_is_stored(staff):
    token, raw = create_token(staff["officer"])
    assert raw.startswith("tsu_") and token.prefix == raw[:10]
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == ApiToken.hash(raw) and raw not in stored.key_hash


def test_a_token_scoped_to_one_department_cannot_read_anothers_cases(client_for, cases):
    officer_q = client_for("officer", departments=["quality_management"])
    assert officer_q.get(f"{URL}/{cases['quality'].pk}").status_code == 200
    other = officer_q.get(f"{URL}/{cases['transport'].pk}")
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    assert "部门" in other.json()["message"]
    for sub in ("actions", "events", "parties", "tasks", "clocks", "attachments"):
        assert officer_q.get(f"{URL}/{cases['transport'].pk}/{sub}").status_code == 403, sub
    assert [c["id"] for c in officer_q.get(URL).json()] == [cases["quality"].pk]
    assert officer_q.get("/api/v1/statistics").json()["total"] == 1
    assert {t["department"] for t in officer_q.get("/api/v1/tasks").json()} == {
        "quality_management"
    }
    # … nor act on them.
    r = officer_q.post(
        f"{URL}/{cases['transport'].pk}/actions/add_note", {"version": 3, "data": {}}
    )
    assert r.status_code == 403
    # The same officer with an unscoped token sees all three.
    assert len(client_for("officer").get(URL).json()) == 3


def test_a_departmental_users_token_never_widens_their_department(staff, client_for, cases):
    handler_q = client_for("handler_q")
    assert handler_q.get(f"{URL}/{cases['quality'].pk}").status_code == 200
    assert handler_q.get(f"{URL}/{cases['transport'].pk}").status_code == 403
    with pytest.raises(TokenScopeError, match="只限本部门"):
        create_token(staff["handler_q"], departments=["storage_transport"])


def test_a_token_with_a_subset_of_roles_has_only_those(staff, client_for, cases):
    both, _ = create_user("both", roles=["receiver", "leader"], password="pw-both-123")
    receiver_only = client_for(both, roles=["receiver"])
    me = receiver_only.get("/api/v1/me").json()
    assert me["user"]["roles"] == ["receiver"] and me["token"]["roles"] == ["receiver"]
    assert client_for(both).get("/api/v1/me").json()["user"]["roles"] == ["leader", "receiver"]
    # Registering is the receiver's; the leader's instruction is not this token's to give.
    assert receiver_only.post(URL, {"channel": "phone", "content": "测试"}).status_code == 201
    with pytest.raises(TokenScopeError, match="没有角色"):
        create_token(both, roles=["officer"])
    with pytest.raises(TokenScopeError, match="未知角色"):
        create_token(both, roles=["janitor"])
    with pytest.raises(TokenScopeError, match="不存在"):
        create_token(both, departments=["nowhere"])


def test_roles_taken_from_the_user_later_leave_the_token_too(staff, client_for):
    api = client_for("officer", roles=["officer"])
    staff["officer"].roles.set(["auditor"])
    assert api.get("/api/v1/me").json()["user"]["roles"] == []
    assert api.get(URL).json() == []


def test_a_revoked_token_gets_401(staff, client_with):
    token, raw = create_token(staff["officer"])
    api = client_with(raw)
    assert api.get(URL).status_code == 200
    revoke_token(token)
    r = api.get(URL)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert set(r.json()) == {"code", "message", "details"}


def test_an_expired_token_gets_401(staff, client_with):
    _, raw = create_token(staff["officer"], expires_at=timezone.now() - timedelta(seconds=1))
    assert client_with(raw).get(URL).status_code == 401
    _, raw = create_token(staff["officer"], expires_at=timezone.now() + timedelta(days=1))
    assert client_with(raw).get(URL).status_code == 200


def test_a_deactivated_users_token_gets_401(staff, client_with):
    _, raw = create_token(staff["officer"])
    staff["officer"].is_active = False
    staff["officer"].save()
    assert client_with(raw).get(URL).status_code == 401


def test_token_lookup_is_one_query(staff, django_assert_num_queries):
    token, raw = create_token(
        staff["officer"], roles=["officer"], departments=["quality_management"]
    )
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    with django_assert_num_queries(1):
        user, found = user_for_token(raw)
    assert user.role_codes == {"officer"} and found.scope_department_ids == {
        staff["handler_q"].department_id
    }
    assert user_for_token("tsu_not-a-token") is None


def test_every_api_write_names_the_token(client_for, staff):
    from tousu.cases.models import Event

    api = client_for("officer")
    cid = api.post(URL, {"channel": "phone", "content": "测试"}).json()["id"]
    api.post(f"{URL}/{cid}/actions/judge_valid", {"version": 1})
    api.post(f"{URL}/{cid}/parties/reveal")
    prefix = ApiToken.objects.filter(user=staff["officer"]).latest("pk").prefix
    events = Event.objects.filter(complaint_id=cid)
    assert events.count() == 3
    for e in events:
        assert e.via == "api" and f"API 令牌 {prefix}…" in e.actor_name, e.action


def test_revoke_by_prefix(staff):
    token, raw = create_token(staff["officer"])
    assert revoke_token_by_prefix(raw[:10]).pk == token.pk
    assert user_for_token(raw) is None
    with pytest.raises(TokenNotFound, match="没有前缀"):
        revoke_token_by_prefix(raw[:10])
    with pytest.raises(TokenNotFound, match="太短"):
        revoke_token_by_prefix("tsu")


def test_cli_creates_scoped_tokens_lists_and_revokes(staff, capsys):
    from tousu.cli import main

    assert (
        main(
            [
                "token",
                "create",
                "officer",
                "--roles",
                "officer",
                "--departments",
                "quality_management",
                "--days",
                "30",
                "--name",
                "12345热线",
            ]
        )
        == 0
    )
    raw = capsys.readouterr().out.strip()
    user, token = user_for_token(raw)
    assert user.username == "officer" and user.role_codes == {"officer"}
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "12345热线" and stored.expires_at > timezone.now() + timedelta(days=29)
    assert main(["token", "list", "officer"]) == 0
    listing = capsys.readouterr().out
    assert raw[:10] in listing and "quality_management" in listing and raw not in listing
    assert main(["token", "revoke", raw[:10]]) == 0
    assert user_for_token(raw) is None
    assert main(["token", "revoke", raw[:10]]) == 2
    assert main(["token", "create", "officer", "--roles", "leader"]) == 2
    assert "没有角色" in capsys.readouterr().err
    assert main(["token", "create", "officer", "--days", "0"]) == 2
    assert main(["token", "create", "nobody"]) == 2
