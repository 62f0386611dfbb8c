"""`tousu process`: the flow definitions (list, show, validate, diagram, install)."""

from __future__ import annotations

import os
import sys

from tousu.cli import UsageError, setup_django


def _templates() -> list[str]:
    from tousu.processes.catalog import template_names

    return template_names()


def cmd_list(args) -> int:
    from tousu.processes.catalog import template_path
    from tousu.processes.validation import load_file

    for name in _templates():
        d = load_file(template_path(name))
        print(f"{name:20} v{d.version}  {d.label}  [{', '.join(d.flows)}]")
    return 0


def cmd_show(args) -> int:
    from tousu.processes.catalog import template_path
    from tousu.processes.validation import load_file

    if args.name not in _templates():
        raise UsageError(f"未知流程「{args.name}」；可用：{', '.join(_templates())}")
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


def cmd_validate(args) -> int:
    from tousu.processes.validation import DefinitionError, load_file

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


def cmd_diagram(args) -> int:
    from tousu.processes.catalog import template_path
    from tousu.processes.diagram import render_svg
    from tousu.processes.validation import load_file

    path = template_path(args.name) if args.name in _templates() else None
    if path is None:
        if not os.path.isfile(args.name):
            raise UsageError(
                f"未知流程「{args.name}」：给出模板名（{', '.join(_templates())}）或定义文件"
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


def cmd_install(args) -> int:
    from tousu.processes.validation import load_file

    setup_django()
    from tousu.processes.services import install_definition

    for path in args.files:
        load_file(path)
        with open(path, encoding="utf-8") as fh:
            p = install_definition(fh.read(), path)
        print(f"已安装 {p}")
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("process", help="流程定义：list / show / validate / install")
    psub = s.add_subparsers(dest="process_cmd", required=True, metavar="子命令")
    x = psub.add_parser("list", help="列出内置流程模板")
    x.set_defaults(func=cmd_list)
    x = psub.add_parser("show", help="显示一个流程")
    x.add_argument("name")
    x.set_defaults(func=cmd_show)
    x = psub.add_parser("validate", help="校验流程定义文件")
    x.add_argument("files", nargs="+")
    x.set_defaults(func=cmd_validate)
    x = psub.add_parser("diagram", help="流程图（SVG）")
    x.add_argument("name", help="模板名或定义文件")
    x.add_argument("-o", "--output", help="输出文件，默认输出到标准输出")
    x.set_defaults(func=cmd_diagram)
    x = psub.add_parser("install", help="校验并安装流程定义文件")
    x.add_argument("files", nargs="+")
    x.set_defaults(func=cmd_install)
