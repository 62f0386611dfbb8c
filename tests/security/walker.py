"""Walking any installed template's cases through many of its actions, with every form filled from
the definition itself (no template-specific knowledge): the raw-key test and the personal-data
roads test use it on every template, so a field, flag or action the flows gain later is covered
without editing the tests.

Personal values are recognisable: every personal field gets a value built from PERSONAL_MARK, so a
test can look for it in any response body."""

from __future__ import annotations

import random
from datetime import date, datetime

from security_helpers import PNG

PERSONAL_MARK = "隐私标记"  # a personal field's value contains it (names get a name-like value)


def install(template: str, *, org: str = "测试单位"):
    from tousu.accounts.models import Organisation
    from tousu.accounts.services import ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    Organisation.objects.update_or_create(pk=1, defaults={"name": org, "default_process": template})
    return install_template(template)


def make_staff(definition) -> dict:
    """One user per general role, a handler and a head for every department; every user has a
    Chinese display name (pages show it, never the user name)."""
    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user

    users = {}
    general = {
        "receiver": "接待员甲",
        "officer": "专员乙",
        "leader": "领导丙",
        "verifier": "验证员丁",
        "auditor": "审计戊",
        "admin": "管理员己",
    }
    for role, name in general.items():
        users[role], _ = create_user(
            f"u_{role}",
            roles=[role],
            display_name=name,
            password=f"pw-{role}-123",
            is_superuser=role == "admin",
        )
    users["leader2"], _ = create_user(
        "u_leader2", roles=["leader"], display_name="领导庚", password="pw-leader2-123"
    )  # a group decision needs two (F13)
    from tousu.demo.walk import flow_role_accounts

    for name, roles, dep, label in flow_role_accounts(definition):  # the flow's own roles
        users[f"flow:{name}"], _ = create_user(
            f"u_{name}", roles=roles, display_name=label, password=f"pw-{name}-123",
            department=Department.objects.get(code=dep) if dep else None,
        )  # fmt: skip
    for i, d in enumerate(definition.departments):
        dept = Department.objects.get(code=d.code)
        for role, prefix in (("handler", "经办"), ("dept_head", "负责人")):
            users[f"{role}:{d.code}"], _ = create_user(
                f"u{i}_{role}",
                roles=[role],
                department=dept,
                display_name=f"{d.label}{prefix}",
                password=f"pw-{i}-{role}-123",
            )
    return users


def field_value(f, definition, users, n: int = 0, complaint=None):
    """A valid value for a form field of any type; personal text fields carry PERSONAL_MARK."""
    if f.type == "text":
        if "phone" in f.name:
            return f"1390000{n:04d}"
        if f.personal:
            return f"{PERSONAL_MARK}{n}"[: f.effective_max_length]
        return f"文字{n}"[: f.effective_max_length]
    if f.type == "textarea":
        return f"说明{n}：情况属实，已处理。"
    if f.type == "integer":
        return 2
    if f.type == "boolean":
        return True
    if f.type == "choice":
        return f.choices[0].value
    if f.type == "multichoice":
        return [c.value for c in f.choices[: max(1, f.min_items or 1)]]
    if f.type == "date":
        return date.today().isoformat()
    if f.type == "datetime":
        return datetime.now().replace(microsecond=0).isoformat()
    if f.type == "category":
        return definition.categories[0].code
    if f.type == "department":
        return definition.departments[0].code
    if f.type == "departments":
        return [d.code for d in definition.departments[: max(1, f.min_items or 1)]]
    if f.type == "users":  # distinct holders of the field's roles (of the case's department)
        eligible = [
            u.username
            for u in users.values()
            if u.role_codes & set(f.roles)
            and (not f.same_department or complaint is None
                 or u.department_id == complaint.department_id)
        ]  # fmt: skip
        return eligible[: max(1, f.min_items or 1)]
    raise AssertionError(f"no value for field type {f.type}")


def form_data(action, definition, users, n: int = 0, complaint=None) -> dict:
    data = {f.name: field_value(f, definition, users, n, complaint) for f in action.form}
    for f in action.form:  # several departments name their lead explicitly
        if f.type == "departments" and f.lead and data.get(f.name):
            data[f.lead] = data[f.name][0]
    return data


COMPLAINANT = {
    "role": "complainant",
    "name": "欧阳明月",
    "phone": "13912345678",
    "id_number": "110101199003071234",
    "address": "北京市朝阳区幸福路十八号院",
}


def register(process, users, *, content: str = "", n: int = 0, category: str | None = None):
    from tousu.cases.services import register_complaint

    definition = process.definition
    fields = {f.name: field_value(f, definition, users, n) for f in definition.fields}
    complaint, code = register_complaint(
        process=process,
        user=users["receiver"],
        channel=definition.channels[0].value if definition.channels else "phone",
        content=content or f"投诉内容{n}：服务有问题，请处理。",
        parties=[
            dict(COMPLAINANT),
            {"role": "respondent", "kind": "organisation", "name": "某某有限公司"},
        ],
        fields=fields,
        category=category,
    )
    return complaint, code


def walk(
    complaint,
    users,
    *,
    steps: int = 40,
    seed: int = 0,
    taken: set | None = None,
    linger: int = 0,
):
    """Apply up to `steps` actions, preferring ones no walk has taken yet (`taken`, shared between
    walks), as whichever user or the complainant may take them; for the first `linger` steps,
    actions that close the case come last (a longer history)."""
    from tousu.cases.attachments import add_attachment
    from tousu.cases.engine import Complainant, apply_action, possible_actions
    from tousu.cases.errors import CaseError

    rng = random.Random(seed)
    taken = set() if taken is None else taken
    definition = complaint.definition
    add_attachment(complaint, name="凭证.png", content=PNG, user=users["officer"])
    actors = list(users.values()) + [Complainant("投诉人")]
    for step in range(steps):
        options = []
        closing = definition.closed_states
        for actor in actors:
            for a in possible_actions(complaint, actor):
                late = step < linger and a.to in closing
                options.append((late, a.name in taken, rng.random(), a, actor))
        if not options:
            break
        options.sort(key=lambda o: o[:3])
        for _, _, _, action, actor in options:
            try:
                complaint, _ = apply_action(
                    complaint,
                    actor,
                    action.name,
                    data=form_data(action, definition, users, step, complaint),
                    version=complaint.version,
                    comment=f"第{step}步",
                )
            except CaseError:
                complaint.refresh_from_db()
                continue
            taken.add(action.name)
            break
        else:
            break
    return complaint
