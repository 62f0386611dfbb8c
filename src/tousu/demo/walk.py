"""`tousu init`: the organisation, a flow, its departments and users; with --demo, demo staff and
complaints walked through the flow by the engine itself (so every demo case is a real path)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tousu.accounts.models import Department, Organisation, User
from tousu.accounts.services import create_user, ensure_roles
from tousu.cases import engine, services
from tousu.cases.attachments import add_attachment
from tousu.cases.errors import Invalid, NotPossible
from tousu.cases.models import Complaint
from tousu.owners.services import assign
from tousu.processes import conditions
from tousu.processes.definition import ActionDef, FieldDef
from tousu.processes.models import Category, ProcessDefinition
from tousu.processes.services import install_template
from tousu.supervision.services import chase, place
from tousu.triage import services as triage
from tousu.triage.models import TriageModel

DEMO_TEXTS = [
    (
        "phone",
        "上周在贵公司购买的净水器安装后一直漏水，师傅来了两次都没修好，家里地板都泡坏了。",
        "更换新机并赔偿地板损失",
    ),
    ("visit", "送货司机态度很差，货物外包装破损，签收时不让开箱检查。", "道歉，补发完好的货物"),
    (
        "letter",
        "我单位采购的一批阀门有三成存在砂眼，影响工程进度，多次联系销售无人答复。",
        "退换不合格产品并书面说明原因",
    ),
    (
        "web",
        "网上下单承诺48小时发货，结果拖了一周还没发，客服只会说在催。",
        "尽快发货，说明延误原因",
    ),
    (
        "phone",
        "收到的产品说明书与实物型号不符，按说明书操作导致设备报警。",
        "提供正确的说明书并上门调试",
    ),
    ("visit", "售后人员上门服务迟到两个小时，也没有提前电话告知。", "改进服务，给个说法"),
    ("web", "快递把货放在小区门口就走了，东西丢了一件，物流说已签收。", "补发丢失的货物"),
    ("letter", "发票金额与合同不一致，多开了运费，财务对不上账。", "重开发票，退还多收的运费"),
    (
        "phone",
        "同一个问题已经投诉过一次了，答应一周内解决，现在半个月了还没动静。",
        "尽快解决并告知处理进度",
    ),
    (
        "transfer",
        "市场监管局转来的投诉：消费者反映购买的电热水壶使用一个月后底座烧焦。",
        "检测产品质量，给出处理意见",
    ),
    ("web", "客服热线一直占线，打了二十多次才接通，接通后又被转来转去。", "改善热线接通率"),
    ("visit", "仓库发错了颜色，要求换货却让我自己承担来回运费，不合理。", "免费换货"),
]
# The smallest well-formed PDF: the written proof some flows require before acceptance.
SAMPLE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
DEMO_REMARKS = [
    "已电话联系客户，核实了时间、地点和经过。",
    "经查，情况基本属实，责任在我方。",
    "已与相关人员谈话，说明了处理意见。",
    "客户情绪已平复，同意按方案处理。",
    "已安排专人跟进，三日内反馈进展。",
    "调阅了记录和监控，事实清楚。",
    "按公司制度处理，并在部门例会上通报。",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"


def _text_value(field: FieldDef, rng: random.Random) -> str:
    """A value that reads like what an office would type for this label (a number for 编号/住院号,
    a department for 科室, a person's name for 人员/姓名), so the demo's case pages look real."""
    label = field.label
    if "编号" in label or label.endswith("号") or "住院号" in label:
        return f"{rng.choice('ZMX')}{rng.randint(100000, 999999)}"
    if "科室" in label or "部门" in label:
        names = list(Department.objects.values_list("name", flat=True)[:50])
        if names:
            return rng.choice(names)
    if any(k in label for k in ("姓名", "人员", "当事人", "医生", "护士")):
        return f"{rng.choice(SURNAMES)}某某"
    return f"{label}：{rng.choice(SURNAMES)}某"


def _dates_before(definition, fields: dict, received_at, rng: random.Random) -> None:
    """What a complaint tells of (a visit, a trip, a letter's date) happened before it arrived."""
    day = timezone.localtime(received_at).date()
    for f in definition.fields:
        if f.name in fields and f.type == "date":
            fields[f.name] = (day - timedelta(days=rng.randint(0, 5))).isoformat()
        elif f.name in fields and f.type == "datetime":
            moment = timezone.localtime(received_at) - timedelta(hours=rng.randint(1, 72))
            fields[f.name] = moment.strftime("%Y-%m-%dT%H:%M")


def _fill(
    field: FieldDef,
    rng: random.Random,
    process: ProcessDefinition,
    users: list[User],
    complaint: Complaint | None = None,
):
    """A plausible value for a form field, for demo cases and automated walks."""
    match field.type:
        case "text":
            return _text_value(field, rng)
        case "textarea":
            return rng.choice(DEMO_REMARKS)
        case "integer":
            return 1
        case "boolean":
            return True  # the answers a flow requires (informed, in uniform …) are yes
        case "choice":
            return field.choices[0].value
        case "multichoice":
            return [field.choices[0].value]
        case "date":
            return date.today().isoformat()
        case "datetime":
            return timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        case "category":
            return rng.choice(
                list(
                    Category.objects.filter(process_name=process.name).values_list(
                        "code", flat=True
                    )
                )
            )
        case "department":
            return ""
        case "departments":
            codes = list(
                Department.objects.filter(category__process_name=process.name)
                .distinct()
                .values_list("code", flat=True)
            )
            return rng.sample(codes, k=min(2, len(codes)))
        case "users":
            eligible = [
                u
                for u in users
                if u.role_codes & set(field.roles)
                and (
                    not field.same_department
                    or complaint is None
                    or u.department_id == complaint.department_id
                )
            ]
            k = min(max(1, field.min_items or 0), len(eligible))
            return [u.username for u in rng.sample(eligible, k=k)] if k else None
    return None


def fill_form(
    action: ActionDef,
    rng: random.Random,
    process: ProcessDefinition,
    users: list[User],
    complaint: Complaint | None = None,
) -> dict:
    data = {f.name: _fill(f, rng, process, users, complaint) for f in action.form}
    for f in action.form:  # a lead department named explicitly: the first one chosen
        if f.type == "departments" and f.lead and data.get(f.name):
            data[f.lead] = data[f.name][0]
    return {k: v for k, v in data.items() if v not in (None, "")}


def _needs_attachment(action: ActionDef) -> bool:
    return any("attachments" in conditions.refs(c) for c in action.require)


def actor_for(complaint: Complaint, action: ActionDef, users: list[User]) -> User | None:
    return next((u for u in users if engine.role_allows(u, action, complaint)), None)


def walk(
    complaint: Complaint, users: list[User], rng: random.Random, steps: int, skip=("add_note",)
) -> Complaint:
    """Take up to `steps` random possible actions, each by a user allowed to take it."""
    for _ in range(steps):
        options = [
            (a, u)
            for a in complaint.definition.actions_from(complaint.state)
            if a.name not in skip and (u := actor_for(complaint, a, users))
        ]
        if not options:
            break
        rng.shuffle(options)
        for action, user in options:
            data = fill_form(action, rng, complaint.process, users, complaint)
            if _needs_attachment(action) and not complaint.attachments.exists():
                add_attachment(
                    complaint, name="书面材料.pdf", content=SAMPLE_PDF, user=user, via="cli"
                )
            try:
                complaint, _ = engine.apply_action(
                    complaint, user, action.name, data=data, version=complaint.version, via="cli"
                )
                break
            except (Invalid, NotPossible):
                continue  # a condition the demo cannot satisfy: try another branch
        else:
            break
    return complaint


def flow_role_accounts(definition) -> list[tuple[str, list[str], str | None, str]]:
    """Staff for the roles a flow names: one each, or two per department where a form names them
    from the case's own department (two inspectors of the handling section, F9)."""
    per_department = {
        role
        for a in definition.actions
        for f in a.form
        if f.type == "users" and f.same_department
        for role in f.roles
    }
    accounts = []
    for role in definition.roles:
        if role.code in per_department:
            for dep in definition.departments:
                for n in (1, 2):
                    accounts.append(
                        (f"{role.code}{n}_{dep.code}", [role.code, "handler"], dep.code,
                         f"{dep.label}{role.label}{n}")
                    )  # fmt: skip
        else:
            accounts.append((role.code, [role.code], None, role.label))
    return accounts


def _office_work(definition, rng: random.Random) -> None:
    """People own the demo's open cases, a leader supervises two (督办) and the office chases one
    (催办), so the to-do, the workload page and the 督办 filter show a working office."""

    open_cases = list(
        Complaint.objects.exclude(state__in=definition.closed_states)
        .filter(department__isnull=False)
        .order_by("pk")
    )
    for c in open_cases:
        handler = User.objects.filter(department_id=c.department_id, roles__code="handler").first()
        head = User.objects.filter(department_id=c.department_id, roles__code="dept_head").first()
        if handler and head and not c.owner_id and rng.random() < 0.75:
            assign(c, handler, by=head, via="cli")
    leader = User.objects.filter(roles__code="leader").first()
    officer = User.objects.filter(roles__code="officer").first()
    for c in open_cases[:2]:
        place(c, leader, instruction="请抓紧办理，按期答复投诉人", workdays=3, via="cli")
    if open_cases[2:3] and officer:
        chase(open_cases[2], officer, note="请加快进度", via="cli")


def _train_triage(name: str) -> None:
    """Templates shipped with labelled samples start with a trained classifier, not only keywords."""
    from pathlib import Path

    if (
        Path(triage.__file__).parent / "samples" / f"{name}.csv"
    ).exists() and not TriageModel.objects.filter(process_name=name).exists():
        triage.train(name, with_cases=False)


JOINT_TEXT = (
    "我们{n}人联名反映同一件事：上个月起多次反映的问题至今没有解决，每次都说在处理，"
    "却没有人说明原因和进展，大家都等不下去了，请尽快查明并给我们书面答复。"
)


def _person(rng: random.Random) -> dict:
    return {
        "role": "complainant",
        "name": f"{rng.choice(SURNAMES)}{rng.choice(['先生', '女士'])}",
        "phone": f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}",
    }


def collective_threshold(process) -> int:
    from tousu.reports.rules import rules_for

    return rules_for(process).collective_threshold


@transaction.atomic
def initialise(
    template: str, *, org_name: str | None = None, with_demo: bool = False, cases: int = 40
) -> str:
    ensure_roles()
    org = Organisation.objects.order_by("pk").first()
    process = install_template(template)
    _train_triage(process.name)
    if org is None:
        org = Organisation.objects.create(
            name=org_name or "投诉处理中心", default_process=process.name
        )
    elif org_name:
        org.name = org_name
        org.save()
    lines = [f"组织：{org.name}；流程：{process}"]
    if not with_demo:
        return "\n".join(lines)
    if User.objects.filter(username="officer").exists():
        lines.append(
            "演示数据已存在，未重复生成。登录账号见 "
            + str(settings.DATA_DIR / "demo-credentials.txt")
        )
        return "\n".join(lines)

    definition = process.definition
    accounts = [
        ("admin", ["admin"], None, "系统管理员"),
        ("receiver", ["receiver"], None, "接待员小李"),
        ("officer", ["officer", "receiver"], None, "投诉专员王芳"),
        ("leader", ["leader"], None, "分管领导赵总"),
        ("auditor", ["auditor"], None, "审计员孙明"),
        ("verifier", ["verifier"], None, "质量验证员周洁"),
    ]
    for dep in definition.departments:
        accounts.append((f"handler_{dep.code}", ["handler"], dep.code, f"{dep.label}经办人"))
        accounts.append((f"head_{dep.code}", ["dept_head"], dep.code, f"{dep.label}负责人"))
    accounts += flow_role_accounts(definition)
    credentials = []
    for username, roles, dep_code, name in accounts:
        dept = Department.objects.get(code=dep_code) if dep_code else None
        _, password = create_user(
            username,
            roles=roles,
            department=dept,
            display_name=name,
            is_superuser=(username == "admin"),
        )
        credentials.append((username, password, name))

    users = list(User.objects.exclude(username="admin").prefetch_related("roles").order_by("pk"))
    # The demo's complaints are registered by someone the definition lets register (and who sits in
    # no department, so the cases start at the office), whatever order the database returns.
    allowed = set(definition.registration.roles)
    registrar = next(
        (u for u in users if set(u.role_codes) & allowed and u.department_id is None),
        next(u for u in users if set(u.role_codes) & allowed),
    )
    rng = random.Random(20261127)
    now = timezone.now()
    channels = [c.value for c in definition.channels] or ["phone"]
    texts = (
        [(rng.choice(channels), t, "") for t in definition.demo_texts]
        if definition.demo_texts
        else DEMO_TEXTS
    )
    # A text comes back from at most two people (repeat complaints), never from a crowd: the demo's
    # only collective complaint is the joint one at the end (triage/waves.py).
    people: dict[tuple[int, int], dict] = {}
    for i in range(cases):
        joint = i == cases - 1 and cases >= 20
        channel, content, request = texts[i % len(texts)]
        channel = channel if channel in channels else rng.choice(channels)
        complainants = [
            people.setdefault(
                (i % len(texts), (i // len(texts)) % 2),
                {
                    "role": "complainant",
                    "name": f"{rng.choice(SURNAMES)}先生",
                    "phone": f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}",
                },
            )
        ]
        if joint:
            complainants = [_person(rng) for _ in range(collective_threshold(process))]
            content, request = JOINT_TEXT.format(n=len(complainants)), "要求给出书面答复"
        fields = {
            f.name: v
            for f in definition.fields
            if f.type not in ("category", "department", "departments", "users")
            and (v := _fill(f, rng, process, users)) not in (None, "")
        }
        received_at = now - timedelta(hours=rng.randint(0, 24 * 20))
        _dates_before(definition, fields, received_at, random.Random(i))
        complaint, _ = services.register_complaint(
            process=process,
            user=registrar,
            channel=channel,
            content=content,
            request=request,
            parties=complainants,
            fields=fields,
            received_at=received_at,
            via="cli",
        )
        walk(complaint, users, rng, steps=rng.randint(0, 12))
    _office_work(definition, rng)

    path = settings.DATA_DIR / "demo-credentials.txt"
    path.write_text("".join(f"{u}\t{p}\t{n}\n" for u, p, n in credentials), encoding="utf-8")
    path.chmod(0o600)
    lines.append(f"已生成 {cases} 件演示投诉。演示账号（一次性密码，另存于 {path}）：")
    lines += [f"  {u:28} {p:14} {n}" for u, p, n in credentials]
    return "\n".join(lines)
