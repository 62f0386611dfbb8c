"""Masking personal data: one rule for every road out (case page, queue, API, documents, search,
notifications, webhooks, exports).

What is personal: the parties' names, phone numbers, ID numbers, addresses and e-mail addresses
(people only: an organisation or one of our departments is not personal data), every field a
definition marks `personal: true` (registration fields and action forms alike), and phone numbers,
ID numbers and e-mail addresses written inside free text. The rule: everything personal is shown
masked, unless a role in PERSONAL_DATA_ROLES asked to see it and the disclosure was recorded
(`services.record_reveal`, or an export's log). A value shown masked is not searchable either
(`search.py` indexes it apart).

`CaseMask` masks one case: it knows the case's own values (so a patient's name written in the
complaint text is masked too) and the patterns of contact data. Pure Python, no Django import.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tousu.accounts.roles import PERSONAL_DATA_ROLES


def may_reveal(user) -> bool:
    """Whether the user's role may see personal data unmasked (each time on the record)."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*PERSONAL_DATA_ROLES)


# --- one value ------------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_id_number(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_address(value: str) -> str:
    return value[:6] + "***" if len(value) > 6 else ("***" if value else "")


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    return (local[:1] + "***" + at + domain) if at else mask_value(value)


def mask_value(value: str) -> str:
    """Any other personal value (a 住院号, a room number, a person involved): its first and last
    character (a two-character value keeps only its first)."""
    value = str(value)
    if len(value) <= 2:
        return (value[:1] + "*") if value else ""
    return value[0] + "*" * (len(value) - 2) + value[-1]


MASKERS = {
    "name": mask_name,
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
    "email": mask_email,
}


def masker_for(field_name: str) -> Callable[[str], str]:
    """The masker for a personal field, chosen by what its name says it holds."""
    if "phone" in field_name or "mobile" in field_name:
        return mask_phone
    if "email" in field_name:
        return mask_email
    if "address" in field_name:
        return mask_address
    if "id_number" in field_name or "id_card" in field_name:
        return mask_id_number
    if field_name.endswith("name") or field_name in ("persons", "involved_staff"):
        return mask_name
    return mask_value


# --- contact data inside free text ----------------------------------------------------------------
# The patterns are shared with retention (ops/scrub.py), which removes what these mask.

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Resident ID numbers: 18 characters (17 digits and a check digit or X) or the old 15 digits.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# Mobile numbers with an optional +86 and spaces or hyphens between the groups.
MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d){8}(?!\d)")
# Landlines with their area code: 0510-12345678, (0510)12345678, 010 1234 5678, extensions.
LANDLINE = re.compile(
    r"(?:[(（]0\d{2,3}[)）]|(?<!\d)0\d{2,3})[\s\-－]?\d{3,4}[\s\-]?\d{4}(?:[\s\-－转]\d{1,5})?(?!\d)"
)
# A local number after a word that says it is one: 电话 87654321.
LOCAL = re.compile(
    r"((?:电话|手机|座机|联系方式|联系号码|tel|Tel|TEL)[\s:：是为]*)(\d[\d\s\-]{5,}\d)(?!\d)"
)


def _mask_digits(text: str) -> str:
    """The digits of a phone number masked but the last four and the first ones that only say
    where it is (138…, 0510…): 138****5678, 0510-****5678; separators stay."""
    total = sum(c.isdigit() for c in text)
    head = max(0, total - 8) if total >= 10 else 0
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            out.append(c if seen < head or seen >= total - 4 else "*")
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def mask_text(text: str) -> str:
    """Phone numbers, ID numbers and e-mail addresses written in free text, masked."""
    if not text:
        return text
    text = EMAIL.sub(lambda m: mask_email(m[0]), text)
    text = ID_NUMBER.sub(lambda m: mask_id_number(m[0]), text)
    text = MOBILE.sub(lambda m: _mask_digits(m[0]), text)
    text = LANDLINE.sub(lambda m: _mask_digits(m[0]), text)
    return LOCAL.sub(lambda m: m[1] + _mask_digits(m[2]), text)


# --- one case -------------------------------------------------------------------------------------

# An HTML document's tags, comments and style or script blocks: everything that is not text.
_MARKUP = re.compile(
    r"(<style\b.*?</style\s*>|<script\b.*?</script\s*>|<!--.*?-->|<[^>]*>)", re.S | re.I
)

# Shorter known values would cut through ordinary words (a one-character surname).
_MIN_LENGTH = {mask_name: 2, mask_phone: 5, mask_id_number: 6, mask_address: 4, mask_email: 5}


