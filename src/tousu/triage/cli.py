"""`tousu triage …`: train, evaluate, suggest, models, activate, reindex."""

from __future__ import annotations

import sys
import time

from tousu.cli import UsageError, setup_django


def _template_info(name: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(label, category labels, category → department) from the shipped template, no database."""
    from tousu.processes.catalog import template_names, template_path
    from tousu.processes.validation import load_file

    if name not in template_names():
        return name, {}, {}
    d = load_file(template_path(name))
    return (
        d.label,
        {c.code: c.label for c in d.categories},
        {c.code: c.department for c in d.categories},
    )


def _installed(name: str | None) -> list[str]:
    from tousu.processes.selectors import active_processes

    names = [p.name for p in active_processes()]
    if name is None:
        return names
    if name not in names:
        raise UsageError(f"流程「{name}」未安装；已安装：{'、'.join(names) or '无'}")
    return [name]


def cmd_train(args) -> int:
    setup_django()
    from .services import TrainingError, train

    names = _installed(args.template)
    if args.template is None:
        from .selectors import category_map

        names = [n for n in names if category_map(n)]
    if not names:
        raise UsageError("没有可训练的流程：先用 tousu init 或 tousu process install 安装流程")
    failed = 0
    for name in names:
        try:
            row = train(
                name,
                with_samples=not args.no_samples,
                with_cases=not args.no_cases,
                activate=not args.no_activate,
            )
        except TrainingError as exc:
            failed += 1
            print(f"{name}：{exc.message}", file=sys.stderr)
            continue
        state = "已启用" if row.is_active else "未启用（tousu triage activate 启用）"
        print(
            f"{name} v{row.version}：{len(row.classes)} 个类别，内置样本 {row.n_samples} 条，"
            f"本单位案例 {row.n_cases} 条，用时 {row.seconds:.1f} 秒，{state}"
        )
        if row.left_out:
            left = "、".join(f"{k}（{v} 条）" for k, v in sorted(row.left_out.items()))
            print(f"  未参与训练（非本流程启用类别或样本过少）：{left}")
    return 1 if failed and failed == len(names) else 0


def _print_evaluation(
    title: str,
    ev,
    labels: dict[str, str],
    extra: list[str],
    seconds: float,
    departments: dict[str, str] | None = None,
) -> None:
    print(title)
    print(f"  准确率 {ev.accuracy:.3f}   宏平均 F1 {ev.macro_f1:.3f}   （{ev.n} 条）")
    if (acc := ev.department_accuracy(departments or {})) is not None:
        print(f"  责任部门准确率 {acc:.3f}（由预测类别经类别→部门对应得出）")
    for line in extra:
        print(f"  {line}")
    if ev.threshold is not None and ev.coverage is not None:
        sure = f"{ev.confident_accuracy:.1%}" if ev.confident_accuracy is not None else "—"
        print(
            f"  置信度 ≥ {ev.threshold:.2f} 的给出建议：占 {ev.coverage:.1%}，其中准确率 {sure}；"
            "其余由人工判断"
        )
    if ev.left_out:
        left = "、".join(f"{k}（{v} 条）" for k, v in sorted(ev.left_out.items()))
        print(f"  样本过少未参与：{left}")
    print(f"  {'类别':<22}{'精确率':>6}{'召回率':>7}{'F1':>8}{'样本':>7}  名称")
    for c in ev.classes:
        print(
            f"  {c.label:<24}{c.precision:>7.3f}{c.recall:>8.3f}{c.f1:>8.3f}{c.support:>8d}  "
            f"{labels.get(c.label, '')}"
        )
    pairs = ev.confusions()
    if pairs:
        print("  最常见的混淆（实际 → 预测：条数）：")
        for truth, guess, n in pairs:
            print(
                f"    {labels.get(truth, truth)}（{truth}）→ {labels.get(guess, guess)}（{guess}）：{n}"
            )
    rows = ev.tradeoff(departments=departments)
    if rows:
        print("  置信度阈值（自动分派时）：阈值  覆盖率  其中类别准确率  其中部门准确率")
        for th, coverage, acc, dep in rows:
            a = f"{acc:.3f}" if acc is not None else "—"
            d = f"{dep:.3f}" if dep is not None else "—"
            print(f"    ≥ {th:.2f}  {coverage:7.1%}  {a:>12}  {d:>12}")
    print(f"  用时 {seconds:.1f} 秒")


def _keyword_line(template: str, texts, truth) -> tuple[str, list[str]] | None:
    from . import classifier, keywords

    if not keywords.has_rules(template):
        return None
    guess = [(keywords.rank(template, t) or [("", 0, [])])[0][0] for t in texts]
    ev = classifier.score(truth, guess)
    return f"关键词基线（冷启动）：准确率 {ev.accuracy:.3f}   宏平均 F1 {ev.macro_f1:.3f}", guess


def _departments(template: str | None, shipped: dict[str, str]) -> dict[str, str]:
    """category → department as the organisation has it when the flow is installed (an
    administrator may have remapped a category), else as the shipped template has it."""
    if not template:
        return shipped
    from .selectors import category_map

    installed = {code: c.department for code, c in category_map(template).items() if c.department}
    return installed or shipped


def _evaluate_cases(template: str, months: int):
    """Time-ordered split of the organisation's labelled cases: train on the shipped samples and
    the cases received before the last `months` months, test on those months' cases."""
    from datetime import timedelta

    from . import classifier, selectors

    _installed(template)
    rows = sorted(
        selectors.learned_cases(template).values_list("content", "category__code", "received_at"),
        key=lambda r: r[2],
    )
    if not rows:
        raise UsageError(f"流程「{template}」还没有已结案或人工分类的案例，无法按时间切分评估")
    cutoff = rows[-1][2] - timedelta(days=round(months * 30.44))  # a month on average
    past = [r for r in rows if r[2] < cutoff]
    recent = [r for r in rows if r[2] >= cutoff]
    samples = selectors.samples(template)
    texts = samples.texts + [r[0] for r in past]
    labels = samples.categories + [r[1] for r in past]
    weights = [1.0] * len(samples.texts) + [selectors.CASE_WEIGHT] * len(past)
    try:
        clf = classifier.TextClassifier.fit(texts, labels, weights)
    except classifier.TooLittleData as exc:
        raise UsageError(str(exc)) from None
    truth = [r[1] for r in recent]
    guess, sure = clf.predict([r[0] for r in recent])
    ev = classifier.score(truth, guess, sure, selectors.min_confidence())
    source = (
        f"本单位案例按时间切分：用 {cutoff:%Y-%m-%d} 之前的 {len(past)} 件案例和 "
        f"{len(samples.texts)} 条内置样本训练，评估最近 {months} 个月的 {len(recent)} 件"
    )
    return ev, source


def cmd_evaluate(args) -> int:
    setup_django()
    from . import classifier, selectors

    if args.folds < 2:
        raise UsageError("--folds 至少为 2")
    if args.months < 1:
        raise UsageError("--months 至少为 1")
    templates = [args.template] if args.template else []
    if not templates:
        if args.file:
            templates = [None]
        else:
            from tousu.processes.catalog import template_names

            templates = [t for t in template_names() if selectors.sample_path(t)]
    for template in templates:
        label, cat_labels, dep_map = _template_info(template) if template else ("", {}, {})
        name = f"{label}（{template}）" if template else ""
        started = time.perf_counter()
        texts = truth = None
        if args.cases:
            if not template:
                raise UsageError("--cases 需要 --template")
            ev, source = _evaluate_cases(template, args.months)
            title = f"{name}{source}"
            deps = _departments(template, dep_map)
            _print_evaluation(title, ev, cat_labels, [], time.perf_counter() - started, deps)
            print()
            continue
        if args.file:
            try:
                data = selectors.read_labelled(args.file)
            except selectors.LabelledFileError as exc:
                raise UsageError(str(exc)) from None
            source = f"文件 {args.file}"
        else:
            data = selectors.samples(template)
            if not data.texts:
                raise UsageError(
                    f"模板「{template}」没有内置样本；用 --file 指定带标注的 CSV（text,category）"
                )
            source = "内置样本"
        texts, truth = data.texts, data.categories
        dep_map = dep_map or data.departments
        if args.active:
            if not template:
                raise UsageError("--active 需要 --template")
            _installed(template)
            row, clf = selectors.classifier_for(template)
            if clf is None:
                raise UsageError(f"流程「{template}」没有启用的模型；先运行 tousu triage train")
            started = time.perf_counter()
            guess, sure = clf.predict(texts)
            ev = classifier.score(truth, guess, sure, selectors.min_confidence())
            title = f"{name}{source}，{len(texts)} 条，用启用中的模型 v{row.version} 评估（未参与训练的数据才有意义）"
            deps = _departments(template, dep_map)
        else:
            started = time.perf_counter()
            try:
                ev = classifier.cross_validate(
                    texts, truth, None, folds=args.folds, threshold=selectors.min_confidence()
                )
            except classifier.TooLittleData as exc:
                raise UsageError(str(exc)) from None
            title = f"{name}{source}，{len(texts)} 条，{args.folds} 折分层交叉验证（每条都由没见过它的模型预测）"
            deps = dep_map
        extra = []
        seconds = time.perf_counter() - started
        if template and (kw := _keyword_line(template, texts, truth)):
            extra.append(kw[0])
        _print_evaluation(title, ev, cat_labels, extra, seconds, deps)
        print()
    return 0


def cmd_suggest(args) -> int:
    setup_django()
    from . import selectors

    _installed(args.template)
    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("请给出投诉内容")
    r = selectors.rank(args.template, text)
    threshold = selectors.min_confidence()
    source = {"model": f"模型 v{r.model_version}", "keywords": "关键词规则", "none": "无"}[r.source]
    if r.top is None:
        print(f"无法判断类别（依据：{source}），请人工选择")
    elif r.top.confidence < threshold:
        print(f"置信度不足（{r.top.confidence:.2f} < {threshold:.2f}），不给建议，请人工选择")
    else:
        t = r.top
        print(
            f"建议：{t.category_label}（{t.category}）→ {t.department_label or '未设部门'}，"
            f"置信度 {t.confidence:.2f}，依据：{source}"
        )
        if r.explanation:
            print(f"  {r.explanation}")
    for a in r.items[: args.top]:
        print(f"  {a.confidence:6.2f}  {a.category_label}（{a.category}）→ {a.department_label}")
    flags = selectors.risk_flags(text)
    for f in flags:
        print(f"风险提示：{f.label}（命中：{'、'.join(f.terms)}）")
    dups = selectors.find_duplicates(args.template, text, args.phone, args.id_number)
    for d in dups:
        print(
            f"可能重复：{d.tracking_number} {d.received_at:%Y-%m-%d} {d.state_label} "
            f"（{'、'.join(d.reason_labels)}，相似度 {d.similarity:.2f}）"
        )
    return 0


def cmd_models(args) -> int:
    setup_django()
    from .selectors import models_of

    rows = list(models_of(args.template))
    if not rows:
        print("还没有训练过模型：tousu triage train")
        return 0
    for m in rows:
        mark = "*" if m.is_active else " "
        print(
            f"{mark} {m.process_name:20} v{m.version:<3} {m.created_at:%Y-%m-%d %H:%M}  "
            f"样本 {m.n_samples} 条 + 案例 {m.n_cases} 条  {len(m.classes)} 类  {m.algorithm}"
        )
    print("* 使用中")
    return 0


def cmd_activate(args) -> int:
    setup_django()
    from tousu.cases.errors import NotFound

    from .services import activate

    try:
        row = activate(args.template, args.version)
    except NotFound as exc:
        raise UsageError(exc.message) from None
    print(f"已启用 {row.process_name} v{row.version}")
    return 0


def cmd_reindex(args) -> int:
    setup_django()
    from .services import reindex

    if args.template:
        _installed(args.template)
    print(f"已为 {reindex(args.template)} 件投诉建立文本指纹")
    return 0


def cmd_auto(args) -> int:
    setup_django()
    from tousu.cases.errors import Invalid

    from . import routing, selectors

    _installed(args.template)
    if args.off and args.threshold is not None:
        raise UsageError("--threshold 与 --off 只能给一个")
    if args.off or args.threshold is not None or args.retrain_after is not None:
        current = selectors.routing_setting(args.template)
        threshold = None if args.off else args.threshold
        if threshold is None and not args.off and current is not None:
            threshold = current.threshold  # only --retrain-after given: the threshold stays
        try:
            routing.set_threshold(args.template, threshold, retrain_after=args.retrain_after)
        except Invalid as exc:
            raise UsageError(exc.message) from None
    row = selectors.routing_setting(args.template)
    if row is None or row.threshold is None:
        print(f"{args.template}：自动分派已关闭（网上和接口投诉由工作人员分派）")
    else:
        print(f"{args.template}：置信度 ≥ {row.threshold:.2f} 的网上和接口投诉自动分派类别与部门")
    after = row.retrain_after if row else 20
    print(
        f"  人工更正累计 {after} 条后自动重新训练（新模型评估不如现用模型则不启用）"
        if after
        else "  不自动重新训练"
    )
    print(f"  自上次训练以来的更正：{routing.corrections_since_model(args.template)} 条")
    print(
        "  先用本单位已结案案例评估各阈值的覆盖率与准确率：tousu triage evaluate --template "
        f"{args.template} --cases"
    )
    return 0


def cmd_retrain(args) -> int:
    setup_django()
    from .routing import retrain_if_better

    _installed(args.template)
    outcome = retrain_if_better(args.template)
    print(outcome.reason)
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("triage", help="智能分派：训练、评估、建议")
    sub = s.add_subparsers(dest="triage_cmd", required=True, metavar="子命令")

    x = sub.add_parser("train", help="用内置样本和本单位已结案/人工分类的案例训练新版本模型")
    x.add_argument("--template", help="流程名；不给则训练所有已安装且有类别的流程")
    x.add_argument("--no-samples", action="store_true", help="不用内置样本")
    x.add_argument("--no-cases", action="store_true", help="不用本单位案例")
    x.add_argument("--no-activate", action="store_true", help="训练后不启用")
    x.set_defaults(func=cmd_train)

    x = sub.add_parser("evaluate", help="分层 5 折交叉验证：准确率、宏平均 F1、各类精确率与召回率")
    x.add_argument("--template", help="模板名；不给则评估所有带内置样本的模板")
    x.add_argument("--file", help="带标注的 CSV（UTF-8，表头含 text,category）")
    x.add_argument(
        "--cases",
        action="store_true",
        help="本单位已结案/人工分类的案例按时间切分：用过去的训练，评估最近 --months 个月的",
    )
    x.add_argument("--months", type=int, default=3, help="--cases 时评估最近几个月，默认 3")
    x.add_argument("--active", action="store_true", help="不做交叉验证，用启用中的模型评估 --file")
    x.add_argument("--folds", type=int, default=5, help="折数，默认 5")
    x.set_defaults(func=cmd_evaluate)

    x = sub.add_parser("suggest", help="给出一段投诉内容的建议类别、风险提示和可能重复")
    x.add_argument("--template", required=True, help="流程名")
    x.add_argument("--phone", help="投诉人电话（查重复）")
    x.add_argument("--id-number", help="投诉人证件号码（查重复）")
    x.add_argument("--top", type=int, default=3, help="列出前几个类别，默认 3")
    x.add_argument("text", nargs="+", help="投诉内容")
    x.set_defaults(func=cmd_suggest)

    x = sub.add_parser("models", help="列出各版本模型，标出使用中的版本")
    x.add_argument("--template", help="流程名")
    x.set_defaults(func=cmd_models)

    x = sub.add_parser("activate", help="启用某一版本的模型（回退）")
    x.add_argument("--template", required=True, help="流程名")
    x.add_argument("version", type=int)
    x.set_defaults(func=cmd_activate)

    x = sub.add_parser("auto", help="自动分派：查看或设置置信度阈值（默认关闭）")
    x.add_argument("--template", required=True, help="流程名")
    x.add_argument("--threshold", type=float, help="置信度阈值，大于 0 且不超过 1，如 0.8")
    x.add_argument("--off", action="store_true", help="关闭自动分派")
    x.add_argument("--retrain-after", type=int, help="人工更正累计多少条后自动重新训练；0 为不自动")
    x.set_defaults(func=cmd_auto)

    x = sub.add_parser(
        "retrain", help="用全部已标注案例重新训练；新模型评估不如使用中的模型时不启用"
    )
    x.add_argument("--template", required=True, help="流程名")
    x.set_defaults(func=cmd_retrain)

    x = sub.add_parser("reindex", help="为尚无文本指纹的投诉补建指纹（查重用）")
    x.add_argument("--template", help="流程名")
    x.set_defaults(func=cmd_reindex)
