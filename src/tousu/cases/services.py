"""Writes on cases: registration (with idempotency) and the engine's actions."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tousu.accounts.models import Department, Organisation, User
from tousu.accounts.roles import DEPARTMENTAL_ROLES, ROLES
from tousu.db import fastinsert
from tousu.db.pipeline import pipelined
from tousu.processes import conditions
from tousu.processes.models import Category, ProcessDefinition

from . import search
from .errors import Forbidden, Invalid
from .forms import form_class, json_value, type_errors
from .hooks import clock_rules
from .models import (
    Complaint,
    Counter,
    Event,
    IdempotencyRecord,
    Party,
    hash_access_code,
    new_access_code,
)
from .signals import complaint_registered

PARTY_FIELDS = (
    "role",
    "kind",
    "name",
    "phone",
    "email",
    "id_number",
    "address",
    "nationality",
    "relation",
)


def next_counter(key: str) -> int:
    """Next value of a gap-free sequence; call inside the transaction that uses it."""
    table = Counter._meta.db_table
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {table} SET value = value + 1 WHERE key = %s RETURNING value", [key]
            )
            row = cursor.fetchone()
            if row:
                return row[0]
            try:
                with transaction.atomic():
                    Counter.objects.create(key=key, value=1)
                return 1
            except IntegrityError:
                continue  # created concurrently: the UPDATE now finds it
    raise RuntimeError(f"counter {key} unavailable")


def _tracking_number(prefix: str, at: datetime) -> str:
    day = f"{timezone.localtime(at):%Y%m%d}"
    return f"{prefix}-{day}-{next_counter(f'complaint:{day}'):04d}"


def register_complaint(
    *,
    process: ProcessDefinition,
    user: User | None,
    channel: str,
    content: str,
    title: str = "",
    request: str = "",
    parties: Sequence[Mapping[str, Any]] = (),
    fields: Mapping[str, Any] | None = None,
    category: str | None = None,
    received_at: datetime | None = None,
    is_anonymous: bool = False,
    via: str = "web",
    actor_name: str = "",
    strict_types: bool = False,
    checklist: Sequence[str] = (),
) -> tuple[Complaint, str]:
    """Register a complaint in the flow's initial state. Returns it with its access code, which is
    shown once and kept only as a hash."""
    definition = process.definition
    fields = dict(fields or {})
    first_department = _registering_department(definition, user)
    channels = {c.value for c in definition.channels}
    if channels and channel not in channels:
        raise Invalid(
            f"渠道「{channel}」无效；允许：{'、'.join(sorted(channels))}",
            {"fields": {"channel": [f"允许：{'、'.join(sorted(channels))}"]}},
        )
    if strict_types and (errors := type_errors(definition.fields, fields)):
        raise Invalid("行业字段有误", {"fields": {f"fields.{k}": v for k, v in errors.items()}})
    sector = {}
    if fields or any(
        f.required for f in definition.fields
    ):  # nothing to check when nothing was given
        form = form_class(process)(data=fields)
        if not form.is_valid():
            raise Invalid(
                "行业字段有误", {"fields": {f"fields.{k}": list(v) for k, v in form.errors.items()}}
            )
        sector = {k: json_value(v) for k, v in form.cleaned_data.items() if v not in (None, "", [])}
    if errors := _required_when_errors(definition, channel, is_anonymous, sector):
        raise Invalid("行业字段有误", {"fields": errors})
    category_obj = None
    if category:
        category_obj = Category.objects.filter(
            process_name=process.name, code=category, is_active=True
        ).first()
        if category_obj is None:
            codes = Category.objects.filter(process_name=process.name, is_active=True).values_list(
                "code", flat=True
            )
            raise Invalid(
                f"投诉类别「{category}」无效；允许：{'、'.join(codes)}",
                {"fields": {"category": ["无效的类别"]}},
            )
    # The receiver's checklist (F6) as ticked: kept on the registration event in its own words.
    items = {c.name: c.label for c in definition.checklist}
    if unknown := [n for n in checklist if n not in items]:
        raise Invalid(
            f"接待要点「{'、'.join(unknown)}」无效；允许：{'、'.join(items) or '无'}",
            {"fields": {"checklist": ["无效的接待要点"]}},
        )
    ticked = [label for name, label in items.items() if name in checklist]
    if is_anonymous and not definition.allow_anonymous:
        raise Invalid("该流程不接受匿名投诉", {"fields": {"is_anonymous": ["不允许匿名"]}})

    now = timezone.now()
    code = new_access_code()
    prefix = Organisation.current().tracking_prefix
    channel_def = definition.channel(channel)
    department_id = category_obj.department_id if category_obj else None
    if first_department:  # 首诉负责制: the case starts where it was received
        department_id = first_department
    if channel_def and channel_def.department:  # petition letters go to the president's office,
        department_id = _department_id(channel_def.department) or department_id  # whoever has them
    complaint = Complaint(
        access_code_hash=hash_access_code(code),
        process=process,
        state=definition.initial_state.name,
        channel=channel,
        title=title or content[:40],
        content=content,
        request=request,
        category=category_obj,
        department_id=department_id,
        first_department_id=first_department,
        fields=sector,
        is_anonymous=is_anonymous,
        received_at=received_at or now,
        created_by=user,
    )
    party_rows = [
        Party(complaint=complaint, **{k: p[k] for k in PARTY_FIELDS if p.get(k) is not None})
        for p in parties
    ]
    event = Event(
        complaint=complaint,
        action="created",
        label="登记",
        to_state=complaint.state,
        actor=user,
        actor_name=actor_name or (str(user) if user else "投诉人"),
        via=via,
        payload={"channel": channel, **({"checklist": ticked} if ticked else {})},
        visibility=Event.PUBLIC,
        public_label="投诉已登记",
        created_at=now,
    )
    from .engine import CaseFacts, notify_registered

    # Statutory periods run from receipt (or the date the definition names), not from the click.
    rules = clock_rules()
    clocks = rules.initial_clocks(complaint, now, CaseFacts(complaint, now, parties=party_rows))
    complaint.next_due_at = min((k.due_at for k in clocks), default=None)
    search_body = search.document(complaint, party_rows)
    # Everything above only reads; the write lock (SQLite: BEGIN IMMEDIATE) is held just for this.
    # On PostgreSQL the transaction's statements are pipelined (db/pipeline.py): the client waits
    # only where it reads a result and once before COMMIT (after-commit work runs unpipelined). A
    # database error anywhere, the receivers' included, fails the whole registration, which then
    # leaves nothing.
    with transaction.atomic(), pipelined():
        if connection.vendor == "postgresql":
            # One statement (sent with BEGIN) for the case, its number, parties, event, clocks and
            # search entry.
            day = f"{timezone.localtime(now):%Y%m%d}"
            complaint.tracking_number = ""  # the statement numbers it
            fastinsert.insert_case_pg(
                complaint,
                [*party_rows, event, *clocks],
                fk="complaint_id",
                counter_key=f"complaint:{day}",
                number_field="tracking_number",
                number_prefix=f"{prefix}-{day}-",
                also=[(search.TABLE, ["complaint_id", "body"], [search_body])],
            )
        else:
            complaint.tracking_number = _tracking_number(prefix, now)
            fastinsert.insert([complaint])
            for row in (*party_rows, event, *clocks):
                row.complaint_id = complaint.pk
            fastinsert.insert([*party_rows, event, *clocks])
            search.index_rows([(complaint.pk, f"{complaint.tracking_number} {search_body}")])
        rules.breach_if_past_due(clocks, now)
        notify_registered(complaint)
        complaint_registered.send(
            sender=Complaint,
            complaint=complaint,
            event=event,
            parties=party_rows,
            clocks=clocks,
            access_code=code,  # for the acknowledgement to the complainant (tousu.messaging)
        )
    return complaint, code


def parties_with_field_details(definition, parties, fields: dict) -> list[dict]:
    """A registration field marked `party` is also the party's detail: the respondent's name
    (投诉对象), the complainant's relation (投诉人与患者关系). Given parties' own values win.
    The registration forms (workbench, portal) call it: they ask these once, in the flow's words."""
    parties = [dict(p) for p in parties]
    for f in definition.fields:
        value = fields.get(f.name)
        if not f.party or value in (None, ""):
            continue
        text = next((c.label for c in f.choices if c.value == value), str(value))
        if f.party == "respondent" and not any(p.get("role") == "respondent" for p in parties):
            # Named, not identified: masked and counted as the field always was (not as a person).
            parties.append({"role": "respondent", "kind": "organisation", "name": text[:100]})
        elif f.party == "relation":
            for p in parties:
                if p.get("role") == "complainant" and not p.get("relation"):
                    p["relation"] = text[:50]
    return parties


