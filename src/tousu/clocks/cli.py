"""`tousu workdays` (add, between, due) and `tousu calendar` (status, import): working days by the
calendar the clocks count with (the official schedules, and those imported into the database)."""

from __future__ import annotations

from datetime import date, datetime

from tousu.cli import READY, UsageError, database_state, setup_django


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"日期「{text}」无效，应为 YYYY-MM-DD") from None


def _calendar():
    """The working-day calendar: with the schedules imported into the database when there is one,
    else the official schedules and estimates alone. A calendar question needs no database."""
    from tousu import workdays

    setup_django(require_db=False)
    if database_state(check_migrations=False) == READY:
        from tousu.clocks.services import calendar

        return calendar(), True
    return workdays.Calendar({}, complete_years=[]), False


def cmd_workdays_add(args) -> int:
    cal, _ = _calendar()
    if args.n < 0:
        raise UsageError("N 不能为负")
    print(cal.add_workdays(_date(args.date), args.n))
    return 0


def cmd_workdays_between(args) -> int:
    from tousu import workdays

    cal, _ = _calendar()
    a, b = _date(args.a), _date(args.b)
    n = cal.workdays_between(a, b)
    lo, hi = min(a, b), max(a, b)
    provisional = any(cal.year_status(y) == workdays.ESTIMATED for y in range(lo.year, hi.year + 1))
    print(f"{n}{' provisional' if provisional else ''}")
    return 0


def cmd_workdays_due(args) -> int:
    from tousu import workdays

    cal, _ = _calendar()
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


def cmd_calendar_status(args) -> int:
    cal, with_database = _calendar()
    from tousu.clocks import calendar_admin

    print(calendar_admin.status_report(cal, imported=with_database))
    return 0


def cmd_calendar_import(args) -> int:
    setup_django()
    from tousu.clocks import calendar_admin
    from tousu.workdays import ScheduleError

    try:
        print(calendar_admin.import_schedule_file(args.file))
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"无法读取 {args.file}：{exc.strerror}") from None
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("workdays", help="工作日计算")
    wsub = s.add_subparsers(dest="workdays_cmd", required=True, metavar="子命令")
    x = wsub.add_parser("add", help="DATE 之后第 N 个工作日")
    x.add_argument("date")
    x.add_argument("n", type=int)
    x.set_defaults(func=cmd_workdays_add)
    x = wsub.add_parser("between", help="A 与 B 之间的工作日数（不含 A，含 B）")
    x.add_argument("a")
    x.add_argument("b")
    x.set_defaults(func=cmd_workdays_between)
    x = wsub.add_parser("due", help="期限届满时间")
    x.add_argument("start")
    x.add_argument("--days", type=int, help="日（自然日，末日为节假日顺延）")
    x.add_argument("--workdays", type=int, help="个工作日")
    x.add_argument("--hours", type=float, help="小时")
    x.add_argument("--work-hours", type=float, help="工作小时")
    x.set_defaults(func=cmd_workdays_due)

    s = subparsers.add_parser("calendar", help="放假安排：status / import FILE")
    csub = s.add_subparsers(dest="calendar_cmd", required=True, metavar="子命令")
    x = csub.add_parser("status", help="各年份的来源：官方、导入、估算")
    x.set_defaults(func=cmd_calendar_status)
    x = csub.add_parser("import", help="导入一年的放假安排（YAML 或 CSV）")
    x.add_argument("file")
    x.set_defaults(func=cmd_calendar_import)
