"""`tousu webhooks`: list subscriptions and send due deliveries (the worker does this too)."""

from __future__ import annotations

import time


def cmd_webhooks(args) -> int:
    from tousu.cli import UsageError, setup_django

    setup_django()
    from tousu.webhooks.models import EVENTS, Delivery, Subscription
    from tousu.webhooks.services import deliver_due

    if args.webhooks_cmd == "list":
        for sub in Subscription.objects.all():
            pending = sub.deliveries.filter(status=Delivery.PENDING).count()
            failed = sub.deliveries.filter(status=Delivery.FAILED).count()
            state = "启用" if sub.is_active else "停用"
            print(
                f"{sub.pk:4} {sub.name:20} {state} {sub.url}  [{', '.join(sub.events)}]"
                f"  待发送 {pending}，已放弃 {failed}"
            )
        return 0
    if args.webhooks_cmd == "add":
        unknown = sorted(set(args.events) - EVENTS.keys())
        if unknown:
            raise UsageError(f"未知事件 {', '.join(unknown)}；可用：{', '.join(EVENTS)}")
        if not args.url.lower().startswith(("http://", "https://")):
            raise UsageError("接收地址必须以 http:// 或 https:// 开头")
        sub = Subscription.objects.create(
            name=args.name or args.url[:100], url=args.url, events=sorted(set(args.events))
        )
        print(f"已添加订阅 {sub.pk}。签名密钥（配置到接收方）：{sub.secret}")
        return 0
    # deliver
    while True:
        run = deliver_due()
        if run.attempted or run.gave_up:
            print(
                f"发送 {run.attempted} 项：成功 {run.succeeded}，待重试 {run.retrying}，"
                f"放弃 {run.gave_up}",
                flush=True,
            )
        if not args.loop:
            return 0
        time.sleep(args.interval)


def register(subparsers) -> None:
    s = subparsers.add_parser("webhooks", help="Webhook 订阅与投递")
    sub = s.add_subparsers(dest="webhooks_cmd", required=True, metavar="子命令")
    sub.add_parser("list", help="列出订阅")
    x = sub.add_parser("add", help="添加订阅（打印签名密钥）")
    x.add_argument("url")
    x.add_argument("--events", nargs="+", required=True, help="complaint.created 等")
    x.add_argument("--name")
    x = sub.add_parser("deliver", help="发送到期的投递（tousu worker 也会发送）")
    x.add_argument("--loop", action="store_true", help="持续运行")
    x.add_argument("--interval", type=float, default=5.0, help="间隔秒数")
    s.set_defaults(func=cmd_webhooks)
