"""Import one year's official holiday schedule (放假安排) from YAML or CSV.

YAML::

    year: 2027
    holidays: [2027-01-01, "2027-02-06..2027-02-13"]   # dates or inclusive ranges A..B
    workdays: [2027-02-14]                             # make-up working days (调休上班)

CSV: header ``date,kind`` or ``date,kind,note``; kind is holiday/workday (or 放假/上班).

Error messages are user-facing and in Chinese.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta

import yaml

_DATE_RE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})")  # "/" because Excel rewrites dates
_KINDS = {"holiday": False, "放假": False, "workday": True, "上班": True}
_YAML_KEYS = {"year", "holidays", "workdays", "source", "note"}
_DATE_HINT = "应为 YYYY-MM-DD"


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so bad dates get our message instead of a crash."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ScheduleError(ValueError):
    """A schedule file that cannot be imported; the message says where and what is allowed."""


@dataclass(frozen=True)
class Schedule:
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def overrides(self) -> dict[date, bool]:
        """As Calendar overrides: False for days off, True for make-up working days."""
        return {**dict.fromkeys(self.holidays, False), **dict.fromkeys(self.workdays, True)}


def parse_schedule(source: str | bytes | os.PathLike, fmt: str | None = None) -> Schedule:
    """Parse a schedule from a path, text or bytes; ``fmt`` is "yaml" or "csv".

    A str names a file if it is one line and that file exists, otherwise it is the text.
    ``fmt`` may be left out for files ending in .yaml/.yml/.csv.
    """
    text, suffix = _read(source)
    fmt = (fmt or suffix or "").lower().lstrip(".")
    if fmt in ("yaml", "yml"):
        return _parse_yaml(text)
    if fmt == "csv":
        return _parse_csv(text)
    raise ScheduleError(f"无法识别的格式 {fmt or '（未指定）'}，应为 yaml 或 csv")


def _read(source) -> tuple[str, str | None]:
    if isinstance(source, bytes):
        return _decode(source), None
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        path = os.fspath(source)
        with open(path, "rb") as f:
            return _decode(f.read()), os.path.splitext(path)[1] or None
    return source, None


def _decode(raw: bytes) -> str:
    # Files saved by Excel on Chinese Windows are often GB18030 rather than UTF-8.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise ScheduleError("文件编码无法识别，应为 UTF-8 或 GB18030") from None


def _parse_date(value: str, where: str) -> date:
    m = _DATE_RE.fullmatch(value.strip())
    if m:
        try:
            return date(int(m[1]), int(m[3]), int(m[4]))
        except ValueError:
            pass
    raise ScheduleError(f"{where}：日期 {value.strip() or '（空）'} 无效，{_DATE_HINT}")


def _check_year(d: date, year: int, where: str) -> None:
    if d.year != year:
        raise ScheduleError(f"{where}：日期 {d.isoformat()} 不在 {year} 年内，所有日期须属于同一年")


def _finish(year: int, off: dict[date, str], work: dict[date, str]) -> Schedule:
    for d in sorted(off.keys() & work.keys()):
        raise ScheduleError(
            f"{work[d]}：{d.isoformat()} 已列为放假日（{off[d]}），不能同时是上班日"
        )
    if not off:
        raise ScheduleError(f"{year} 年没有任何放假日期，至少应有元旦等法定节假日")
    return Schedule(year, frozenset(off), frozenset(work))


# ---- YAML -------------------------------------------------------------------------------


def _parse_yaml(text: str) -> Schedule:
    try:
        data = yaml.load(text, Loader=_Loader)  # safe: _Loader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark else "文件"
        problem = getattr(e, "problem", None) or "无法解析"
        raise ScheduleError(f"{where}：YAML 格式错误（{problem}）") from None
    if not isinstance(data, dict):
        raise ScheduleError("文件内容应为包含 year、holidays、workdays 的映射")
    unknown = sorted(str(k) for k in data if k not in _YAML_KEYS)
    if unknown:
        raise ScheduleError(
            f"未知的项 {', '.join(unknown)}；允许的项：year、holidays、workdays、source、note"
        )
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise ScheduleError(f"year：{year!r} 无效，应为四位年份，如 2027")
    off = _yaml_dates(data.get("holidays"), "holidays", year)
    work = _yaml_dates(data.get("workdays"), "workdays", year)
    return _finish(year, off, work)


def _yaml_dates(entries, key: str, year: int) -> dict[date, str]:
    """Map each listed day to the entry that named it (for error messages)."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ScheduleError(f'{key}：应为日期列表，如 [{year}-01-01, "{year}-02-06..{year}-02-13"]')
    out: dict[date, str] = {}
    for n, entry in enumerate(entries, 1):
        where = f"{key} 第{n}项"
        if isinstance(entry, str) and ".." in entry:
            a_text, _, b_text = entry.partition("..")
            a, b = _parse_date(a_text, where), _parse_date(b_text, where)
            if b < a:
                raise ScheduleError(
                    f"{where}：范围 {entry} 的结束日期早于开始日期，应为 起始..结束"
                )
            days = [a + timedelta(i) for i in range((b - a).days + 1)]
        elif isinstance(entry, str):
            days = [_parse_date(entry, where)]
        else:
            raise ScheduleError(f"{where}：{entry!r} 无效，{_DATE_HINT} 或 YYYY-MM-DD..YYYY-MM-DD")
        for d in days:
            _check_year(d, year, where)
            out.setdefault(d, where)
    return out


# ---- CSV --------------------------------------------------------------------------------


def _parse_csv(text: str) -> Schedule:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] not in (
        ["date", "kind"],
        ["date", "kind", "note"],
    ):
        raise ScheduleError("第1行：表头应为 date,kind 或 date,kind,note")
    width = len(header)
    off: dict[date, str] = {}
    work: dict[date, str] = {}
    year: int | None = None
    for row in reader:
        where = f"第{reader.line_num}行"
        if not any(cell.strip() for cell in row):
            continue  # blank lines are harmless
        if len(row) > width or len(row) < 2:
            raise ScheduleError(
                f"{where}：应有 {width} 列（{','.join(header)}），实际 {len(row)} 列"
            )
        d = _parse_date(row[0], where)
        kind = row[1].strip().lower()
        if kind not in _KINDS:
            raise ScheduleError(
                f"{where}：类型 {row[1].strip() or '（空）'} 无效，应为 holiday、workday、放假 或 上班"
            )
        if year is None:
            year = d.year
        _check_year(d, year, where)
        (work if _KINDS[kind] else off).setdefault(d, where)
    if year is None:
        raise ScheduleError("文件没有任何日期行")
    return _finish(year, off, work)
