"""Keyset pagination for the workbench's queues, and counts that stop at a cap.

A page is "the next N rows after the last one shown", found from the sort key's index, so page 200
costs what page 1 costs; OFFSET made the database walk and throw away every row before it. The
position travels in the link (`after=` or `before=`): the sort values of the last (or first) row
and its id, which breaks ties. A position a user edited only moves them within the same filtered,
permission-checked list. Counting a long queue exactly is a scan for a number nobody reads to the
last digit: counts stop at COUNT_CAP and show "1万+" beyond it."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import F, Q, QuerySet

COUNT_CAP = 10_000
CAP_TEXT = "1万+"


@dataclass(frozen=True)
class Key:
    """One sort column (a field or an annotation), its direction, and whether NULLs (which sort
    last in both directions here) may occur."""

    name: str
    desc: bool = False
    nullable: bool = False


def bounded_count(qs: QuerySet, cap: int = COUNT_CAP) -> int:
    """The number of rows, but never counting past cap + 1."""
    return qs.order_by().values("pk")[: cap + 1].count()


def count_text(n: int, cap: int = COUNT_CAP) -> str:
    return CAP_TEXT if n > cap else str(n)


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str, keys: list[Key], qs: QuerySet) -> list | None:
    """The position's values, typed like the columns; None when the text is not a position of this
    sort (edited, from another sort, or garbage): the list then starts at its first page."""
    if not text or len(text) > 400:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(keys):
        return None
    out = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            if not key.nullable:
                return None
            out.append(None)
            continue
        internal = _field_type(qs, key.name)
        try:
            if internal == "DateTimeField":
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    return None
                out.append(parsed)
            elif internal in ("IntegerField", "BigAutoField", "AutoField", "BigIntegerField"):
                if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**62:
                    return None
                out.append(value)
            else:
                if not isinstance(value, str):
                    return None
                out.append(value)
        except (TypeError, ValueError):
            return None
    return out


def _field_type(qs: QuerySet, name: str) -> str:
    if name in qs.query.annotations:
        return qs.query.annotations[name].output_field.get_internal_type()
    return qs.model._meta.get_field(name).get_internal_type()


def _beyond(keys: list[Key], values: list, forward: bool) -> Q:
    """Rows strictly after (forward) or before the position in the sort order; NULLs sort last."""
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        later_is_greater = not key.desc if forward else key.desc
        op = "gt" if later_is_greater else "lt"
        if value is None:
            # Among NULLs nothing is later; going back, every non-NULL comes before.
            step = Q(**{f"{key.name}__isnull": False}) if not forward else Q(pk__in=[])
            condition |= equal & step
            equal &= Q(**{f"{key.name}__isnull": True})
            continue
        step = Q(**{f"{key.name}__{op}": value})
        if key.nullable and forward:
            step |= Q(**{f"{key.name}__isnull": True})
        condition |= equal & step
        equal &= Q(**{key.name: value})
    first, value = keys[0], values[0]
    if value is not None and not (first.nullable and forward):
        # The same condition again as a plain range on the leading column, so the database seeks
        # its index to the position instead of filtering the OR row by row.
        later_is_greater = not first.desc if forward else first.desc
        condition &= Q(**{f"{first.name}__{'gte' if later_is_greater else 'lte'}": value})
    return condition


def _ordering(keys: list[Key], forward: bool) -> list:
    out = []
    for key in keys:
        desc = key.desc if forward else not key.desc
        expr = F(key.name)
        if key.nullable:  # NULLs last going forward, so first going back (explicit: PostgreSQL
            # puts them first in a descending order, SQLite last)
            nulls = {"nulls_last": True} if forward else {"nulls_first": True}
            out.append(expr.desc(**nulls) if desc else expr.asc(**nulls))
        else:
            out.append(expr.desc() if desc else expr.asc())
    return out


@dataclass
class KeysetPage:
    rows: list
    next_query: str = ""
    prev_query: str = ""
    first_query: str = ""
    is_first: bool = True
    total: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return bool(self.next_query)

    @property
    def has_previous(self) -> bool:
        return bool(self.prev_query)


@dataclass(frozen=True)
class Segment:
    """A part of the list (rows matching `where`) and its order. A list may be several segments one
    after the other: each is read from its own index, and a page that runs past the end of one
    goes on at the start of the next."""

    where: Q
    keys: tuple[Key, ...]


def split_nullable(where: Q, keys) -> list[Segment]:
    """A leading key that may be NULL becomes two segments, its values in order and then the NULLs
    in the order of the other keys: an index walk each, where "NULLS LAST" would make SQLite sort
    every row (its indexes keep NULLs first)."""
    keys = tuple(keys)
    head = keys[0]
    if not head.nullable:
        return [Segment(where, keys)]
    return [
        Segment(
            where & Q(**{f"{head.name}__isnull": False}),
            (Key(head.name, head.desc), *keys[1:]),
        ),
        *split_nullable(where & Q(**{f"{head.name}__isnull": True}), keys[1:]),
    ]


def _decode_position(text: str, segments: list[Segment], qs: QuerySet):
    if not text or len(text) > 400:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, list) or not raw:
        return None
    index = raw[0]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(segments):
        return None
    values = _decode(_encode(raw[1:]), list(segments[index].keys), qs)
    return None if values is None else (index, values)


def paginate(
    qs: QuerySet,
    keys: list[Key],
    get,
    *,
    size: int,
    base_query: str = "",
) -> KeysetPage:
    """One page of `qs` in the order of `keys` (the last must be unique, e.g. id), positioned by
    the request's `after` or `before`; links keep `base_query` (the filters)."""
    return paginate_segments(qs, split_nullable(Q(), keys), get, size=size, base_query=base_query)


def paginate_segments(
    qs: QuerySet,
    segments: list[Segment],
    get,
    *,
    size: int,
    base_query: str = "",
) -> KeysetPage:
    """One page of `qs` over its segments in order, positioned by `after` or `before` (the
    segment and the sort values of the row next to the page)."""
    after = _decode_position(get.get("after", ""), segments, qs)
    before = None if after else _decode_position(get.get("before", ""), segments, qs)
    forward = before is None
    position = after if forward else before
    if forward:
        order = range(position[0] if position else 0, len(segments))
    else:
        order = range(position[0], -1, -1)
    fetched: list[tuple[int, object]] = []
    for index in order:
        segment = segments[index]
        part = qs.filter(segment.where)
        if position is not None and index == position[0]:
            part = part.filter(_beyond(list(segment.keys), position[1], forward))
        need = size + 1 - len(fetched)
        part = part.order_by(*_ordering(list(segment.keys), forward))[:need]
        fetched += [(index, row) for row in part]
        if len(fetched) > size:
            break
    more = len(fetched) > size
    rows = fetched[:size]
    if not forward:
        rows.reverse()

    def link(name: str, item) -> str:
        index, row = item
        values = [index, *(getattr(row, key.name) for key in segments[index].keys)]
        return "&".join(p for p in (base_query, urlencode({name: _encode(values)})) if p)

    # Forward: a next page if more rows were found; a previous one if we came from somewhere.
    # Backward: the mirror image.
    has_next = more if forward else before is not None
    has_prev = (after is not None) if forward else more
    return KeysetPage(
        rows=[row for _, row in rows],
        next_query=link("after", rows[-1]) if rows and has_next else "",
        prev_query=link("before", rows[0]) if rows and has_prev else "",
        first_query=base_query,
        is_first=not has_prev,
    )