def party_values(party) -> list[tuple[str, Callable[[str], str]]]:
    """A party's personal values with their maskers; none for an organisation or a department."""
    if party.kind != "person":
        return []
    values = [(getattr(party, key), mask) for key, mask in MASKERS.items()]
    values += [
        (v, mask_email)
        for v in (party.extra or {}).values()
        if isinstance(v, str) and EMAIL.fullmatch(v.strip())
    ]
    if email := getattr(party, "email", ""):  # when parties carry an e-mail address of their own
        values.append((email, mask_email))
    return [(v, m) for v, m in values if v]


def personal_fields(definition) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The fields a definition marks personal: registration fields by name, and each action's form
    fields by action and name."""
    registration = {f.name: f for f in definition.fields if f.personal}
    actions = {a.name: {f.name: f for f in a.form if f.personal} for a in definition.actions}
    return registration, actions


def field_values(fields: Mapping[str, Any], personal: Mapping[str, Any]):
    for name in personal:
        value = (fields or {}).get(name)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str | int) and not isinstance(v, bool) and str(v).strip():
                yield str(v).strip(), masker_for(name)


class CaseMask:
    """Masks one case's personal data wherever it is shown; with `reveal=True` it changes nothing
    (the caller has recorded the disclosure)."""

    def __init__(
        self,
        definition=None,
        *,
        values: Iterable[tuple[str, Callable[[str], str]]] = (),
        reveal: bool = False,
    ):
        self.reveal = reveal
        self.definition = definition
        self.registration, self.by_action = (
            personal_fields(definition) if definition is not None else ({}, {})
        )
        known: dict[str, str] = {}
        for value, mask in values:
            value = (value or "").strip()
            if len(value) >= _MIN_LENGTH.get(mask, 2) and value not in known:
                known[value] = mask(value)
        self.known = known
        # Longest first, so 张三丰 is not left as 张*丰 by the name 张三.
        self._known = (
            re.compile("|".join(re.escape(v) for v in sorted(known, key=len, reverse=True)))
            if known
            else None
        )

    @classmethod
    def for_case(cls, complaint, *, parties=None, events=None, reveal: bool = False) -> CaseMask:
        """The mask of a complaint, from its parties, its personal fields and the personal values in
        its events' forms (`parties` and `events` when the caller has them already)."""
        definition = complaint.definition
        if reveal:
            return cls(definition, reveal=True)
        parties = complaint.parties.all() if parties is None else parties
        registration, by_action = personal_fields(definition)
        values = [v for p in parties for v in party_values(p)]
        values += field_values(complaint.fields, registration)
        if any(by_action.values()):
            if events is None:
                actions = [a for a, fields in by_action.items() if fields]
                events = complaint.events.filter(action__in=actions).only("action", "payload")
            for e in events:
                values += field_values(e.payload, by_action.get(e.action, {}))
        return cls(definition, values=values)

    # --- text ---

    def text(self, value):
        if self.reveal or not value or not isinstance(value, str):
            return value
        if self._known is not None:
            value = self._known.sub(lambda m: self.known[m[0]], value)
        return mask_text(value)

    def html(self, markup: str) -> str:
        """HTML with the text between its tags masked; tags, attributes (a QR code's data URI) and
        style sheets untouched."""
        if self.reveal or not markup:
            return markup
        out = []
        for part in _MARKUP.split(markup):
            if not part or part.startswith("<"):
                out.append(part)
            else:
                out.append(html.escape(self.text(html.unescape(part)), quote=False))
        return "".join(out)

    def json(self, value):
        """Every string in a JSON value masked (keys stay)."""
        if self.reveal:
            return value
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return self.text(value)

    # --- fields ---

    def _field(self, name: str, value, personal: Mapping[str, Any]):
        if self.reveal or name not in personal or value in (None, "", []):
            return self.json(value)
        mask = masker_for(name)
        if isinstance(value, list):
            return [mask(str(v)) for v in value]
        return mask(str(value))

    def fields(self, data: Mapping[str, Any]) -> dict:
        """The case's registration fields, personal ones masked, free text masked."""
        return {k: self._field(k, v, self.registration) for k, v in (data or {}).items()}

    def payload(self, action: str, data: Mapping[str, Any]) -> dict:
        """An event's form values, the action's personal fields masked, free text masked."""
        personal = self.by_action.get(action, {})
        return {k: self._field(k, v, personal) for k, v in (data or {}).items()}

    # --- parties ---

    def party(self, party) -> dict:
        return party_dict(party, reveal=self.reveal)


def party_dict(party, *, reveal: bool) -> dict:
    data = {
        "id": party.pk,
        "role": party.role,
        "kind": party.kind,
        "name": party.name,
        "phone": party.phone,
        "email": party.email,
        "id_number": party.id_number,
        "address": party.address,
        "nationality": party.nationality,
        "relation": party.relation,
    }
    # Organisations and our own departments are not personal data.
    if not reveal and party.kind == "person":
        for key, masker in MASKERS.items():
            data[key] = masker(data[key])
    return data
