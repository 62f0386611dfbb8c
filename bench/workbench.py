"""Workbench response times with 100,000 cases on SQLite: the queue page (plain, filtered,
searched), the home page and the case page, measured at the server (Django's test client, in
process: no network), p50 and p95 over repeated requests.

    .venv/bin/python bench/workbench.py [--cases 100000] [--requests 60]

Cases are written directly in bulk (states spread over the generic flow, each with its events,
parties, clocks and search entry) so that set-up takes a minute, not hours. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOUSU = str(Path(sys.executable).parent / "tousu")
TEXTS = [
    "医生服务态度差，说话很冲，问两句就不耐烦",
    "电梯坏了三天没人修，老人上下楼很困难",
    "收费不透明，账单上多收了两次挂号费",
    "送货司机把货扔在门口就走了，外包装破损",
    "网上下单承诺两天发货，一周了还没动静",
    "楼上漏水到我家天花板，物业一直推脱",
    "导游强制购物，不买就甩脸色",
    "产品用了一个月就坏了，要求退货",
]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=60)
    args = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    env = {
        **os.environ,
        "TOUSU_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "tousu.settings",
        "ALLOWED_HOSTS": "testserver",
    }
    env.pop("DATABASE_URL", None)
    try:
        subprocess.run(
            [TOUSU, "init", "--template", "generic"], env=env, check=True, capture_output=True
        )
        subprocess.run(
            [sys.executable, __file__, "--inside", str(args.cases), str(args.requests)],
            env=env,
            check=True,
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)


def inside(n: int, requests: int) -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from tousu.accounts.models import Department
    from tousu.accounts.services import create_user
    from tousu.cases import search
    from tousu.cases.models import Complaint, Event, Party
    from tousu.clocks.models import Clock
    from tousu.processes.models import Category
    from tousu.processes.selectors import active_process

    process = active_process("generic")
    d = process.definition
    states = [s.name for s in d.states]
    departments = list(Department.objects.all())
    categories = list(Category.objects.filter(process_name="generic"))
    officer, _ = create_user("bench_officer", roles=["officer"], password="bench-password-1")
    handler, _ = create_user(
        "bench_handler", roles=["handler"], department=departments[0], password="bench-password-1"
    )
    rng = random.Random(1)
    now = timezone.now()
    t = time.perf_counter()
    with transaction.atomic():
        for start in range(0, n, 5000):
            batch = []
            for i in range(start, min(n, start + 5000)):
                category = rng.choice(categories)
                received = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
                batch.append(
                    Complaint(
                        tracking_number=f"TS-{received:%Y%m%d}-{i:06d}",
                        access_code_hash="x$y",
                        process=process,
                        state=rng.choice(states),
                        channel=rng.choice(["phone", "visit", "web", "letter"]),
                        title=rng.choice(TEXTS)[:20],
                        content=rng.choice(TEXTS) + f"（第 {i} 号）",
                        category=category,
                        department=category.department,
                        received_at=received,
                        created_by=officer,
                    )
                )
            Complaint.objects.bulk_create(batch)
            parties, events, clocks, index = [], [], [], []
            for c in batch:
                party = Party(
                    complaint=c,
                    role="complainant",
                    name="王先生",
                    phone=f"138{rng.randint(0, 99999999):08d}",
                )
                parties.append(party)
                events += [
                    Event(
                        complaint=c,
                        action="created",
                        label="登记",
                        to_state="registered",
                        actor=officer,
                        actor_name="投诉专员",
                        payload={"channel": c.channel},
                        visibility="public",
                        created_at=c.received_at,
                    ),
                    Event(
                        complaint=c,
                        action="judge_valid",
                        label="投诉成立",
                        from_state="registered",
                        to_state=c.state,
                        actor=officer,
                        actor_name="投诉专员",
                        created_at=c.received_at,
                    ),
                ]
                due = c.received_at + timedelta(hours=24)
                clocks.append(
                    Clock(
                        complaint=c,
                        name="reply_24h",
                        label="答复时限",
                        basis="F14",
                        unit="hours",
                        amount=24,
                        state=rng.choice(["running", "stopped"]),
                        started_at=c.received_at,
                        due_at=due,
                        warn_at=due - timedelta(hours=4),
                        basis_at=c.received_at,
                        basis_amount=24,
                    )
                )
                index.append((c.pk, search.document(c, [party])))
            Party.objects.bulk_create(parties)
            Event.objects.bulk_create(events)
            Clock.objects.bulk_create(clocks)
            for c, k in zip(batch, clocks, strict=True):  # the projection registration keeps
                c.next_due_at = k.due_at if k.state == "running" else None
            Complaint.objects.bulk_update(batch, ["next_due_at"])
            search.index_rows(index)
    print(f"set-up: {n:,} cases in {time.perf_counter() - t:.0f} s")

    from tousu.cases.selectors import visible_complaints

    def nth_page(client, base: str, n: int) -> str:
        """The URL of the n-th page of a queue: by following "next" (keyset cursors) when the page
        offers one, else by page number (the OFFSET pager it replaced)."""
        import html
        import re

        url = base
        for _ in range(n - 1):
            body = client.get(url).content.decode()
            if "&page=" in body or "?page=" in body:
                return f"{base}&page={n}"
            link = re.search(r'<a rel="next" href="\?([^"]*)"', body)
            if not link:
                break
            url = f"/staff/cases/?{html.unescape(link.group(1))}"
        return url

    for who, user in (("officer", officer), ("department handler", handler)):
        client = Client()
        client.force_login(user)
        # A case this user may open: a handler sees only their department's (and tasked) cases.
        ids = list(visible_complaints(user).values_list("pk", flat=True)[:5000])
        pages = {
            "queue (all, newest first)": "/staff/cases/?scope=all",
            "queue page 200": nth_page(client, "/staff/cases/?scope=all", 200),
            "queue department": "/staff/cases/?scope=department",
            "queue department page 200": nth_page(client, "/staff/cases/?scope=department", 200),
            "queue filtered (state+category)": (
                f"/staff/cases/?state=investigating&category={categories[0].code}"
            ),
            "queue overdue": "/staff/cases/?clock=overdue",
            "queue overdue page 200": nth_page(client, "/staff/cases/?clock=overdue", 200),
            "queue search 态度": "/staff/cases/?q=态度",
            "queue sorted by deadline": "/staff/cases/?sort=due",
            "queue by deadline page 200": nth_page(client, "/staff/cases/?sort=due", 200),
            "home (my to-do)": "/staff/",
            "case page": None,
        }
        print(f"\n[{who}] server time per page, {requests} requests each")
        for label, fixed in pages.items():

            def url(fixed=fixed, ids=ids):
                return fixed or f"/staff/cases/{rng.choice(ids)}/"

            client.get(url())  # warm
            times = []
            for _ in range(requests):
                t = time.perf_counter()
                r = client.get(url())
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (url, r.status_code)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"  {label:34} p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        inside(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
