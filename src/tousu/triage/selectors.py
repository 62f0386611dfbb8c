"""Reads: suggestions, duplicates and repeats, links, training data, the model in use.

The functions the registration form, the portal and the API call:

    suggest(process_name, text) -> Suggestion | None
    rank(process_name, text) -> Ranking
    find_duplicates(process_name, text, phone=None, id_number=None, *, exclude_id=None) -> list[Duplicate]
    duplicates_of(complaint) -> list[Duplicate]
    repeat_count(phone=None, id_number=None, *, since=None, exclude_id=None) -> int
    risk_flags(text) -> list[RiskFlag]
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cachetools.func import ttl_cache
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from tousu.cases.models import Complaint, Event, Party
from tousu.processes.models import Category, ProcessDefinition

from . import fingerprint, keywords
from .models import CaseLink, Choice, TextPrint, TriageModel
from .risk import RiskFlag, risk_flags  # noqa: F401  (part of this module's public reads)

log = logging.getLogger("tousu.triage")

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def _setting(name: str, default):
    return getattr(settings, name, default)


def min_confidence() -> float:
    """Below this the form shows no suggestion and a person decides (TOUSU_TRIAGE_MIN_CONFIDENCE).

    0.5 by default: on the shipped samples (5-fold CV) about 90 % of texts reach it, and 94 % of
    those suggestions are right; below it accuracy drops to about 60 %."""
    return float(_setting("TOUSU_TRIAGE_MIN_CONFIDENCE", 0.5))


def window_days() -> int:
    """How far back duplicates and repeats are looked for (TOUSU_TRIAGE_WINDOW_DAYS)."""
    return int(_setting("TOUSU_TRIAGE_WINDOW_DAYS", 90))


SIMILAR = 0.6  # 3-gram Jaccard from which two texts count as the same matter (near-identical)

CASE_WEIGHT = 2.0  # an organisation's own case counts twice a shipped sample when training


# --- labelled data -----------------------------------------------------------------------------


class LabelledFileError(ValueError):
    pass


@dataclass
class Labelled:
    texts: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    departments: dict[str, str] = field(default_factory=dict)  # category → department, if given


def sample_path(template: str) -> Path | None:
    path = SAMPLES_DIR / f"{template}.csv"
    return path if path.is_file() else None


def read_labelled(path: str | Path) -> Labelled:
    """A labelled CSV (UTF-8, header with at least `text` and `category`; `department` optional)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = set(reader.fieldnames or [])
            if not {"text", "category"} <= header:
                raise LabelledFileError(
                    f"{path}：表头必须包含 text 和 category 两列（可选 department），"
                    f"实际为：{', '.join(reader.fieldnames or []) or '空'}"
                )
            out = Labelled()
            for line, row in enumerate(reader, start=2):
                text, category = (
                    (row.get("text") or "").strip(),
                    (row.get("category") or "").strip(),
                )
                if not text or not category:
                    raise LabelledFileError(f"{path} 第 {line} 行：text 和 category 都不能为空")
                out.texts.append(text)
                out.categories.append(category)
                if dep := (row.get("department") or "").strip():
                    out.departments.setdefault(category, dep)
            return out
    except UnicodeDecodeError:
        raise LabelledFileError(f"{path}：不是 UTF-8 编码的 CSV 文件") from None
    except OSError as exc:
        raise LabelledFileError(f"无法读取 {path}：{exc.strerror}") from None


def samples(template: str) -> Labelled:
    path = sample_path(template)
    return read_labelled(path) if path else Labelled()


@dataclass
class TrainingSet:
    texts: list[str]
    labels: list[str]
    weights: list[float]
    n_samples: int
    n_cases: int
    unknown: dict[str, int]  # labels that are not active categories of the flow, left out


def learned_cases(process_name: str):
    """The organisation's labelled cases: closed ones (their final category), and open ones whose
    category a member of staff chose (registration or a classifying action)."""
    chosen = Choice.objects.filter(process_name=process_name).values("complaint_id")
    return Complaint.objects.filter(process__name=process_name, category__isnull=False).filter(
        Q(closed_at__isnull=False) | Q(pk__in=chosen)
    )


