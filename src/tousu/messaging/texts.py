"""Complainant message texts: the defaults each organisation starts with, the check an
administrator's edit must pass (only `{{ 变量 }}` from kinds.VARIABLES, no tags, no filters), and
rendering with nothing but those variables in the context."""

from __future__ import annotations

from functools import cache

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import TextNode, VariableNode

from .kinds import (
    ACKNOWLEDGEMENT,
    CLOSING,
    EXTENSION,
    MAIL,
    MATERIAL_REQUEST,
    RATING_INVITATION,
    REPLY,
    SMS,
    VARIABLES,
)

# (kind, channel) → (subject, body). SMS texts are short: providers bill per 70 characters.
DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    (ACKNOWLEDGEMENT, SMS): (
        "",
        "您的投诉已登记，编号{{ tracking_number }}，查询码{{ access_code }}。"
        "可在{{ track_url }}凭编号和查询码（或登记的手机号）查询办理进度。",
    ),
    (ACKNOWLEDGEMENT, MAIL): (
        "【{{ organisation }}】投诉已登记（编号 {{ tracking_number }}）",
        "您好：\n\n您的投诉已登记，我们将按规定的时限办理。\n\n"
        "投诉编号：{{ tracking_number }}\n查询码：{{ access_code }}\n\n"
        "查询办理进度：{{ track_url }}\n（凭投诉编号和查询码，或登记时留的手机号码查询）\n\n"
        "{{ organisation }}\n\n{{ unsubscribe }}",
    ),
    (MATERIAL_REQUEST, SMS): (
        "",
        "您的投诉（编号{{ tracking_number }}）请您补充材料。{{ content }}。"
        "请登录{{ track_url }}上传。",
    ),
    (MATERIAL_REQUEST, MAIL): (
        "【{{ organisation }}】请补充投诉材料（编号 {{ tracking_number }}）",
        "您好：\n\n办理您的投诉（编号 {{ tracking_number }}）需要您补充材料：\n\n{{ content }}\n\n"
        "请在 {{ track_url }} 查询到该投诉后上传。在您补充材料之前，办理时限暂停计算。\n\n"
        "{{ organisation }}\n\n{{ unsubscribe }}",
    ),
    (EXTENSION, SMS): (
        "",
        "您的投诉（编号{{ tracking_number }}）{{ clock }}已延长至{{ due }}，理由：{{ reason }}。",
    ),
    (EXTENSION, MAIL): (
        "【{{ organisation }}】投诉办理时限延长（编号 {{ tracking_number }}）",
        "您好：\n\n您的投诉（编号 {{ tracking_number }}）的{{ clock }}已延长至 {{ due }}。\n\n"
        "延长理由：{{ reason }}\n\n查询办理进度：{{ track_url }}\n\n{{ organisation }}\n\n{{ unsubscribe }}",
    ),
    (REPLY, SMS): (
        "",
        "您的投诉（编号{{ tracking_number }}）已答复，请登录{{ track_url }}查看答复内容，并可对处理结果进行评价。",
    ),
    (REPLY, MAIL): (
        "【{{ organisation }}】投诉答复（编号 {{ tracking_number }}）",
        "您好：\n\n您的投诉（编号 {{ tracking_number }}）已答复：\n\n{{ content }}\n\n"
        "查看答复、对处理结果进行评价：{{ track_url }}\n\n{{ organisation }}\n\n{{ unsubscribe }}",
    ),
    (CLOSING, SMS): (
        "",
        "您的投诉（编号{{ tracking_number }}）已办结：{{ action }}。感谢您的监督。",
    ),
    (CLOSING, MAIL): (
        "【{{ organisation }}】投诉已办结（编号 {{ tracking_number }}）",
        "您好：\n\n您的投诉（编号 {{ tracking_number }}）已办结：{{ action }}。\n\n{{ content }}\n\n"
        "查询办理记录：{{ track_url }}\n\n感谢您的监督。\n{{ organisation }}\n\n{{ unsubscribe }}",
    ),
    (RATING_INVITATION, SMS): (
        "",
        "您的投诉（编号{{ tracking_number }}）已处理完毕，请登录{{ track_url }}对处理结果进行评价。",
    ),
    (RATING_INVITATION, MAIL): (
        "【{{ organisation }}】请评价投诉处理结果（编号 {{ tracking_number }}）",
        "您好：\n\n您的投诉（编号 {{ tracking_number }}）已处理完毕：{{ action }}。\n\n{{ content }}\n\n"
        "请在 {{ track_url }} 对处理结果进行评价；不满意的，请写明原因，我们将进一步处理。\n\n"
        "{{ organisation }}\n\n{{ unsubscribe }}",
    ),
}

# A standalone engine: no template loaders, no autoescaping (plain text and SMS, not HTML). Its
# default tags still parse; the check below lets none of them through.
_ENGINE = Engine(debug=False, autoescape=False)


class TemplateTextError(ValueError):
    pass


def _allowed() -> str:
    return "、".join(f"{{{{ {k} }}}}（{v}）" for k, v in VARIABLES.items())


@cache
def _compile(text: str):
    try:
        template = _ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateTextError(f"模板格式有误：{exc}。只能使用变量 {_allowed()}") from None
    names = []
    for node in template.nodelist:
        if isinstance(node, TextNode):
            continue
        var = getattr(getattr(node, "filter_expression", None), "var", None)
        lookups = getattr(var, "lookups", None)
        if (
            not isinstance(node, VariableNode)
            or node.filter_expression.filters
            or not lookups
            or len(lookups) != 1
            or lookups[0] not in VARIABLES
        ):
            shown = getattr(node, "token", None)
            raise TemplateTextError(
                f"不能使用「{shown.contents if shown else node}」；只能使用变量 {_allowed()}，"
                "不能用标签或过滤器"
            )
        if lookups[0] not in names:
            names.append(lookups[0])
    return template, tuple(names)


def check(text: str) -> tuple[str, ...]:
    """The variables `text` uses, in order of first appearance; TemplateTextError if it uses
    anything else."""
    return _compile(text)[1]


def render(text: str, values: dict[str, str]) -> tuple[str, list[list[str]]]:
    """The text and the [name, value] parameters it used (for SMS providers' templates)."""
    template, names = _compile(text)
    context = {k: str(values.get(k) or "") for k in VARIABLES}
    out = template.render(Context(context, autoescape=False)).strip()
    return out, [[n, context[n]] for n in names]
