"""No page shows a raw key. For every shipped template, cases are walked through many actions (every
form filled from the definition), then the pages a person reads — the staff case page (masked and
revealed), its documents, the queue, the to-do, the leader's inbox, the complainant's tracking page —
are read as text, and none may contain a field name, action, state, flag, category, department,
channel, choice or clock code of the definition, nor an event's action code. The keys come from
the definitions, so a field or flag added to a template later is checked too."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from walker import install, make_staff, register, walk

from tousu.processes.catalog import template_names


class _Text(HTMLParser):
    """What a reader sees: text nodes (not script or style) and the attributes a browser shows."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def definition_keys(definition) -> set[str]:
    keys = {f.name for f in definition.fields}
    keys |= {c.value for f in definition.fields for c in f.choices}
    for a in definition.actions:
        keys.add(a.name)
        keys |= {f.name for f in a.form}
        keys |= {c.value for f in a.form for c in f.choices}
        keys |= set(a.set.flags_add) | set(a.set.flags_remove)
    keys |= {s.name for s in definition.states}
    keys |= {c.code for c in definition.categories}
    keys |= {d.code for d in definition.departments}
    keys |= {c.value for c in definition.channels}
    keys |= {k.name for k in definition.clocks}
    return keys


URL = re.compile(r"https?://\S+")


def raw_keys_in(text: str, keys: set[str]) -> set[str]:
    # A web address shown as such (a message's tracking link) is not a key left unlabelled.
    text = URL.sub("", text)
    return {k for k in keys if re.search(rf"(?<![A-Za-z0-9_]){re.escape(k)}(?![A-Za-z0-9_])", text)}


@pytest.mark.parametrize("template", template_names())
def test_no_page_shows_a_raw_key(template, db, client):
    from tousu.cases.models import FLAG_LABELS, Event

    process = install(template)
    definition = process.definition
    users = make_staff(definition)
    taken: set[str] = set()
    cases = []
    for n in range(4):  # several walks: different branches of the flow, staying open a while
        complaint, code = register(process, users, n=n)
        cases.append((walk(complaint, users, steps=30, seed=n, taken=taken, linger=6), code))
    assert len(taken) >= min(8, len(definition.actions)), f"only {sorted(taken)} were walked"

    keys = definition_keys(definition)
    keys |= set(Event.objects.values_list("action", flat=True))
    for c, _ in cases:
        keys |= set(c.flags)
    unlabelled = {f for c, _ in cases for f in c.flags} - FLAG_LABELS.keys()
    flags = {f for a in definition.actions for f in a.set.flags_add}
    assert not (flags - FLAG_LABELS.keys()), f"flags without a label: {flags - FLAG_LABELS.keys()}"
    assert not unlabelled, f"flags without a label: {unlabelled}"

    pages: dict[str, str] = {}
    client.force_login(users["officer"])
    for c, _ in cases:
        pages[f"case {c.pk}"] = client.get(f"/staff/cases/{c.pk}/").content.decode()
        pages[f"case {c.pk} revealed"] = client.post(
            f"/staff/cases/{c.pk}/reveal/"
        ).content.decode()
        pages[f"documents {c.pk}"] = client.get(f"/staff/documents/cases/{c.pk}/").content.decode()
    pages["queue"] = client.get("/staff/cases/?scope=all").content.decode()
    pages["to-do"] = client.get("/staff/").content.decode()
    client.force_login(users["leader"])
    pages["leader"] = client.get("/staff/leader/").content.decode()
    client.logout()
    for c, code in cases:
        r = client.post("/track/", {"number": c.tracking_number, "secret": code})
        assert r.status_code == 302, r.content.decode()[:300]
        pages[f"portal {c.pk}"] = client.get(r["Location"]).content.decode()

    problems = {
        name: sorted(found)
        for name, html in pages.items()
        if (found := raw_keys_in(visible_text(html), keys))
    }
    assert not problems, f"{template}: raw keys on pages: {problems}"


def test_the_check_sees_a_raw_key():
    html = '<p>类别：<span title="medical_dispute">x</span></p><dl><dt>patient_name</dt></dl>'
    html += "<script>var target = 1;</script>"
    keys = {"patient_name", "medical_dispute", "target", "record_number"}
    assert raw_keys_in(visible_text(html), keys) == {"patient_name", "medical_dispute"}
    assert raw_keys_in("查询：https://example.org/track/ ，target", {"track", "target"}) == {
        "target"
    }
