"""Generated cases for measurement: `tousu demo generate --cases N --template NAME`.

Writes complaints, parties, events, tasks, clocks, attachments (when a guard asks for one), the
search index and the statistics facts with bulk SQL (executemany on SQLite, COPY on PostgreSQL),
without going through the engine, but producing the rows the engine would: each case walks its
flow's actions from the initial state, choosing among the actions possible in its state for an actor
who holds the role, asking the engine's own pure rules (cases.engine.roles_permit, task_changes,
the conditions of processes.conditions, clocks.services.starting_clocks) rather than copying them;
forms are filled as the form would clean them and so that the action's conditions hold; category
and department follow the category map; tasks open and close as the action says; clocks start,
pause, resume and stop with due times from the same calendar functions, a clock past due when it
starts is breached at once, and the sweep's warnings, breaches and escalations appear as events at
the moment the worker would have written them. Nothing is dated after `end`, so recent cases
are still open. tests/reports/test_reports_generate.py replays generated cases through the real
services, engine and sweep and compares every row.

The mix: receipts follow the seasons, the week and public holidays; categories and respondents have
a few big ones and a long tail; about 8 % of cases are handled slowly (most overdue clocks); one in
ten complainants complained before; 1.5 % are collective; verdicts are 72 % satisfied, and the
definitions' dissatisfied, external-route and failed-verification branches are taken at realistic
rates.

Batches of cases are simulated in worker processes (fork; they never touch the database) and
written in order by the calling process, each batch in one transaction, its ids following the
tables' current maximum. Not generated: notifications (the inbox), webhooks, clock extensions,
reveal logs, and what other apps' signal receivers add (triage fingerprints and risk flags,
documents).

Importable: `generate(n, template="generic", *, seed=…, start=…, end=…)`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from operator import itemgetter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tousu import workdays
from tousu.accounts.models import Department, Organisation, User
from tousu.accounts.roles import COMPLAINANT, DEPARTMENTAL_ROLES, ROLES
from tousu.accounts.services import ensure_roles
from tousu.cases import engine as rules_of_the_engine
from tousu.cases.errors import Invalid
from tousu.cases.models import (
    ACCESS_CODE_ALPHABET,
    Attachment,
    Complaint,
    Counter,
    Event,
    Party,
    Task,
    hash_access_code,
)
from tousu.clocks import services as clock_rules
from tousu.clocks.models import Clock
from tousu.clocks.services import calendar
from tousu.processes import conditions
from tousu.processes.definition import ActionDef, ClockDef, FieldDef, ProcessDef
from tousu.processes.models import Category, ProcessDefinition
from tousu.processes.services import install_template
from tousu.reports import facts, rollup
from tousu.reports.models import CaseFact, ClockFact
from tousu.reports.rules import RESPONDENT_FIELDS, Rules, rules_for
from tousu.workdays import SHANGHAI

# --- the shape of the generated organisation ------------------------------------------------------

CHANNEL_WEIGHTS = {
    "phone": 38,
    "web": 22,
    "visit": 18,
    "letter": 8,
    "transfer": 6,
    "petition": 4,
    "internal_report": 3,
    "superior": 3,
    "direct": 3,
}
# Month of year → volume: the Spring Festival dip, a summer peak (heat, water, travel), autumn holidays.
SEASON = [0.82, 0.74, 1.0, 1.0, 1.05, 1.08, 1.2, 1.22, 1.05, 1.1, 1.0, 0.95]
WEEKDAY = [1.12, 1.08, 1.05, 1.02, 1.0, 0.62, 0.55]
HOUR_WEIGHTS = [1, 0, 0, 0, 0, 1, 2, 5, 12, 16, 15, 11, 6, 9, 13, 13, 12, 10, 6, 5, 4, 3, 2, 1]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌海燕宁"
REMARKS = [
    "已电话联系投诉人，核实了时间、地点和经过。",
    "经查，情况基本属实，责任在我方。",
    "已与相关人员谈话，说明了处理意见。",
    "投诉人情绪已平复，同意按方案处理。",
    "已安排专人跟进，三日内反馈进展。",
    "调阅了记录和监控，事实清楚。",
    "按制度处理，并在部门例会上通报。",
    "已现场查看，问题已整改。",
    "与被投诉方沟通，对方同意道歉并补偿。",
    "需要其他部门配合，已发函协调。",
]
GENERIC_TEXTS = [
    "上周购买的产品安装后一直有问题，师傅来了两次都没修好。",
    "送货人员态度很差，货物外包装破损，签收时不让开箱检查。",
    "承诺48小时发货，结果拖了一周还没发，客服只会说在催。",
    "售后人员上门服务迟到两个小时，也没有提前电话告知。",
    "发票金额与合同不一致，多开了运费。",
    "客服热线一直占线，打了二十多次才接通，接通后又被转来转去。",
]
RESPONDENT_POOLS = {
    "respondent_name": [
        f"{a}{b}"
        for a in ("华夏", "青年", "阳光", "环球", "长城", "海峡", "康辉", "春秋", "中旅", "金桥")
        for b in ("国际旅行社", "旅行社", "假日旅游公司", "研学旅行社")
    ],
    "reported_party": [
        f"{a}{b}"
        for a in ("老街", "福满楼", "金鼎", "一品", "阳光", "惠民", "康乐", "新世纪", "东方")
        for b in ("餐饮店", "美容院", "游泳馆", "宾馆", "诊所", "药店")
    ],
    "target": ["售后服务部", "物流配送", "客服热线", "门店销售", "安装服务", "网店客服", "仓库"],
    "product": [f"{a}{b}" for a in ("DN50", "DN80", "DN100", "A3", "B7") for b in ("阀门", "水泵")],
    "customer_company": [f"{a}建设工程有限公司" for a in ("中铁", "华建", "宏达", "永安", "鑫源")],
}
SLOW_SHARE = 0.08  # cases handled slowly: most of the overdue clocks
MAX_STEPS = 40
SWEEP_INTERVAL = 30  # seconds: the worker's default
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _zipf(n: int, s: float = 1.1) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


# --- compiled flow --------------------------------------------------------------------------------


@dataclass
class Step:
    action: ActionDef
    weight: float
    hours: float  # mean delay before this action, for a case at normal pace
    closes: bool
    staff_roles: tuple[str, ...]
    by_complainant: bool
    attachments: int = 0  # a `require` on the attachment count
    clock_ops: tuple = ()  # (ClockDef, stop, pause, resume)
    actor_condition: bool = False  # its `when` reads the actor


@dataclass
class Flow:
    process: ProcessDefinition
    definition: ProcessDef
    rules: Rules
    steps: dict[str, list[Step]]
    distance: dict[str, int]  # state → actions to a closed state
    stop_distance: dict[str, dict[str, int]]  # clock → state → actions until one stops it
    initial_clocks: list[ClockDef]
    closed: frozenset[str]
    final: frozenset[str]
    categories: dict[str, tuple[int, int | None]]  # code → (id, department id)
    category_codes: list[str]
    category_weights: list[float]
    departments: dict[str, int]  # code → id
    texts: list[str]


def _compile(process: ProcessDefinition, rng: random.Random) -> Flow:
    d = process.definition
    rules = rules_for(process)
    prerequisites = {
        name for a in d.actions for cond in (a.when, *a.require) for name in _happened(cond)
    }
    # Depth from the initial state: an action back to a shallower state is a loop (return, redo).
    depth = {d.initial_state.name: 0}
    queue = deque([d.initial_state.name])
    while queue:
        s = queue.popleft()
        for a in d.actions_from(s):
            if a.to and a.to not in depth:
                depth[a.to] = depth[s] + 1
                queue.append(a.to)
    closed, final = d.closed_states, d.final_states
    distance = {s: 0 for s in closed}
    changed = True
    while changed:
        changed = False
        for a in d.actions:
            if not a.to or a.to not in distance:
                continue
            for s in {st.name for st in d.states if st.name in a.source or "any" in a.source}:
                if s not in distance or distance[s] > distance[a.to] + 1:
                    if s not in closed:
                        distance[s] = distance[a.to] + 1
                        changed = True
    stop_distance: dict[str, dict[str, int]] = {}
    for c in d.clocks:
        dist: dict[str, int] = {}
        changed = True
        while changed:
            changed = False
            for st in d.states:
                best = dist.get(st.name)
                for a in d.actions_from(st.name):
                    if a.name in c.stop:
                        cand = 1
                    elif a.to and a.to in dist:
                        cand = dist[a.to] + 1
                    else:
                        continue
                    if best is None or cand < best:
                        best = cand
                if best is not None and dist.get(st.name) != best:
                    dist[st.name] = best
                    changed = True
        stop_distance[c.name] = dist
    steps: dict[str, list[Step]] = {}
    for state in d.states:
        out = []
        for a in d.actions_from(state.name):
            staff = tuple(r for r in a.roles if r != COMPLAINANT)
            fields = {f.name for f in a.form}
            to = a.to or state.name
            back = a.to is not None and depth.get(a.to, 0) < depth.get(state.name, 0)
            if a.name in rules.reopen:
                weight, hours = 1.3, 30
            elif a.name in rules.verdict_fields:
                weight, hours = (3, 1) if state.initial else (10, 30)
            elif a.name in rules.routes:
                weight, hours = 0.7, 48
            elif a.name in rules.outcomes:
                weight, hours = 5, 24 * 25
            elif a.name in rules.capa_failed:
                weight, hours = 1.5, 24
            elif a.name in rules.capa_verified:
                weight, hours = 8, 24
            elif a.to is None:
                weight = 5 if a.name in prerequisites else 0.25
                hours = 16
            elif state.name in closed and to in final:
                weight, hours = 8, 24 * 4
            elif to in closed and state.initial:
                weight, hours = 1.5, 3
            elif any(f in fields for f in ("explanation",)) or to in closed and not a.form:
                weight, hours = 1.5, 8
            elif "escalated" in a.set.flags_add or back:
                weight, hours = 1.0, 12
            elif any(c for c in d.clocks if a.name in c.pause):
                weight, hours = 0.5, 2
            else:
                weight, hours = 5, 8
            if a.name == "add_note":
                weight = 0.15
            if staff and set(staff) <= DEPARTMENTAL_ROLES:
                hours = max(hours, 20)
            elif "leader" in staff and hours < 10:
                hours = 10
            if COMPLAINANT in a.roles and not staff:
                weight *= 0.35  # online ratings and material: fewer than the staff's own records
            ops = tuple(
                (c, a.name in c.stop, a.name in c.pause, a.name in c.resume)
                for c in d.clocks
                if a.name in c.stop or a.name in c.pause or a.name in c.resume
            )
            out.append(
                Step(
                    action=a,
                    weight=weight,
                    hours=hours,
                    closes=to in closed and state.name not in closed,
                    staff_roles=staff,
                    by_complainant=COMPLAINANT in a.roles,
                    attachments=max([_min_attachments(c) for c in a.require] or [0]),
                    clock_ops=ops,
                    actor_condition=any(r.startswith("actor.") for r in conditions.refs(a.when)),
                )
            )
        steps[state.name] = out
    categories = {
        code: (pk, dep)
        for code, pk, dep in Category.objects.filter(process_name=d.name).values_list(
            "code", "pk", "department_id"
        )
    }
    codes = [c.code for c in d.categories if c.code in categories]
    weights = _zipf(len(codes), 0.9)
    rng.shuffle(weights)  # a different leading category per template, stable per seed
    departments = dict(
        Department.objects.filter(code__in=[x.code for x in d.departments]).values_list(
            "code", "pk"
        )
    )
    return Flow(
        process=process,
        definition=d,
        rules=rules,
        steps=steps,
        distance=distance,
        stop_distance=stop_distance,
        initial_clocks=[c for c in d.clocks if "created" in c.start],
        closed=closed,
        final=final,
        categories=categories,
        category_codes=codes,
        category_weights=weights,
        departments=departments,
        texts=list(d.demo_texts) or GENERIC_TEXTS,
    )


def _happened(cond) -> set[str]:
    """Actions a condition asks to have happened."""
    if not isinstance(cond, dict):
        return set()
    out = {cond["happened"]} if "happened" in cond else set()
    for key in ("all", "any"):
        for item in cond.get(key) or ():
            out |= _happened(item)
    return out | _happened(cond.get("not"))


def _min_attachments(cond) -> int:
    if not isinstance(cond, dict):
        return 0
    if cond.get("of") == "attachments":
        return int(cond.get("gte", cond.get("gt", -1) + 1))
    return max([_min_attachments(c) for c in cond.get("all") or ()] or [0])


# --- staff ----------------------------------------------------------------------------------------


@dataclass
class Staff:
    by_role: dict[str, list[tuple[int, str, int | None]]] = field(default_factory=dict)
    by_role_dept: dict[tuple[str, int], list[tuple[int, str, int | None]]] = field(
        default_factory=dict
    )
    usernames: list[str] = field(default_factory=list)
    roles: dict[int, frozenset[str]] = field(default_factory=dict)  # user id → role codes
    names: dict[int, str] = field(default_factory=dict)  # user id → username
    departments: dict[int, str] = field(default_factory=dict)  # department id → code
    user_departments: dict[int, int | None] = field(default_factory=dict)


def _staff(flow: Flow) -> Staff:
    """The users who act on generated cases: the existing staff, plus one per missing role (and a
    handler and a head per department) created without a usable password."""

    ensure_roles({r.code: r.label for r in flow.definition.roles})
    users = list(User.objects.filter(is_active=True).prefetch_related("roles"))
    have = {(r.code, u.department_id) for u in users for r in u.roles.all()}
    created = []
    for role in ROLES:
        if role in DEPARTMENTAL_ROLES or role == "admin":
            continue
        if not any(code == role for code, _ in have):
            created.append((f"gen_{role}", [role], None, f"{ROLES[role]}（生成）"))
    for dep_def in flow.definition.departments:
        dep = flow.departments.get(dep_def.code)
        for role, prefix in (("handler", "gen_handler"), ("dept_head", "gen_head")):
            if dep and (role, dep) not in have:
                created.append(
                    (f"{prefix}_{dep_def.code}", [role], dep, f"{dep_def.label}{ROLES[role]}")
                )
    from .walk import flow_role_accounts

    for username, roles, dep_code, name in flow_role_accounts(flow.definition):
        dep = flow.departments.get(dep_code) if dep_code else None
        if not all(any(code == r and (d == dep or not dep) for code, d in have) for r in roles):
            created.append((f"gen_{username}", roles, dep, f"{name}（生成）"))
    for username, roles, dep, name in created:
        if User.objects.filter(username=username).exists():
            continue
        u = User(username=username, department_id=dep, display_name=name)
        u.set_unusable_password()
        u.save()
        u.roles.set(roles)
        users.append(u)
    staff = Staff(departments={v: k for k, v in flow.departments.items()})
    for u in User.objects.filter(is_active=True).prefetch_related("roles").order_by("pk"):
        entry = (u.pk, str(u), u.department_id)
        staff.usernames.append(u.username)
        staff.roles[u.pk] = frozenset(r.code for r in u.roles.all())
        staff.names[u.pk] = u.username
        staff.user_departments[u.pk] = u.department_id
        for r in u.roles.all():
            staff.by_role.setdefault(r.code, []).append(entry)
            if u.department_id:
                staff.by_role_dept.setdefault((r.code, u.department_id), []).append(entry)
    return staff


# --- one case -------------------------------------------------------------------------------------


def _local(t: datetime) -> datetime:
    return t.astimezone(SHANGHAI)


def _utc_iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


@dataclass
class Ids:
    complaint: int = 0
    party: int = 0
    event: int = 0
    task: int = 0
    clock: int = 0
    attachment: int = 0


@dataclass
class Rows:
    complaints: list = field(default_factory=list)
    parties: list = field(default_factory=list)
    events: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    clocks: list = field(default_factory=list)
    attachments: list = field(default_factory=list)
    facts: list = field(default_factory=list)
    clock_facts: list = field(default_factory=list)
    search: list = field(default_factory=list)


class WalkFacts:
    """A walked case as conditions read it (engine.CaseFacts reads the same from the database)."""

    closing_department: str | None = None

    def __init__(self, walk: CaseWalk):
        self.w = walk

    def value(self, ref: str):
        w = self.w
        if ref.startswith("fields."):
            return w.sector.get(ref[7:])
        match ref:
            case "channel" | "complexity" | "severity" | "flags" | "round":
                return getattr(w, ref)
            case "anonymous":
                return w.anonymous
            case "category":
                return w.category_code
            case "department":
                return w.g.staff.departments.get(w.department_id)
            case "first_department":
                return w.g.staff.departments.get(w.first_department_id)
            case "received_at":
                return w.received_at
            case "registered_at":
                return w.t_registered
            case "now":
                return w.now
            case "contact":
                return w.contact
            case "attachments":
                return w.attachments
        raise KeyError(ref)

    def happened(self, action: str, any_round: bool) -> bool:
        r = self.w.round
        return any(e["action"] == action and (any_round or e["round"] == r) for e in self.w.events)

    def tasks(self, group):
        w = self.w
        codes = w.g.staff.departments
        names = w.g.department_names
        return [
            (names[t["department_id"]],
             t["state"] != "open" or codes.get(t["department_id"]) == self.closing_department)
            for t in w.tasks
            if t["round"] == w.round and (group is None or t["group"] == group)
        ]  # fmt: skip


class CaseWalk:
    """One case, walked through its flow as the engine would apply each action."""

    def __init__(self, gen: Generator, received_at: datetime, reg_at: datetime, seq: int):
        self.g = gen
        self.f = gen.flow
        self.rng = gen.rng
        self.received_at = received_at
        self.t = reg_at
        self.state = self.f.definition.initial_state.name
        self.version = 1
        self.category_id = None
        self.category_code = None
        self.department_id = None
        self.first_department_id = None
        self.round = 1
        self.complexity, self.severity = "general", "normal"
        self.flags: list[str] = []
        self.facts = WalkFacts(self)
        self.closed_at = None
        self.events: list[dict] = []
        self.done_actions: set[str] = set()
        self.tasks: list[dict] = []
        self.clocks: list[dict] = []
        self.attachments = 0
        self.blocked: set[str] = set()  # steps the engine would refuse in the current state
        self.sector: dict = {}
        self.contact = False
        self.t_registered = self.now = reg_at
        self.pk = gen.ids.complaint = gen.ids.complaint + 1
        self.seq = seq

    # --- events and clocks ----------------------------------------------------------------------

    def _event(self, action, label, frm, to, at, *, actor=None, actor_name="系统", via="system",
               payload=None, visibility="internal", public_label="", comment="") -> dict:  # fmt: skip
        ids = self.g.ids
        ids.event += 1
        e = {
            "id": ids.event,
            "complaint_id": self.pk,
            "action": action,
            "label": label,
            "from_state": frm,
            "to_state": to,
            "actor_id": actor,
            "actor_name": actor_name,
            "via": via,
            "payload": payload or {},
            "comment": comment,
            "visibility": visibility,
            "public_label": public_label,
            "round": self.round,
            "created_at": at,
        }
        self.events.append(e)
        return e

    def _schedule(self, clock: dict, at: datetime, amount: float, d: ClockDef) -> None:
        cal = self.g.cal
        unit = clock["unit"]
        amt = round(amount) if unit in ("calendar_days", "working_days") else amount
        result = workdays.resume(unit, at, amt, calendar=cal)
        clock["basis_at"], clock["basis_amount"] = at, amount
        clock["due_at"], clock["provisional"] = result.at, result.provisional
        if d is not None and d.warn_before:
            lead = amount - d.warn_before
            if lead <= 0:
                clock["warn_at"] = at
            else:
                lead = round(lead) if unit in ("calendar_days", "working_days") else lead
                clock["warn_at"] = workdays.resume(unit, at, lead, calendar=cal).at
        else:
            clock["warn_at"] = None

    def _start_clock(self, d: ClockDef, at: datetime, due: datetime | None = None) -> dict:
        self.g.ids.clock += 1
        clock = {
            "id": self.g.ids.clock,
            "complaint_id": self.pk,
            "name": d.name,
            "label": d.label,
            "basis": d.basis,
            "unit": d.unit,
            "amount": d.amount or 0,
            "state": "running",
            "started_at": at,
            "paused_at": None,
            "remaining": None,
            "extended": 0.0,
            "warned_at": None,
            "breached_at": None,
            "stopped_at": None,
            "_def": d,
        }
        if due is not None:  # a date a person set: the exact hours left, as the engine keeps it
            clock["unit"], clock["amount"] = "hours", (due - at).total_seconds() / 3600
            self._schedule(clock, at, clock["amount"], None)
        else:
            self._schedule(clock, at, d.amount, d)
        self.clocks.append(clock)
        return clock

    def _sweep(self, until: datetime) -> None:
        """What the worker's sweep writes between now and `until`: breaches before warnings."""
        while True:
            due = []
            for c in self.clocks:
                if c["state"] != "running":
                    continue
                if c["breached_at"] is None:
                    at = self.g.next_sweep(max(c["due_at"], c["basis_at"]))
                    if at < until:
                        due.append((at, 0, c))
                if c["warn_at"] is not None and c["warned_at"] is None:
                    at = self.g.next_sweep(max(c["warn_at"], c["basis_at"]))
                    if at < until and at < c["due_at"]:  # past due: the breach is the one message
                        due.append((at, 1, c))
            if not due:
                return
            at, kind, c = min(due, key=lambda x: (x[0], x[1], x[2]["id"]))
            payload = {"clock": c["name"], "due": _utc_iso(c["due_at"])}
            if kind == 0:
                c["breached_at"] = at
                if c["warned_at"] is None:  # as clocks.services._fire: no warning after a breach
                    c["warned_at"] = at
                self._breach(c, at)
            else:
                c["warned_at"] = at
                self._event("clock_warning", f"时限预警：{c['label']}", self.state, self.state,
                            at, payload=payload)  # fmt: skip

    def _breach(self, c: dict, at: datetime, reason: str = "") -> None:
        """What the sweep's (or a late start's) breach writes: the event, and the escalation."""
        d = c["_def"]
        payload = {"clock": c["name"], "due": _utc_iso(c["due_at"])}
        self._event("clock_breached", f"超时：{c['label']}", self.state, self.state, at,
                    payload=payload, comment=reason)  # fmt: skip
        if "escalate" in d.on_breach:
            self._event("escalated", "超时上报领导", self.state, self.state, at,
                        payload={"clock": c["name"]})  # fmt: skip

    def _start_clocks(self, starting: str, at: datetime, form: dict | None, live: dict) -> None:
        """The clocks `starting` starts, as clocks.services decides; past due at once: breached."""
        new = []
        for d, origin, due in clock_rules.starting_clocks(
            self.f.definition, starting, facts=self.facts, received_at=self.received_at,
            action_at=at, fields=self.sector, form=form,
        ):  # fmt: skip
            if d.name in live:
                continue
            live[d.name] = clock = self._start_clock(d, origin, due)
            new.append(clock)
        for c in new:
            if c["due_at"] <= at:
                c["breached_at"] = c["warned_at"] = at
                started = _local(c["started_at"]).strftime("%Y-%m-%d %H:%M")
                self._breach(c, at, f"自 {started} 起算，开始计时时已超过期限")

    def _clock_hooks(self, step: Step, at: datetime, form: dict, closing: bool) -> None:
        live = {c["name"]: c for c in self.clocks if c["state"] != "stopped"}
        if closing:  # a closed case keeps no clock running
            for c in live.values():
                c["state"], c["stopped_at"] = "stopped", at
            return
        for d, stop, pause, resume in step.clock_ops:
            clock = live.get(d.name)
            if clock and stop:
                clock["state"], clock["stopped_at"] = "stopped", at
                live.pop(d.name)
            elif clock and pause and clock["state"] == "running":
                clock["remaining"] = workdays.remaining(
                    clock["unit"], at, clock["due_at"], calendar=self.g.cal
                )
                clock["state"], clock["paused_at"] = "paused", at
            elif clock and resume and clock["state"] == "paused":
                self._schedule(clock, at, clock["remaining"], d)
                clock["state"], clock["paused_at"], clock["remaining"] = "running", None, None
        a = step.action
        for starting in (a.name, "reopened") if a.reopen else (a.name,):
            self._start_clocks(starting, at, form, live)

    def _notify(self, notes, at: datetime, form: dict | None = None) -> None:
        """The `notified` events the engine writes (the messages themselves are not generated)."""
        for note in notes:
            if rules_of_the_engine.applies(note.when, self.facts, form):
                self._event("notified", f"已通知：{note.text}"[:100], self.state, self.state, at,
                            payload={"roles": list(note.roles), "text": note.text})  # fmt: skip

    # --- choosing -------------------------------------------------------------------------------

    def _task_departments(self) -> set[int]:
        return {t["department_id"] for t in self.tasks if t["state"] == "open"}

    def _actors(self, step: Step) -> list[tuple[int | None, str, int | None]]:
        """Who may take the step now, as engine.role_allows decides (cached: few combinations)."""
        departments = frozenset({self.department_id, *self._task_departments()} - {None})
        key = (id(step), departments)
        staff = self.g.actor_cache.get(key)
        if staff is None:
            staff = []
            for role in step.staff_roles:
                if role in DEPARTMENTAL_ROLES:
                    for dep in sorted(departments):
                        staff += self.g.staff.by_role_dept.get((role, dep), [])
                else:
                    staff += self.g.staff.by_role.get(role, [])
            self.g.actor_cache[key] = staff
        if step.by_complainant:
            staff = [*staff, (None, self.complainant_name, None)]
        when = step.action.when
        if when is None:
            return staff
        if not step.actor_condition:
            return staff if conditions.holds(when, self.facts) else []
        return [a for a in staff if conditions.holds(when, self.facts, self._actor(a))]

    def _actor(self, actor) -> conditions.Actor:
        user_id, _, dept = actor
        roles = self.g.staff.roles.get(user_id, frozenset({COMPLAINANT}))
        return conditions.Actor(roles=roles, department=self.g.staff.departments.get(dept))

    def _choose(self, steps_taken: int):
        options = []
        for step in self.f.steps[self.state]:
            if step.action.name in self.blocked:
                continue
            w = step.weight
            name = step.action.name
            if step.action.to is None and name in self.done_actions:
                w *= 0.1  # a record made once is seldom made again
            if name in self.f.rules.reopen:
                w *= 0.35**self.reopens
            if steps_taken > 22:
                target = step.action.to or self.state
                if self.f.distance.get(target, 99) >= self.f.distance.get(self.state, 99):
                    continue
            actors = self._actors(step)
            if not actors or w <= 0:
                continue
            options.append((step, actors, w))
        if not options:
            return None
        total = sum(o[2] for o in options)
        x = self.rng.random() * total
        for step, actors, w in options:
            x -= w
            if x <= 0:
                return step, self.rng.choice(actors)
        return options[-1][0], self.rng.choice(options[-1][1])

    # --- forms ----------------------------------------------------------------------------------

    def _value(self, f: FieldDef, at: datetime, force: bool = False):
        rng = self.rng
        g = self.g
        required = f.required or force
        if not required and f.type not in ("boolean", "category") and rng.random() < 0.35:
            return None
        match f.type:
            case "text":
                if f.name in RESPONDENT_FIELDS:
                    return g.respondent(f.name)
                if "number" in f.name:
                    return f"{at.year}-{rng.randint(1, 9999):04d}"
                return f"{rng.choice(SURNAMES)}某"[: f.effective_max_length]
            case "textarea":
                return rng.choice(REMARKS)
            case "integer":
                if "amount" in f.name or "compensation" in f.name:
                    return rng.choice([500, 800, 1000, 2000, 3000, 5000, 10000, 20000, 50000])
                return rng.randint(1, 200)
            case "boolean":
                return True if required else rng.random() < 0.8
            case "choice":
                if f.name == "satisfaction":
                    values = [c.value for c in f.choices]
                    if "satisfied" in values and "basically_satisfied" in values:
                        return "satisfied" if rng.random() < 0.72 else "basically_satisfied"
                    return values[0]
                if f.name == "outcome":
                    w = _zipf(len(f.choices), 0.8)
                    return rng.choices([c.value for c in f.choices], weights=w)[0]
                return rng.choice(f.choices).value
            case "multichoice":
                k = rng.randint(1, min(3, len(f.choices)))
                chosen = set(rng.sample(range(len(f.choices)), k))
                return [c.value for i, c in enumerate(f.choices) if i in chosen]
            case "date":
                return (_local(at).date() - timedelta(days=rng.randint(0, 10))).isoformat()
            case "datetime":
                return _local(at).replace(second=0, microsecond=0).isoformat()
            case "category":
                if not required and rng.random() < 0.1:
                    return None
                if self.category_code and rng.random() < 0.92:
                    return self.category_code
                return g.category_code()
            case "department":
                if not self.f.departments or (not required and rng.random() < 0.85):
                    return None
                return rng.choice(list(self.f.departments))
            case "departments":
                codes = list(self.f.departments)
                by_id = {v: k for k, v in self.f.departments.items()}
                first = by_id.get(self.department_id) or rng.choice(codes)
                others = [c for c in codes if c != first]
                return [first, *rng.sample(others, k=min(len(others), rng.choice([0, 0, 1, 2])))]
            case "users":
                staff = g.staff
                eligible = [
                    staff.names[uid]
                    for uid, roles in staff.roles.items()
                    if roles & set(f.roles)
                    and (
                        not f.same_department
                        or staff.user_departments.get(uid) == self.department_id
                    )
                ]
                k = max(1, f.min_items or 0)
                if len(eligible) < k:
                    return None
                return rng.sample(eligible, k=k)
        return None

    def _form(self, step: Step, at: datetime, actor) -> dict | None:
        """The form as the engine would clean it; None when a required field cannot be filled."""
        payload = {}
        for f in step.action.form:
            v = self._value(f, at)
            if v is None or v == "" or v == []:
                if f.required:
                    return None
                continue
            payload[f.name] = v
        for f in step.action.form:  # the lead department, named explicitly
            if f.type == "departments" and f.lead and payload.get(f.name):
                if len(payload[f.name]) > 1 or f.lead in payload:
                    payload[f.lead] = self.rng.choice(payload[f.name])
        return payload

    # --- applying -------------------------------------------------------------------------------

    def _payload(self, step: Step, actor, at: datetime) -> dict | None:
        """A form the engine would accept for this action now, or None when none can be made."""
        a = step.action
        actor_cond = self._actor(actor)
        for _ in range(3):
            payload = self._form(step, at, actor)
            if payload is None:
                return None
            for f in a.form:  # fields a condition makes required now
                if f.required_when is not None and f.name not in payload:
                    if conditions.holds(f.required_when, self.facts, actor_cond, payload):
                        v = self._value(f, at, force=True)
                        if v in (None, "", []):
                            return None
                        payload[f.name] = v
            self.facts.closing_department = actor_cond.department if a.tasks.close else None
            try:
                ok = all(conditions.holds(c, self.facts, actor_cond, payload) for c in a.require)
            finally:
                self.facts.closing_department = None
            if ok:
                return payload
        return None

    def _apply(self, step: Step, actor, at: datetime) -> bool:
        """Take the step as the engine would; False (nothing written) where the engine would
        refuse it: no form satisfies its conditions, or nobody could act afterwards."""
        a = step.action
        user_id, actor_name, actor_dept = actor
        payload = self._payload(step, actor, at)
        if payload is None:
            return False
        # Attribute changes, as engine._attribute_changes.
        category_id, category_code, department_id = (
            self.category_id, self.category_code, self.department_id
        )  # fmt: skip
        explicit = lead = None
        chosen: list[int] = []
        for f in a.form:
            value = payload.get(f.name)
            if not value:
                continue
            if f.type == "category":
                cat_id, cat_dep = self.f.categories[value]
                category_id, category_code = cat_id, value
                if cat_dep:
                    department_id = cat_dep
            elif f.type == "departments":
                chosen = [self.f.departments[c] for c in value]
                lead = self.f.departments[payload[f.lead]] if f.lead in payload else chosen[0]
            elif f.type == "department" and not any(x.lead == f.name for x in a.form):
                explicit = self.f.departments[value]
        if lead or explicit:
            department_id = lead or explicit
        open_now = self._task_departments()
        try:
            tasks = rules_of_the_engine.task_changes(
                a, case_department_id=department_id, chosen=chosen, lead_id=lead,
                actor_department_id=actor_dept, open_department_ids=open_now,
            )  # fmt: skip
        except Invalid:
            return False
        frm, to = self.state, rules_of_the_engine.target_state(a, self.state)
        remaining = set() if tasks.close_all else open_now - {tasks.close_department}
        if rules_of_the_engine._nobody_could_act(
            self.f.definition, to, department_id, bool(remaining or tasks.open)
        ):
            return False
        while step.attachments > self.attachments:
            self._attach(at - timedelta(seconds=1), actor)
        self.category_id, self.category_code, self.department_id = (
            category_id, category_code, department_id
        )  # fmt: skip
        if a.set.complexity:
            self.complexity = a.set.complexity
        if a.set.severity:
            self.severity = a.set.severity
        if a.set.flags_add or a.set.flags_remove:
            kept = [x for x in self.flags if x not in a.set.flags_remove]
            self.flags = kept + [x for x in a.set.flags_add if x not in kept]
        if a.reopen:
            self.round += 1
        if to in self.f.closed and frm not in self.f.closed:
            self.closed_at = at
        elif to not in self.f.closed and self.closed_at:
            self.closed_at = None
        self.state, self.version, self.updated_at = to, self.version + 1, at
        event = self._event(
            a.name,
            a.label,
            frm,
            to,
            at,
            actor=user_id,
            actor_name=actor_name,
            via="portal" if user_id is None else "web",
            payload=payload,
            visibility=a.visibility,
            public_label=a.public_label,
        )
        self.done_actions.add(a.name)
        if a.name in self.f.rules.reopen:
            self.reopens += 1
        self._tasks(step, tasks, event)
        self._clock_hooks(step, at, payload, to in self.f.closed and frm not in self.f.closed)
        self._notify(a.notify, at, payload)
        return True

    def _tasks(self, step: Step, tasks, event: dict) -> None:
        a = step.action
        now = event["created_at"]
        for t in self.tasks:
            if t["state"] == "open" and (
                tasks.close_all or t["department_id"] == tasks.close_department
            ):
                t["state"], t["closed_at"], t["closed_by_id"] = "done", now, event["id"]
        if any(lead for _, lead in tasks.open):  # as the engine: the new lead replaces the old
            for t in self.tasks:
                if t["state"] == "open" and t["group"] == (a.tasks.group or "") and t["is_lead"]:
                    t["is_lead"] = False
        for dep, lead in tasks.open:
            self.g.ids.task += 1
            self.tasks.append(
                {
                    "id": self.g.ids.task,
                    "complaint_id": self.pk,
                    "department_id": dep,
                    "kind": a.tasks.kind,
                    "group": a.tasks.group or "",
                    "round": self.round,
                    "state": "open",
                    "is_lead": lead,
                    "opened_at": now,
                    "closed_at": None,
                    "opened_by_id": event["id"],
                    "closed_by_id": None,
                }
            )

    def _attach(self, at: datetime, actor) -> None:
        g = self.g
        g.ids.attachment += 1
        self.attachments += 1
        user_id, actor_name, _ = actor
        g.rows.attachments.append(
            {
                "id": g.ids.attachment,
                "complaint_id": self.pk,
                "file": g.sample_file,
                "original_name": "书面材料.pdf",
                "content_type": "application/pdf",
                "size": len(g.sample_pdf),
                "sha256": g.sample_sha256,
                "kind": "evidence",
                "is_public": False,
                "uploaded_by_id": user_id,
                "created_at": at,
            }
        )
        e = self._event("attachment_added", "上传附件", self.state, self.state, at, actor=user_id,
                        actor_name=actor_name, via="web",
                        payload={"attachment": g.ids.attachment, "name": "书面材料.pdf",
                                 "size": len(g.sample_pdf)})  # fmt: skip
        g.attachment_events.append(e)  # its payload names the attachment's id: patched on writing

    # --- the whole case -------------------------------------------------------------------------

    _departmental_registrar = False

    def _registrar(self):
        """Who registers at the counter: a receiver, or — where the flow lets departments register
        the complaints they receive first — now and then a department's own staff."""
        g, rng = self.g, self.rng
        roles = self.f.definition.registration.roles
        departmental = [r for r in roles if r in DEPARTMENTAL_ROLES]
        if departmental and rng.random() < 0.25:
            staff = [
                s for r in departmental for s in g.staff.by_role.get(r, []) if s[2] is not None
                and not (g.staff.roles[s[0]] & (set(roles) - DEPARTMENTAL_ROLES))
            ]  # fmt: skip
            if staff:
                self._departmental_registrar = True
                return rng.choice(staff)
        for role in ("receiver", *roles):
            if role not in DEPARTMENTAL_ROLES and g.staff.by_role.get(role):
                return rng.choice(g.staff.by_role[role])
        return None

    def run(self) -> None:
        g, rng, f = self.g, self.rng, self.f
        d = f.definition
        self.reopens = 0
        self.updated_at = self.t
        channels = [c.value for c in d.channels] or ["phone"]
        self.channel = rng.choices(channels, weights=[CHANNEL_WEIGHTS.get(c, 2) for c in channels])[
            0
        ]
        if rng.random() < 0.6 and f.category_codes:
            code = g.category_code()
            self.category_code = code
            self.category_id, self.department_id = f.categories[code]
        content = rng.choice(f.texts)
        self.anonymous = d.allow_anonymous and rng.random() < 0.08
        parties, sector = g.parties_and_fields(self)
        self.sector = sector
        self.contact = any(
            p["role"] == "complainant" and (p["phone"] or p["address"]) for p in parties
        )
        self.complainant_name = next(
            (p["name"] for p in parties if p["role"] == "complainant" and p["name"]),
            "匿名投诉人" if self.anonymous else "投诉人",
        )
        portal = self.channel == "web" and rng.random() < 0.7
        receiver = None if portal else self._registrar()
        reg_user = receiver[0] if receiver else None
        reg_name = receiver[1] if receiver else self.complainant_name
        if receiver and self._departmental_registrar:  # 首诉负责制
            self.department_id = self.first_department_id = receiver[2]
        channel = d.channel(self.channel)
        if channel and channel.department and channel.department in f.departments:
            self.department_id = f.departments[channel.department]
        created = self._event(
            "created",
            "登记",
            "",
            self.state,
            self.t,
            actor=reg_user,
            actor_name=reg_name,
            via="portal" if portal else "web",
            payload={"channel": self.channel},
            visibility=Event.PUBLIC,
            public_label="投诉已登记",
        )
        if g.trace is not None:
            g.trace.append(
                {
                    "pk": self.pk,
                    "channel": self.channel,
                    "content": content,
                    "parties": parties,
                    "fields": sector,
                    "category": self.category_code,
                    "received_at": self.received_at,
                    "registered_at": self.t,
                    "user": reg_user,
                    "via": "portal" if portal else "web",
                    "actor_name": reg_name,
                    "is_anonymous": self.anonymous,
                }
            )
        self._start_clocks("created", self.t, None, {})
        self._notify(d.registration.notify, self.t)
        # The walk.
        pace = rng.lognormvariate(-0.35, 0.55)
        diligent = rng.random() >= SLOW_SHARE
        if not diligent:
            pace *= rng.uniform(3, 7)
        t = self.t
        for taken in range(MAX_STEPS):
            if self.state in f.final:
                break
            if self.state in f.closed and rng.random() < 0.3:
                break  # closed, not yet archived
            choice = self._choose(taken)
            if choice is None:
                break
            step, actor = choice
            mean = step.hours * pace
            urgent = False
            if diligent:
                # Staff watch the clocks: with a deadline near, the next steps come sooner.
                for c in self.clocks:
                    if c["state"] != "running":
                        continue
                    left = (c["due_at"] - t).total_seconds() / 3600
                    if step.action.name in c["_def"].stop:
                        k = 0
                    else:
                        k = f.stop_distance[c["name"]].get(step.action.to or self.state)
                    # Aim to finish in about half the time left, as a careful office does.
                    if left > 0 and k is not None and left / (2 * k + 3) < mean:
                        mean, urgent = left / (2 * k + 3), c["unit"] in ("hours", "working_hours")
            # Diligent staff are regular (gamma, CV 0.5); the slow cases have a long tail.
            spread = rng.gammavariate(4, 0.25) if diligent else rng.expovariate(1.0)
            t = t + timedelta(hours=spread * mean + 0.05)
            if actor[0] is not None and not (urgent and rng.random() < 0.92):
                t = g.working_time(t)  # office hours, unless a deadline in hours is near (值班)
            if t >= g.end:
                break
            self._sweep(t)
            self.now = t
            if self._apply(step, actor, t):
                self.blocked = set()
            else:
                self.blocked.add(step.action.name)  # the engine would refuse it: choose again
        self._sweep(g.end)
        self._emit(created, parties, sector, content)

    def _emit(self, created, parties, sector, content) -> None:
        g, rows = self.g, self.g.rows
        tracking = f"{_local(self.t):%Y%m%d}"  # the day: numbered in order when written
        title = content[:40]
        rows.complaints.append(
            {
                "id": self.pk,
                "tracking_number": tracking,
                "access_code_hash": g.access_hash(),
                "process_id": self.f.process.pk,
                "state": self.state,
                "version": self.version,
                "channel": self.channel,
                "title": title,
                "content": content,
                "request": "",
                "category_id": self.category_id,
                "department_id": self.department_id,
                "first_department_id": self.first_department_id,
                "round": self.round,
                "complexity": self.complexity,
                "severity": self.severity,
                "flags": self.flags,
                "fields": sector,
                "is_anonymous": self.anonymous,
                "received_at": self.received_at,
                "created_at": self.t,
                "updated_at": self.updated_at,
                "closed_at": self.closed_at,
                "created_by_id": created["actor_id"],
            }
        )
        for p in parties:
            g.ids.party += 1
            rows.parties.append({"id": g.ids.party, "complaint_id": self.pk, **p})
        rows.events += self.events
        rows.tasks += self.tasks
        for c in self.clocks:
            rows.clocks.append({k: v for k, v in c.items() if k != "_def"})
        values = facts.case_values(
            rules=self.f.rules,
            calendar=g.cal,
            process_id=self.f.process.pk,
            received_at=self.received_at,
            closed_at=self.closed_at,
            state=self.state,
            department_id=self.department_id,
            category_id=self.category_id,
            channel=self.channel,
            fields=sector,
            parties=[(p["role"], p["name"], p["phone"], p["id_number"]) for p in parties],
            events=[(e["action"], e["payload"]) for e in self.events],
        )
        rows.facts.append({"complaint_id": self.pk, "repeat": False, **values})
        rows.clock_facts += [
            {"complaint_id": self.pk, **cf}
            for cf in facts.clock_values(
                values,
                [
                    (c["id"], c["name"], c["state"], c["due_at"], c["stopped_at"], c["breached_at"])
                    for c in self.clocks
                ],
            )
        ]
        if g.search:
            # search.document() of the case; the tracking number's tokens are added when written.
            doc = g.search.body(
                self.f.definition,
                title=title,
                content=content,
                fields=sector,
                people=parties,
            )
            rows.search.append((self.pk, doc))


