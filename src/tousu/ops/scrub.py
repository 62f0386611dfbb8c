"""Removing personal data from free text: the known values of a case (names, phones, ID numbers,
addresses, e-mails) wherever they appear, and anything that looks like a phone number, an ID number
or an e-mail address. Pure functions, no Django import."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tousu.cases import privacy

NAME = "〔姓名已删除〕"
PHONE = "〔电话已删除〕"
ID_NUMBER = "〔证件号已删除〕"
EMAIL = "〔邮箱已删除〕"
ADDRESS = "〔地址已删除〕"
REMOVED = "〔已删除〕"
ANONYMISED = "〔已匿名〕"
MARKS = frozenset({NAME, PHONE, ID_NUMBER, EMAIL, ADDRESS, REMOVED, ANONYMISED})

# The patterns of contact data are the masking rule's (cases/privacy.py): what it masks, this removes.
_EMAIL, _ID, _MOBILE = privacy.EMAIL, privacy.ID_NUMBER, privacy.MOBILE
_LANDLINE, _LOCAL = privacy.LANDLINE, privacy.LOCAL


def _norm(value: str) -> str:
    return (value or "").strip()


class Scrubber:
    """Replaces a person's known values and the patterns of contact data in text and JSON."""

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        phones: Iterable[str] = (),
        id_numbers: Iterable[str] = (),
        addresses: Iterable[str] = (),
        emails: Iterable[str] = (),
        others: Iterable[str] = (),  # other personal values (a room number): removed as they are
    ):
        pairs: dict[str, str] = {}
        # A one-character "name" (a surname alone) would cut through ordinary words.
        for values, minimum, mark in (
            (names, 2, NAME),
            (phones, 5, PHONE),
            (id_numbers, 6, ID_NUMBER),
            (addresses, 4, ADDRESS),
            (emails, 5, EMAIL),
            (others, 2, REMOVED),
        ):
            for v in values:
                v = _norm(v)
                if len(v) >= minimum and v not in MARKS:
                    pairs.setdefault(v, mark)
        self.known = pairs
        # Longest first, so 张三丰 is not left as 〔…〕丰.
        self._known = (
            re.compile("|".join(re.escape(v) for v in sorted(pairs, key=len, reverse=True)))
            if pairs
            else None
        )

    def text(self, value: str) -> str:
        if not value:
            return value
        if self._known is not None:
            value = self._known.sub(lambda m: self.known[m.group(0)], value)
        value = _EMAIL.sub(EMAIL, value)
        value = _ID.sub(ID_NUMBER, value)
        value = _MOBILE.sub(PHONE, value)
        value = _LANDLINE.sub(PHONE, value)
        value = _LOCAL.sub(lambda m: m.group(1) + PHONE, value)
        return value

    def json(self, value: Any, *, remove: Iterable[str] = ()) -> Any:
        """A copy of a JSON value with every string scrubbed; the keys in `remove` (at the top level)
        keep their place with their value replaced."""
        remove = set(remove)
        if isinstance(value, dict):
            return {
                k: (REMOVED if k in remove and v not in (None, "", []) else self.json(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def contains_contact_data(text: str) -> bool:
    """Whether anything in `text` still looks like a phone number, an ID number or an e-mail."""
    return any(p.search(text or "") for p in (_EMAIL, _ID, _MOBILE, _LANDLINE, _LOCAL))
