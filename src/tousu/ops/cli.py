"""Commands: `tousu backup`, `tousu restore`, `tousu retention run`, `tousu privacy reveals|export`."""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime

from tousu.cli import UsageError, setup_django


def _fail(message: str) -> int:
    print(f"tousu: {message}", file=sys.stderr)
    return 1


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


def _counts(c: dict) -> str:
    return (
        f"投诉 {c['complaints']} 件、事件 {c['events']} 条、附件 {c['attachments']} 个、"
        f"当事人 {c['parties']} 个、公文 {c['documents']} 份、用户 {c['users']} 个"
    )


VENDORS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def cmd_backup(args) -> int:
    setup_django()
    from tousu.ops import backup

    try:
        out = backup.backup(args.dir, allow_missing=args.allow_missing)
    except backup.Refused as exc:
        raise UsageError(str(exc)) from None
    except backup.BackupError as exc:
        return _fail(f"备份失败：{exc}")
    print(
        f"已备份到 {out.path}：{VENDORS[out.vendor]}，{_counts(out.counts)}；"
        f"文件 {out.files} 个，共 {_size(out.bytes)}，用时 {out.seconds:.1f} 秒"
    )
    for m in out.missing:
        print(f"tousu: 警告：未备份 {m['file']}：{m['reason']}", file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    setup_django(require_db=False)  # restoring into a new installation is what it is for
    from tousu.ops import backup

    try:
        if args.verify_only:
            manifest = backup.verify(args.dir)
            print(
                f"备份完好：{VENDORS.get(manifest['vendor'], manifest['vendor'])}，"
                f"{manifest['created_at']}，{_counts(manifest['counts'])}，"
                f"{len(manifest['files'])} 个文件的校验和全部相符"
            )
            return 0
        out = backup.restore(args.dir, force=args.force)
    except backup.Refused as exc:
        raise UsageError(str(exc)) from None
    except backup.BackupError as exc:
        return _fail(str(exc) if isinstance(exc, backup.VerificationFailed) else f"恢复失败：{exc}")
    print(
        f"已从 {out.path} 恢复：{VENDORS[out.vendor]}，{_counts(out.counts)}；"
        f"文件 {out.files} 个，共 {_size(out.bytes)}，用时 {out.seconds:.1f} 秒"
    )
    for m in out.missing:
        print(f"tousu: 警告：备份时缺少 {m['file']}（{m['reason']}），未能恢复", file=sys.stderr)
    return 0


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"时间「{text}」无效，应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM") from None


def cmd_retention(args) -> int:
    now = _moment(args.now)
    setup_django()
    from django.utils import timezone

    if now is not None and timezone.is_naive(now):
        now = timezone.make_aware(now)  # local time (Asia/Shanghai)
    from tousu.ops import retention

    result = retention.run(now=now, dry_run=args.dry_run)
    as_of = timezone.localtime(result.now).strftime("%Y-%m-%d %H:%M")
    per = "，".join(f"{name} {n} 件" for name, n in sorted(result.by_template.items()))
    if args.dry_run:
        print(
            f"截至 {as_of} 保存期满、将匿名化 {len(result.due)} 件{f'（{per}）' if per else ''}；未做更改"
        )
        for d in result.due[:50]:
            closed = timezone.localtime(d.closed_at).strftime("%Y-%m-%d")
            print(
                f"  {d.tracking_number}  {d.process_name}  结案 {closed}  保存 {d.retention_days} 天"
            )
        if len(result.due) > 50:
            print(f"  …另有 {len(result.due) - 50} 件")
        return 0
    print(
        f"截至 {as_of} 已匿名化 {len(result.due)} 件{f'（{per}）' if per else ''}："
        f"删除证据文件 {result.files_deleted} 个，改写事件 {result.events_redacted} 条，"
        f"用时 {result.seconds:.1f} 秒"
    )
    return 0


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"日期「{text}」无效，应为 YYYY-MM-DD") from None


REVEAL_HEADER = ["时间", "方式", "投诉编号", "投诉人", "用户名", "操作人", "途径", "内容"]


