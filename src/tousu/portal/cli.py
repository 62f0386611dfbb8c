"""`tousu portal`: purge old rate-limit counts and used form tokens; print the poster."""

from __future__ import annotations

from tousu.cli import UsageError, setup_django


def cmd_portal(args) -> int:
    setup_django()
    if args.portal_cmd == "purge":
        from datetime import timedelta

        from django.utils import timezone

        from . import ratelimit
        from .models import SubmissionToken
        from .services import purge_stashes

        hits = ratelimit.purge()
        cutoff = timezone.now() - timedelta(days=args.days)
        tokens, _ = SubmissionToken.objects.filter(created_at__lt=cutoff).delete()
        stashes = purge_stashes()
        print(
            f"已清除 {hits} 条访问计数、{tokens} 个提交令牌（{args.days} 天前）、"
            f"{stashes} 份未提交表单暂存的附件"
        )
        return 0
    if args.portal_cmd == "poster":
        from tousu.documents.rendering import render_pdf

        from . import selectors

        url = args.url or selectors.portal_url()
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"网址「{url}」无效，应以 http:// 或 https:// 开头")
        html = selectors.poster_html(url)
        with open(args.output, "wb") as fh:
            fh.write(render_pdf(html))
        print(f"已写入 {args.output}（二维码指向 {url}）")
        return 0
    raise UsageError("用法：tousu portal purge|poster")


def register(subparsers) -> None:
    s = subparsers.add_parser("portal", help="投诉人门户：purge / poster")
    sub = s.add_subparsers(dest="portal_cmd", required=True, metavar="子命令")
    x = sub.add_parser("purge", help="清除过期的访问计数和提交令牌")
    x.add_argument("--days", type=int, default=30, help="保留最近多少天的提交令牌（默认 30）")
    x = sub.add_parser("poster", help="生成投诉公示海报 PDF")
    x.add_argument("-o", "--output", required=True)
    x.add_argument("--url", help="二维码指向的网址，默认为公示信息中的投诉网站地址")
    s.set_defaults(func=cmd_portal)
