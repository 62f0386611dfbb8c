"""Everything the workbench can do to a case, the API can do: for every shipped template, every
action a staff role may take is applied through /api/v1 — listed by GET …/actions for the user who
takes it, its form filled from the JSON Schema that endpoint returns, posted to POST …/actions/{name}.

The way to each action is found by walking real cases: at each step the walk takes, among the actions
the engine offers someone now, one that brings the action nearer (shortest distance in the flow's
graph), trying the template's channels and registration answers in turn, because conditions (a
petition letter, a written complaint, a customer who wants no return …) decide what is offered.
Actions only the complainant takes (on the portal) are applied through the engine as the portal
would, and not counted.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tousu.accounts.models import Department, Organisation, User
from tousu.accounts.roles import COMPLAINANT
from tousu.accounts.services import create_token, create_user, ensure_roles
from tousu.cases import engine
from tousu.cases.errors import CaseError
from tousu.cases.forms import json_schema
from tousu.cases.models import Complaint
from tousu.demo.walk import flow_role_accounts
from tousu.processes.catalog import template_names
from tousu.processes.models import Category
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
        # A group decision needs two leaders (F13).
        users["leader2"], _ = create_user("leader2", roles=["leader"], password="pw-leader2-123")
        for dep in process.definition.departments:
            department = Department.objects.get(code=dep.code)
            for prefix, role in (("handler", "handler"), ("head", "dept_head")):
                name = f"{prefix}_{dep.code}"
                users[name], _ = create_user(
                    name, roles=[role], department=department, password=f"pw-{name}-123"
                )
        for name, roles, dep, label in flow_role_accounts(process.definition):
            department = Department.objects.get(code=dep) if dep else None
            users[name], _ = create_user(name, roles=roles, department=department,
                                         display_name=label, password=f"pw-{name}-123")  # fmt: skip
        clients = {name: client_with(create_token(u)[1]) for name, u in users.items()}
        return process, users, clients

    return _install


def distances(definition, target: str) -> dict[str, int]:
    """Actions still to take, from each state, before `target` can be taken (the graph alone)."""
    into = defaultdict(set)
    for a in definition.actions:
        for s in a.source:
            into[a.to or s].add(s)
    start = {s for a in definition.actions if a.name == target for s in a.source}
    dist = {s: 0 for s in start}
    queue = deque(start)
    while queue:
        s = queue.popleft()
        for prev in into[s]:
            if prev not in dist:
                dist[prev] = dist[s] + 1
                queue.append(prev)
    return dist


def fill(schema: dict, complaint, action) -> dict:
    """A valid value for every field of an action's form, from its JSON Schema (and, for people
    fields, the staff the field allows)."""
    data = {}
    fields = {f.name: f for f in action.form}
    for name, prop in schema["properties"].items():
        kind = prop["type"]
        if name in fields and fields[name].type == "users":
            f = fields[name]
            eligible = [
                u.username
                for u in User.objects.filter(roles__code__in=f.roles, is_active=True).distinct()
                if not f.same_department or u.department_id == complaint.department_id
            ]
            data[name] = sorted(eligible)[: max(1, f.min_items or 1)]
        elif "enum" in prop:
            data[name] = prop["enum"][0]
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
            pool = prop.get("items", {}).get("enum") or []
            data[name] = pool[: max(1, prop.get("minItems", 1))]
    for f in action.form:  # several departments name their lead explicitly
        if f.type == "departments" and f.lead and data.get(f.name):
            data[f.lead] = data[f.name][0]
    return data


def options(complaint, users, target):
    out = []
    for name, user in [*users.items(), (COMPLAINANT, engine.Complainant())]:
        for a in engine.possible_actions(complaint, user):
            if not engine.is_routine(a) or a.name == target:
                out.append((a, name))
    return out


def walk_to(target, d, process, users, clients, png, channel, flags, seed) -> bool:
    """One case registered through the API and walked to `target`; True when taken via the API."""
    dist = distances(d, target)
    rng = random.Random(seed)
    categories = list(
        Category.objects.filter(process_name=process.name).values_list("code", flat=True)
    )
    fields = {}
    for f in d.fields:  # the registration's own answers, varied between attempts
        if f.type == "boolean":
            fields[f.name] = flags
        elif f.type in ("text",):
            fields[f.name] = f"{f.label}示例"
        elif f.type == "date":
            fields[f.name] = date.today().isoformat()
    body = {"channel": channel, "content": "测试投诉：服务态度差，要求说明情况",
            "parties": [{"role": "complainant", "name": "张三", "phone": "13812345678"}],
            "fields": fields, "category": rng.choice(categories) if categories else None}  # fmt: skip
    created = clients["receiver"].post(URL, body)
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    blocked: set[tuple[int, str]] = set()
    for _ in range(60):
        complaint = Complaint.objects.select_related("process").get(pk=cid)
        here = [(a, who) for a, who in options(complaint, users, target)
                if (complaint.version, a.name) not in blocked]  # fmt: skip
        if not here:
            return False
        chosen = [o for o in here if o[0].name == target]
        if not chosen:
            best = min(dist.get(a.to or complaint.state, 99) for a, _ in here)
            if best >= 99:
                return False
            near = [o for o in here if dist.get(o[0].to or complaint.state, 99) == best]
            chosen = near if rng.random() < 0.8 else here
        action, who = rng.choice(chosen)
        if who == COMPLAINANT:  # the portal's part of the path
            form = fill(json_schema(action.form, process.name), complaint, action)
            try:
                engine.apply_action(complaint, engine.Complainant(), action.name, data=form,
                                    version=complaint.version)  # fmt: skip
            except CaseError:
                blocked.add((complaint.version, action.name))
            continue
        api = clients[who]
        offered = {a["name"]: a for a in api.get(f"{URL}/{cid}/actions").json()}
        assert action.name in offered, (action.name, who, sorted(offered))
        if (
            any("attachments" in str(c) for c in action.require)
            and not complaint.attachments.exists()
        ):
            up = api.upload(
                f"{URL}/{cid}/attachments", {"file": SimpleUploadedFile("材料.png", png)}
            )
            assert up.status_code == 201, up.content
        data = fill(offered[action.name]["form"], complaint, action)
        r = api.post(f"{URL}/{cid}/actions/{action.name}",
                     {"version": complaint.version, "data": data, "comment": "接口测试"})  # fmt: skip
        if r.status_code == 422:  # a join not met yet, a condition on the form: go another way
            blocked.add((complaint.version, action.name))
            continue
        assert r.status_code == 200, (action.name, who, r.json())
        assert r.json()["state"] == (action.to or complaint.state)
        walk_to.done.add(action.name)
        if action.name == target:
            return True
    return False


@pytest.mark.parametrize("template", template_names())
def test_every_staff_action_of_the_template_works_through_the_api(template, flow, png):
    process, users, clients = flow(template)
    d = process.definition
    wanted = staff_actions(d)
    walk_to.done = set()
    channels = [c.value for c in d.channels] or ["phone"]
    for target in sorted(wanted):
        attempt = 0
        while target not in walk_to.done and attempt < 4 * len(channels):
            channel = channels[attempt % len(channels)]
            flags = attempt // len(channels) % 2 == 1
            walk_to(target, d, process, users, clients, png, channel, flags, seed=attempt)
            attempt += 1
    assert walk_to.done >= wanted, sorted(wanted - walk_to.done)
    portal_only = {a.name for a in d.actions} - wanted
    assert all(set(d.action(n).roles) == {COMPLAINANT} for n in portal_only)