def training_data(
    process_name: str, *, with_samples: bool = True, with_cases: bool = True
) -> TrainingSet:
    active = set(
        Category.objects.filter(process_name=process_name, is_active=True).values_list(
            "code", flat=True
        )
    )
    texts, labels, weights = [], [], []
    unknown: dict[str, int] = {}
    n_samples = n_cases = 0

    def add(text: str, label: str, weight: float) -> bool:
        if label not in active:
            unknown[label] = unknown.get(label, 0) + 1
            return False
        texts.append(text)
        labels.append(label)
        weights.append(weight)
        return True

    if with_samples:
        data = samples(process_name)
        n_samples = sum(add(t, c, 1.0) for t, c in zip(data.texts, data.categories, strict=True))
    if with_cases:
        rows = learned_cases(process_name).values_list("content", "category__code")
        n_cases = sum(add(t, c, CASE_WEIGHT) for t, c in rows.iterator(chunk_size=2000))
    return TrainingSet(texts, labels, weights, n_samples, n_cases, unknown)


# --- the model in use ----------------------------------------------------------------------------


def models_dir() -> Path:
    return Path(settings.DATA_DIR) / "triage"


def active_model(process_name: str) -> TriageModel | None:
    return TriageModel.objects.filter(process_name=process_name, is_active=True).first()


def models_of(process_name: str | None = None):
    qs = TriageModel.objects.order_by("process_name", "-version")
    return qs.filter(process_name=process_name) if process_name else qs


class ModelFileError(RuntimeError):
    pass


def _load(row: TriageModel):
    import joblib

    path = models_dir() / row.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"模型文件 {path} 无法读取：{exc.strerror}") from None
    # Only our own files are ever unpickled, and only when they are byte for byte what was trained.
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ModelFileError(f"模型文件 {path} 与登记的校验值不符，拒绝加载")
    return joblib.load(io.BytesIO(data))


_CHECK_EVERY = 5.0  # seconds; another process's retraining is picked up within this
_loaded: dict[str, tuple[float, tuple | None, object | None, TriageModel | None]] = {}
_lock = threading.Lock()


def classifier_for(process_name: str):
    """(row, classifier) of the model in use, loaded once per process and version; (None, None)
    when there is none or its file cannot be used (suggestions then fall back to keywords)."""
    now = time.monotonic()
    cached = _loaded.get(process_name)
    if cached and now - cached[0] < _CHECK_EVERY:
        return cached[3], cached[2]
    row = active_model(process_name)
    key = (row.pk, row.sha256) if row else None
    if cached and cached[1] == key:
        _loaded[process_name] = (now, key, cached[2], row)
        return row, cached[2]
    clf = None
    if row is not None:
        with _lock:
            try:
                clf = _load(row)
            except Exception as exc:  # a broken or foreign file must not break registration
                log.error("triage model %s v%s unusable: %s", process_name, row.version, exc)
                row = None
    _loaded[process_name] = (now, key, clf, row)
    return row, clf


def forget_loaded() -> None:
    _loaded.clear()


@ttl_cache(maxsize=64, ttl=5)
def routing_setting(process_name: str):
    """The flow's automatic-routing setting (RoutingSetting) or None: read on every portal and API
    registration, so cached for a few seconds; routing.set_threshold clears it."""
    from .models import RoutingSetting

    return RoutingSetting.objects.filter(process_name=process_name).first()


# --- suggestions ---------------------------------------------------------------------------------


@dataclass
class CategoryInfo:
    code: str
    label: str
    department: str
    department_label: str


@ttl_cache(maxsize=64, ttl=5)
def category_map(process_name: str) -> dict[str, CategoryInfo]:
    """The flow's active categories with their departments (administrators may remap them)."""
    return {
        c.code: CategoryInfo(
            c.code, c.label, c.department.code if c.department else "", str(c.department or "")
        )
        for c in Category.objects.filter(process_name=process_name, is_active=True).select_related(
            "department"
        )
    }


@dataclass
class Alternative:
    category: str
    category_label: str
    department: str
    department_label: str
    confidence: float


@dataclass
class Ranking:
    """Every category the text may belong to, most likely first."""

    items: list[Alternative]
    source: str  # "model", "keywords" or "none"
    model_version: int | None = None
    terms: list[str] = field(default_factory=list)  # what the first item rests on
    explanation: str = ""

    @property
    def top(self) -> Alternative | None:
        return self.items[0] if self.items else None


@dataclass
class Suggestion:
    category: str
    category_label: str
    department: str
    department_label: str
    confidence: float
    alternatives: list[Alternative]
    explanation: str
    terms: list[str]
    source: str
    model_version: int | None


def _explain(source: str, kw_terms: list[str], model_terms: list[str]) -> str:
    if source == "keywords":
        return f"命中关键词：{'、'.join(kw_terms)}" if kw_terms else ""
    parts = []
    if kw_terms:
        parts.append(f"命中关键词：{'、'.join(kw_terms)}")
    extra = [t for t in model_terms if t not in kw_terms]
    if extra:
        parts.append(f"模型依据：{'、'.join(extra)}")
    return "；".join(parts)