def _department_id(code: str) -> int | None:
    return Department.objects.filter(code=code).values_list("pk", flat=True).first()


def _registering_department(definition, user) -> int | None:
    """Who may register is the definition's to say. Staff holding only departmental registration
    roles register the complaints they receive first: the case starts in their department."""
    if user is None:  # the complainant on the portal
        return None
    allowed = set(definition.registration.roles)
    held = set(user.role_codes) & allowed
    if not held:
        names = "、".join(ROLES.get(r, r) for r in definition.registration.roles)
        raise Forbidden(f"您的角色不能登记投诉；可以登记的角色：{names}")

    if held <= DEPARTMENTAL_ROLES:
        if not user.department_id:
            raise Invalid("您没有所属部门，不能按首诉负责制登记投诉")
        return user.department_id
    return None


def _required_when_errors(definition, channel, is_anonymous, sector) -> dict:
    """Registration fields required only in some cases (a written complaint's date …)."""

    fields = [f for f in definition.fields if f.required_when is not None]
    if not fields:
        return {}

    class _Facts:
        def value(self, ref):
            if ref.startswith("fields."):
                return sector.get(ref[7:])
            return {"channel": channel, "anonymous": is_anonymous}.get(ref)

        def happened(self, action, any_round):
            return False

        def tasks(self, group):
            return []

    return {
        f"fields.{f.name}": [f"此项必填（{conditions.describe(f.required_when)}）"]
        for f in fields
        if sector.get(f.name) in (None, "", []) and conditions.holds(f.required_when, _Facts())
    }