# --- the generator --------------------------------------------------------------------------------


class Generator:
    """What the walks of one run share: the flow, the staff, the calendar, the end of time. Each
    batch of cases is simulated with its own random stream (seed, batch number), so the result
    does not depend on how many processes simulate."""

    def __init__(self, flow: Flow, staff: Staff, seed: int, end: datetime, cal):
        self.flow, self.staff, self.seed, self.end, self.cal = flow, staff, seed, end, cal
        self.rng = random.Random(seed)
        self.ids = Ids()
        self.rows = Rows()
        self.attachment_events: list[dict] = []
        self.sample_pdf = (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
            b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        )
        self.sample_sha256 = hashlib.sha256(self.sample_pdf).hexdigest()
        self.sample_file = "generated/sample-evidence.pdf"
        self.search = None
        self.trace: list | None = None
        self.phones: list[str] = []
        n = len(flow.category_codes)
        self._cat_cum = list(accumulate(flow.category_weights)) if n else []
        self._resp_cache: dict[str, tuple[list[str], list[float]]] = {}
        self.actor_cache: dict = {}
        self.department_names = dict(
            Department.objects.filter(pk__in=flow.departments.values()).values_list("pk", "name")
        )

    def next_sweep(self, at: datetime) -> datetime:
        """The worker sweeps every SWEEP_INTERVAL seconds: whatever fell due since the last sweep
        fires at the next one, breaches before warnings."""
        us = SWEEP_INTERVAL * 1_000_000
        stamp = int((at - _EPOCH) / timedelta(microseconds=1))
        return _EPOCH + timedelta(microseconds=(stamp // us + 1) * us + 7_000_000)

    def working_time(self, t: datetime) -> datetime:
        """Staff act in office hours on working days."""
        local = _local(t)
        if 8 <= local.hour < 18 and self.cal.is_workday(local.date()):
            return t
        day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
        day = self.cal.add_workdays(day, 0).date
        start = datetime(day.year, day.month, day.day, 8, 30, tzinfo=SHANGHAI)
        return start + timedelta(minutes=self.rng.randint(0, 150))

    def category_code(self) -> str:
        x = self.rng.random() * self._cat_cum[-1]
        return self.flow.category_codes[bisect_left(self._cat_cum, x)]

    def respondent(self, name: str) -> str:
        pool = RESPONDENT_POOLS.get(name)
        if name == "involved_department" or not pool:
            pool = [d.label for d in self.flow.definition.departments] or ["（未知）"]
        cum = self._resp_cache.get(name)
        if cum is None:
            order = list(pool)
            random.Random(len(order)).shuffle(order)
            cum = self._resp_cache[name] = (order, list(accumulate(_zipf(len(order), 1.0))))
        order, c = cum
        return order[bisect_left(c, self.rng.random() * c[-1])]

    def access_hash(self) -> str:
        # A real salted hash of a code nobody is told: the code comes from the seeded generator
        # rather than `secrets` (the operating system's randomness costs more than the case).
        code = "".join(self.rng.choices(ACCESS_CODE_ALPHABET, k=8))
        return hash_access_code(code, salt=f"{self.rng.getrandbits(64):016x}")

    def _phone(self) -> str:
        rng = self.rng
        if self.phones and rng.random() < 0.1:
            # A complainant who complained before (most recent callers more likely).
            i = len(self.phones) - 1 - min(int(rng.expovariate(1 / 2000)), len(self.phones) - 1)
            return self.phones[i]
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"
        self.phones.append(phone)
        if len(self.phones) > 200000:
            del self.phones[:100000]
        return phone

    def _person(self) -> dict:
        rng = self.rng
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        ident = ""
        if self.flow.definition.name in ("hospital", "tourism-authority", "supervision-report"):
            if rng.random() < 0.4:
                born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))
                ident = f"{rng.randint(110000, 659000)}{born:%Y%m%d}{rng.randint(0, 999):03d}"
                ident += rng.choice("0123456789X")
        return {
            "role": "complainant",
            "kind": "person",
            "name": name,
            "phone": self._phone(),
            "id_number": ident,
            "address": "",
            "nationality": "",
            "relation": "",
            "extra": {},
        }

    def parties_and_fields(self, case: CaseWalk) -> tuple[list[dict], dict]:
        rng, d = self.rng, self.flow.definition
        field_names = {f.name for f in d.fields}
        collective = rng.random() < 0.015
        parties = []
        if not case.anonymous:
            count = (
                rng.randint(5, 8) if collective and "complainant_count" not in field_names else 1
            )
            parties = [self._person() for _ in range(count)]
        sector = {}
        for f in d.fields:
            if f.name == "complainant_count":
                if collective:
                    sector[f.name] = rng.randint(4, 30)
                elif rng.random() < 0.5:
                    sector[f.name] = rng.choice([1, 1, 1, 2, 2, 3])
            elif f.type == "boolean":
                if rng.random() < 0.5:
                    sector[f.name] = rng.random() < 0.5
            elif rng.random() < (0.85 if f.name in RESPONDENT_POOLS else 0.5) or (
                f.required_when is not None
                and conditions.holds(f.required_when, _RegistrationFacts(case))
            ):
                v = case._value(f, case.t, force=True)
                if v not in (None, "", []):
                    sector[f.name] = v
        # As registration cleans the sector form: the definition's order, unanswered left out.
        sector = {f.name: sector[f.name] for f in d.fields if f.name in sector}
        if rng.random() < 0.25:
            target = next((str(sector[n]) for n in RESPONDENT_POOLS if n in sector), "")
            parties.append(
                {
                    "role": "respondent",
                    "kind": "department",
                    "name": target or self.respondent("involved_department"),
                    "phone": "",
                    "id_number": "",
                    "address": "",
                    "nationality": "",
                    "relation": "",
                    "extra": {},
                }
            )
        return parties, sector


