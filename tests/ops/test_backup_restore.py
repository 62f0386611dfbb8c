"""`tousu backup` and `tousu restore`, run as the operator runs them (the installed command in a
separate process, against committed data): a round trip restores every row of every table and every
file byte for byte, on SQLite and on PostgreSQL; a tampered or incomplete backup is refused before
anything is touched; a database with data is overwritten only with --force; a backup taken while
complaints keep arriving is one consistent point in time."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from ops_helpers import database_url, dump, png, query, tousu

from tousu.cases.attachments import add_attachment
from tousu.cases.models import Attachment, Complaint, Event

pytestmark = pytest.mark.django_db(transaction=True)

SCRATCH_DB = "tousu_ops_restore"


@pytest.fixture
def source():
    """The test database and data directory, as a URL and a path for the subprocesses."""
    return database_url(connection.settings_dict), Path(settings.DATA_DIR)


@pytest.fixture
def scratch(tmp_path):
    """An empty place to restore into: a fresh data directory, and on PostgreSQL a fresh database
    (created here, dropped afterwards)."""
    data_dir = tmp_path / "restored"
    data_dir.mkdir()
    if connection.vendor == "sqlite":
        yield f"sqlite:///{data_dir / 'tousu.sqlite3'}", data_dir
        return
    import psycopg

    base = database_url({**connection.settings_dict, "NAME": "postgres"})
    admin_url = base.replace("postgres://", "postgresql://", 1)

    def recreate(create: bool) -> None:
        with psycopg.connect(admin_url, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
            if create:
                con.execute(f"CREATE DATABASE {SCRATCH_DB} TEMPLATE template0 ENCODING 'UTF8'")

    recreate(True)
    try:
        yield base.rsplit("/", 1)[0] + "/" + SCRATCH_DB, data_dir
    finally:
        recreate(False)


def _cases(register, act, staff, n: int = 3) -> list[Complaint]:
    """Cases with parties, events along several paths, attachments and an issued document."""
    made = []
    for i in range(n):
        c = register(
            f"第{i}件：快递包装破损，商品损坏，要求赔偿",
            parties=[
                {"role": "complainant", "name": f"张{i}", "phone": f"1381234{i:04d}"},
                {"role": "respondent", "kind": "organisation", "name": "储运部"},
            ],
        )
        add_attachment(c, name=f"照片{i}.png", content=png(i), user=staff["receiver"])
        add_attachment(c, name=f"补充{i}.png", content=png(100 + i), user=None, is_public=True)
        if i % 3 == 0:
            c = act(c, "receiver", "resolve_on_spot", solution="当场更换", satisfaction="satisfied")
            c = act(c, "officer", "archive", summary="已归档")
        elif i % 3 == 1:
            c = act(c, "officer", "judge_valid", reason="理由充分")  # issues a receipt (PDF)
            c = act(c, "officer", "assign_department", category="transport")
        made.append(c)
    return made


def _files(data_dir: Path) -> dict[str, bytes]:
    """The bytes of every attachment the database names, keyed by its stored name."""
    return {
        a.file.name: (data_dir / "attachments" / a.file.name).read_bytes()
        for a in Attachment.objects.all()
    }


def _wait_for_pdfs(expected: int) -> None:
    from tousu.documents.models import DocumentFile

    for _ in range(100):
        if DocumentFile.objects.count() >= expected:
            return
        time.sleep(0.1)


def test_round_trip_restores_every_row_and_file_exactly(
    register, act, staff, source, scratch, tmp_path
):
    from tousu.ops import backup

    url, data_dir = source
    _cases(register, act, staff, n=4)
    _wait_for_pdfs(1)
    from tousu.documents.models import DocumentFile

    assert Complaint.objects.count() == 4 and Attachment.objects.count() == 8
    assert Event.objects.count() > 12 and DocumentFile.objects.count() >= 1
    before = dump(url)
    files_before = _files(data_dir)

    r = tousu("backup", str(tmp_path / "b1"), url=url, data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1 and "投诉 4 件" in r.stdout and "附件 8 个" in r.stdout
    manifest = json.loads((tmp_path / "b1" / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["vendor"] == connection.vendor
    assert manifest["counts"]["complaints"] == 4 and manifest["counts"]["attachments"] == 8
    assert manifest["counts"]["events"] == Event.objects.count()
    # Every file in the backup is listed with its SHA-256, and nothing is listed that is not there.
    on_disk = {
        str(p.relative_to(tmp_path / "b1"))
        for p in (tmp_path / "b1").rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert on_disk == set(manifest["files"])
    for rel, meta in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "b1" / rel).read_bytes()).hexdigest() == meta["sha256"]
    assert len([f for f in manifest["files"] if f.startswith("files/attachments/")]) == 8
    assert any(f.startswith("files/documents/") for f in manifest["files"])

    target_url, target_dir = scratch
    r = tousu("restore", str(tmp_path / "b1"), url=target_url, data_dir=target_dir)
    assert r.returncode == 0, r.stderr
    assert dump(target_url) == before  # every row of every table, complaints and events included
    for name, content in files_before.items():
        restored = (target_dir / "attachments" / name).read_bytes()
        assert restored == content
    for a in Attachment.objects.all():
        restored = (target_dir / "attachments" / a.file.name).read_bytes()
        assert hashlib.sha256(restored).hexdigest() == a.sha256
    for f in DocumentFile.objects.all():
        restored = (target_dir / "documents" / f.file.name).read_bytes()
        assert hashlib.sha256(restored).hexdigest() == f.sha256

    # The restored database now holds data: overwriting it needs --force.
    r = tousu("restore", str(tmp_path / "b1"), url=target_url, data_dir=target_dir)
    assert r.returncode == 2 and "--force" in r.stderr and r.stderr.count("\n") == 1

    # More data, a second backup; --force replaces the restored database with it, and with the
    # first backup again: the extra complaint goes, exactly.
    _cases(register, act, staff, n=1)
    after = dump(url)
    assert after != before
    backup.backup(tmp_path / "b2")  # in this process: the same code, without a second start-up
    r = tousu("restore", "--force", str(tmp_path / "b2"), url=target_url, data_dir=target_dir)
    assert r.returncode == 0, r.stderr
    assert dump(target_url) == after
    r = tousu("restore", "--force", str(tmp_path / "b1"), url=target_url, data_dir=target_dir)
    assert r.returncode == 0, r.stderr
    assert dump(target_url) == before


DAMAGES = {
    "attachment": "校验和不符",  # one bit of one attachment
    "database": "校验和不符",  # one byte of the database snapshot
    "missing": "缺少文件",  # an attachment deleted
    "manifest": "路径",  # the manifest names a file outside the backup
}


def _damage(backup: Path, damage: str) -> None:
    manifest = json.loads((backup / "manifest.json").read_text())
    attachment = next(backup / f for f in manifest["files"] if f.startswith("files/attachments/"))
    if damage == "attachment":
        content = bytearray(attachment.read_bytes())
        content[-1] ^= 0x01
        attachment.write_bytes(bytes(content))
    elif damage == "database":
        db = backup / manifest["database"]
        content = bytearray(db.read_bytes())
        content[len(content) // 2] ^= 0xFF
        db.write_bytes(bytes(content))
    elif damage == "missing":
        attachment.unlink()
    else:
        manifest["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "size": 1}
        (backup / "manifest.json").write_text(json.dumps(manifest))


def test_a_tampered_backup_is_refused_and_nothing_is_touched(
    register, act, staff, source, scratch, tmp_path, capsys
):
    """Refused before the database or a file is touched, even with --force over a database that
    holds data (this test's own); once through the command into an empty database too."""
    from tousu.cli import main
    from tousu.ops import backup

    url, data_dir = source
    _cases(register, act, staff, n=2)
    good = tmp_path / "good"
    backup.backup(good)
    assert main(["restore", "--verify-only", str(good)]) == 0
    capsys.readouterr()
    before, files_before = dump(url), _files(data_dir)
    for damage, message in DAMAGES.items():
        bad = tmp_path / damage
        shutil.copytree(good, bad)
        _damage(bad, damage)
        assert main(["restore", "--verify-only", str(bad)]) == 1
        assert message in capsys.readouterr().err
        assert main(["restore", "--force", str(bad)]) == 1, damage
        err = capsys.readouterr().err
        assert message in err and "未做任何更改" in err and err.count("\n") == 1
        assert dump(url) == before and _files(data_dir) == files_before

    target_url, target_dir = scratch
    empty = dump(target_url)
    r = tousu("restore", str(tmp_path / "attachment"), url=target_url, data_dir=target_dir)
    assert r.returncode == 1 and "校验和不符" in r.stderr and r.stderr.count("\n") == 1
    assert dump(target_url) == empty  # not a table created, not a row written
    assert not [p for p in target_dir.rglob("attachments/**/*") if p.is_file()]


def test_backup_refuses_a_used_directory_and_restore_a_non_backup(tmp_path, generic, capsys):
    from tousu.cli import main

    used = tmp_path / "used"
    used.mkdir()
    (used / "note.txt").write_text("x")
    assert main(["backup", str(used)]) == 2
    assert "不是空目录" in capsys.readouterr().err
    assert sorted(p.name for p in used.iterdir()) == ["note.txt"]
    assert main(["restore", str(used)]) == 1  # refused at the checks, before the database
    err = capsys.readouterr().err
    assert "manifest.json" in err and "未做任何更改" in err and err.count("\n") == 1


def test_backup_while_complaints_arrive_is_one_consistent_moment(
    register, staff, source, scratch, tmp_path
):
    """A writer registers complaints (each with its party and first event in one transaction) all
    through the backup; the restored database holds whole complaints only, as many as the manifest
    says, fewer than were written by the end."""
    url, data_dir = source
    register("开始之前的一件")
    stop = threading.Event()
    written = []
    errors = []

    def writer():
        from django.db import connection as thread_connection

        try:
            i = 0
            while not stop.is_set():
                written.append(register(f"备份进行中登记的第{i}件：服务态度差").pk)
                i += 1
                time.sleep(0.05)  # a steady stream, not a flood: the machine is shared
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            thread_connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 3:
            time.sleep(0.01)
        r = tousu("backup", str(tmp_path / "b"), url=url, data_dir=data_dir)
        during = len(written)
        while len(written) < during + 3:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert not errors and r.returncode == 0, (errors, r.stderr)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    total = Complaint.objects.count()
    assert 1 + 3 <= manifest["counts"]["complaints"] < total

    target_url, target_dir = scratch
    r = tousu("restore", str(tmp_path / "b"), url=target_url, data_dir=target_dir)
    assert r.returncode == 0, r.stderr
    complaints = {r[0] for r in query(target_url, "SELECT id FROM cases_complaint")}
    assert len(complaints) == manifest["counts"]["complaints"]
    created = query(target_url, "SELECT complaint_id FROM cases_event WHERE action = 'created'")
    parties = query(target_url, "SELECT DISTINCT complaint_id FROM cases_party")
    # Every complaint with its party and its first event; no event or party without its complaint.
    assert sorted(r[0] for r in created) == sorted(complaints)
    assert {r[0] for r in parties} == complaints
