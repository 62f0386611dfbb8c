"""The `tousu` command. Exit codes: 0 success, 1 runtime failure, 2 bad usage or input; every
failure prints one line saying why."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from datetime import date, datetime


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
        Server.load_config = _with_hooks(Server.load_config, on_exit=lambda s: _stop(supervisor))
    print(f"投诉系统运行于 http://{args.host}:{args.port}/ （Ctrl+C 停止）", flush=True)
    try:
        Server().run()
    finally:
        if supervisor:
            _stop(supervisor)
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


def _stop(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def keep_worker_running(restart_delay: float = 1.0) -> int:
    """`tousu worker --keep-running` (what `serve --with-worker` starts): runs `tousu worker` and
    starts it again when it dies, as systemd's Restart=always would; SIGTERM stops both."""
    import signal

    stopping = False
    child = None

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        child = subprocess.Popen([sys.executable, "-m", "tousu.cli", "worker"])
        code = child.wait()
        if stopping:
            break
        print(f"tousu: 后台任务进程退出（{code}），{restart_delay:g} 秒后重启", file=sys.stderr)
        time.sleep(restart_delay)
    if child:
        _stop(child)
    return 0


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
    from tousu.demo import walk as demo

    report = demo.initialise(args.template, org_name=args.org, with_demo=args.demo)
    print(report)
    return 0


def cmd_process(args) -> int:
    from tousu.processes.validation import DefinitionError, load_file

    if args.process_cmd == "validate":
        failed = 0
        for path in args.files:
            try:
                d = load_file(path)
                print(f"{path}: 通过（{d.label}，{len(d.states)} 个状态，{len(d.actions)} 个动作）")
            except DefinitionError as exc:
                failed += 1
                for problem in exc.problems:
                    print(problem, file=sys.stderr)
        return 2 if failed else 0

    from tousu.processes.catalog import template_names, template_path

    if args.process_cmd == "list":
        for name in template_names():
            d = load_file(template_path(name))
            print(f"{name:20} v{d.version}  {d.label}  [{', '.join(d.flows)}]")
        return 0
    if args.process_cmd == "show":
        if args.name not in template_names():
            raise UsageError(f"未知流程「{args.name}」；可用：{', '.join(template_names())}")
        d = load_file(template_path(args.name))
        print(f"{d.label}（{d.name} v{d.version}）来源：{', '.join(d.flows)}")
        print("状态：")
        for s in d.states:
            mark = "（初始）" if s.initial else "（结束）" if s.final else ""
            print(f"  {s.name:24} {s.label}{mark}")
        print("动作：")
        for a in d.actions:
            print(
                f"  {a.name:24} {a.label}：{', '.join(a.source)} → {a.to or '（不变）'}  角色：{', '.join(a.roles)}"
            )
        if d.clocks:
            print("时限：")
            for c in d.clocks:
                print(f"  {c.name:24} {c.label}：{c.amount:g} {c.unit}（{c.basis}）")
        return 0
    if args.process_cmd == "diagram":
        from tousu.processes.diagram import render_svg

        path = template_path(args.name) if args.name in template_names() else None
        if path is None:
            if not os.path.isfile(args.name):
                raise UsageError(
                    f"未知流程「{args.name}」：给出模板名（{', '.join(template_names())}）或定义文件"
                )
            path = args.name
        d = load_file(path)
        svg = render_svg(d)
        if args.output in (None, "-"):
            sys.stdout.write(svg)
        else:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(svg)
            print(f"已写入 {args.output}（{d.label}）")
        return 0
    if args.process_cmd == "install":
        _django()
        from tousu.processes.services import install_definition

        for path in args.files:
            load_file(path)
            with open(path, encoding="utf-8") as fh:
                p = install_definition(fh.read(), path)
            print(f"已安装 {p}")
        return 0
    raise UsageError("用法：tousu process list|show|validate|diagram|install")


def cmd_createuser(args) -> int:
    _django()
    from tousu.accounts.models import Department
    from tousu.accounts.services import UnknownRole, create_user

    dept = None
    if args.department:
        dept = Department.objects.filter(code=args.department).first()
        if dept is None:
            raise UsageError(f"部门「{args.department}」不存在")
    try:
        user, password = create_user(
            args.username,
            roles=args.role,
            department=dept,
            display_name=args.name or "",
            password=args.password,
            is_superuser="admin" in args.role,
        )
    except UnknownRole as exc:
        raise UsageError(str(exc)) from None
    if user.must_change_password:
        print(f"已创建用户 {user.username}，一次性密码：{password}（首次登录须修改）")
    else:
        print(f"已创建用户 {user.username}（密码为 --password 给出的密码）")
    return 0