class _RegistrationFacts:
    """What a registration field's condition may read before the case exists."""

    def __init__(self, case: CaseWalk):
        self.case = case

    def value(self, ref: str):
        return {"channel": self.case.channel, "anonymous": self.case.anonymous}.get(ref)

    def happened(self, action, any_round):
        return False

    def tasks(self, group):
        return []


def _received_times(n: int, start: datetime, end: datetime, rng: random.Random, cal):
    """n receipt moments between start and end with seasonality, weekdays, holidays and office
    hours; sorted, as intake would see them."""
    first, last = _local(start).date(), _local(end).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    span = max(1, len(days))
    weights = []
    for i, d in enumerate(days):
        w = SEASON[d.month - 1] * WEEKDAY[d.weekday()] * (1 + 0.15 * i / span)
        if d.weekday() < 5 and not cal.is_workday(d):
            w *= 0.45  # a public holiday
        weights.append(w)
    cum = list(accumulate(weights))
    hours_cum = list(accumulate(HOUR_WEIGHTS))
    out = []
    for _ in range(n):
        d = days[bisect_left(cum, rng.random() * cum[-1])]
        h = bisect_left(hours_cum, rng.random() * hours_cum[-1])
        t = datetime(d.year, d.month, d.day, h, rng.randint(0, 59), rng.randint(0, 59),
                     rng.randint(0, 999999), tzinfo=SHANGHAI)  # fmt: skip
        if start <= t < end:
            out.append(t)
    while len(out) < n:  # the edges of the window: draw again inside it
        t = start + (end - start) * rng.random()
        out.append(t.astimezone(SHANGHAI))
    out.sort()
    return out