def creation_body(complaint: Complaint, access_code: str) -> dict:
    return {
        "id": complaint.pk,
        "tracking_number": complaint.tracking_number,
        "access_code": access_code,
        "state": complaint.state,
        "version": complaint.version,
    }


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _keystream(user: User, key: str) -> bytes:
    from django.conf import settings

    message = f"idempotency:{user.pk}:{key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, "sha256").digest()


def _sealed(body: dict, user: User, key: str) -> dict:
    """The answer kept for replays, its access code encrypted with a key only the server and the
    request's own Idempotency-Key derive: the table holds no access code in clear."""
    code = body.get("access_code", "").encode()
    cipher = bytes(a ^ b for a, b in zip(code, _keystream(user, key), strict=False)).hex()
    return {**body, "access_code": "", "access_code_sealed": cipher}


def _unsealed(body: dict, user: User, key: str) -> dict:
    cipher = bytes.fromhex(body.get("access_code_sealed", ""))
    code = bytes(a ^ b for a, b in zip(cipher, _keystream(user, key), strict=False)).decode()
    out = {k: v for k, v in body.items() if k != "access_code_sealed"}
    return {**out, "access_code": code or body.get("access_code", "")}


def register_once(
    *, key: str | None, user: User, payload: Mapping[str, Any], **kwargs
) -> tuple[int, dict]:
    """Register a complaint; with an Idempotency-Key the first answer is replayed on every retry.

    The key row is written in the same transaction as the complaint, so a crash leaves neither, and a
    concurrent retry either waits for it (the unique constraint) or finds it."""
    if not key:
        complaint, code = register_complaint(user=user, **kwargs)
        return 201, creation_body(complaint, code)
    if len(key) > 100:
        raise Invalid("Idempotency-Key 最长 100 个字符")
    print_ = fingerprint(payload)
    for _ in range(2):
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record:
            if record.fingerprint != print_:
                raise Invalid("该 Idempotency-Key 已用于内容不同的请求；请为新请求使用新的键")
            return record.status_code, _unsealed(record.body, user, key)
        try:
            with transaction.atomic():
                complaint, code = register_complaint(user=user, **kwargs)
                body = creation_body(complaint, code)
                IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    fingerprint=print_,
                    status_code=201,
                    body=_sealed(body, user, key),
                )
            return 201, body
        except IntegrityError:
            continue  # the same key won a race: replay its answer
    raise Invalid("Idempotency-Key 冲突，请重试")


def record_reveal(complaint: Complaint, user: User, *, via: str, actor_name: str = "") -> Event:
    """Unmasked personal data was shown: who, when and where is on the case's record."""
    return Event.objects.create(
        complaint=complaint,
        action="personal_data_revealed",
        label="查看未脱敏个人信息",
        from_state=complaint.state,
        to_state=complaint.state,
        actor=user,
        actor_name=actor_name or str(user),
        via=via,
    )