def rank(process_name: str, text: str) -> Ranking:
    cats = category_map(process_name)
    if not cats or not (text or "").strip():
        return Ranking([], "none")

    def alt(code: str, p: float) -> Alternative:
        c = cats[code]
        return Alternative(c.code, c.label, c.department, c.department_label, round(p, 4))

    kw = keywords.matches(process_name, text)
    row, clf = classifier_for(process_name)
    if clf is not None:
        scored = [(code, p) for code, p in clf.rank(text) if code in cats]
        if scored:
            total = sum(p for _, p in scored) or 1.0  # categories deactivated since training
            items = [alt(code, p / total) for code, p in scored]
            top = items[0].category
            model_terms = clf.terms(text, top)
            kw_terms = kw.get(top, [])
            return Ranking(
                items,
                "model",
                row.version,
                kw_terms + [t for t in model_terms if t not in kw_terms],
                _explain("model", kw_terms, model_terms),
            )
    ranked = [(code, p, hit) for code, p, hit in keywords.rank(process_name, text) if code in cats]
    if not ranked:
        return Ranking([], "none")
    items = [alt(code, p) for code, p, _ in ranked]
    return Ranking(items, "keywords", None, ranked[0][2], _explain("keywords", ranked[0][2], []))


def suggest(process_name: str, text: str) -> Suggestion | None:
    """The most likely category and department for a complaint text, with the next alternatives;
    None when the confidence is below `min_confidence()` (a person decides)."""
    r = rank(process_name, text)
    top = r.top
    if top is None or top.confidence < min_confidence():
        return None
    return Suggestion(
        top.category,
        top.category_label,
        top.department,
        top.department_label,
        top.confidence,
        r.items[1:4],
        r.explanation,
        r.terms,
        r.source,
        r.model_version,
    )


# --- duplicates and repeats ----------------------------------------------------------------------

REASON_LABELS = {"phone": "同一电话", "id_number": "同一证件号码", "text": "内容相近"}


@dataclass
class Duplicate:
    id: int
    tracking_number: str
    title: str
    process: str
    state: str
    state_label: str
    received_at: datetime
    similarity: float  # 3-gram Jaccard of the texts, 0–1
    same_complainant: bool
    reasons: list[str]
    link: str | None = None  # "related" / "merged" when already linked with `exclude_id`

    @property
    def reason_labels(self) -> list[str]:
        return [REASON_LABELS[r] for r in self.reasons]


def phone_variants(phone: str | None) -> list[str]:
    """The forms a phone number may have been stored in (registration keeps what was typed)."""
    raw = (phone or "").strip()
    if not raw:
        return []
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    out = {raw, digits, f"+86{digits}", f"+86 {digits}"}
    if len(digits) == 11:
        out |= {
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        }
    return sorted(v for v in out if len(re.sub(r"\D", "", v)) >= 5)


def id_variants(id_number: str | None) -> list[str]:
    raw = re.sub(r"\s", "", id_number or "")
    return sorted({raw, raw.upper(), raw.lower()}) if len(raw) >= 6 else []


def _since(days: int | None, reference: datetime | None = None) -> datetime:
    return (reference or timezone.now()) - timedelta(days=window_days() if days is None else days)


def same_complainant(
    phone: str | None = None,
    id_number: str | None = None,
    *,
    since: datetime | None = None,
    exclude_id: int | None = None,
    limit: int = 50,
) -> dict[int, set[str]]:
    """{complaint id: reasons} of cases whose complainant has this phone or ID number (indexed
    look-ups on cases_party), most recent first."""
    phones, ids = phone_variants(phone), id_variants(id_number)
    if not phones and not ids:
        return {}
    match = Q()
    if phones:
        match |= Q(phone__in=phones)
    if ids:
        match |= Q(id_number__in=ids)
    qs = Party.objects.filter(match, role="complainant")
    if since is not None:
        qs = qs.filter(complaint__received_at__gte=since)
    if exclude_id:
        qs = qs.exclude(complaint_id=exclude_id)
    found: dict[int, set[str]] = {}
    rows = qs.order_by("-complaint__received_at").values_list("complaint_id", "phone", "id_number")
    for cid, p, i in rows[: limit * 2]:
        reasons = found.setdefault(cid, set())
        if p and p in phones:
            reasons.add("phone")
        if i and i in ids:
            reasons.add("id_number")
        if len(found) >= limit:
            break
    return found