# --- batches: simulated (possibly in other processes), then written in order ----------------------

BATCH_TABLES = ("complaints", "parties", "events", "attachments", "tasks", "clocks", "facts",
                "clock_facts")  # fmt: skip
MODELS = {
    "complaints": Complaint,
    "parties": Party,
    "events": Event,
    "attachments": Attachment,
    "tasks": Task,
    "clocks": Clock,
    "facts": CaseFact,
    "clock_facts": ClockFact,
}
# Columns holding ids local to a batch, and the table whose id they are.
LOCAL_IDS = {
    "complaints": {"id": "complaints"},
    "parties": {"id": "parties", "complaint_id": "complaints"},
    "events": {"id": "events", "complaint_id": "complaints"},
    "attachments": {"id": "attachments", "complaint_id": "complaints"},
    "tasks": {
        "id": "tasks",
        "complaint_id": "complaints",
        "opened_by_id": "events",
        "closed_by_id": "events",
    },
    "clocks": {"id": "clocks", "complaint_id": "complaints"},
    "facts": {"complaint_id": "complaints"},
    "clock_facts": {"clock_id": "clocks", "complaint_id": "complaints"},
}
ID_TABLES = ("complaints", "parties", "events", "attachments", "tasks", "clocks")


class Encoder:
    """Rows of one model as lists of database values in the model's column order (SQLite gets
    datetimes as text in UTC, as Django stores them; JSON as text). Columns the generator does not
    know take their field's default, so a column added later does not break it."""

    def __init__(self, model, known: list[str], pg: bool):
        cols, extras = [], []
        for f in model._meta.concrete_fields:
            if f.attname in known:
                cols.append((f.column, f.attname, f.get_internal_type()))
            elif f.has_default() or f.null:
                value = f.get_default() if f.has_default() else None
                extras.append((f.column, f.get_db_prep_save(value, connection)))
            else:
                raise RuntimeError(f"{model._meta.db_table}.{f.column} 没有默认值，生成器需要更新")
        self.table = model._meta.db_table
        self.names = [c for c, _, _ in cols] + [c for c, _ in extras]
        self.position = {a: i for i, (_, a, _) in enumerate(cols)}
        self.tail = [v for _, v in extras]
        self.get = itemgetter(*[a for _, a, _ in cols])
        self.dts = [] if pg else [i for i, c in enumerate(cols) if c[2] == "DateTimeField"]
        self.jsons = [i for i, c in enumerate(cols) if c[2] == "JSONField"]

    def encode(self, rows: list[dict]) -> list[list]:
        out = []
        append, get, dts, jsons, tail, dumps = (
            out.append, self.get, self.dts, self.jsons, self.tail, json.dumps
        )  # fmt: skip
        for r in rows:
            row = list(get(r))
            for i in dts:
                v = row[i]
                if v is not None:
                    row[i] = v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            for i in jsons:
                row[i] = dumps(row[i])
            if tail:
                row += tail
            append(row)
        return out


@dataclass
class Batch:
    index: int
    tables: dict[str, list[list]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)  # the attributes each row has
    counts: dict[str, int] = field(default_factory=dict)
    attachment_events: list[tuple[int, dict]] = field(default_factory=list)  # (row, payload)
    search: list[tuple[int, str]] = field(default_factory=list)
    trace: list[dict] = field(default_factory=list)
    open_cases: int = 0


_CONTEXT: dict = {}  # the Generator and encoders, inherited by forked simulation processes


def _encoder(name: str, columns: list[str]) -> Encoder:
    encoders = _CONTEXT["encoders"]
    enc = encoders.get(name)
    if enc is None:
        enc = encoders[name] = Encoder(MODELS[name], columns, _CONTEXT["pg"])
    return enc


def _simulate(job: tuple[int, list[datetime]]) -> Batch:
    """Walk one batch of cases with ids counted from 1 (made global when written)."""
    k, times = job
    gen: Generator = _CONTEXT["generator"]
    gen.rng = random.Random(f"{gen.seed}:{k}")
    gen.ids, gen.rows, gen.attachment_events = Ids(), Rows(), []
    gen.phones = []
    trace = [] if gen.trace is not None else None
    saved_trace, gen.trace = gen.trace, trace
    batch = Batch(k)
    for received in times:
        reg = received + timedelta(seconds=gen.rng.randint(20, 600))
        if reg >= gen.end:
            reg = received
        walk = CaseWalk(gen, received, reg, 0)
        walk.run()
        if walk.closed_at is None:
            batch.open_cases += 1
    gen.trace = saved_trace
    rows = gen.rows
    position = {id(e): i for i, e in enumerate(rows.events)}
    batch.attachment_events = [(position[id(e)], e["payload"]) for e in gen.attachment_events]
    for name in BATCH_TABLES:
        data = getattr(rows, name)
        batch.counts[name] = len(data)
        if data:
            batch.columns[name] = list(data[0])
            batch.tables[name] = _encoder(name, batch.columns[name]).encode(data)
    batch.search = rows.search
    batch.trace = trace or []
    return batch


