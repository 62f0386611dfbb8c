"""The `tousu` command. Exit codes: 0 success, 1 runtime failure, 2 bad usage or input; every
failure prints one line saying why."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys


class UsageError(Exception):
    """Bad input from the operator: exit code 2."""


def _django(*, require_db: bool = True) -> None:
    """Set up Django; unless `require_db` is off, first make sure the database is there and its
    tables are current, with one Chinese line (exit 2) saying what to run when they are not."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tousu.settings")
    import django

    django.setup()
    _private_data_dir()
    if require_db:
        state = database_state()
        if state == EMPTY:
            from tousu.processes.catalog import template_names

            raise UsageError(
                f"数据库尚未初始化，请先运行 tousu init --template 模板名"
                f"（可用：{'、'.join(template_names())}）；数据库：{_database_name()}"
            )
        if state == OUTDATED:
            raise UsageError("数据库结构需要升级，请先运行 tousu migrate")


EMPTY, OUTDATED, READY, UNREACHABLE = "empty", "outdated", "ready", "unreachable"


def _database_name() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return str(db["NAME"]) if "sqlite" in db["ENGINE"] else f"{db.get('HOST')}/{db['NAME']}"


def database_state(*, check_migrations: bool = True) -> str:
    """EMPTY before `tousu init` (an SQLite file that does not exist is not created to find out),
    OUTDATED with migrations not yet applied, UNREACHABLE when the server does not answer, READY."""
    from pathlib import Path

    from django.conf import settings
    from django.db import DatabaseError, connection

    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        path = Path(db["NAME"])
        if not path.is_file() or path.stat().st_size == 0:
            return EMPTY
    else:
        connection.settings_dict.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    try:
        tables = set(connection.introspection.table_names())
    except DatabaseError:
        return UNREACHABLE
    if "django_migrations" not in tables or "cases_complaint" not in tables:
        return EMPTY
    if check_migrations:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return OUTDATED
    return READY


def _private_data_dir() -> None:
    """The data directory and the database file are the service user's alone (an installation made
    before this rule had them world-readable)."""
    from pathlib import Path

    from django.conf import settings

    try:
        settings.DATA_DIR.chmod(0o700)
        db = settings.DATABASES["default"]
        if "sqlite" in db["ENGINE"]:
            for suffix in ("", "-wal", "-shm"):
                f = Path(f"{db['NAME']}{suffix}")
                if f.is_file():
                    f.chmod(0o600)
    except OSError:  # not ours to change (a shared mount): leave it to the operator
        pass


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=verbosity, interactive=False)


# --- commands ---------------------------------------------------------------------------------


def cmd_serve(args) -> int:
    _django()
    from gunicorn.app.base import BaseApplication

    from tousu.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-" if args.access_log else None)
            self.cfg.set("timeout", 60)
            _own_control_socket(self.cfg, args)

        def load(self):
            return application

    supervisor = None
    if args.with_worker:
        # A separate process that keeps the worker running, started before gunicorn forks anything:
        # a thread in the master spawning processes would race gunicorn's forks (a forked web worker
        # inherits the pipe Popen waits on, and Popen never returns).
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "tousu.cli", "worker", "--keep-running"]
        )
        Server.load_config = _with_hooks(
            Server.load_config, on_exit=lambda s: stop_process(supervisor)
        )
    print(f"投诉系统运行于 http://{args.host}:{args.port}/ （Ctrl+C 停止）", flush=True)
    try:
        Server().run()
    finally:
        if supervisor:
            stop_process(supervisor)
    return 0


