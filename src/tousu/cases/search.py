"""Chinese full-text search over complaint text, template fields, parties and category names.

Chinese has no spaces, so both the indexed text and the query are segmented with rjieba
(`cut_for_search` also yields the short words inside compounds: 服务态度 → 服务, 态度, 服务态度),
and the database matches whole tokens: SQLite FTS5 (unicode61 on the space-joined tokens) or
PostgreSQL's `simple` text search with a GIN index. Two-character terms such as 态度 or 收费 are
found, which trigram indexes cannot do.

Personal data is searchable only by those who may see it (cases/privacy.py). Its tokens are
indexed with the prefix PERSONAL: the parties' names, phone numbers (whole, digits only, and the
last four digits), ID numbers, addresses and e-mail addresses, the fields a definition marks
personal (a patient's name, a 住院号, a room number), and the contact data and those values where
they occur in the complaint's text, which is indexed without them. A query from a role that sees
personal data masked matches the unprefixed tokens only; a role that may see it matches both. A
value a reader sees masked therefore finds nothing, and cannot be guessed digit by digit.

A word also finds the cases whose category's name contains it (收费 finds 医疗收费).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import rjieba
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from tousu.processes.models import Category, _parse

from .privacy import EMAIL, ID_NUMBER, LANDLINE, LOCAL, MOBILE

TABLE = "cases_search"
PERSONAL = "pii"  # the prefix of personal tokens; a query never carries it
_WORD = re.compile(r"\w", re.UNICODE)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)  # what both indexes count as one token
# A phone number as people type it in a search box: 138-1234-5678, 138 1234 5678, +86 138…
_TYPED_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?\d{3,4}(?:[\s\-]\d{3,4}){1,2}(?!\d)")


def tokens(text: str) -> list[str]:
    return [t for t in rjieba.cut_for_search(text or "") if _WORD.search(t)]


def _digits(text: str) -> str:
    digits = "".join(c for c in text if c.isdigit())
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def _personal_tokens(value: str, *, phone: bool = False) -> list[str]:
    """The tokens of one personal value, each a single index token (punctuation removed, so no
    part of the value is left unprefixed), with the prefix."""
    parts = {w for t in tokens(value) for w in _WORDS.findall(t)}
    parts |= set(_WORDS.findall(value))
    digits = _digits(value)
    if phone or len(digits) >= 7:
        if len(digits) >= 7:
            parts.add(digits)
        if len(digits) >= 4:
            parts.add(digits[-4:])  # the last four digits find a case (for those who may)
    return [PERSONAL + p for p in sorted(parts) if p]


def _definition(complaint):
    try:
        return complaint.definition
    except AttributeError:  # a historical model in a migration
        return _parse(complaint.process.source)


def body(
    definition,
    *,
    title: str = "",
    content: str = "",
    request: str = "",
    fields: Mapping[str, Any] | None = None,
    people: Iterable[Mapping[str, str]] = (),
) -> str:
    """The indexed document: public tokens, then the personal ones with their prefix.
    `people` are the parties as mappings (kind, name, phone, id_number, address)."""
    fields = fields or {}
    personal_values: list[tuple[str, bool]] = []  # (value, is a phone number)
    public = [title, content, request]
    for p in people:
        if (p.get("kind") or "person") != "person":
            public.append(p.get("name") or "")  # an organisation, a department: not personal
            continue
        personal_values += [(p.get("name") or "", False), (p.get("phone") or "", True)]
        personal_values += [(p.get("id_number") or "", False), (p.get("address") or "", False)]
        personal_values += [(p.get("email") or "", False)]
    for f in definition.fields:
        value = fields.get(f.name)
        if value in (None, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        if f.personal:
            personal_values += [(str(v), "phone" in f.name) for v in values]
        elif f.type in ("choice", "multichoice"):
            labels = {c.value: c.label for c in f.choices}
            public += [labels.get(v, "") for v in values if isinstance(v, str)]
        elif f.type in ("text", "textarea", "integer"):
            public += [str(v) for v in values]
    known = sorted({v.strip() for v, _ in personal_values if len(v.strip()) >= 2}, key=len)
    text = " ".join(filter(None, public))
    found = []
    # The complaint's text without its personal values (they are indexed apart, prefixed).
    for value in reversed(known):
        if value in text:
            text = text.replace(value, " ")
            found.append((value, False))
    for pattern in (EMAIL, ID_NUMBER, MOBILE, LANDLINE):
        found += [(m[0], pattern in (MOBILE, LANDLINE)) for m in pattern.finditer(text)]
        text = pattern.sub(" ", text)
    found += [(m[2], True) for m in LOCAL.finditer(text)]
    text = LOCAL.sub(lambda m: m[1], text)
    personal = []
    for value, phone in personal_values + found:
        if value and value.strip():
            personal += _personal_tokens(value.strip(), phone=phone)
    return " ".join(tokens(text) + sorted(set(personal)))


def document(complaint, parties, definition=None) -> str:
    return body(
        definition or _definition(complaint),
        title=complaint.title,
        content=complaint.content,
        request=complaint.request,
        fields=complaint.fields,
        people=[
            {
                "kind": p.kind,
                "name": p.name,
                "phone": p.phone,
                "id_number": p.id_number,
                "address": p.address,
                "email": getattr(p, "email", ""),
            }
            for p in parties
        ],
    )


def index_rows(rows: list[tuple[int, str]]) -> None:
    """(complaint id, document) pairs: add or replace their index entries."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.executemany(
                f"INSERT INTO {TABLE} (complaint_id, body) VALUES (%s, %s) "
                "ON CONFLICT (complaint_id) DO UPDATE SET body = EXCLUDED.body",
                rows,
            )
        else:
            cursor.executemany(f"DELETE FROM {TABLE} WHERE rowid = %s", [(r[0],) for r in rows])
            cursor.executemany(f"INSERT INTO {TABLE} (rowid, body) VALUES (%s, %s)", rows)


