"""The generator writes the rows the engine would: generated cases are replayed through the real
services, engine and sweep at the same moments, and every row is compared."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from reports_helpers import EVENT_FIELDS, SAMPLE_PDF, snapshot

from tousu.cases.models import Complaint
from tousu.workdays import SHANGHAI

pytestmark = pytest.mark.django_db

END = datetime(2026, 10, 20, 12, 0, tzinfo=SHANGHAI)
START = END - timedelta(days=60)


@pytest.fixture
def engine_only():
    """Only the engine and the statistics receivers: other apps' receivers (triage risk flags,
    webhooks) add rows of their own that the generator does not claim to write."""
    from tousu.cases.signals import action_applied, complaint_registered

    saved = {}
    for signal in (complaint_registered, action_applied):
        saved[signal] = signal.receivers[:]
        signal.receivers = [r for r in signal.receivers if str(r[0][0]).startswith("reports.")]
        signal.sender_receivers_cache.clear()
    yield
    for signal, receivers in saved.items():
        signal.receivers = receivers
        signal.sender_receivers_cache.clear()


def _replay(process, trace, generated) -> None:
    """Each generated case again, through register_complaint, apply_action and the sweep."""
    from tousu.accounts.models import User
    from tousu.cases.attachments import add_attachment
    from tousu.cases.engine import Complainant, apply_action
    from tousu.cases.services import register_complaint
    from tousu.clocks.services import sweep
    from tousu.processes.models import Category

    users = {u.pk: u for u in User.objects.all()}
    codes = dict(Category.objects.filter(process_name=process.name).values_list("code", "pk"))
    assert codes
    for inputs, (tracking, snap) in zip(trace, generated.items(), strict=True):
        with time_machine.travel(inputs["registered_at"], tick=False):
            complaint, _ = register_complaint(
                process=process,
                user=users.get(inputs["user"]),
                channel=inputs["channel"],
                content=inputs["content"],
                parties=[{k: v for k, v in p.items() if k != "extra"} for p in inputs["parties"]],
                fields=inputs["fields"],
                category=inputs["category"],
                received_at=inputs["received_at"],
                is_anonymous=inputs["is_anonymous"],
                via=inputs["via"],
                actor_name=inputs["actor_name"],
            )
        assert complaint.tracking_number == tracking
        swept = set()
        for row in snap["events"][1:]:
            e = dict(zip(EVENT_FIELDS, row, strict=True))
            at = e["created_at"]
            with time_machine.travel(at, tick=False):
                if e["action"] == "notified":
                    continue  # the engine writes it with the action (or registration) before it
                if e["action"] in ("clock_warning", "clock_breached", "escalated"):
                    if at not in swept:
                        sweep(now=at)
                        swept.add(at)
                    continue
                complaint.refresh_from_db()
                actor = users.get(e["actor_id"]) or Complainant(e["actor_name"])
                if e["action"] == "attachment_added":
                    add_attachment(
                        complaint,
                        name=e["payload"]["name"],
                        content=SAMPLE_PDF,
                        user=users.get(e["actor_id"]),
                        via=e["via"],
                        actor_name=e["actor_name"],
                    )
                    continue
                apply_action(
                    complaint,
                    actor,
                    e["action"],
                    data=e["payload"],
                    version=complaint.version,
                    via=e["via"],
                    actor_name=e["actor_name"],
                )


@pytest.mark.parametrize(
    "template,n",
    [
        ("generic", 60),
        ("hospital", 60),
        ("property", 40),
        ("enterprise-quality", 40),
        ("tourism-authority", 30),
        ("tourism-company", 30),
        ("supervision-report", 30),
    ],
)
def test_generated_rows_are_what_the_engine_writes(flow_users, engine_only, template, n):
    from tousu.demo.bulk import generate

    process, _ = flow_users(template)
    trace: list = []
    with transaction.atomic():
        result = generate(n, template, seed=7, start=START, end=END, trace=trace, search=False)
        assert result.cases == n
        ids = [t["pk"] for t in trace]
        generated = snapshot(ids)
        transaction.set_rollback(True)
    assert not Complaint.objects.exists()
    actions = {row[0] for snap in generated.values() for row in snap["events"]}
    assert len(actions) >= 4  # the walk goes somewhere

    _replay(process, trace, generated)
    replayed = snapshot(Complaint.objects.values_list("pk", flat=True))
    assert list(replayed) == list(generated)
    for tracking, snap in generated.items():
        again = replayed[tracking]
        for part in ("complaint", "parties", "events", "tasks", "clocks", "clock_facts"):
            assert again[part] == snap[part], (tracking, part)
        assert again["fact"] == snap["fact"], tracking


@pytest.mark.django_db(transaction=True)
def test_worker_processes_write_the_same_rows(flow_users):
    """Batches simulated in two processes give the rows one process gives."""
    from django.db import connection

    from tousu.cases.models import Complaint, Counter
    from tousu.demo.bulk import generate

    flow_users("generic")
    runs = []
    for processes in (1, 2):
        result = generate(90, "generic", seed=11, start=START, end=END, batch=30,
                          processes=processes, search=False)  # fmt: skip
        assert result.processes == processes and result.cases == 90
        runs.append(snapshot(Complaint.objects.values_list("pk", flat=True)))
        with connection.cursor() as cur:  # the event log refuses deletes through the ORM
            for table in ("reports_clockfact", "reports_casefact", "clocks_clock", "cases_task",
                          "cases_event", "cases_party", "cases_search", "cases_complaint"):  # fmt: skip
                try:
                    cur.execute(f"DELETE FROM {table}")
                except Exception:
                    pass
        Counter.objects.all().delete()
    assert len(runs[0]) == 90 and runs[0] == runs[1]