def cmd_token(args) -> int:
    _django()
    from datetime import timedelta

    from django.utils import timezone

    from tousu.accounts.models import ApiToken, User
    from tousu.accounts.services import (
        TokenNotFound,
        TokenScopeError,
        create_token,
        revoke_token_by_prefix,
    )

    def codes(values: list[str] | None) -> list[str]:
        # --roles a b and --roles a,b both work.
        return [
            c.strip() for v in values or () for c in v.replace("，", ",").split(",") if c.strip()
        ]

    if args.token_cmd == "revoke":
        try:
            token = revoke_token_by_prefix(args.prefix)
        except TokenNotFound as exc:
            raise UsageError(str(exc)) from None
        print(f"已吊销令牌 {token.prefix}…（{token.user.username}）")
        return 0
    if args.token_cmd == "list":
        tokens = ApiToken.objects.select_related("user").prefetch_related("roles", "departments")
        if args.username:
            tokens = tokens.filter(user__username=args.username)
        now = timezone.now()
        for t in tokens.order_by("user__username", "created_at"):
            status = (
                "已吊销"
                if t.revoked_at
                else "已过期"
                if t.expires_at and t.expires_at <= now
                else "有效"
            )
            roles = ",".join(r.code for r in t.roles.all()) or "*"
            depts = ",".join(d.code for d in t.departments.all()) or "*"
            expires = (
                timezone.localtime(t.expires_at).strftime("%Y-%m-%d") if t.expires_at else "不过期"
            )
            print(
                f"{t.prefix}…  {t.user.username:16} {status:4} 角色={roles} 部门={depts} "
                f"到期={expires}  {t.name}"
            )
        return 0

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        raise UsageError(f"用户「{args.username}」不存在或已停用")
    if args.days is not None and args.days <= 0:
        raise UsageError("--days 必须是正整数")
    expires = timezone.now() + timedelta(days=args.days) if args.days else None
    try:
        _, raw = create_token(
            user,
            name=args.name or "",
            expires_at=expires,
            roles=codes(args.roles),
            departments=codes(args.departments),
        )
    except TokenScopeError as exc:
        raise UsageError(str(exc)) from None
    print(raw)
    return 0


def cmd_worker(args) -> int:
    if args.keep_running:
        return keep_worker_running()
    _django()
    from tousu.clocks.worker import run

    return run(once=args.once, interval=args.interval)


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


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"日期「{text}」无效，应为 YYYY-MM-DD") from None


def _calendar():
    """The working-day calendar: with the schedules imported into the database when there is one,
    else the official schedules and estimates alone. A calendar question needs no database."""
    from tousu import workdays

    _django(require_db=False)
    if database_state(check_migrations=False) == READY:
        from tousu.clocks.services import calendar

        return calendar(), True
    return workdays.Calendar({}, complete_years=[]), False