def index(complaint, parties) -> None:
    index_rows([(complaint.pk, document(complaint, parties))])


def _parts(word: str) -> list[str]:
    return _WORDS.findall(word)


def query_words(text: str) -> list[str]:
    """The words of a query as rjieba cuts them (a typed phone number as its digits). A word with
    a part that carries the personal prefix is dropped: nobody matches personal tokens by naming
    them, nor by a phrase that runs into them."""
    text = _TYPED_PHONE.sub(lambda m: " " + _digits(m[0]) + " ", text or "")
    words = []
    for w in tokens(text):
        parts = _parts(w)
        if parts and not any(p.lower().startswith(PERSONAL) for p in parts) and w not in words:
            words.append(w)
    return words


def _match(words: list[str], personal: bool) -> RawSQL:
    """Cases whose document has every word: as the database's own parser reads the word (so a
    tracking number with its hyphens matches the way it was indexed), or, for a reader who may see
    personal data, as personal tokens (each part of the word, prefixed)."""
    params: list[str] = []
    if connection.vendor == "postgresql":
        terms = []
        for w in words:
            term = "plainto_tsquery('simple', %s)"
            params.append(w)
            if personal:
                term = f"({term} || plainto_tsquery('simple', %s))"
                params.append(" ".join(PERSONAL + p for p in _parts(w)))
            terms.append(term)
        sql = f"SELECT complaint_id FROM {TABLE} WHERE tsv @@ ({' && '.join(terms)})"
        return RawSQL(sql, params)
    terms = []
    for w in words:
        phrase = '"' + w.replace('"', '""') + '"'  # FTS5: a quoted phrase, tokenised like the index
        if personal:
            own = " AND ".join(f'"{PERSONAL}{p}"' for p in _parts(w))
            phrase = f"({phrase} OR ({own}))"
        terms.append(phrase)
    return RawSQL(f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s", [" AND ".join(terms)])


def filter_text(qs: QuerySet, text: str, *, personal: bool = False) -> QuerySet:
    """Cases where every word of `text` is in the case's text, its template fields or its parties,
    or in its category's name. Personal values count only with `personal` (cases/privacy.py:
    may_reveal): for the others they are masked, so they find nothing."""

    words = query_words(text)
    if not words:
        # Nothing searchable (punctuation only) filters nothing; words that were all dropped
        # (the personal prefix) find nothing.
        return qs.none() if tokens(text) else qs
    in_text = []
    for w in words:
        categories = list(Category.objects.filter(label__contains=w).values_list("pk", flat=True))
        if categories:
            qs = qs.filter(Q(pk__in=_match([w], personal)) | Q(category_id__in=categories))
        else:
            in_text.append(w)
    if in_text:
        qs = qs.filter(pk__in=_match(in_text, personal))
    return qs
