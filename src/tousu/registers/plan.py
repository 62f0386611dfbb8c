"""Each register row read into the case it will make, with every problem named by sheet, row and
column and what is allowed there. Nothing here writes; `services` stores the plans.

No Django import: the template's categories, departments, channels and states arrive as a Lookups.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from tousu.processes.definition import FieldDef, ProcessDef
from tousu.workdays import SHANGHAI

from . import values
from .mapping import (
    FIELD_PREFIX,
    Layout,
    Mapping,
    Matcher,
    _value_table,
    header_key,
    is_note_row,
    synonyms,
    value_key,
    value_synonym,
)
from .reading import Sheet
from .values import Problem


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    extra: str = ""  # a category's department code


@dataclass
class Lookups:
    """What cell values are matched against: the template's and the organisation's labels."""

    categories: list[Choice]
    departments: list[Choice]
    channels: list[Choice]
    closed_state: str
    open_state: str
    now: datetime

    @classmethod
    def build(cls, definition: ProcessDef, mapping: Mapping, *, categories, departments, now):
        closed = [s for s in definition.states if s.closed and not s.final] or [
            s for s in definition.states if s.final
        ]
        states = {s.name for s in definition.states}
        closed_state = mapping.closed_state or closed[0].name
        open_state = mapping.open_state or definition.initial_state.name
        for name, what in ((closed_state, "closed_state"), (open_state, "open_state")):
            if name not in states:
                raise ValueError(
                    f"{what}「{name}」不是流程的状态；可用：{'、'.join(s.name for s in definition.states)}"
                )
        if closed_state not in definition.closed_states:
            raise ValueError(f"closed_state「{closed_state}」不是结案状态")
        if open_state in definition.closed_states:
            raise ValueError(f"open_state「{open_state}」是结案状态，不能用于未办结的投诉")
        return cls(
            categories=categories,
            departments=departments,
            channels=[Choice(c.value, c.label) for c in definition.channels],
            closed_state=closed_state,
            open_state=open_state,
            now=now,
        )


@dataclass
class Issue:
    sheet: str
    row: int  # as Excel numbers it
    column: str  # letter, "" for the row as a whole
    header: str
    value: str
    message: str
    allowed: str = ""

    def as_dict(self) -> dict:
        return self.__dict__.copy()

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」第 {self.row} 行"
        if self.column:
            where += f" {self.column} 列（{self.header}）"
        text = f"{where}：{self.message}"
        return f"{text}；允许：{self.allowed}" if self.allowed else text


@dataclass
class RowPlan:
    sheet: str
    row: int
    key: str
    original: dict[str, str]
    data: dict = field(default_factory=dict)  # what the case will hold, JSON-able
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def closed(self) -> bool:
        return bool(self.data.get("closed"))

    def digest(self) -> str:
        return hashlib.sha256(
            json.dumps(self.data, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=SHANGHAI)


def _match(choices: list[Choice], text: str, table: dict[str, str]) -> Choice | None | str:
    """A choice by the mapping's value table, its code or label, or a unique partial label
    match; "" when the table says to leave it empty."""
    key = value_key(text)
    if key in table:
        code = table[key]
        if code == "":
            return ""
        return next(
            (c for c in choices if c.code == code or value_key(c.label) == value_key(code)), None
        )
    for c in choices:
        if key in (value_key(c.code), value_key(c.label)):
            return c
    if len(key) >= 2:
        partial = [c for c in choices if key in value_key(c.label) or value_key(c.label) in key]
        if len(partial) == 1:
            return partial[0]
    return None


def _allowed(choices: list[Choice], limit: int = 30) -> str:
    labels = [c.label for c in choices[:limit]]
    more = f" 等 {len(choices)} 项" if len(choices) > limit else ""
    return "、".join(labels) + more + "（或在映射的 values 中指定）"


def _longest_word(target: str, text: str) -> str | None:
    """A value synonym (满意, 已办结 …) equal to the text or the longest one inside it."""
    exact = value_synonym(target, text)
    if exact:
        return exact
    key = value_key(text)
    best = None
    for word, code in _value_table(target).items():
        if word and word in key and (best is None or len(word) > len(best[0])):
            best = (word, code)
    return best[1] if best else None


# Columns whose text identifies a person: masked where the case page masks its parties.
PERSONAL_TARGETS = frozenset(
    {"complainant_name", "complainant_phone", "complainant_id_number", "complainant_address"}
)
DEADLINE_ALLOWED = "截止时间如 2025-03-10 17:00，或时长如 5个工作日、3天、24小时"
_DURATION = re.compile(
    r"^(\d+(?:\.\d+)?)\s*(个工作日|工作日|个自然日|自然日|天|日|个小时|小时|h)$", re.I
)


class Planner:
    def __init__(self, definition: ProcessDef, mapping: Mapping, lookups: Lookups):
        self.definition, self.mapping, self.lookups = definition, mapping, lookups
        self.fields = {FIELD_PREFIX + f.name: f for f in definition.fields}
        self.matcher = Matcher(definition)
        self._matched: dict[tuple[str, str], object] = {}

    # --- values of one kind --------------------------------------------------------------------

    def _choice(self, target: str, choices: list[Choice], raw) -> Choice | None:
        text = values.text(raw)
        if text is None:
            return None
        # A register repeats a few labels thousands of times: each is matched once.
        key = (target, text)
        if key not in self._matched:
            self._matched[key] = _match(choices, text, self.mapping.values.get(target, {}))
        found = self._matched[key]
        if found is None and target == "channel":
            code = _longest_word("channel", text)
            found = next((c for c in choices if c.code == code), None)
        if found == "":
            return None
        if found is None:
            if self.mapping.on_unknown(target) == "blank":
                raise _Blank(f"「{text}」不是已有的{_NOUN[target]}，已留空")
            raise Problem(f"「{text}」不是已有的{_NOUN[target]}", _allowed(choices))
        return found

    def _field(self, f: FieldDef, raw):
        if f.type in ("text", "textarea"):
            text = values.text(raw)
            if text and len(text) > f.effective_max_length:
                raise Problem(f"超过 {f.effective_max_length} 字（{len(text)} 字）", "更短的文字")
            return text
        if f.type == "integer":
            return values.integer(raw)
        if f.type == "boolean":
            return values.boolean(raw)
        if f.type in ("date", "datetime"):
            got = values.when(raw)
            if got is None:
                return None
            return got[0].date().isoformat() if f.type == "date" else aware(got[0]).isoformat()
        if f.type in ("choice", "multichoice"):
            text = values.text(raw)
            if text is None:
                return None
            choices = [Choice(c.value, c.label) for c in f.choices]
            parts = re.split(r"[、,，;；/]", text) if f.type == "multichoice" else [text]
            picked = []
            for part in (p.strip() for p in parts if p.strip()):
                found = _match(choices, part, self.mapping.values.get(FIELD_PREFIX + f.name, {}))
                if not found:
                    raise Problem(f"「{part}」不是「{f.label}」的选项", _allowed(choices))
                picked.append(found.code)
            return picked if f.type == "multichoice" else picked[0]
        if f.type == "category":
            c = self._choice("category", self.lookups.categories, raw)
            return c.code if c else None
        if f.type == "department":
            c = self._choice("department", self.lookups.departments, raw)
            return c.code if c else None
        if f.type == "departments":
            text = values.text(raw)
            if text is None:
                return None
            codes = []
            for part in (p.strip() for p in re.split(r"[、,，;；/]", text) if p.strip()):
                c = self._choice("department", self.lookups.departments, part)
                if c:
                    codes.append(c.code)
            return codes or None
        return values.text(raw)

    def _deadline(self, raw, received: datetime) -> dict | None:
        if values.is_blank(raw):
            return None
        text = values.normalise(values.text(raw) or "")
        m = _DURATION.match(text)
        if m:
            amount, word = float(m[1]), m[2]
            unit = (
                "working_days"
                if "工作日" in word
                else "hours"
                if "小时" in word or word.lower() == "h"
                else "calendar_days"
            )
            return {"unit": unit, "amount": amount}
        try:
            got = values.when(raw)
        except Problem:
            raise Problem(f"「{text}」不是截止时间或时长", DEADLINE_ALLOWED) from None
        moment, has_time = got
        if not has_time:  # a day: until its end
            moment = datetime.combine(moment.date(), time(23, 59, 59))
        due = aware(moment)
        if due <= received:
            raise Problem("办理时限早于来电时间", DEADLINE_ALLOWED)
        return {"due_at": due.isoformat()}

    # --- one row -------------------------------------------------------------------------------

    def row(self, sheet: Sheet, lay: Layout, r: int) -> RowPlan | None:
        """The plan of sheet row r (0-based); None for a blank, note or repeated-header row."""
        cells = sheet.rows[r]
        texts = [values.text(v) or "" for v in cells]
        mapped = [texts[c.index] if c.index < len(texts) else "" for c in lay.mapped]
        if not any(mapped):
            return None
        if is_note_row(texts):
            return None
        header_keys = {c.key for c in lay.columns} | {c.sub for c in lay.columns if c.sub}
        if sum(1 for t in mapped if header_key(t) in header_keys) >= max(2, len(mapped) // 2):
            return None  # the header repeated (two tables pasted one under the other)
        filled = [t for t in mapped if t]
        if len(filled) >= 2 and all(self.matcher.candidates(t) for t in filled):
            return None  # a second header row (sub-headers under unmerged group headers)
        original = {
            c.header: texts[c.index] for c in lay.columns if c.index < len(texts) and texts[c.index]
        }
        plan = RowPlan(lay.sheet, r + 1, "", original)
        got: dict[str, object] = {}
        cols = {}
        for col in lay.mapped:
            raw = cells[col.index] if col.index < len(cells) else None
            cols[col.target] = col
            try:
                got[col.target] = self._value(col.target, raw)
            except _Blank as exc:
                plan.warnings.append(self._issue(plan, col, raw, str(exc)))
            except Problem as exc:
                plan.errors.append(self._issue(plan, col, raw, exc.message, exc.allowed))
            if col.also and col.also in self.fields:
                try:
                    got[col.also] = self._field(self.fields[col.also], raw)
                except Problem:
                    pass  # the column's own target reports what is wrong with it
        self._assemble(plan, got, cols)
        plan.data["personal_columns"] = [
            c.header
            for c in lay.mapped
            if c.header in original and (c.target in PERSONAL_TARGETS or self._personal(c))
        ]
        return plan

    def _personal(self, col) -> bool:
        return any(t in self.fields and self.fields[t].personal for t in (col.target, col.also))

    def _value(self, target: str, raw):
        if target in self.fields:
            return self._field(self.fields[target], raw)
        kind = _KINDS.get(target, "text")
        if kind == "when":
            return values.when(raw)
        if kind == "phone":
            return values.phone(raw)
        if kind == "money":
            amount = values.money(raw)
            return None if amount is None else str(amount)
        if kind == "choice":
            choices = {
                "category": self.lookups.categories,
                "department": self.lookups.departments,
                "channel": self.lookups.channels,
            }[target]
            c = self._choice(target, choices, raw)
            return c
        if kind == "word":
            text = values.text(raw)
            if text is None:
                return None
            code = self.mapping.values.get(target, {}).get(value_key(text)) or _longest_word(
                target, text
            )
            if code is None:
                words = "、".join(w for ws in synonyms()["values"][target].values() for w in ws[:3])
                raise Problem(f"「{text}」不是可识别的{_NOUN[target]}", words)
            return code
        if kind == "raw":
            return raw
        text = values.text(raw)
        return text.strip() if text else None

    def _issue(self, plan: RowPlan, col, raw, message: str, allowed: str = "") -> Issue:
        return Issue(
            plan.sheet, plan.row, col.letter, col.header, values.text(raw) or "", message, allowed
        )

    def _row_issue(self, plan: RowPlan, cols, target: str, message: str, allowed: str = ""):
        col = cols.get(target)
        if col is None:
            plan.errors.append(Issue(plan.sheet, plan.row, "", "", "", message, allowed))
        else:
            plan.errors.append(
                Issue(
                    plan.sheet,
                    plan.row,
                    col.letter,
                    col.header,
                    plan.original.get(col.header, ""),
                    message,
                    allowed,
                )
            )

    def _assemble(self, plan: RowPlan, got: dict, cols: dict) -> None:
        m, lk, d = self.mapping, self.lookups, plan.data
        ref = got.get("external_ref")
        serial = got.get("serial")
        plan.key = (
            str(ref) if ref else f"{plan.sheet}#{serial}" if serial else f"{plan.sheet}@{plan.row}"
        )
        d["ref"] = str(ref) if ref else ""
        received = got.get("received_at")
        if received is None and "received_at" in got:
            self._row_issue(plan, cols, "received_at", "接收时间为空", values.DATE_ALLOWED)
        received_at = aware(received[0]) if received else None
        if received_at and received_at > lk.now + timedelta(minutes=5):
            self._row_issue(plan, cols, "received_at", "接收时间在未来", "不晚于今天的日期")
        content = got.get("content") or got.get("title")
        if not content and ("content" in got or "title" in got):
            self._row_issue(plan, cols, "content", "投诉内容为空", "投诉内容或摘要至少一项")
        d["received_at"] = received_at.isoformat() if received_at else None
        d["title"] = (got.get("title") or (content or "")[:40])[:200]
        d["content"] = content or ""
        d["request"] = got.get("request") or ""
        channel = got.get("channel")
        if channel is None and "channel" not in cols:
            d["channel"] = m.channel or (lk.channels[0].code if lk.channels else "")
        else:
            d["channel"] = (
                channel.code
                if channel
                else (m.channel or (lk.channels[0].code if lk.channels else ""))
            )
        category = got.get("category")
        department = got.get("department")
        d["category"] = category.code if category else ""
        if department:
            d["department"] = department.code
        elif category and category.extra:
            d["department"] = category.extra
        else:
            d["department"] = ""
        d["complainant"] = {
            k: got.get(f"complainant_{k}") or "" for k in ("name", "phone", "id_number", "address")
        }
        d["respondent"] = got.get("respondent") or ""
        d["fields"] = {
            name[len(FIELD_PREFIX) :]: v
            for name, v in got.items()
            if name.startswith(FIELD_PREFIX) and v not in (None, "", [])
        }
        for key in (
            "result",
            "satisfaction",
            "compensation",
            "transfer_note",
            "area",
            "handler",
            "note",
        ):
            v = got.get(key)
            if v not in (None, "", "none"):
                d[key] = v
        d["related_ref"] = got.get("related_ref") or ""
        closed_when = got.get("closed_at")
        status = got.get("status")
        if m.always_open:
            closed = False
        elif status in ("closed", "open"):
            closed = status == "closed"
        else:
            closed = bool(d.get("result") or closed_when)
        d["closed"] = closed
        d["state"] = lk.closed_state if closed else lk.open_state
        d["closed_at"] = None
        if closed and received_at:
            if closed_when:
                moment, has_time = closed_when
                closed_at = aware(moment)
                if closed_at.date() < received_at.date():
                    self._row_issue(
                        plan, cols, "closed_at", "办结时间早于接收时间", "不早于接收时间的日期"
                    )
                elif closed_at < received_at:  # the same day, the date alone
                    closed_at = received_at
                if closed_at > lk.now + timedelta(minutes=5):
                    self._row_issue(plan, cols, "closed_at", "办结时间在未来", "不晚于今天的日期")
            else:
                closed_at = received_at
                plan.warnings.append(
                    Issue(
                        plan.sheet,
                        plan.row,
                        "",
                        "",
                        "",
                        "已办结但没有办结时间：按接收时间计，办理时长不准确",
                    )
                )
            d["closed_at"] = closed_at.isoformat()
        deadline_raw = got.get("deadline")
        d["deadline"] = None
        if deadline_raw is not None and received_at:
            try:
                d["deadline"] = self._deadline(deadline_raw, received_at)
            except Problem as exc:
                col = cols["deadline"]
                plan.errors.append(self._issue(plan, col, deadline_raw, exc.message, exc.allowed))
        for f in self.definition.fields:
            if f.required and f.name not in d["fields"]:
                plan.warnings.append(
                    Issue(plan.sheet, plan.row, "", "", "", f"「{f.label}」为空（流程中为必填项）")
                )


class _Blank(Problem):
    """An unknown value the mapping says to leave empty: a warning, not an error."""


_NOUN = {
    "category": "投诉类别",
    "department": "部门",
    "channel": "渠道",
    "satisfaction": "满意度",
    "status": "办理状态",
}
_KINDS = {
    "received_at": "when",
    "closed_at": "when",
    "complainant_phone": "phone",
    "compensation": "money",
    "category": "choice",
    "department": "choice",
    "channel": "choice",
    "satisfaction": "word",
    "status": "word",
    "deadline": "raw",
}


def plan_sheet(planner: Planner, sheet: Sheet, lay: Layout) -> Iterator[RowPlan]:
    for r in range(lay.header_row + 1, len(sheet.rows)):
        plan = planner.row(sheet, lay, r)
        if plan is not None:
            yield plan


def mark_duplicates(plans: list[RowPlan]) -> None:
    """Two rows with the same number in one file: the later one is an error."""
    first: dict[str, RowPlan] = {}
    for p in plans:
        if p.key in first:
            other = first[p.key]
            p.errors.append(
                Issue(
                    p.sheet,
                    p.row,
                    "",
                    "",
                    p.data.get("ref") or p.key,
                    f"编号与工作表「{other.sheet}」第 {other.row} 行重复",
                    "每行一个不同的编号",
                )
            )
        else:
            first[p.key] = p