def cmd_workdays(args) -> int:
    from tousu import workdays

    cal, _ = _calendar()
    if args.workdays_cmd == "add":
        if args.n < 0:
            raise UsageError("N 不能为负")
        print(cal.add_workdays(_date(args.date), args.n))
    elif args.workdays_cmd == "between":
        a, b = _date(args.a), _date(args.b)
        n = cal.workdays_between(a, b)
        lo, hi = min(a, b), max(a, b)
        provisional = any(
            cal.year_status(y) == workdays.ESTIMATED for y in range(lo.year, hi.year + 1)
        )
        print(f"{n}{' provisional' if provisional else ''}")
    elif args.workdays_cmd == "due":
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            raise UsageError(
                f"起始时间「{args.start}」无效，应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM"
            ) from None
        given = [
            (u, v)
            for u, v in (
                ("calendar_days", args.days),
                ("hours", args.hours),
                ("working_days", args.workdays),
                ("working_hours", args.work_hours),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise UsageError("请给出且只给出一个：--days、--workdays、--hours 或 --work-hours")
        unit, amount = given[0]
        if amount <= 0:
            raise UsageError("时长必须大于 0")
        result = workdays.due(start, unit, amount, calendar=cal)
        text = (
            result.date_str
            if unit in ("calendar_days", "working_days")
            else result.at.strftime("%Y-%m-%d %H:%M")
        )
        print(f"{text}{' provisional' if result.provisional else ''}")
    return 0


def cmd_calendar(args) -> int:
    if args.calendar_cmd == "status":
        cal, with_database = _calendar()
        from tousu.clocks import calendar_admin

        print(calendar_admin.status_report(cal, imported=with_database))
        return 0
    _django()
    from tousu.clocks import calendar_admin

    if args.calendar_cmd == "import":
        from tousu.workdays import ScheduleError

        try:
            print(calendar_admin.import_schedule_file(args.file))
        except ScheduleError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"无法读取 {args.file}：{exc.strerror}") from None
    else:
        print(calendar_admin.status_report())
    return 0


# --- parser -----------------------------------------------------------------------------------

# Apps contribute their own commands: each module has register(subparsers), whose handlers take
# (args) and return an exit code, raising UsageError for bad input. They call `setup_django()`.
PLUGIN_COMMANDS = (
    "tousu.triage.cli",
    "tousu.reports.cli",
    "tousu.documents.cli",
    "tousu.portal.cli",
    "tousu.webhooks.cli",
    "tousu.ops.cli",
    "tousu.registers.cli",
    "tousu.demo.cli",
)
setup_django = _django


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
    s.add_argument("--demo", action="store_true", help="同时生成演示用户和演示投诉")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("process", help="流程定义：list / show / validate / install")
    psub = s.add_subparsers(dest="process_cmd", required=True, metavar="子命令")
    psub.add_parser("list", help="列出内置流程模板")
    x = psub.add_parser("show", help="显示一个流程")
    x.add_argument("name")
    x = psub.add_parser("validate", help="校验流程定义文件")
    x.add_argument("files", nargs="+")
    x = psub.add_parser("diagram", help="流程图（SVG）")
    x.add_argument("name", help="模板名或定义文件")
    x.add_argument("-o", "--output", help="输出文件，默认输出到标准输出")
    x = psub.add_parser("install", help="校验并安装流程定义文件")
    x.add_argument("files", nargs="+")
    s.set_defaults(func=cmd_process)

    s = sub.add_parser("createuser", help="创建用户")
    s.add_argument("username")
    s.add_argument("--role", action="append", required=True, help="角色代码，可重复")
    s.add_argument("--department", help="部门代码")
    s.add_argument("--name", help="姓名")
    s.add_argument("--password", help="不给则生成一次性密码")
    s.set_defaults(func=cmd_createuser)

    s = sub.add_parser("token", help="API 令牌")
    tsub = s.add_subparsers(dest="token_cmd", required=True, metavar="子命令")
    x = tsub.add_parser("create", help="为用户生成令牌（只打印一次）")
    x.add_argument("username")
    x.add_argument("--name", help="名称，如对接的系统：12345热线")
    x.add_argument("--days", type=int, help="有效天数，不给则不过期")
    x.add_argument("--roles", nargs="+", metavar="角色", help="只用用户角色中的这些（默认全部）")
    x.add_argument(
        "--departments", nargs="+", metavar="部门", help="只能访问这些部门的投诉（默认不限）"
    )
    x = tsub.add_parser("revoke", help="吊销令牌")
    x.add_argument("prefix", help="令牌前缀（tsu_ 开头的前 10 个字符）")
    x = tsub.add_parser("list", help="列出令牌（只显示前缀）")
    x.add_argument("username", nargs="?")
    s.set_defaults(func=cmd_token)

    s = sub.add_parser("worker", help="后台任务：时限预警与超时、通知")
    s.add_argument("--once", action="store_true", help="扫描一次后退出")
    s.add_argument("--interval", type=float, default=30.0, help="扫描间隔（秒）")
    s.add_argument("--keep-running", action="store_true", help="看护：后台任务进程退出后自动重启")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("workdays", help="工作日计算")
    wsub = s.add_subparsers(dest="workdays_cmd", required=True, metavar="子命令")
    x = wsub.add_parser("add", help="DATE 之后第 N 个工作日")
    x.add_argument("date")
    x.add_argument("n", type=int)
    x = wsub.add_parser("between", help="A 与 B 之间的工作日数（不含 A，含 B）")
    x.add_argument("a")
    x.add_argument("b")
    x = wsub.add_parser("due", help="期限届满时间")
    x.add_argument("start")
    x.add_argument("--days", type=int, help="日（自然日，末日为节假日顺延）")
    x.add_argument("--workdays", type=int, help="个工作日")
    x.add_argument("--hours", type=float, help="小时")
    x.add_argument("--work-hours", type=float, help="工作小时")
    s.set_defaults(func=cmd_workdays)

    s = sub.add_parser("calendar", help="放假安排：status / import FILE")
    csub = s.add_subparsers(dest="calendar_cmd", required=True, metavar="子命令")
    csub.add_parser("status", help="各年份的来源：官方、导入、估算")
    x = csub.add_parser("import", help="导入一年的放假安排（YAML 或 CSV）")
    x.add_argument("file")
    s.set_defaults(func=cmd_calendar)

    for module in PLUGIN_COMMANDS:
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