def repeat_count(
    phone: str | None = None,
    id_number: str | None = None,
    *,
    since: datetime | None = None,
    exclude_id: int | None = None,
) -> int:
    """How many cases (all time, or since a moment) this complainant has brought."""
    phones, ids = phone_variants(phone), id_variants(id_number)
    if not phones and not ids:
        return 0
    match = Q()
    if phones:
        match |= Q(phone__in=phones)
    if ids:
        match |= Q(id_number__in=ids)
    qs = Party.objects.filter(match, role="complainant")
    if since is not None:
        qs = qs.filter(complaint__received_at__gte=since)
    if exclude_id:
        qs = qs.exclude(complaint_id=exclude_id)
    return qs.values("complaint_id").distinct().count()


@lru_cache(maxsize=4)
def _band_sql(vendor: str, per_band: int) -> str:
    # One statement for the 4 index range scans: this runs on every registration (collective
    # check) and every duplicate check, where compiling 4 ORM queries cost more than running them.
    table = TextPrint._meta.db_table
    parts = [
        f"SELECT * FROM (SELECT complaint_id FROM {table} WHERE {band} = %s AND received_at >= %s "
        f"ORDER BY received_at DESC LIMIT {int(per_band)}) AS {band}"
        for band in TextPrint.BANDS
    ]
    return " UNION ALL ".join(parts)


def similar_texts(
    process_name: str,
    text: str,
    *,
    since: datetime,
    exclude_id: int | None = None,
    per_band: int = 50,
) -> dict[int, float]:
    """{complaint id: similarity} of near-identical texts received since `since` (band look-ups on
    the fingerprint table, then checked on the real texts)."""
    keys = fingerprint.band_keys(text, process_name)
    if keys is None:
        return {}
    stamp = connection.ops.adapt_datetimefield_value(since)
    with connection.cursor() as cursor:
        cursor.execute(
            _band_sql(connection.vendor, per_band), [v for key in keys for v in (key, stamp)]
        )
        ids = {row[0] for row in cursor.fetchall()}
    ids.discard(exclude_id)
    if not ids:
        return {}
    mine = fingerprint.shingles(text)
    found = {}
    for pk, content in Complaint.objects.filter(pk__in=ids).values_list("pk", "content"):
        s = fingerprint.similarity(mine, fingerprint.shingles(content))
        if s >= SIMILAR:
            found[pk] = s
    return found


@lru_cache(maxsize=256)
def _definition(process_id: int):
    # A ProcessDefinition row never changes (a new version is a new row), so this cache is safe.
    return ProcessDefinition.objects.only("name", "source").get(pk=process_id)


def find_duplicates(
    process_name: str,
    text: str,
    phone: str | None = None,
    id_number: str | None = None,
    *,
    exclude_id: int | None = None,
    window: int | None = None,
    reference: datetime | None = None,
    limit: int = 10,
) -> list[Duplicate]:
    """Earlier cases from the same complainant (phone, ID number) and cases with near-identical
    text, received within the window (`window` days, default TOUSU_TRIAGE_WINDOW_DAYS) before
    `reference` (default now). Same complainant and same text first."""
    since = _since(window, reference)
    by_person = same_complainant(phone, id_number, since=since, exclude_id=exclude_id)
    by_text = similar_texts(process_name, text, since=since, exclude_id=exclude_id)
    ids = set(by_person) | set(by_text)
    if not ids:
        return []
    rows = Complaint.objects.filter(pk__in=ids).values_list(
        "pk", "tracking_number", "title", "process_id", "state", "received_at", "content"
    )
    mine = fingerprint.shingles(text)
    links = {}
    if exclude_id:
        for s, t, kind in CaseLink.objects.filter(
            Q(source_id=exclude_id, target_id__in=ids) | Q(target_id=exclude_id, source_id__in=ids)
        ).values_list("source_id", "target_id", "kind"):
            links[t if s == exclude_id else s] = kind
    out = []
    for pk, number, title, process_id, state, received, content in rows:
        process = _definition(process_id)
        sim = by_text.get(pk)
        if sim is None:
            sim = fingerprint.similarity(mine, fingerprint.shingles(content))
        reasons = sorted(by_person.get(pk, set()))
        if sim >= SIMILAR:
            reasons.append("text")
        out.append(
            Duplicate(
                pk,
                number,
                title,
                process.name,
                state,
                process.definition.state_label(state),
                received,
                round(sim, 3),
                pk in by_person,
                reasons,
                links.get(pk),
            )
        )
    out.sort(
        key=lambda d: (
            -(d.same_complainant and "text" in d.reasons),
            -d.similarity,
            -d.received_at.timestamp(),
        )
    )
    return out[:limit]