def cmd_privacy(args) -> int:
    if args.privacy_cmd == "reveals":
        since, until = _day(args.since), _day(args.until)
        if since and until and since > until:
            raise UsageError("--since 不能晚于 --until")
        setup_django()
        from django.utils import timezone

        from tousu.ops.selectors import VIA_LABELS, disclosures

        rows = [
            [
                timezone.localtime(d.at).strftime("%Y-%m-%d %H:%M:%S"),
                d.kind,
                d.tracking_number,
                d.subject,
                d.username,
                d.actor_name,
                VIA_LABELS.get(d.via, d.via),
                d.what,
            ]
            for d in disclosures(
                since=since, until=until, tracking_number=args.case or "", username=args.user or ""
            )
        ]
        if args.format == "csv":
            out = (
                open(args.output, "w", encoding="utf-8-sig", newline="")
                if args.output
                else sys.stdout
            )
            try:
                writer = csv.writer(out)
                writer.writerow(REVEAL_HEADER)
                writer.writerows(rows)
            finally:
                if args.output:
                    out.close()
            if args.output:
                print(f"已写入 {args.output}（{len(rows)} 条）", file=sys.stderr)
            return 0
        if not rows:
            print("没有符合条件的查看或导出个人信息的记录")
            return 0
        widths = [max(len(r[i]) for r in [REVEAL_HEADER, *rows]) for i in range(len(REVEAL_HEADER))]
        for r in [REVEAL_HEADER, *rows]:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        print(f"共 {len(rows)} 条")
        return 0

    # export
    given = [v for v in (args.phone, args.id_number, args.tracking_number) if v]
    if len(given) != 1:
        raise UsageError("请给出且只给出一个：--phone、--id-number 或 --tracking-number")
    setup_django()
    from tousu.ops.privacy_export import NotFound, export_subject

    try:
        out = export_subject(
            args.output,
            phone=args.phone or "",
            id_number=args.id_number or "",
            tracking_number=args.tracking_number or "",
            by=args.by or "",
        )
    except NotFound as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        return _fail(f"无法写入 {args.output}：{exc.strerror}")
    print(
        f"已导出到 {out.path}：作为投诉人的投诉 {out.complaints} 件，作为被投诉方 {out.as_respondent} 件；"
        "已在每件投诉上记录本次导出"
    )
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("backup", help="在线备份：数据库快照、附件等文件和校验清单")
    s.add_argument("dir", help="备份目录（新目录或空目录）")
    s.add_argument(
        "--allow-missing", action="store_true", help="跳过磁盘上缺失或损坏的文件，记入清单"
    )
    s.set_defaults(func=cmd_backup)

    s = subparsers.add_parser("restore", help="从备份恢复（先校验全部校验和）")
    s.add_argument("dir", help="备份目录")
    s.add_argument("--force", action="store_true", help="目标数据库已有数据时仍然覆盖")
    s.add_argument("--verify-only", action="store_true", help="只校验备份，不恢复")
    s.set_defaults(func=cmd_restore)

    s = subparsers.add_parser("retention", help="个人信息保存期限：匿名化期满的已结案投诉")
    rsub = s.add_subparsers(dest="retention_cmd", required=True, metavar="子命令")
    x = rsub.add_parser("run", help="匿名化保存期满的投诉（统计数据保留）")
    x.add_argument("--dry-run", action="store_true", help="只列出将匿名化的投诉，不做更改")
    x.add_argument("--now", help="以此时间为准（YYYY-MM-DD[THH:MM]），默认现在")
    s.set_defaults(func=cmd_retention)

    s = subparsers.add_parser("privacy", help="个人信息：查看记录、按申请导出")
    psub = s.add_subparsers(dest="privacy_cmd", required=True, metavar="子命令")
    x = psub.add_parser("reveals", help="谁在何时查看或导出了哪件投诉的个人信息")
    x.add_argument("--since", help="起始日期 YYYY-MM-DD（含）")
    x.add_argument("--until", help="截止日期 YYYY-MM-DD（含）")
    x.add_argument("--case", help="只列出这件投诉（投诉编号）")
    x.add_argument("--user", help="只列出这个用户（用户名）")
    x.add_argument("--format", choices=["table", "csv"], default="table")
    x.add_argument("-o", "--output", help="CSV 写入此文件（Excel 可直接打开）")
    x = psub.add_parser("export", help="按当事人申请导出其个人信息和投诉（JSON）")
    x.add_argument("--phone", help="电话号码")
    x.add_argument("--id-number", help="证件号码")
    x.add_argument("--tracking-number", help="投诉编号：该件的投诉人")
    x.add_argument("-o", "--output", required=True, help="输出的 JSON 文件")
    x.add_argument("--by", help="经办人姓名，记入投诉记录")
    s.set_defaults(func=cmd_privacy)
