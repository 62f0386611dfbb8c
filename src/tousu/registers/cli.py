"""`tousu import register|workorders FILE` (a register or 12345 work orders into cases) and
`tousu export replies` (the 12345 reply sheet, 回单)."""

from __future__ import annotations

import sys
import time

from tousu.cli import UsageError, setup_django

SHOWN_ISSUES = 50


def _process(name: str):
    from tousu.processes.models import ProcessDefinition

    process = ProcessDefinition.objects.filter(name=name, is_active=True).first()
    if process is None:
        names = ProcessDefinition.objects.filter(is_active=True).values_list("name", flat=True)
        raise UsageError(f"流程「{name}」未安装；已安装：{'、'.join(names) or '无'}")
    return process


def _user(username: str | None):
    if not username:
        return None
    from tousu.accounts.models import User

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise UsageError(f"用户「{username}」不存在或已停用")
    return user


def _print_analysis(analysis, out) -> None:
    for s in analysis.sheets:
        if s.header_row is None:
            print(f"工作表「{s.name}」：{s.note}", file=out)
            continue
        print(f"工作表「{s.name}」：表头在第 {s.header_row} 行，数据 {s.rows} 行", file=out)
        for c in s.columns:
            also = f"（同时填入「{c['also']}」）" if c["also"] else ""
            print(
                f"  {c['letter']} 列 {c['header']} → {c['target_label']}（{c['how']}）{also}",
                file=out,
            )
        if s.note:
            print(f"  {s.note}", file=out)
    errors, warnings = analysis.errors, analysis.warnings
    for i in errors[:SHOWN_ISSUES]:
        print(f"错误：{i}", file=out)
    if len(errors) > SHOWN_ISSUES:
        print(f"……共 {len(errors)} 处错误", file=out)
    for i in warnings[:SHOWN_ISSUES]:
        print(f"提示：{i}", file=out)
    if len(warnings) > SHOWN_ISSUES:
        print(f"……共 {len(warnings)} 条提示", file=out)
    c = analysis.counts()
    print(
        f"来源「{analysis.source}」，{c['rows']} 行：新建 {c['new']}（已办结 {c['closed']}，"
        f"未办结 {c['open']}），更正 {c['changed']}，未变 {c['unchanged']}，"
        f"已办理不更正 {c['locked']}，有错误 {c['error']}",
        file=out,
    )


def _progress(done: int) -> None:
    print(f"\r已写入 {done:,} 行", end="", file=sys.stderr, flush=True)


def cmd_import(args) -> int:
    from pathlib import Path

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"文件「{args.file}」不存在")
    setup_django()
    from tousu.registers import services
    from tousu.registers.mapping import Mapping, MappingError, preset

    process = _process(args.template)
    user = _user(args.user)
    try:
        if args.mapping:
            mapping = services.mapping_from(args.mapping, process.name)
        elif args.import_cmd == "workorders":
            mapping = preset("12345")
        else:
            mapping = Mapping()
    except (MappingError, services.ImportProblem) as exc:
        raise UsageError(str(exc)) from None
    if args.import_cmd == "workorders" and not mapping.always_open:
        mapping.always_open = True
    started = time.perf_counter()
    try:
        analysis = services.analyse(
            path.read_bytes(), path.name, process, mapping, sheets=args.sheet, source=args.source
        )
    except services.ImportProblem as exc:
        raise UsageError(str(exc)) from None
    _print_analysis(analysis, sys.stdout)
    if args.save_mapping:
        services.save_mapping(process.name, args.save_mapping, mapping, analysis.headers, user)
        print(f"已保存对应关系「{args.save_mapping}」，下次用 --mapping {args.save_mapping}")
    if args.dry_run:
        print(f"试运行，未写入任何数据（{time.perf_counter() - started:.1f} 秒）")
        return 2 if analysis.errors and not args.skip_errors else 0
    try:
        batch = services.run(
            analysis,
            user=user,
            skip_errors=args.skip_errors,
            via="cli",
            progress=_progress if sys.stderr.isatty() else None,
        )
    except services.Refused as exc:
        print(f"tousu: {exc}", file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"{batch.message}（批次 {batch.pk}，{time.perf_counter() - started:.1f} 秒）")
    for i in batch.issues:
        if i.get("level") == "warning" and "关联" in i.get("message", ""):
            print(f"提示：工作表「{i['sheet']}」第 {i['row']} 行：{i['message']}")
    return 0


def cmd_export(args) -> int:
    from tousu.reports.periods import PeriodError, parse

    try:
        period = parse(args.period)
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from tousu.registers import replies

    if args.template:
        _process(args.template)
    user = _user(args.user)
    content, count = replies.reply_sheet(
        period, user=user, source=args.source, template=args.template, via="cli"
    )
    out = args.output or f"回单-{args.source}-{period.key.replace('..', '_')}.xlsx"
    with open(out, "wb") as fh:
        fh.write(content)
    print(f"已导出 {period.label}办结的 {count} 件工单的回单：{out}")
    return 0


def _import_options(x) -> None:
    x.add_argument("file", help="登记表或工单文件（xlsx、xls、ods、csv）")
    x.add_argument("--template", required=True, help="流程模板名，如 hospital")
    x.add_argument("--sheet", action="append", help="只导入这个工作表，可重复；默认全部")
    x.add_argument("--mapping", help="对应关系：YAML 文件、已保存的名称或预设（12345）")
    x.add_argument("--save-mapping", metavar="名称", help="把本次的对应关系保存下来，供下次使用")
    x.add_argument(
        "--source", default="", help="来源名称（默认取文件名）：同一来源再次导入时更正已导入的投诉"
    )
    x.add_argument("--user", help="导入人（用户名）；关联重复投诉需接待员、投诉专员或领导")
    x.add_argument("--dry-run", action="store_true", help="只检查并显示结果，不写入")
    x.add_argument(
        "--skip-errors", action="store_true", help="有错误时只导入没有错误的行（每行整行导入）"
    )


def register(sub) -> None:
    s = sub.add_parser("import", help="导入历史登记表或 12345 工单")
    isub = s.add_subparsers(dest="import_cmd", required=True, metavar="子命令")
    x = isub.add_parser("register", help="导入投诉登记表（Excel）")
    _import_options(x)
    x = isub.add_parser("workorders", help="导入 12345 热线工单（预设对应关系，每单一件待办投诉）")
    _import_options(x)
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("export", help="导出 12345 回单")
    esub = s.add_subparsers(dest="export_cmd", required=True, metavar="子命令")
    x = esub.add_parser("replies", help="某期间办结的工单的回单（xlsx）")
    x.add_argument(
        "--period", required=True, help="2026-09、2026-Q3、2026 或 2026-09-01..2026-09-15"
    )
    x.add_argument("--source", default="12345", help="工单来源（默认 12345）")
    x.add_argument("--template", help="只导出该流程的工单")
    x.add_argument("--user", required=True, help="导出人的用户名（记入导出记录）")
    x.add_argument("-o", "--output", help="输出文件")
    s.set_defaults(func=cmd_export)
