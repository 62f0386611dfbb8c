"""The `tousu` command: outputs, exit codes (0 ok, 1 runtime failure, 2 bad usage or input)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tousu.cli import main

TOUSU = str(Path(sys.executable).parent / "tousu")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["workdays", "add", "2025-09-30", "3"], "2025-10-11"),
        (["workdays", "add", "2026-02-13", "1"], "2026-02-14"),
        (["workdays", "due", "2025-09-24", "--days", "7"], "2025-10-09"),
        (["workdays", "due", "2025-09-30", "--workdays", "3"], "2025-10-11"),
        (["workdays", "between", "2025-09-30", "2025-10-11"], "3"),
        (["workdays", "due", "2026-02-13T17:00", "--work-hours", "2"], "2026-02-14 09:00"),
        (["workdays", "due", "2026-02-13T17:00", "--hours", "24"], "2026-02-14 17:00"),
    ],
)
def test_workdays_commands(argv, expected, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == expected


@pytest.mark.django_db
def test_estimated_year_is_marked_provisional_never_a_traceback(capsys):
    assert main(["workdays", "add", "2026-12-30", "5"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith(" provisional") and out.startswith("2027-01-")
    assert main(["workdays", "due", "2027-09-28", "--days", "3"]) == 0
    assert capsys.readouterr().out.strip().endswith(" provisional")


@pytest.mark.django_db
def test_bad_input_exits_2_with_one_line(capsys):
    assert main(["workdays", "add", "2025-13-01", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "YYYY-MM-DD" in err
    assert main(["workdays", "add", "2025-01-01", "-3"]) == 2
    assert main(["workdays", "due", "2025-01-01"]) == 2
    assert main(["init", "--template", "nope"]) == 2
    assert "可用" in capsys.readouterr().err


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


@pytest.mark.django_db
def test_createuser_and_token(capsys, generic):
    assert main(["createuser", "wang", "--role", "officer", "--name", "王芳"]) == 0
    assert "一次性密码" in capsys.readouterr().out
    assert main(["createuser", "li", "--role", "janitor"]) == 2
    assert "未知角色" in capsys.readouterr().err
    assert main(["token", "create", "wang"]) == 0
    token = capsys.readouterr().out.strip()
    from tousu.accounts.selectors import user_for_token

    assert token.startswith("tsu_") and user_for_token(token)[0].username == "wang"
    assert main(["token", "create", "nobody"]) == 2


@pytest.mark.django_db
def test_calendar_status(capsys):
    assert main(["calendar", "status"]) == 0
    out = capsys.readouterr().out
    assert "2004–2026: 官方" in out and "估算" in out


@pytest.mark.django_db(transaction=True)
def test_init_with_demo_spreads_cases_over_states(capsys):
    assert main(["init", "--template", "generic", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "officer" in out and "一次性密码" in out
    from tousu.cases.models import Complaint

    states = set(Complaint.objects.values_list("state", flat=True))
    assert len(states) >= 6
    assert main(["init", "--template", "generic", "--demo"]) == 0  # a second run changes nothing
    assert "已存在" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_init_fills_the_published_contacts_from_flags(capsys, monkeypatch):
    import io

    from tousu.portal.models import PublicNotice

    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt="": asked.append(prompt) or "")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal: never asks
    argv = ["init", "--template", "generic", "--org-name", "江阳区人民医院"]
    argv += ["--org-phone", "0830-3165120", "--org-address", "门诊楼一楼投诉接待室"]
    assert main([*argv, "--org-hours", "周一至周五 8:30—17:30"]) == 0
    n = PublicNotice.current()
    assert (n.display_name, n.complaint_phone, n.reception_place, n.reception_hours) == (
        "江阳区人民医院",
        "0830-3165120",
        "门诊楼一楼投诉接待室",
        "周一至周五 8:30—17:30",
    )
    assert "江阳区人民医院" in capsys.readouterr().out
    # A flag not given leaves its field; a value too long is refused and changes nothing.
    assert main(["init", "--template", "generic", "--org-phone", "0830-3165000"]) == 0
    n = PublicNotice.current()
    assert (n.display_name, n.complaint_phone) == ("江阳区人民医院", "0830-3165000")
    assert main(["init", "--template", "generic", "--org-phone", "1" * 51]) == 2
    err = capsys.readouterr().err
    assert "「投诉电话」最多 50 个字" in err and err.count("\n") == 1
    assert PublicNotice.current().complaint_phone == "0830-3165000"
    assert PublicNotice.objects.count() == 1
    assert asked == []


@pytest.mark.django_db(transaction=True)
def test_init_asks_for_the_contacts_only_at_a_terminal(capsys, monkeypatch):
    import io

    from tousu.portal.models import PublicNotice

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("人民医院\n0830-1\n\n\n"))
    assert main(["init", "--template", "generic"]) == 0
    n = PublicNotice.current()
    assert (n.display_name, n.complaint_phone, n.reception_place) == ("人民医院", "0830-1", "")
    assert n.reception_hours == PublicNotice._meta.get_field("reception_hours").default
    assert "投诉电话" in capsys.readouterr().out
    # At a terminal but with a flag, --no-input or --demo: no question (the input would be read).
    monkeypatch.setattr(sys, "stdin", Terminal("别处\n"))
    assert main(["init", "--template", "generic", "--org-hours", "全天"]) == 0
    assert main(["init", "--template", "generic", "--no-input"]) == 0
    n = PublicNotice.current()
    assert (n.display_name, n.reception_hours) == ("人民医院", "全天")
    assert sys.stdin.read() == "别处\n"


def test_serve_starts_a_real_server(tmp_path):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([TOUSU, "migrate"], env=env, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [TOUSU, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/staff/login/", timeout=1
                ) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not answer")
        assert "登录" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def _children(parent: int, pattern: str) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(parent), "-f", pattern], capture_output=True, text=True
    )
    return [int(p) for p in out.stdout.split()]


def test_serve_with_worker_restarts_a_killed_worker(tmp_path):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([TOUSU, "migrate"], env=env, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [TOUSU, "serve", "--port", str(port), "--workers", "1", "--with-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),  # a file, not a pipe nobody reads (it fills)
    )

    def wait_for(parent: int, pattern: str, not_pid=None) -> int:
        for _ in range(900):  # generous: a start-up takes seconds on a loaded CI box
            pids = [p for p in _children(parent, pattern) if p != not_pid]
            if pids:
                return pids[0]
            time.sleep(0.1)
        log = (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"no {pattern!r} process under {parent}; the server's log ends:\n{log}")

    try:
        supervisor = wait_for(server.pid, "tousu.cli worker --keep-running")
        first = wait_for(supervisor, "tousu.cli worker$")
        os.kill(first, 9)
        second = wait_for(supervisor, "tousu.cli worker$", not_pid=first)
        assert second != first
        assert "后台任务进程退出" in (tmp_path / "serve.log").read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The server stopping stops its worker too: nothing is left running.
    for _ in range(100):
        alive = [
            p
            for p in (supervisor, second)
            if subprocess.run(["kill", "-0", str(p)]).returncode == 0
        ]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive
