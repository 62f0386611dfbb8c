"""The `tousu` command on a fresh data directory and as a service (issue 15 §4): a command that needs
the database says in one Chinese line to run `tousu init` (exit 2) and creates nothing; a calendar
question is answered without any database; what `tousu` creates is the service user's alone (data
directory 0700, database, attachments, documents and backups 0600); and each `tousu serve` has its
own gunicorn control socket, so stopping one leaves the other's alone."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _env(data: Path, **extra) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    return {**env, "TOUSU_DATA_DIR": str(data), "HOME": str(data.parent), **extra}


def tousu(data: Path, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tousu.cli", *args],
        env=_env(data, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "command",
    [
        ["token", "list"],
        ["createuser", "wang", "--role", "officer"],
        ["worker", "--once"],
        ["privacy", "reveals"],
        ["documents", "list", "TS-20260101-0001"],
        ["backup", "backup-dir"],
        ["retention", "run", "--dry-run"],
    ],
)
def test_a_database_command_before_init_says_to_run_init(tmp_path, command):
    data = tmp_path / "var"
    r = tousu(data, *command)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "数据库尚未初始化，请先运行 tousu init" in lines[0], r.stderr
    assert not (data / "tousu.sqlite3").exists()  # finding out created nothing


def test_calendar_questions_need_no_database(tmp_path):
    from datetime import date

    from tousu.workdays import Calendar

    expected = str(Calendar({}, complete_years=[]).add_workdays(date(2026, 9, 30), 3))
    data = tmp_path / "var"
    r = tousu(data, "workdays", "add", "2026-09-30", "3")
    assert r.returncode == 0 and r.stdout.strip() == expected, (r.stdout, r.stderr)
    r = tousu(data, "workdays", "between", "2026-01-01", "2026-01-31")
    assert r.returncode == 0 and r.stdout.strip().split()[0].isdigit()
    r = tousu(data, "workdays", "due", "2026-09-30T10:00", "--workdays", "7")
    assert r.returncode == 0, r.stderr
    r = tousu(data, "calendar", "status")
    assert r.returncode == 0 and "官方" in r.stdout, r.stderr
    # Even with a PostgreSQL address nobody answers at.
    down = "postgres://postgres@127.0.0.1:1/nothing"
    r = tousu(data, "workdays", "add", "2026-09-30", "3", DATABASE_URL=down)
    assert r.returncode == 0 and r.stdout.strip() == expected, r.stderr
    assert not (data / "tousu.sqlite3").exists()


def test_what_tousu_creates_is_the_service_users_alone(tmp_path):
    data = tmp_path / "var"
    r = tousu(data, "init", "--template", "generic", "--demo")
    assert r.returncode == 0, r.stderr
    assert mode(data) == 0o700
    assert mode(data / "tousu.sqlite3") == 0o600
    assert mode(data / "secret_key") == 0o600
    backup = tmp_path / "backup"
    r = tousu(data, "backup", str(backup))
    assert r.returncode == 0, r.stderr
    assert mode(backup) == 0o700
    for path in backup.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    # Files the web process writes: an attachment and a document's PDF.
    script = (
        "import django; django.setup()\n"
        "from tousu.cases.models import Complaint\n"
        "from tousu.cases.attachments import add_attachment\n"
        "from tousu.documents.services import ensure_pdf, issue_on_demand\n"
        "from tousu.accounts.models import User\n"
        "import base64\n"
        "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')\n"
        "c = Complaint.objects.order_by('pk').first()\n"
        "a = add_attachment(c, name='x.png', content=png, user=None)\n"
        "d = issue_on_demand(c, 'acceptance_receipt', User.objects.get(username='officer'))\n"
        "print(a.file.path); print(ensure_pdf(d).file.path)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(data, DJANGO_SETTINGS_MODULE="tousu.settings"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    for line in r.stdout.split():
        f = Path(line)
        assert mode(f) == 0o600, f
        assert mode(f.parent) == 0o700, f.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"nothing listens on {port}")


def _control_sockets(home: Path, data: Path) -> set[Path]:
    """Every gunicorn control socket either instance could be using."""
    found = set(data.rglob("*.ctl")) | set((home / ".gunicorn").glob("*.ctl"))
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        found |= set(Path(runtime).glob("gunicorn*.ctl"))
    return {p for p in found if p.exists()}


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def test_each_serve_has_its_own_control_socket(tmp_path):
    data = tmp_path / "var"
    assert tousu(data, "init", "--template", "generic").returncode == 0
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tousu.cli", "serve", "--port", str(p), "--workers", "1"],
            env=_env(data),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    try:
        for p in ports:
            _wait_for(p)
        time.sleep(1)
        both = _control_sockets(tmp_path, data)
        assert len(both) == 2, both  # one each, not one shared
        first = next(s for s in both if str(ports[0]) in s.name or len(both) == 1)
        procs[0].send_signal(signal.SIGTERM)
        procs[0].wait(timeout=60)
        left = _control_sockets(tmp_path, data)
        assert left == both - {first} and all(_answers(s) for s in left), left
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", ports[1])) == 0  # the other instance serves on
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=60)