def _raw_insert(table: str, names: list[str], data: list[list]) -> None:
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        with connection.connection.cursor() as cur:
            with cur.copy(f"COPY {qn(table)} ({', '.join(qn(c) for c in names)}) FROM STDIN") as cp:
                for row in data:
                    cp.write_row(row)
    else:
        connection.connection.executemany(
            f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in names)}) "
            f"VALUES ({', '.join(['?'] * len(names))})",
            data,
        )


def _max_ids() -> dict[str, int]:
    if connection.vendor == "postgresql":
        tables = ", ".join(
            m._meta.db_table for m in (Complaint, Party, Event, Task, Clock, Attachment, Counter)
        )
        with connection.cursor() as cur:
            cur.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    out = {}
    with connection.cursor() as cur:
        for name in ID_TABLES:
            cur.execute(f"SELECT MAX(id) FROM {MODELS[name]._meta.db_table}")
            out[name] = cur.fetchone()[0] or 0
    return out


def _set_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for name in ID_TABLES:
            t = MODELS[name]._meta.db_table
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {t}), 1))"
            )


class Numbers:
    """Tracking numbers in order, continuing each day's counter (as registration would)."""

    def __init__(self):
        self.prefix = Organisation.current().tracking_prefix
        self.days: dict[str, int] = {}
        self.touched: set[str] = set()

    def next(self, day: str) -> str:
        n = self.days.get(day)
        if n is None:
            key = f"complaint:{day}"
            n = Counter.objects.filter(key=key).values_list("value", flat=True).first() or 0
        n += 1
        self.days[day] = n
        self.touched.add(day)
        return f"{self.prefix}-{day}-{n:04d}"

    def save(self) -> None:
        for day in self.touched:
            value, key = self.days[day], f"complaint:{day}"
            if not Counter.objects.filter(key=key, value__lt=value).update(value=value):
                Counter.objects.get_or_create(key=key, defaults={"value": value})
        self.touched.clear()