def collective_candidates(
    keys: list[int], *, since: datetime, exclude_id: int, per_band: int = 20
) -> list[tuple[int, str, list, set[str]]]:
    """[(complaint id, text, flags, complainants' person keys)] of the cases sharing a fingerprint
    band with `keys` since `since`. One plain SQL statement: it runs after every registration,
    where compiling ORM queries over ~80 ids cost more than reading them."""
    stamp = connection.ops.adapt_datetimefield_value(since)
    complaint, party = Complaint._meta.db_table, Party._meta.db_table
    sql = (
        f"SELECT c.id, c.content, c.flags, p.phone, p.id_number FROM {complaint} c "
        f"LEFT JOIN {party} p ON p.complaint_id = c.id AND p.role = 'complainant' "
        f"WHERE c.id <> %s AND c.id IN (SELECT complaint_id FROM "
        f"({_band_sql(connection.vendor, per_band)}) AS bands)"
    )
    rows: dict[int, tuple[str, list, set[str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [exclude_id, *(v for key in keys for v in (key, stamp))])
        for pk, content, flags, phone, id_number in cursor.fetchall():
            if pk not in rows:
                if isinstance(flags, str):
                    flags = json.loads(flags)
                rows[pk] = (content, flags or [], set())
            if key := person_key(phone or "", id_number or ""):
                rows[pk][2].add(key)
    return [(pk, *row) for pk, row in rows.items()]


def complainants(complaint_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """{complaint id: [(phone, id_number), …]} of the complainants of these cases."""
    out: dict[int, list[tuple[str, str]]] = {}
    for cid, p, i in Party.objects.filter(
        complaint_id__in=list(complaint_ids), role="complainant"
    ).values_list("complaint_id", "phone", "id_number"):
        out.setdefault(cid, []).append((p, i))
    return out


def person_key(phone: str, id_number: str) -> str | None:
    """One identity per complainant: the ID number if given, else the phone's digits."""
    if id_number and id_number.strip():
        return "id:" + re.sub(r"\s", "", id_number).upper()
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return "tel:" + digits if len(digits) >= 5 else None


def duplicates_of(complaint: Complaint, *, window: int | None = None) -> list[Duplicate]:
    """`find_duplicates` for a registered case, with its own complainants' phone and ID."""
    people = complainants([complaint.pk]).get(complaint.pk, [])
    seen: dict[int, Duplicate] = {}
    for phone, id_number in people or [("", "")]:
        for d in find_duplicates(
            complaint.process.name,
            complaint.content,
            phone,
            id_number,
            exclude_id=complaint.pk,
            window=window,
            reference=complaint.received_at,
        ):
            seen.setdefault(d.id, d)
    return sorted(seen.values(), key=lambda d: (-d.same_complainant, -d.similarity))[:10]


# --- links ---------------------------------------------------------------------------------------


@dataclass
class LinkView:
    other_id: int
    other_number: str
    kind: str  # related / merged_into (this case was merged into other) / merged_in
    label: str
    created_at: datetime


def links_of(complaint: Complaint) -> list[LinkView]:
    out = []
    for link in CaseLink.objects.filter(Q(source=complaint) | Q(target=complaint)).select_related(
        "source", "target"
    ):
        mine = link.source_id == complaint.pk
        other = link.target if mine else link.source
        if link.kind == CaseLink.MERGED:
            kind, label = ("merged_into", "已并入") if mine else ("merged_in", "已并入本件")
        else:
            kind, label = "related", "关联"
        out.append(LinkView(other.pk, other.tracking_number, kind, label, link.created_at))
    return sorted(out, key=lambda v: v.created_at)


def merged_into(complaint_id: int) -> int | None:
    return (
        CaseLink.objects.filter(source_id=complaint_id, kind=CaseLink.MERGED)
        .values_list("target_id", flat=True)
        .first()
    )


def events_with_merged(complaint: Complaint) -> list[Event]:
    """The case's own events and those of the cases merged into it, in time order; each event
    still belongs to its own case (`event.complaint_id`)."""
    merged = CaseLink.objects.filter(target=complaint, kind=CaseLink.MERGED).values("source_id")
    return list(
        Event.objects.filter(Q(complaint=complaint) | Q(complaint_id__in=merged))
        .select_related("actor", "complaint")
        .order_by("created_at", "id")
    )


def choices_of(complaint: Complaint):
    return Choice.objects.filter(complaint=complaint)
