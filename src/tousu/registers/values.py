"""Cell values as people type them into registers, read into what a case stores.

Pure functions (no Django): each takes the raw cell (a str, a number, a datetime from the reader)
and returns the value, or raises Problem with a Chinese message that says what is allowed. Blank
markers (空白, 无, /, -, —) read as None everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers


class Problem(ValueError):
    """A value that cannot be read; `allowed` says what would be."""

    def __init__(self, message: str, allowed: str = ""):
        super().__init__(message)
        self.message, self.allowed = message, allowed


BLANKS = frozenset(
    {
        "",
        "无",
        "暂无",
        "/",
        "／",
        "\\",
        "-",
        "--",
        "—",
        "——",
        "空",
        "n/a",
        "na",
        "null",
        "none",
        "#",
    }
)

DATE_ALLOWED = (
    "日期如 2025-03-05、2025/3/5、2025.3.5、2025年3月5日、20250305 或 Excel 日期，可带时间 10:30"
)
PHONE_ALLOWED = "手机号 11 位（可带空格、横线或 +86），座机如 0571-88886666 或 7–8 位本地号码"
MONEY_ALLOWED = "金额如 1200、1,200.50、1200元、¥1200、1.2万"
INTEGER_ALLOWED = "整数，如 3"
BOOLEAN_ALLOWED = "是/否、有/无、√/×"

# Excel's day 0 (the 1900 date system, with its 1900-02-29 that never was: serials from 61 on
# count from 1899-12-30).
EXCEL_EPOCH = datetime(1899, 12, 30)
# Serials a register can hold: 1990-01-01 to 2099-12-31. Anything else is a number, not a date.
SERIAL_MIN, SERIAL_MAX = 32874, 73415


def normalise(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms; ideographic space to space."""
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ").strip()


def is_blank(raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return normalise(raw).lower() in BLANKS
    return False


def text(raw) -> str | None:
    """A cell as text: numbers without a trailing .0 (住院号 123456), dates as ISO."""
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, datetime):
        return raw.strftime("%Y-%m-%d %H:%M") if raw.time() != time(0) else raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, time):
        return raw.strftime("%H:%M")
    return str(raw).strip().replace("\r\n", "\n").replace("\r", "\n")


# --- dates --------------------------------------------------------------------------------------

_SEP = r"\s*[-/.年]\s*"
_DATE = re.compile(
    r"^(?P<y>\d{4})" + _SEP + r"(?P<m>\d{1,2})" + r"\s*[-/.月]\s*" + r"(?P<d>\d{1,2})\s*[日号]?"
    r"(?:\s*[T ]?\s*(?P<ampm>上午|下午|晚上|中午|早上)?\s*(?P<H>\d{1,2})\s*[:时点]\s*"
    r"(?:(?P<M>\d{1,2})\s*分?)?(?:\s*[:]?\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?)?)?\s*$"
)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\s*(?P<H>\d{2}):?(?P<M>\d{2}))?$")
_NO_YEAR = re.compile(r"^\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?$")
_SHORT_YEAR = re.compile(r"^\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")


def _from_serial(value: float) -> datetime:
    if not SERIAL_MIN <= value <= SERIAL_MAX:
        raise Problem(f"数字 {text(value)} 不是日期", DATE_ALLOWED)
    moment = EXCEL_EPOCH + timedelta(days=value)
    return moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))


def when(raw) -> tuple[datetime, bool] | None:
    """A date, with or without a time: (naive local datetime, whether a time was given)."""
    if is_blank(raw):
        return None
    if isinstance(raw, datetime):
        return raw.replace(tzinfo=None), raw.time() != time(0)
    if isinstance(raw, date):
        return datetime.combine(raw, time(0)), False
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        moment = _from_serial(float(raw))
        return moment, moment.time() != time(0)
    s = normalise(str(raw))
    if re.fullmatch(r"\d{5}(\.\d+)?", s):  # a serial number typed as text
        moment = _from_serial(float(s))
        return moment, moment.time() != time(0)
    m = _DATE.match(s) or _COMPACT.match(s)
    if not m:
        if _NO_YEAR.match(s):
            raise Problem(f"「{s}」缺少年份", DATE_ALLOWED)
        if _SHORT_YEAR.match(s):
            raise Problem(f"「{s}」的年份应写四位", DATE_ALLOWED)
        raise Problem(f"「{s}」不是可识别的日期", DATE_ALLOWED)
    g = m.groupdict()
    hour = int(g.get("H") or 0)
    if g.get("ampm") in ("下午", "晚上") and hour < 12:
        hour += 12
    try:
        moment = datetime(
            int(g["y"]),
            int(g["m"]),
            int(g["d"]),
            hour,
            int(g.get("M") or 0),
            int(g.get("S") or 0),
        )
    except ValueError:
        raise Problem(f"「{s}」不是有效的日期或时间", DATE_ALLOWED) from None
    if not 1990 <= moment.year <= 2099:
        raise Problem(f"「{s}」的年份不在 1990–2099 之间", DATE_ALLOWED)
    return moment, g.get("H") is not None


