"""Keyset pagination of the queues and the to-do: walking forward then back visits every case
exactly once in the sort's order (ties on the sort column and cases without a deadline included),
no page is read with OFFSET, a position that is not one starts at the first page, and counts stop
at the cap."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tousu.cases.models import Complaint
from tousu.web import keyset, queues

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(register):
    made = [register(f"第 {i} 件投诉，产品质量有问题") for i in range(11)]
    base = timezone.now() - timedelta(days=3)
    ids = [c.pk for c in made]
    # Ties on the sort column: three pairs share their received time; four have no deadline.
    for n, pk in enumerate(ids):
        Complaint.objects.filter(pk=pk).update(
            received_at=base + timedelta(hours=n // 2),
            next_due_at=None if n % 3 == 0 else base + timedelta(days=5, hours=(n * 7) % 5),
        )
    return ids


def _expected(sort: str) -> list[int]:
    rows = list(Complaint.objects.values("id", "received_at", "updated_at", "next_due_at"))
    far = timezone.now() + timedelta(days=36500)
    order = {
        "-received": lambda r: (-r["received_at"].timestamp(), -r["id"]),
        "received": lambda r: (r["received_at"].timestamp(), r["id"]),
        "-updated": lambda r: (-r["updated_at"].timestamp(), -r["id"]),
        "due": lambda r: (
            r["next_due_at"] is None,
            (r["next_due_at"] or far).timestamp(),
            -r["received_at"].timestamp(),
            -r["id"],
        ),
    }[sort]
    return [r["id"] for r in sorted(rows, key=order)]


def _get(query: str) -> QueryDict:
    return QueryDict(query)


@pytest.mark.parametrize("sort", list(queues.SORTS))
def test_walking_forward_and_back_visits_every_case_once_in_order(cases, staff, sort):
    params = queues.QueueParams.from_request(_get(f"sort={sort}"))
    qs = queues.queue(staff["officer"], params)
    keys = queues.sort_keys(params)
    seen, query, pages = [], "", []
    while True:
        page = keyset.paginate(qs, keys, _get(query), size=4, base_query=params.querystring())
        pages.append(page)
        seen += [c.pk for c in page.rows]
        if not page.has_next:
            break
        query = page.next_query
    assert seen == _expected(sort)
    assert len(pages) == 3 and pages[0].is_first and not pages[0].has_previous
    assert f"sort={sort}" in pages[1].next_query  # the filters travel with the position

    back, query = [], pages[-1].prev_query
    while query:
        page = keyset.paginate(qs, keys, _get(query), size=4)
        back = [c.pk for c in page.rows] + back
        query = page.prev_query
    assert back == seen[: len(back)] and len(back) == 8  # the two pages before the last


def test_the_queue_page_uses_no_offset_and_follows_its_links(cases, staff):
    client = Client()
    client.force_login(staff["officer"])
    url, seen = "/staff/cases/?scope=all", []
    with CaptureQueriesContext(connection) as ctx:
        while url:
            body = client.get(url).content.decode()
            seen += [int(pk) for pk in re.findall(r'href="/staff/cases/(\d+)/"', body)]
            link = re.search(r'<a rel="next" href="\?([^"]*)"', body)
            url = f"/staff/cases/?{link.group(1).replace('&amp;', '&')}" if link else ""
    assert sorted(set(seen)) == sorted(cases)
    assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)
    assert "共 11 件" in client.get("/staff/cases/?scope=all").content.decode()


@pytest.mark.parametrize("garbage", ["x", "W10", "WzEsMl0", "WyJ4IiwieSJd", "!!!", "9" * 500])
def test_a_position_that_is_not_one_starts_at_the_first_page(cases, staff, garbage):
    client = Client()
    client.force_login(staff["officer"])
    first = client.get("/staff/cases/?scope=all").content.decode()
    for name in ("after", "before"):
        r = client.get(f"/staff/cases/?scope=all&{name}={garbage}")
        assert r.status_code == 200
        assert re.findall(r"/staff/cases/(\d+)/", r.content.decode()) == re.findall(
            r"/staff/cases/(\d+)/", first
        )


def test_the_home_page_pages_by_keyset(cases, staff):
    client = Client()
    client.force_login(staff["officer"])
    body = client.get("/staff/").content.decode()
    assert "共 11 件" in body and 'rel="next"' not in body  # 11 fit one screen of 30


def test_counts_stop_at_the_cap(cases):
    qs = Complaint.objects.all()
    assert keyset.bounded_count(qs, cap=5) == 6
    assert keyset.count_text(keyset.bounded_count(qs, cap=5), cap=5) == "1万+"
    assert keyset.count_text(keyset.bounded_count(qs)) == "11"
    with CaptureQueriesContext(connection) as ctx:
        keyset.bounded_count(qs, cap=5)
    assert "LIMIT 6" in ctx.captured_queries[0]["sql"].upper()


def test_the_to_do_in_segments_keeps_the_old_order(cases, staff):
    from django.db.models import F

    from tousu.cases import selectors
    from tousu.owners import selectors as owners

    officer = staff["officer"]
    # Some cases held by the officer, some by someone else, the rest unheld.
    Complaint.objects.filter(pk__in=cases[::4]).update(owner=officer)
    Complaint.objects.filter(pk__in=cases[1::4]).update(owner=staff["leader"])
    todo = selectors.visible_complaints(officer).filter(selectors.actionable(officer))
    expected = list(
        owners.mine_first(todo, officer)
        .order_by("holder_rank", F("next_due_at").asc(nulls_last=True), "-received_at", "-id")
        .values_list("pk", flat=True)
    )
    assert len(expected) == 11
    segments = queues.todo_segments(officer)
    seen, query, pages = [], "", 0
    while True:
        page = keyset.paginate_segments(todo, segments, _get(query), size=3)
        seen += [c.pk for c in page.rows]
        pages += 1
        if not page.has_next:
            break
        query = page.next_query
    assert seen == expected and pages == 4
    back, query = [], page.prev_query
    while query:
        page = keyset.paginate_segments(todo, segments, _get(query), size=3)
        back = [c.pk for c in page.rows] + back
        query = page.prev_query
    assert back == expected[:9]
