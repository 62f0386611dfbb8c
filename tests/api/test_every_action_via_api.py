"""Everything the workbench can do to a case, the API can do: for every shipped template, every
action a staff role may take is applied through /api/v1 — listed by GET …/actions for the user who
takes it, its form filled from the JSON Schema that endpoint returns, posted to POST …/actions/{name}.

Actions only the complainant takes (on the portal) are not staff work; where a path needs one, it is
applied through the engine as the portal would, and not counted.
"""

from __future__ import annotations

from collections import deque
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tousu.accounts.models import Department, Organisation
from tousu.accounts.roles import COMPLAINANT
from tousu.accounts.services import create_token, create_user, ensure_roles
from tousu.cases import engine
from tousu.cases.forms import json_schema
from tousu.cases.models import Complaint
from tousu.processes.catalog import template_names
from tousu.processes.services import install_template

pytestmark = pytest.mark.django_db
URL = "/api/v1/complaints"
BASE = ["receiver", "officer", "leader", "verifier", "auditor", "admin"]


def staff_actions(definition) -> set[str]:
    return {a.name for a in definition.actions if set(a.roles) - {COMPLAINANT}}


@pytest.fixture
def flow(client_with):
    def _install(template):
        ensure_roles()
        process = install_template(template)
        Organisation.objects.create(name="测试单位", default_process=process.name)
        users = {}
        for role in BASE:
            users[role], _ = create_user(role, roles=[role], password=f"pw-{role}-123")
        for dep in process.definition.departments:
            department = Department.objects.get(code=dep.code)
            for prefix, role in (("handler", "handler"), ("head", "dept_head")):
                name = f"{prefix}_{dep.code}"
                users[name], _ = create_user(
                    name, roles=[role], department=department, password=f"pw-{name}-123"
                )
        clients = {name: client_with(create_token(u)[1]) for name, u in users.items()}
        return process, users, clients

    return _install


def plan(definition, target: str) -> list[str]:
    """The shortest sequence of actions from registration that ends with `target`, taking actions
    only when their `event_present` guards are met (state × guard events done)."""
    needed = {
        str(g.args["action"])
        for a in definition.actions
        for g in a.guards
        if g.name == "event_present"
    }
    start = (definition.initial_state.name, frozenset())
    queue, seen = deque([(start, [])]), {start}
    while queue:
        (state, done), path = queue.popleft()
        for action in definition.actions_from(state):
            required = {str(g.args["action"]) for g in action.guards if g.name == "event_present"}
            if not required <= done:
                continue
            if action.name == target:
                return [*path, action.name]
            node = (action.to or state, done | ({action.name} & needed))
            if node not in seen:
                seen.add(node)
                queue.append((node, [*path, action.name]))
    raise AssertionError(f"no path to {target}")


def fill(schema: dict, usernames: list[str], field_names: dict) -> dict:
    """A valid value for every field of an action's form, from its JSON Schema alone."""
    data = {}
    for name, prop in schema["properties"].items():
        kind = prop["type"]
        if "enum" in prop:
            values = prop["enum"]
            preferred = [v for v in values if v in field_names.get("departments", ())] or values
            data[name] = preferred[0]
        elif kind == "string":
            fmt = prop.get("format")
            data[name] = (
                date.today().isoformat()
                if fmt == "date"
                else timezone.localtime().strftime("%Y-%m-%dT%H:%M")
                if fmt == "date-time"
                else "经核实，情况属实"[: prop.get("maxLength", 100)]
            )
        elif kind == "integer":
            data[name] = 1
        elif kind == "boolean":
            data[name] = True
        elif kind == "array":
            items = prop.get("items", {})
            pool = items.get("enum")
            if pool is not None:
                own = [v for v in pool if v in field_names.get("departments", ())]
                pool = own or pool
            else:
                pool = usernames
            data[name] = pool[: max(2, prop.get("minItems", 1))]
    return data


def actor(complaint, action, users) -> str:
    for name, user in users.items():
        if engine.role_allows(user, action, complaint):
            return name
    raise AssertionError(f"nobody may take {action.name} on {complaint}")


@pytest.mark.parametrize("template", template_names())
def test_every_staff_action_of_the_template_works_through_the_api(template, flow, png):
    process, users, clients = flow(template)
    d = process.definition
    departments = {dep.code for dep in d.departments}
    field_names = {"departments": departments}
    handlers = [n for n in users if n.startswith("handler_")]
    wanted = staff_actions(d)
    done_via_api: set[str] = set()

    for target in sorted(wanted, key=lambda n: len(plan(d, n))):
        if target in done_via_api:
            continue
        body = {
            "channel": d.channels[0].value if d.channels else "phone",
            "content": "测试投诉：服务态度差，要求说明情况",
            "parties": [{"role": "complainant", "name": "张三", "phone": "13812345678"}],
            "fields": fill(json_schema(d.fields, process.name), handlers, field_names)
            if any(f.required for f in d.fields)
            else {},
        }
        created = clients["receiver"].post(URL, body)
        assert created.status_code == 201, created.content
        cid = created.json()["id"]
        for step in plan(d, target):
            complaint = Complaint.objects.select_related("process").get(pk=cid)
            action = d.action(step)
            if set(action.roles) == {COMPLAINANT}:  # the portal's part of the path
                form = fill(json_schema(action.form, process.name), handlers, field_names)
                engine.apply_action(
                    complaint, engine.Complainant(), step, data=form, version=complaint.version
                )
                continue
            who = actor(complaint, action, users)
            api = clients[who]
            offered = {a["name"]: a for a in api.get(f"{URL}/{cid}/actions").json()}
            assert step in offered, (template, step, who, sorted(offered))
            if any(g.name == "has_attachment" for g in action.guards):
                up = api.upload(
                    f"{URL}/{cid}/attachments", {"file": SimpleUploadedFile("材料.png", png)}
                )
                assert up.status_code == 201, up.content
            data = fill(offered[step]["form"], handlers, field_names)
            r = api.post(
                f"{URL}/{cid}/actions/{step}",
                {"version": complaint.version, "data": data, "comment": "接口测试"},
            )
            assert r.status_code == 200, (template, step, who, r.json())
            assert r.json()["state"] == (action.to or complaint.state)
            done_via_api.add(step)

    assert done_via_api == wanted, sorted(wanted - done_via_api)
    portal_only = {a.name for a in d.actions} - wanted
    assert all(set(d.action(n).roles) == {COMPLAINANT} for n in portal_only)
