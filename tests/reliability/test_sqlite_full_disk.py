"""SQLite on a full disk (issue #10): registering a complaint through the API and through the portal
answers a clear error (503, "存储空间已满…"), writes nothing at all, leaves the database intact
(`PRAGMA integrity_check` = ok, also from a fresh connection), and once space is free again the
same request — the same Idempotency-Key, the same portal form — registers the complaint exactly once.

Two ways to fill the disk, each in a subprocess with its own SQLite database (so the test runs the
same on the SQLite and the PostgreSQL pass, and the limits cannot leak into the test process):
  * `page_limit`: `PRAGMA max_page_count` at the current size: SQLite's own SQLITE_FULL, "database or
    disk is full", exactly what a full disk (ENOSPC) gives;
  * `file_limit`: `setrlimit(RLIMIT_FSIZE)` just above what the WAL holds (SIGXFSZ ignored): the
    kernel refuses the write (EFBIG), SQLite reports SQLITE_IOERR_WRITE "disk I/O error" — a write
    the operating system refuses, as with a quota.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r'''
import json, os, re, resource, signal, sqlite3, sys, time, uuid

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write must be an error, not a kill
from tousu.cli import main

assert main(["init", "--template", "generic"]) == 0
from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.test import Client

from tousu.accounts.services import create_token, create_user

MECHANISM = sys.argv[1]
DB = str(settings.DATABASES["default"]["NAME"])
PAGE_LIMIT = {"pages": None}


def _apply_page_limit(sender, connection, **kwargs):  # also on a reconnect
    if PAGE_LIMIT["pages"] is not None:
        connection.cursor().execute(f"PRAGMA max_page_count = {PAGE_LIMIT['pages']}")


connection_created.connect(_apply_page_limit)


def fill():
    if MECHANISM == "page_limit":
        with connection.cursor() as c:
            c.execute("PRAGMA page_count")
            PAGE_LIMIT["pages"] = c.fetchone()[0]
            c.execute(f"PRAGMA max_page_count = {PAGE_LIMIT['pages']}")
    else:
        with connection.cursor() as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL starts empty: room for 3 pages
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))


def free():
    if MECHANISM == "page_limit":
        PAGE_LIMIT["pages"] = None
        with connection.cursor() as c:
            c.execute("PRAGMA max_page_count = 1073741823")
    else:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def counts():
    """Rows in every table: nothing half-written means every count unchanged."""
    with connection.cursor() as c:
        c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        names = [r[0] for r in c.fetchall()]
        out = {}
        for name in names:
            c.execute(f'SELECT count(*) FROM "{name}"')
            out[name] = c.fetchone()[0]
        c.execute("SELECT coalesce(sum(value), 0) FROM cases_counter")
        out["cases_counter.value"] = c.fetchone()[0]
    return out


def integrity():
    with connection.cursor() as c:
        c.execute("PRAGMA integrity_check")
        check = [r[0] for r in c.fetchall()]
        c.execute("PRAGMA foreign_key_check")
        fk = c.fetchall()
    return {"integrity_check": check, "foreign_key_problems": len(fk)}


user, _ = create_user("intake", roles=["receiver"], password="intake-password-1")
_, token = create_token(user, name="full-disk")
api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
portal = Client(HTTP_HOST="localhost")


def post_api(key):
    body = {
        "channel": "phone",
        "content": f"电梯坏了三天没人修，多次打电话也没人理。{key}",
        "parties": [{"role": "complainant", "name": "王先生", "phone": "13800001234"}],
    }
    r = api.post("/api/v1/complaints", body, content_type="application/json",
                 headers={"Idempotency-Key": key})
    return r.status_code, r.json(), r.headers.get("Retry-After")


out = {"mechanism": MECHANISM}
out["before_fill"] = post_api(uuid.uuid4().hex)[0]

# The portal form is shown while there is space; a person takes more than 3 s to fill it in.
page = portal.get("/")
form = {
    "name": "李女士", "phone": "13912345678", "address": "幸福路 8 号",
    "content": "送货司机态度很差，货物外包装破损，签收时不让开箱检查。PORTALMARK",
    "request": "道歉，补发完好的货物", "consent": "on", "website": "", "challenge": "", "answer": "",
    "token": re.search(r'name="token" value="([^"]+)"', page.content.decode()).group(1),
}
time.sleep(3.2)

fill()
out["accepted_while_filling"] = 0
for _ in range(300):  # a page or two may still fit
    before = counts()
    key = uuid.uuid4().hex
    status, body, retry_after = post_api(key)
    if status != 201:
        break
    out["accepted_while_filling"] += 1
out["full"] = {"status": status, "body": body, "retry_after": retry_after}
out["unchanged_after_api"] = {k: (before[k], v) for k, v in counts().items() if before[k] != v}

r = portal.post("/", form)
html = r.content.decode()
out["portal_full"] = {
    "status": r.status_code,
    "message_shown": "存储空间已满" in html,
    "content_kept": "PORTALMARK" in html,
    "token_kept": form["token"] in html,
}
out["unchanged_after_portal"] = {k: (before[k], v) for k, v in counts().items() if before[k] != v}
out["integrity_while_full"] = integrity()

free()
out["retry_same_key"] = post_api(key)[:2]
out["replay_same_key"] = post_api(key)[:2]
r = portal.post("/", form)
out["portal_retry"] = {"status": r.status_code, "location": r.headers.get("Location")}
receipt = portal.get("/receipt/").content.decode()
out["portal_receipt_number"] = bool(re.search(r'id="tracking-number">[^<]+<', receipt))
after = counts()
out["growth_after_free"] = {k: after[k] - before[k] for k in ("cases_complaint", "cases_event",
                            "cases_idempotencyrecord", "portal_submissiontoken")}
with connection.cursor() as c:
    c.execute("SELECT count(*) FROM cases_complaint WHERE content LIKE %s", [f"%{key}"])
    out["stored_with_key"] = c.fetchone()[0]
    c.execute("SELECT count(*) FROM cases_complaint WHERE content LIKE %s", ["%PORTALMARK"])
    out["stored_portal"] = c.fetchone()[0]
out["integrity_after"] = integrity()
connection.close()
fresh = sqlite3.connect(DB)
out["fresh_connection_integrity"] = [r[0] for r in fresh.execute("PRAGMA integrity_check")]
fresh.close()
print("RESULT " + json.dumps(out, ensure_ascii=False))
'''


def _run(tmp_path: Path, mechanism: str) -> dict:
    drop = ("DATABASE_URL", "TOUSU_DEBUG", "TOUSU_PRODUCTION")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        TOUSU_DATA_DIR=str(tmp_path / mechanism),
        DJANGO_SETTINGS_MODULE="tousu.settings",
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mechanism],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-4000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.mark.parametrize("mechanism", ["page_limit", "file_limit"])
def test_full_disk_answers_clearly_writes_nothing_and_recovers(tmp_path, mechanism):
    r = _run(tmp_path, mechanism)

    assert r["before_fill"] == 201
    # A clear answer in the API's error shape, nothing saved, and when to try again.
    assert r["full"]["status"] == 503, r["full"]
    assert r["full"]["body"]["code"] == "storage_full"
    assert r["full"]["body"]["message"].startswith("存储空间已满")
    assert "没有保存" in r["full"]["body"]["message"]
    assert r["full"]["retry_after"] == "60"
    # The portal shows the same words on the form, with what the person typed still in it.
    assert r["portal_full"] == {
        "status": 503,
        "message_shown": True,
        "content_kept": True,
        "token_kept": True,
    }
    # Nothing half-written: every table's row count (and the tracking-number counter) unchanged.
    assert r["unchanged_after_api"] == {}
    assert r["unchanged_after_portal"] == {}
    assert r["integrity_while_full"] == {"integrity_check": ["ok"], "foreign_key_problems": 0}

    # Space again: the same key registers once (and then replays), the same form gives a receipt.
    assert r["retry_same_key"][0] == 201
    assert r["replay_same_key"] == r["retry_same_key"]
    assert r["portal_retry"]["status"] == 302
    assert r["portal_retry"]["location"].endswith("/receipt/")
    assert r["portal_receipt_number"]
    assert r["stored_with_key"] == 1 and r["stored_portal"] == 1
    assert r["growth_after_free"] == {
        "cases_complaint": 2,
        "cases_event": 2,
        "cases_idempotencyrecord": 1,
        "portal_submissiontoken": 1,
    }
    assert r["integrity_after"] == {"integrity_check": ["ok"], "foreign_key_problems": 0}
    assert r["fresh_connection_integrity"] == ["ok"]
