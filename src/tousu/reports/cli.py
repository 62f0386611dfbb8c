"""`tousu report`: periodic reports on demand, the facts rebuilt."""

from __future__ import annotations

import shutil
import sys
import time

from tousu.cli import UsageError, setup_django


def cmd_report(args) -> int:
    if args.rebuild_facts:
        setup_django()
        from tousu.reports.facts import rebuild

        started = time.perf_counter()
        n = rebuild(progress=lambda done: print(f"\r已重算 {done:,} 件", end="", flush=True))
        print(
            f"\r已重算 {n:,} 件投诉的统计数据及月度汇总，用时 {time.perf_counter() - started:.1f} 秒"
        )
        return 0
    if args.schedule:
        setup_django()
        from tousu.reports.tasks import schedule_reports

        created = schedule_reports()
        for r in created:
            print(f"已排队：{r.period_label}（{r.format}）")
        if not created:
            print("没有需要生成的定期报告")
        return 0
    if not args.period:
        raise UsageError("请给出 --period，例如 --period 2026-Q3 或 --period 2026-09")
    from tousu.reports.periods import PeriodError, parse

    try:
        period = parse(args.period)
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from tousu.reports.models import Report
    from tousu.reports.services import build_report, request_report

    report = request_report(period, args.format)
    report = build_report(report, email=args.email)
    if report.status != Report.DONE:
        print(f"tousu: 报告生成失败：{report.error}", file=sys.stderr)
        return 1
    path = report.location()
    if args.output:
        with report.open() as src, open(args.output, "wb") as dst:
            shutil.copyfileobj(src, dst)
        path = args.output
    print(
        f"已生成 {report.period_label}投诉统计分析报告（{report.format.upper()}，"
        f"{report.size / 1024:.0f} KB，{report.seconds:.1f} 秒）：{path}"
    )
    if report.emailed_to:
        print(f"已发送：{report.emailed_to}")
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("report", help="统计报告：按期间生成 PDF 或 Excel")
    s.add_argument("--period", help="2026-09（月）、2026-Q3（季度）、2026（年）或 A..B（日期范围）")
    s.add_argument("--format", choices=["pdf", "xlsx"], default="pdf")
    s.add_argument("--output", "-o", help="另存一份到此文件")
    s.add_argument("--email", action="store_true", help="生成后发送给有邮箱的领导")
    s.add_argument(
        "--schedule", action="store_true", help="生成已结束的上月、上季度定期报告（排队）"
    )
    s.add_argument(
        "--rebuild-facts", action="store_true", help="从投诉数据重算统计数据及其月度汇总"
    )
    s.set_defaults(func=cmd_report)