def _own_control_socket(cfg, args) -> None:
    """gunicorn (25.1+) opens a control socket at one path per user ($XDG_RUNTIME_DIR or
    ~/.gunicorn/gunicorn.ctl): a second `tousu serve` would take it over and stopping either would
    remove the other's. Each instance gets its own, in the data directory, named by its address;
    none when that path is too long for a Unix socket."""
    from django.conf import settings

    if "control_socket" not in cfg.settings:
        return
    folder = settings.DATA_DIR / "run"
    path = folder / f"gunicorn-{args.host}-{args.port}.ctl"
    if len(str(path)) > 100:  # sun_path holds 108 bytes
        cfg.set("control_socket_disable", True)
        return
    folder.mkdir(mode=0o700, exist_ok=True)
    cfg.set("control_socket", str(path))
    cfg.set("control_socket_mode", 0o600)


def _with_hooks(load_config, **hooks):
    def load(self):
        load_config(self)
        for name, hook in hooks.items():
            self.cfg.set(name, hook)

    return load


def stop_process(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def cmd_migrate(args) -> int:
    _django(require_db=False)
    _migrate(verbosity=1)
    return 0


def cmd_init(args) -> int:
    from tousu.processes.catalog import template_names

    if args.template not in template_names():
        raise UsageError(f"未知模板「{args.template}」；可用：{', '.join(template_names())}")
    _django(require_db=False)
    _migrate()
    from tousu.cases.errors import Invalid
    from tousu.demo import walk
    from tousu.portal.services import PUBLIC_CONTACT_FIELDS, set_public_contacts

    contacts = {key: getattr(args, key) for key in PUBLIC_CONTACT_FIELDS}
    if all(v is None for v in contacts.values()) and _may_ask(args):
        contacts = _ask_public_contacts()
    try:  # first: a value refused leaves the installation as it was
        notice = set_public_contacts(**contacts)
    except Invalid as exc:
        raise UsageError(exc.message) from None
    print(walk.initialise(args.template, org_name=args.org, with_demo=args.demo))
    if any(v is not None for v in contacts.values()):
        print(
            f"公示信息：{notice.organisation_name()}，投诉电话 {notice.complaint_phone or '（未填）'}"
        )
    return 0


def _may_ask(args) -> bool:
    """Ask for the published contacts only of a person at a terminal setting up a real installation:
    never in CI or with no standard input, nor for demo data."""
    return not args.demo and not args.no_input and sys.stdin is not None and sys.stdin.isatty()


def _ask_public_contacts() -> dict[str, str | None]:
    from tousu.portal.models import PublicNotice
    from tousu.portal.services import PUBLIC_CONTACT_FIELDS

    notice = PublicNotice.current()
    questions = {
        "org_name": "公示单位名称",
        "org_phone": "投诉电话",
        "org_address": "接待地点",
        "org_hours": "接待时间",
    }
    print("公示信息（直接回车保留括号中的值，以后可在管理后台修改）：")
    answers: dict[str, str | None] = {}
    for key, label in questions.items():
        current = getattr(notice, PUBLIC_CONTACT_FIELDS[key])
        answer = input(f"  {label}（{current or '空'}）：").strip()
        answers[key] = answer or None
    return answers


def cmd_manage(args) -> int:
    _django(require_db=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tousu manage", *args.rest])
    return 0


CHECK_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def cmd_check(args) -> int:
    """Django's system checks; with --deploy also those for a production deployment (HTTPS, HSTS,
    secure cookies, secret key, DEBUG). Exit 1 when an issue at --fail-level or above is found;
    silenced checks (see SILENCED_SYSTEM_CHECKS in settings) are reported as such, not as issues."""
    _django(require_db=False)
    from django.core import checks
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    unknown = sorted(set(args.tag or ()) - set(checks.registry.registry.tags_available(True)))
    if unknown:
        known = "、".join(sorted(checks.registry.registry.tags_available(True)))
        raise UsageError(f"未知的检查类别 {', '.join(unknown)}；可用：{known}")
    what = "部署检查" if args.deploy else "系统检查"
    try:
        call_command("check", deploy=args.deploy, fail_level=args.fail_level, tags=args.tag)
    except SystemCheckError as exc:
        print(str(exc).strip(), file=sys.stderr)
        print(f"tousu: {what}未通过：有 {args.fail_level} 级或更严重的问题", file=sys.stderr)
        return 1
    print(f"{what}通过（没有 {args.fail_level} 级或更严重的问题）")
    return 0


# --- parser -----------------------------------------------------------------------------------

# Each app owns its commands, as Django apps own their management commands: its `cli.py` has
# register(subparsers), adding one subcommand per small handler that takes (args), returns an exit
# code and raises UsageError for bad input; a handler calls `setup_django()` before it imports models.
# Found by the apps in INSTALLED_APPS (tousu/installed.py: the settings are not loaded to build the
# parser), then the two command modules outside the apps: the worker's loop and the demo data.
NON_APP_COMMANDS = ("tousu.worker", "tousu.demo.cli")
setup_django = _django


def command_modules() -> list[str]:
    from tousu.installed import TOUSU_APPS

    return [f"{app}.cli" for app in TOUSU_APPS] + list(NON_APP_COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tousu", description="投诉处理系统")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="命令")

    s = sub.add_parser("serve", help="启动 Web 服务（gunicorn）")
    s.add_argument("--host", default=os.environ.get("TOUSU_HOST", "127.0.0.1"))
    s.add_argument("--port", type=int, default=int(os.environ.get("TOUSU_PORT", "8000")))
    # Processes, not threads, carry the load: Python threads share one core (the GIL), and a thread
    # holding SQLite's write lock must not wait for the GIL. Measured in bench/intake.py.
    s.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("TOUSU_WORKERS", 2 * (os.cpu_count() or 1))),
    )
    s.add_argument("--threads", type=int, default=int(os.environ.get("TOUSU_THREADS", "1")))
    s.add_argument("--access-log", action="store_true")
    s.add_argument(
        "--with-worker",
        action="store_true",
        help="同时运行并看护后台任务进程（时限预警与超时、通知）；退出后自动重启",
    )
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("migrate", help="建立或升级数据库")
    s.set_defaults(func=cmd_migrate)

    s = sub.add_parser("init", help="初始化组织、流程、部门和用户")
    s.add_argument("--template", required=True)
    s.add_argument("--org", default=None, help="组织名称")
    s.add_argument("--org-name", default=None, help="公示单位名称（投诉公示、海报和公文上）")
    s.add_argument("--org-phone", default=None, help="公示的投诉电话")
    s.add_argument("--org-address", default=None, help="公示的接待地点")
    s.add_argument("--org-hours", default=None, help="公示的接待时间，如：周一至周五 8:30—17:30")
    s.add_argument("--demo", action="store_true", help="同时生成演示用户和演示投诉")
    s.add_argument("--no-input", action="store_true", help="不询问公示信息（未给出的保持原样）")
    s.set_defaults(func=cmd_init)

    for module in command_modules():
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise

    s = sub.add_parser("check", help="系统检查；--deploy 检查生产部署的安全设置")
    s.add_argument(
        "--deploy", action="store_true", help="同时检查 HTTPS、HSTS、安全 Cookie 等部署设置"
    )
    s.add_argument(
        "--fail-level",
        choices=CHECK_LEVELS,
        default="ERROR",
        help="达到该级别的问题使退出码为 1（默认 ERROR）",
    )
    s.add_argument("--tag", action="append", help="只运行该类别的检查，可重复")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("manage", help="Django 管理命令（高级）")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_manage)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Everything a command writes (the database, attachments, documents, backups, reports) holds
    # personal data: files 0600 and directories 0700.
    umask = os.umask(0o077)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"tousu: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a runtime failure: one line, the traceback only when debugging
        if os.environ.get("TOUSU_DEBUG") == "1":
            raise
        print(f"tousu: 运行失败：{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        os.umask(umask)


if __name__ == "__main__":
    # `python -m tousu.cli`: run the one `tousu.cli` module the apps' commands import (their
    # UsageError must be this module's, or a usage error would read as a crash).
    from tousu.cli import main as tousu_main

    sys.exit(tousu_main())