def _write(batch: Batch, numbers: Numbers, search) -> None:
    """Make the batch's ids global (after the tables' current maximum, under the write lock) and
    insert it; one transaction per batch."""
    encoders = {name: _encoder(name, cols) for name, cols in batch.columns.items()}
    base = _max_ids()
    for name, data in batch.tables.items():
        enc = encoders[name]
        shifts = [(enc.position[col], base[target]) for col, target in LOCAL_IDS[name].items()]
        for row in data:
            for i, shift in shifts:
                if row[i] is not None:
                    row[i] += shift
    complaints = batch.tables.get("complaints", [])
    if complaints:
        i = encoders["complaints"].position["tracking_number"]
        numbers_by_local = {}
        for row in complaints:
            row[i] = numbers.next(row[i])
            numbers_by_local[row[0]] = row[i]
    if batch.attachment_events:
        enc = encoders["events"]
        j = enc.position["payload"]
        rows = batch.tables["events"]
        for index, payload in batch.attachment_events:
            rows[index][j] = json.dumps({**payload, "attachment": payload["attachment"]
                                         + base["attachments"]})  # fmt: skip
    for name in BATCH_TABLES:
        if batch.tables.get(name):
            enc = encoders[name]
            _raw_insert(enc.table, enc.names, batch.tables[name])
    if batch.search and search:
        shift = base["complaints"]
        search.index_rows(
            [
                (pk + shift, " ".join(search.tokens(numbers_by_local[pk + shift]) + [doc]).strip())
                for pk, doc in batch.search
            ]
        )
    for t in batch.trace:
        t["pk"] += base["complaints"]
    numbers.save()


@dataclass
class Result:
    cases: int = 0
    parties: int = 0
    events: int = 0
    tasks: int = 0
    clocks: int = 0
    attachments: int = 0
    seconds: float = 0.0
    template: str = ""
    start: datetime | None = None
    end: datetime | None = None
    open_cases: int = 0
    processes: int = 1

    def __str__(self) -> str:
        return (
            f"已生成 {self.cases:,} 件投诉（{self.template}，{_local(self.start):%Y-%m-%d} 至 "
            f"{_local(self.end):%Y-%m-%d}）：当事人 {self.parties:,}，事件 {self.events:,}，"
            f"任务 {self.tasks:,}，时限 {self.clocks:,}，附件 {self.attachments:,}；"
            f"未结案 {self.open_cases:,} 件；用时 {self.seconds:.1f} 秒"
            f"（{self.cases / max(self.seconds, 1e-9):,.0f} 件/秒，{self.processes} 个进程）"
        )


def _aware(x, default: datetime) -> datetime:
    if x is None:
        return default
    if isinstance(x, datetime):
        return x if x.tzinfo else x.replace(tzinfo=SHANGHAI)
    return datetime(x.year, x.month, x.day, tzinfo=SHANGHAI)


def generate(
    n: int,
    template: str = "generic",
    *,
    seed: int = 20261127,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    batch: int = 5000,
    processes: int | None = None,
    search: bool = True,
    progress=None,
    trace: list | None = None,
) -> Result:
    """Generate `n` cases of `template` received between `start` (default: a year before `end`)
    and `end` (default: now; a date means its midnight). Batches are simulated in `processes`
    worker processes (default: one per CPU when there is more than one batch) and written in order
    by this one. Returns counts and timing."""
    import multiprocessing

    from django.db import connections

    began = time.perf_counter()
    end_at = _aware(end, timezone.now())
    start_at = _aware(start, end_at - timedelta(days=365))
    if start_at >= end_at:
        raise ValueError("start must be before end")
    process = ProcessDefinition.objects.filter(name=template, is_active=True).first()
    if process is None:
        process = install_template(template)
    if not Organisation.objects.exists():
        Organisation.objects.create(name="投诉处理中心", default_process=template)
    flow = _compile(process, random.Random(seed))
    staff = _staff(flow)
    cal = calendar()
    gen = Generator(flow, staff, seed, end_at, cal)
    gen.trace = trace  # registration inputs per case, for tests that replay through the engine
    search_module = None
    if search:
        try:
            from tousu.cases import search as search_module  # None when the index is missing

            with connection.cursor() as cur:
                if search_module.TABLE not in connection.introspection.table_names(cur):
                    search_module = None
        except ImportError:
            search_module = None
    gen.search = search_module
    sample = settings.MEDIA_ROOT / gen.sample_file
    if not sample.exists():
        sample.parent.mkdir(parents=True, exist_ok=True)
        sample.write_bytes(gen.sample_pdf)
    Organisation.current()  # cached before any fork

    times = _received_times(n, start_at, end_at, random.Random(seed), cal)
    jobs = [(k, times[lo : lo + batch]) for k, lo in enumerate(range(0, n, batch))]
    _CONTEXT.update(generator=gen, encoders={}, pg=connection.vendor == "postgresql")
    if processes is None:
        processes = min(len(jobs), os.cpu_count() or 1)
    processes = max(1, min(processes, len(jobs)))
    if connection.in_atomic_block:
        processes = 1  # forking closes this process's connections: not inside a transaction
    result = Result(template=template, start=start_at, end=end_at, processes=processes)
    numbers = Numbers()
    first_day = None

    def consume(batches):
        nonlocal first_day
        for b in batches:
            with transaction.atomic():
                if connection.vendor == "sqlite":
                    connection.cursor().execute("PRAGMA cache_size = -262144")
                _write(b, numbers, search_module)
                _set_sequences()
            if trace is not None:
                trace.extend(b.trace)
            if first_day is None and b.tables.get("facts"):
                i = _CONTEXT["encoders"]["facts"].position["received_day"]
                first_day = b.tables["facts"][0][i]
            c = b.counts
            result.cases += c["complaints"]
            result.parties += c["parties"]
            result.events += c["events"]
            result.tasks += c["tasks"]
            result.clocks += c["clocks"]
            result.attachments += c["attachments"]
            result.open_cases += b.open_cases
            if progress:
                progress(result.cases, n)

    if processes == 1:
        consume(_simulate(job) for job in jobs)
    else:
        connections.close_all()  # children must not share this process's connections
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(processes, initializer=_child_init) as pool:
            consume(pool.imap(_simulate, jobs))
    _CONTEXT.clear()
    with transaction.atomic():
        facts.mark_repeats(since_day=first_day, rollups=False)
        rollup.rebuild(since_day=first_day)  # the facts were written directly: months regrouped
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # VACUUM marks the freshly written pages all-visible, so the statistics' covering
            # indexes are read without visiting the table; it cannot run inside a transaction.
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for model in MODELS.values():
                cur.execute(f"{verb} {model._meta.db_table}")
            for table in rollup.TABLES:
                cur.execute(f"{verb} {table.name}")
        else:
            cur.execute("ANALYZE")
    result.seconds = time.perf_counter() - began
    return result


def _child_init() -> None:
    """A simulation process writes nothing: make sure it never reaches the database."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.connection = None  # inherited, not ours to close
