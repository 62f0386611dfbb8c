"""Hostile query strings on the pages that filter: the statistics dashboard, the exports, the queues,
the to-do, the auditor's disclosure log and the API's case list. Whatever the values — huge numbers
(99999999999999999999 overflowed SQLite's integers and answered 500), negative ones, NUL and other
control characters, lone surrogates, dates out of range — the answer is a page or a 4xx, never a
500; an out-of-range report filter is a 400 that says what was wrong."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

KEYS = (
    "period",
    "department",
    "category",
    "template",
    "page",
    "scope",
    "q",
    "state",
    "channel",
    "clock",
    "flag",
    "date_from",
    "date_to",
    "sort",
    "since",
    "until",
    "case",
    "user",
    "cursor",
    "after",
    "before",
    "limit",
    "received_from",
    "received_to",
    "closed",
)
NASTY = st.sampled_from(
    [
        "99999999999999999999",
        "-1",
        "0",
        "9223372036854775808",
        "1e309",
        "NaN",
        "\x00",
        "a\x00b",
        "\ud800",
        "9999-12-31",
        "0001-01-01",
        "2026-13-45",
        "2026-Q9",
        "2026-01..9999-12",
        "1..99999999999999999999",
        "'; DROP TABLE cases_complaint; --",
        "<script>alert(1)</script>",
        "投诉" * 300,
        "１２３",
        "",
    ]
)
VALUES = st.one_of(NASTY, st.text(max_size=40), st.integers().map(str))
QUERIES = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5)
PAGES = (
    "/staff/reports/",
    "/staff/reports/export.csv",
    "/staff/reports/export.xlsx",
    "/staff/cases/",
    "/staff/",
    "/staff/privacy/disclosures/",
)


def _clean(query: dict) -> dict:
    # The test client cannot put a lone surrogate in a URL; a browser sends it as bytes that Django
    # decodes with replacement characters, which is what we send.
    return {k: v.encode("utf-8", "replace").decode("utf-8") for k, v in query.items()}


@pytest.fixture
def callers(staff):
    from tousu.accounts.services import create_token

    web = {}
    for who in ("officer", "handler_q", "auditor"):
        web[who] = Client()
        web[who].force_login(staff[who])
    _, raw = create_token(staff["officer"])
    return web, {"Authorization": f"Bearer {raw}"}


def test_out_of_range_report_filters_answer_400_with_the_reason(callers, register):
    web, _ = callers
    register()
    for path in ("/staff/reports/", "/staff/reports/export.csv", "/staff/reports/export.xlsx"):
        for query in (
            {"category": "99999999999999999999"},
            {"department": "99999999999999999999"},
            {"department": "-3"},
            {"category": "１"},
        ):
            r = web["officer"].get(path, query)
            assert r.status_code == 400, (path, query, r.status_code)
            assert "无效" in r.content.decode(), (path, query)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=QUERIES)
def test_hostile_query_strings_never_answer_500(callers, query):
    web, auth = callers
    query = _clean(query)
    for who, client in web.items():
        for path in PAGES:
            r = client.get(path, query)
            assert r.status_code < 500, (who, path, query, r.status_code)
            if getattr(r, "streaming", False):
                b"".join(r.streaming_content)
    r = Client().get("/api/v1/complaints", query, headers=auth)
    assert r.status_code < 500, ("api", query, r.status_code)
