"""Which column is what: finding the header row of each sheet and mapping its columns to what a
case holds, from the synonym table (synonyms.yaml), the template's own field labels and the user's
overrides. No Django import: the template arrives as its ProcessDef.

A mapping file (YAML) says, all keys optional:

    preset: 12345                 # start from a shipped preset (presets/<name>.yaml)
    source: 门诊投诉登记本         # which register the rows come from: re-importing it updates its cases
    columns: {备注: ignore, 受理科室: department, 病历号: record_number}   # header → target
    values:                       # cell text → code, per target ("" leaves the value empty)
      category: {收费问题: charges}
      department: {医务处: medical_affairs}
    channel: phone                # when the register has no channel column
    closed_state: closed          # the state of cases with a result or a closing date
    open_state: registered        # the state of cases still open (default: the flow's first)
    unknown: {category: blank}    # an unknown category/department/channel: error (default) or blank
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import yaml

from tousu.processes.definition import FieldDef, ProcessDef

from . import values
from .reading import Sheet, column_letter

HERE = Path(__file__).resolve().parent
IGNORE = "ignore"

# What a column can be, besides the template's own fields: (label, kind).
TARGETS: dict[str, tuple[str, str]] = {
    "external_ref": ("外部编号（如工单编号）", "ref"),
    "serial": ("序号", "ref"),
    "received_at": ("接收时间", "datetime"),
    "channel": ("渠道", "channel"),
    "complainant_name": ("投诉人", "text"),
    "complainant_phone": ("投诉人电话", "phone"),
    "complainant_id_number": ("投诉人证件号码", "text"),
    "complainant_address": ("投诉人地址", "text"),
    "title": ("摘要", "text"),
    "content": ("投诉内容", "textarea"),
    "request": ("诉求", "textarea"),
    "category": ("投诉类别", "category"),
    "department": ("责任部门", "department"),
    "respondent": ("被投诉方", "text"),
    "result": ("处理结果", "textarea"),
    "closed_at": ("办结时间", "datetime"),
    "status": ("办理状态", "status"),
    "compensation": ("赔偿金额（元）", "money"),
    "satisfaction": ("满意度", "satisfaction"),
    "deadline": ("办理时限", "deadline"),
    "transfer_note": ("转办意见", "textarea"),
    "related_ref": ("关联的原编号", "ref"),
    "area": ("区域", "text"),
    "handler": ("经办人", "text"),
    "note": ("备注", "textarea"),
}
FIELD_PREFIX = "field:"
# Short names match inside a longer header only after one of these (患者电话, 投诉人姓名): a date
# in 回访日期 or a department in 受理部门 is something else.
PERSON_PREFIXES = (
    "投诉人",
    "投诉者",
    "投诉",
    "患者",
    "病人",
    "家属",
    "客户",
    "顾客",
    "业主",
    "住户",
    "游客",
    "来访人",
    "来电人",
    "来信人",
    "诉求人",
    "反映人",
    "举报人",
    "联系人",
    "当事人",
    "被投诉",
)
HEADER_SCAN_ROWS = 30
_ALTERNATIVES = re.compile(r"或|、|/|／|\|")
_NAME_SUFFIX = re.compile(r"(姓名|名称|名字)$")
MIN_HEADER_MATCHES = 2


class MappingError(ValueError):
    pass


@cache
def synonyms() -> dict:
    return yaml.safe_load((HERE / "synonyms.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=65536)
def header_key(text: str) -> str:
    """A header without its bracketed notes (（元）, (必填), 【…】), spaces and punctuation."""
    s = values.normalise(text)
    s = re.sub(r"[(\[【{<《][^)\]】}>》]*[)\]】}>》]", "", s)
    return values.label_key(s)


def value_key(text: str) -> str:
    return values.label_key(text)


@cache
def _value_table(target: str) -> dict[str, str]:
    table = {}
    for code, words in (synonyms()["values"].get(target) or {}).items():
        for w in words:
            table[value_key(str(w))] = code
    return table


def value_synonym(target: str, text: str) -> str | None:
    return _value_table(target).get(value_key(text))


@cache
def note_words() -> tuple[str, ...]:
    return tuple(value_key(w) for w in synonyms()["note_rows"])


# --- the mapping configuration ------------------------------------------------------------------


@dataclass
class Mapping:
    """What the user (or a preset, or a saved mapping) says; the rest is found automatically."""

    columns: dict[str, str] = field(default_factory=dict)  # header key → target
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # target → {value key: code}
    source: str = ""
    preset: str = ""
    label: str = ""
    channel: str = ""
    closed_state: str = ""
    open_state: str = ""
    always_open: bool = False  # work orders: every row is a case to handle
    unknown: dict[str, str] = field(default_factory=dict)  # target → "error" | "blank"
    clock: dict[str, str] = field(default_factory=dict)  # name, label, basis of the deadline clock
    reply_sheet: bool = False

    @classmethod
    def from_data(cls, data: dict | None, *, origin: str = "映射文件") -> Mapping:
        data = dict(data or {})
        base = cls()
        if data.get("preset"):
            base = preset(str(data["preset"]))
        unknown_keys = set(data) - {
            "preset",
            "label",
            "source",
            "columns",
            "values",
            "channel",
            "closed_state",
            "open_state",
            "always_open",
            "unknown",
            "clock",
            "reply_sheet",
        }
        if unknown_keys:
            raise MappingError(f"{origin}：不认识的设置「{'、'.join(sorted(unknown_keys))}」")
        columns = dict(base.columns)
        for header, target in (data.get("columns") or {}).items():
            columns[header_key(str(header))] = str(target or IGNORE)
        vals = {k: dict(v) for k, v in base.values.items()}
        for target, table in (data.get("values") or {}).items():
            if not isinstance(table, dict):
                raise MappingError(f"{origin}：values.{target} 应为「原值: 代码」的对应表")
            vals.setdefault(str(target), {}).update(
                {value_key(str(k)): "" if v is None else str(v) for k, v in table.items()}
            )
        unknown = dict(base.unknown)
        for target, how in (data.get("unknown") or {}).items():
            if how not in ("error", "blank"):
                raise MappingError(f"{origin}：unknown.{target} 只能是 error 或 blank")
            unknown[str(target)] = how
        return cls(
            columns=columns,
            values=vals,
            source=str(data.get("source") or base.source),
            preset=str(data.get("preset") or base.preset),
            label=str(data.get("label") or base.label),
            channel=str(data.get("channel") or base.channel),
            closed_state=str(data.get("closed_state") or base.closed_state),
            open_state=str(data.get("open_state") or base.open_state),
            always_open=bool(data.get("always_open", base.always_open)),
            unknown=unknown,
            clock={**base.clock, **(data.get("clock") or {})},
            reply_sheet=bool(data.get("reply_sheet", base.reply_sheet)),
        )

    @classmethod
    def from_yaml(cls, text: str, *, origin: str = "映射文件") -> Mapping:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise MappingError(f"{origin} 不是有效的 YAML：{exc}") from None
        if not isinstance(data, dict):
            raise MappingError(f"{origin} 应为键值对（columns、values …）")
        return cls.from_data(data, origin=origin)

    def to_data(self, headers: dict[str, str] | None = None) -> dict:
        """The YAML-able form; `headers` gives the original text of header keys for readability."""
        headers = headers or {}
        data: dict = {}
        for key in ("preset", "label", "source", "channel", "closed_state", "open_state"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.columns:
            data["columns"] = {headers.get(k, k): v for k, v in self.columns.items()}
        if self.values:
            data["values"] = {t: dict(v) for t, v in self.values.items() if v}
        if self.unknown:
            data["unknown"] = dict(self.unknown)
        return data

    def to_yaml(self, headers: dict[str, str] | None = None) -> str:
        return yaml.safe_dump(self.to_data(headers), allow_unicode=True, sort_keys=False)

    def on_unknown(self, target: str) -> str:
        return self.unknown.get(target, "error")


def preset_names() -> list[str]:
    return sorted(p.stem for p in (HERE / "presets").glob("*.yaml"))


def preset(name: str) -> Mapping:
    path = HERE / "presets" / f"{name}.yaml"
    if not path.is_file():
        raise MappingError(f"没有预设「{name}」；可用：{'、'.join(preset_names())}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("preset", None)
    mapping = Mapping.from_data(data, origin=f"预设 {name}")
    mapping.preset = name
    return mapping


# --- targets of one template --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    code: str
    label: str
    kind: str
    field: FieldDef | None = None


def targets(definition: ProcessDef) -> dict[str, Target]:
    out = {code: Target(code, label, kind) for code, (label, kind) in TARGETS.items()}
    for f in definition.fields:
        if f.type == "users":
            continue
        out[FIELD_PREFIX + f.name] = Target(FIELD_PREFIX + f.name, f.label, f.type, f)
    return out


def resolve_target(definition: ProcessDef, name: str) -> str:
    """A target as the user wrote it (a code, a field name or either's Chinese label)."""
    if name in (IGNORE, "", "不导入"):
        return IGNORE
    all_targets = targets(definition)
    if name in all_targets:
        return name
    if FIELD_PREFIX + name in all_targets:
        return FIELD_PREFIX + name
    key = value_key(name)
    for t in all_targets.values():
        if value_key(t.label) == key:
            return t.code
    allowed = "、".join(list(TARGETS) + [f.name for f in definition.fields])
    raise MappingError(f"不认识的目标「{name}」；可用：{allowed}、ignore")


# --- matching headers ---------------------------------------------------------------------------


class Matcher:
    """Scores of each target for a header text."""

    def __init__(self, definition: ProcessDef):
        self.exact: dict[str, list[tuple[int, str]]] = {}
        self.aliases: dict[str, str] = {}  # header key → field, for labels named by their stem
        # (name key, target, the alternatives a field's label names: 门诊号, 住院号)
        self.names: list[tuple[str, str, frozenset[str]]] = []
        for target, words in synonyms()["targets"].items():
            for w in words:
                k = header_key(str(w))
                self.exact.setdefault(k, []).append((90, target))
                self.names.append((k, target, frozenset()))
        for f in definition.fields:
            if f.type == "users":
                continue
            k = header_key(f.label)
            self.exact.setdefault(k, []).append((85, FIELD_PREFIX + f.name))
            alternatives = frozenset(header_key(p) for p in _ALTERNATIVES.split(f.label))
            self.names.append((k, FIELD_PREFIX + f.name, alternatives))
            if f.type in ("category", "department"):
                self.exact.setdefault(k, []).append((84, f.type))
            stem = _NAME_SUFFIX.sub("", f.label)
            if stem != f.label and len(stem) >= 2:  # 患者 for 患者姓名, 业主 for 业主姓名
                self.exact.setdefault(header_key(stem), []).append((80, FIELD_PREFIX + f.name))
                self.aliases[header_key(stem)] = FIELD_PREFIX + f.name

    def candidates(self, header: str) -> list[tuple[int, str]]:
        return self.candidates_of_key(header_key(header))

    def candidates_of_key(self, key: str) -> list[tuple[int, str]]:
        if not key:
            return []
        found: dict[str, int] = {}
        for score, target in self.exact.get(key, []):
            found[target] = max(found.get(target, 0), score)
        for name, target, alternatives in self.names:
            if not name or name == key:
                continue
            if name in key:
                rest = key.replace(name, "", 1)
                if rest in _PREFIX_KEYS:  # 投诉人地址: the complainant's address
                    score = 70 + len(name)
                elif len(name) >= 3:
                    score = 50 + len(name)
                else:
                    continue
                found[target] = max(found.get(target, 0), score)
            elif alternatives and _part_of_label(key, name, alternatives):
                found[target] = max(found.get(target, 0), 50 + len(key))
        return sorted(((s, t) for t, s in found.items()), reverse=True)


_PREFIX_KEYS = frozenset(values.label_key(p) for p in PERSON_PREFIXES)


def _part_of_label(key: str, label_key: str, alternatives: frozenset[str]) -> bool:
    """A header naming one of a label's alternatives (住院号 of 门诊号或住院号), or most of it."""
    if len(key) < 2:
        return False
    return key in alternatives or (key in label_key and len(key) * 5 >= len(label_key) * 3)


# --- the layout of one sheet --------------------------------------------------------------------


@dataclass
class Column:
    index: int
    header: str  # as shown in the file (group header and header joined by " / ")
    key: str  # header_key(header)
    target: str = IGNORE
    how: str = ""  # 自动 / 指定 / 未识别 / 重复
    also: str = ""  # a template field filled with the same text (a header that is its label)
    sub: str = ""  # under a group header: the sub-header's own key

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass
class Layout:
    sheet: str
    header_row: int  # 0-based index into Sheet.rows
    columns: list[Column]
    notes: list[str] = field(default_factory=list)

    @property
    def mapped(self) -> list[Column]:
        return [c for c in self.columns if c.target != IGNORE]

    def by_target(self) -> dict[str, Column]:
        return {c.target: c for c in self.columns if c.target != IGNORE}


def _cell_text(value) -> str:
    return values.text(value) or "" if value not in (None, "") else ""


def find_header(sheet: Sheet, matcher: Matcher) -> tuple[int, int] | None:
    """(row index, number of recognised headers) of the best header row among the first rows:
    the most recognised headers, then the most distinct ones (under a row of group headers, the
    row of sub-headers)."""
    best, best_score = None, (0, 0)
    for r, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        texts = {_cell_text(v) for v in row} - {""}
        if len(texts) < MIN_HEADER_MATCHES:
            continue
        matched = sum(1 for t in texts if matcher.candidates(t))
        score = (matched, len(texts))
        if matched >= MIN_HEADER_MATCHES and score > best_score:
            best, best_score = (r, matched), score
    return best


# A group header's own word for "the details of" adds nothing: 患者信息 / 姓名 is 患者姓名.
_GROUP_SUFFIX = re.compile(r"(基本信息|信息|情况|资料|详情|明细)$")


def layout(sheet: Sheet, definition: ProcessDef, mapping: Mapping) -> Layout | None:
    """The header row and what each column is; None when the sheet has no recognisable header."""
    matcher = Matcher(definition)
    found = find_header(sheet, matcher)
    if found is None:
        return None
    r = found[0]
    header_row = sheet.rows[r]
    above = sheet.rows[r - 1] if r > 0 else []
    filled = len({_cell_text(v) for v in header_row} - {""})
    columns: list[Column] = []
    for c, value in enumerate(header_row):
        text = _cell_text(value)
        group = _cell_text(above[c]) if c < len(above) else ""
        # A group header above (投诉人信息 over 姓名, 电话) spans several columns, but not the whole
        # table (that is the title).
        spans = sheet.merged_width(r - 1, c) if group else 1
        if group and text and group != text and 1 < spans < max(2, filled):
            shown = f"{group} / {text}"
            col = Column(c, shown, header_key(_GROUP_SUFFIX.sub("", group) + text))
            col.sub = header_key(text)
        elif text or (group and spans == 1):
            # A header written in the upper row only, its cell below left empty (not merged).
            text = text or group
            col = Column(c, text, header_key(text))
        else:
            continue
        columns.append(col)
    _assign(columns, matcher, mapping, definition)
    return Layout(sheet.name, r, columns)


def _assign(columns: list[Column], matcher: Matcher, mapping: Mapping, definition) -> None:
    taken: set[str] = set()
    for col in columns:  # the user's word first: the header as shown, joined, or the sub-header
        for key in (header_key(col.header), col.key, col.sub):
            if key and key in mapping.columns:
                col.target = resolve_target(definition, mapping.columns[key])
                col.how = "指定"
                if col.target != IGNORE:
                    taken.add(col.target)
                break
    ranked = []
    for col in columns:
        if col.how:
            continue
        cands = dict((t, s) for s, t in matcher.candidates_of_key(col.key))
        if col.sub:  # the sub-header alone, a little behind the joined name
            for s, t in matcher.candidates_of_key(col.sub):
                cands[t] = max(cands.get(t, 0), s - 1)
        for target, score in cands.items():
            # Equal scores: the more specific header (投诉日期 before 日期), then the first column.
            ranked.append((score, len(col.key), -col.index, target, col))
    for *_rank, target, col in sorted(ranked, key=lambda x: x[:3], reverse=True):
        if col.how or target in taken:
            continue
        col.target, col.how = target, "自动"
        taken.add(target)
    field_labels = {header_key(f.label): FIELD_PREFIX + f.name for f in definition.fields}
    field_labels = {**matcher.aliases, **field_labels}
    for col in columns:
        if not col.how:
            recognised = matcher.candidates_of_key(col.key) or (
                col.sub and matcher.candidates_of_key(col.sub)
            )
            col.how = "重复" if recognised else "未识别"
        elif col.target != IGNORE and not col.target.startswith(FIELD_PREFIX):
            also = field_labels.get(col.key) or field_labels.get(col.sub)
            if also and also not in taken:
                col.also = also
                taken.add(also)


def is_note_row(texts: list[str]) -> bool:
    filled = [t for t in texts if t]
    if not filled:
        return False
    first = value_key(filled[0])
    return any(first.startswith(w) for w in note_words()) and len(set(filled)) <= 3
