"""`tousu demo generate`: cases in bulk for measurement (bulk.py)."""

from __future__ import annotations

import time
from datetime import date, datetime

from tousu.cli import UsageError, setup_django


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"日期「{text}」无效，应为 YYYY-MM-DD") from None


def cmd_demo(args) -> int:
    from tousu.processes.catalog import template_names

    if args.demo_cmd != "generate":
        raise UsageError("用法：tousu demo generate --cases N --template NAME")
    if args.template not in template_names():
        raise UsageError(f"未知模板「{args.template}」；可用：{', '.join(template_names())}")
    if args.cases <= 0:
        raise UsageError("--cases 必须大于 0")
    start, end = _day(args.start), _day(args.end)
    if start and end and start >= end:
        raise UsageError("--start 必须早于 --end")
    setup_django()
    from django.core.management import call_command

    from .bulk import generate

    call_command("migrate", verbosity=0, interactive=False)
    began = time.perf_counter()

    def progress(done, total):
        rate = done / max(time.perf_counter() - began, 1e-9)
        print(f"\r{done:,} / {total:,} 件（{rate:,.0f} 件/秒）", end="", flush=True)

    result = generate(
        args.cases,
        args.template,
        seed=args.seed,
        start=start,
        end=datetime.combine(end, datetime.min.time()) if end else None,
        search=not args.no_search,
        progress=progress,
        processes=args.processes,
    )
    print("\r" + str(result))
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("demo", help="演示与测量数据")
    dsub = s.add_subparsers(dest="demo_cmd", required=True, metavar="子命令")
    x = dsub.add_parser("generate", help="批量生成投诉（含事件、时限、任务），用于测量")
    x.add_argument("--cases", type=int, required=True, help="件数")
    x.add_argument("--template", default="generic", help="流程模板")
    x.add_argument("--seed", type=int, default=20261127)
    x.add_argument("--start", help="最早接收日期 YYYY-MM-DD（默认结束前一年）")
    x.add_argument("--end", help="截止日期 YYYY-MM-DD（默认现在）")
    x.add_argument("--no-search", action="store_true", help="不建立全文检索索引（更快）")
    x.add_argument("--processes", type=int, help="模拟用的进程数（默认每个 CPU 一个）")
    s.set_defaults(func=cmd_demo)