# --- phones -------------------------------------------------------------------------------------

_LOCAL = re.compile(r"^\d{7,8}$")
_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_MASKED = re.compile(r"\d{3}\*{4}\d{4}")
_SPLIT = re.compile(r"[/,，;；、]|\s{2,}|或")


def phone(raw) -> str | None:
    """One phone number: mobiles as 11 digits, landlines as 0571-88886666, local numbers as typed.
    A cell with several numbers gives the first."""
    if is_blank(raw):
        return None
    if isinstance(raw, float):
        raw = text(raw)
    s = normalise(str(raw))
    if _MASKED.search(s):
        raise Problem(f"「{s}」是遮盖过的号码，无法联系", PHONE_ALLOWED)
    first = next((p.strip() for p in _SPLIT.split(s) if p.strip()), s)
    first = re.split(r"转|ext\.?|分机", first, maxsplit=1, flags=re.I)[0].strip()
    digits = re.sub(r"[\s\-()（）]", "", first)
    if _LOCAL.match(digits):
        return digits
    # A well-formed mobile number is accepted even where the library's prefix tables lag the
    # carriers' newest number ranges.
    mobile = _MOBILE.match(digits)
    if mobile:
        return mobile[1]
    try:
        number = phonenumbers.parse(first, "CN")
    except phonenumbers.NumberParseException:
        raise Problem(f"「{s}」不是电话号码", PHONE_ALLOWED) from None
    if not phonenumbers.is_valid_number(number):
        raise Problem(f"「{s}」不是有效的电话号码", PHONE_ALLOWED)
    if number.country_code != 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = str(number.national_number)
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE:
        return national
    area = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).split()[0]
    return f"{area}-{national[len(area) - 1 :]}"


# --- numbers ------------------------------------------------------------------------------------


def money(raw) -> Decimal | None:
    """An amount in yuan: 1200, 1,200.50, 1200元, ¥1200, 1.2万."""
    if is_blank(raw):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = Decimal(str(raw))
    else:
        s = normalise(str(raw)).replace(",", "").replace(" ", "")
        s = re.sub(r"^(人民币|RMB|CNY|¥|￥)", "", s, flags=re.I)
        factor = Decimal(1)
        if s.endswith(("万元", "万")):
            factor, s = Decimal(10000), s.removesuffix("元").removesuffix("万")
        s = s.removesuffix("元整").removesuffix("元").removesuffix("圆")
        try:
            value = Decimal(s) * factor
        except InvalidOperation:
            raise Problem(f"「{raw}」不是金额", MONEY_ALLOWED) from None
    if value < 0:
        raise Problem(f"金额 {value} 不能为负数", MONEY_ALLOWED)
    return value.quantize(Decimal("0.01"))


def integer(raw) -> int | None:
    if is_blank(raw):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if float(raw).is_integer():
            return int(raw)
        raise Problem(f"「{text(raw)}」不是整数", INTEGER_ALLOWED)
    s = normalise(str(raw)).replace(",", "")
    m = re.fullmatch(r"(\d+)(?:\.0+)?\s*[人个件次项名位天元]?", s)
    if not m:
        raise Problem(f"「{s}」不是整数", INTEGER_ALLOWED)
    return int(m[1])


TRUE_WORDS = frozenset({"是", "有", "√", "✓", "✔", "y", "yes", "true", "1", "对", "已"})
FALSE_WORDS = frozenset({"否", "无", "×", "✗", "n", "no", "false", "0", "不", "未"})


def boolean(raw) -> bool | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return raw
    s = normalise(str(raw)).lower()
    if isinstance(raw, int | float):
        s = text(raw) or ""
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    raise Problem(f"「{s}」不是是/否", BOOLEAN_ALLOWED)


# --- labels -------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)  # the same labels (类别, 科室, 满意) come back on every row
def label_key(text: str) -> str:
    """What two labels are compared by: NFKC, no spaces or punctuation, lower case."""
    s = normalise(text).lower()
    return re.sub(r"[\s\W_]+", "", s)
