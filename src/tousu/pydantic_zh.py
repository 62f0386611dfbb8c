"""Chinese messages for pydantic's validation errors (API bodies and process definitions)."""

from typing import Any

_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的字段（拼写错误？）",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "tuple_type": "应为列表",
    "list_type": "应为列表",
    "dict_type": "应为对象（键: 值）",
    "model_type": "应为对象（键: 值）",
    "model_attributes_type": "应为对象（键: 值）",
    "string_pattern_mismatch": "名称只能用小写英文字母、数字和下划线，并以字母开头",
    "datetime_parsing": "日期时间格式无效，应为 ISO 8601，如 2026-11-27T09:30:00+08:00",
    "datetime_type": "应为日期时间，如 2026-11-27T09:30:00+08:00",
    "datetime_from_date_parsing": "日期时间格式无效，应为 ISO 8601，如 2026-11-27T09:30:00+08:00",
    "date_parsing": "日期格式无效，应为 YYYY-MM-DD",
    "json_invalid": "不是合法的 JSON",
    "string_unicode": "文本编码无效，应为 UTF-8",
    "int_parsing_size": "整数太大：最多 4300 位",
    "finite_number": "应为有限的数字（不能是 NaN 或无穷大）",
    "recursion_loop": "嵌套层次太深或循环引用",
    "date_type": "应为日期，如 2026-11-27",
    "date_from_datetime_parsing": "日期格式无效，应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期（不带时间），如 2026-11-27",
    "datetime_object_invalid": "日期时间无效，应为 ISO 8601，如 2026-11-27T09:30:00+08:00",
    "none_required": "应为空（null）",
    "set_type": "应为列表",
    "frozen_set_type": "应为列表",
    "iterable_type": "应为列表",
}


def message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "string_too_long":
        return f"太长：最多 {ctx.get('max_length')} 个字符"
    if kind == "string_too_short":
        return (
            "不能为空"
            if ctx.get("min_length") == 1
            else f"太短：至少 {ctx.get('min_length')} 个字符"
        )
    if kind == "too_long":
        return f"太多：最多 {ctx.get('max_length')} 项"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length')} 项"
    if kind == "literal_error":
        return f"取值无效，允许：{ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limit = next(iter(ctx.values()), "")
        words = {
            "greater_than": "必须大于",
            "greater_than_equal": "不能小于",
            "less_than": "必须小于",
            "less_than_equal": "不能大于",
        }
        return f"{words[kind]} {limit}"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    # A kind without a translation yet: still a Chinese sentence, with pydantic's detail after it.
    return f"取值无效（{err.get('msg', kind)}）"


def place(loc: tuple | list) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(根)"
