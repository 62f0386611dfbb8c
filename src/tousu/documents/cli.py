"""`tousu documents`: seed the templates, issue a document for a case, list a case's documents."""

from __future__ import annotations

from tousu.cli import UsageError, setup_django


def cmd_documents(args) -> int:
    setup_django()
    from tousu.cases.errors import CaseError
    from tousu.cases.models import Complaint

    from . import selectors, services
    from .kinds import KINDS

    if args.documents_cmd == "seed":
        added = services.seed_templates()
        print(f"已添加 {added} 个公文模板（已有的保持不变）")
        return 0
    complaint = (
        Complaint.objects.select_related("process")
        .filter(tracking_number=args.tracking_number)
        .first()
    )
    if complaint is None:
        raise UsageError(f"投诉「{args.tracking_number}」不存在")
    if args.documents_cmd == "list":
        for d in selectors.documents_for(complaint):
            mark = "（已更正）" if d.superseded else ""
            print(f"{d.serial}\t{d.title}{mark}\t{d.issued_at:%Y-%m-%d %H:%M}")
        return 0
    if args.kind not in KINDS:
        raise UsageError(f"未知公文种类「{args.kind}」；可用：{', '.join(KINDS)}")
    try:
        doc = services.issue_document(complaint, args.kind, actor_name="命令行")
        pdf = services.ensure_pdf(doc)
    except CaseError as exc:
        raise UsageError(exc.message) from None
    print(f"已出具《{doc.title}》{doc.serial}：{pdf.file.path}")
    if args.output:
        with open(args.output, "wb") as fh:
            fh.write(pdf.file.open("rb").read())
        print(f"已写入 {args.output}")
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("documents", help="公文：seed / list / issue")
    sub = s.add_subparsers(dest="documents_cmd", required=True, metavar="子命令")
    sub.add_parser("seed", help="把内置公文模板写入数据库，供管理员修改")
    x = sub.add_parser("list", help="列出一件投诉的公文")
    x.add_argument("tracking_number")
    x = sub.add_parser("issue", help="为一件投诉出具公文")
    x.add_argument("tracking_number")
    x.add_argument("kind", help="公文种类，如 acceptance_receipt")
    x.add_argument("-o", "--output", help="同时把 PDF 复制到此文件")
    s.set_defaults(func=cmd_documents)
