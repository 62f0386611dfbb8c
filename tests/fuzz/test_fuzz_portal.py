"""Hostile input to the portal's public submission form (issue #10, point 6): NUL bytes, control
characters, lone surrogates and invalid UTF-8, bidirectional overrides, markup, SQL and text beyond
every limit, in any field, repeated fields and unknown ones, and bodies that are not forms at all.

Never a 5xx; a refusal explains itself in Chinese and stores nothing (no complaint, party, event,
attachment or used form token); an accepted complaint stores no NUL. The rate limits and the
challenge are set out of the way (their own tests are in tests/portal), as is the "too fast" check.
Deterministic: a fixed seed (derandomize), no example database, a bounded number of examples."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from fuzz_hostile import CJK, fuzz_settings, hostile_strings
from hypothesis import example, given
from hypothesis import strategies as st

from tousu.cases.models import Attachment, Complaint, Event, Party
from tousu.portal import ratelimit
from tousu.portal.models import SubmissionToken

pytestmark = pytest.mark.django_db

COUNTED = (Complaint, Party, Event, Attachment, SubmissionToken)
FORM = {
    "name": "张三",
    "phone": "13812345678",
    "content": "网上下单承诺48小时发货，结果拖了一周还没发。",
    "request": "尽快发货并说明原因",
    "f_target": "网店客服",
    "consent": "on",
}
FIELDS = sorted({*FORM, "address", "f_occurred_at", "website", "token", "challenge", "answer"})


class Portal(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "<portal>"


@pytest.fixture
def portal(client, generic, staff, settings, monkeypatch, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    unlimited = (10**6, 60)
    settings.TOUSU_PORTAL_LIMITS = {
        "submit": unlimited,
        "challenge": unlimited,
        "suspect": unlimited,
    }
    monkeypatch.setattr("tousu.portal.views.MIN_FILL_SECONDS", 0)
    assert client.get("/").status_code == 200
    return Portal(client=client)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def _post(portal, body: bytes, content_type: str):
    before = _counts()
    response = portal["client"].generic("POST", "/", data=body, content_type=content_type)
    status = response.status_code
    assert status < 500, (status, body[:300])
    if status == 302 and response["Location"].endswith("/receipt/"):
        after = _counts()
        assert after["Complaint"] <= before["Complaint"] + 1
        if after["Complaint"] > before["Complaint"]:
            complaint = Complaint.objects.latest("pk")
            stored = [complaint.content, complaint.request, str(complaint.fields)]
            stored += [f"{p.name}{p.phone}{p.address}" for p in complaint.parties.all()]
            assert not any("\x00" in text for text in stored), stored
        return response
    assert _counts() == before, f"a refused submission stored something: {body[:300]!r}"
    assert status in (400, 403, 413, 429), status
    html = response.content.decode()
    assert re.search(r'class="[^"]*\berror', html) or "errorlist" in html, html[:2000]
    form = response.context["form"] if response.context else None
    if form is not None and form.is_bound:
        for field, messages in form.errors.items():
            for message in messages:
                assert CJK.search(message), (field, message)
    return response


field_values = st.one_of(
    hostile_strings,
    st.sampled_from(["", "on", "2026-11-02", "2026-02-30", "13812345678", "网店客服"]),
)


@fuzz_settings(70)
@given(
    changes=st.dictionaries(
        st.one_of(st.sampled_from(FIELDS), hostile_strings),
        st.one_of(field_values, st.lists(field_values, min_size=2, max_size=3)),
        min_size=1,
        max_size=4,
    ),
    keep_token=st.booleans(),
)
@example(changes={"content": "投诉\x00内容"}, keep_token=True)
@example(changes={"name": "\x00"}, keep_token=True)
@example(changes={"f_target": "网店\x00客服", "address": "\ud800"}, keep_token=True)
@example(changes={"phone": "1381234567\x008"}, keep_token=True)
@example(changes={"content": "长" * 5001}, keep_token=True)
@example(changes={"f_occurred_at": "2026-11-02\x00"}, keep_token=True)
@example(changes={"website": "http://spam.example", "answer": "\x00"}, keep_token=True)
@example(changes={"token": "\x00", "challenge": "\ud800"}, keep_token=False)
def test_hostile_values_in_the_submission_form(portal, changes, keep_token):
    data = {**FORM, "token": ratelimit.new_form_token()}
    for key, value in changes.items():
        if key == "token" and keep_token:
            continue
        data[key] = value
    body = urlencode(data, doseq=True, encoding="utf-8", errors="surrogatepass").encode("ascii")
    _post(portal, body, "application/x-www-form-urlencoded")


@fuzz_settings(25)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.sampled_from(
            [
                b"content=%00&consent=on",
                b"content=%FF%FE&name=%C0%AF",
                b"=&&&=&content",
                b"a" * 5000,
                b"content=" + b"%00" * 3000,
            ]
        ),
    ),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=xyz",
            "application/json",
            "text/plain; charset=utf-16",
        ]
    ),
)
def test_bodies_that_are_not_forms(portal, body, content_type):
    _post(portal, body, content_type)
