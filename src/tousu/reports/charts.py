"""Charts as small hand-written SVG: no JavaScript, nothing fetched, the same drawing on the page and
in the PDF. Text stays text (Noto Sans CJK SC on the server, the system's Chinese font in the
browser), so a chart is readable and searchable; every chart has its numbers in a table beside it.

Drawing a chart costs well under a millisecond, which matters: the dashboard draws about ten.
"""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape

FONT = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"
INK, MUTED, GRID = "#1f2933", "#616e7c", "#d9e2ec"
PALETTE = ["#0b6bcb", "#f59e0b", "#2e7d32", "#c62828", "#7b1fa2", "#00838f", "#6d4c41", "#546e7a"]
BAD, OK = "#c62828", "#2e7d32"


def text_width(text: str, size: float) -> float:
    """Approximate rendered width: CJK characters are square, Latin about half as wide."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def fit(text: str, size: float, width: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" class="chart">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _t(x, y, s, *, size=12, anchor="start", fill=INK, weight="normal", extra="") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}"{extra}>{escape(str(s))}</text>'
    )


def _nice_max(value: float, ticks: int = 4) -> float:
    """The smallest top of the axis at or above `value` whose `ticks` steps are round whole
    numbers (1, 2, 2.5, 5 × 10ⁿ; at least 1 a step, for counts)."""
    if value <= 0:
        return ticks
    raw = value / ticks
    exp = 10 ** max(0, len(str(int(raw))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        s = step * exp
        if s >= raw and (s == int(s)):
            return s * ticks
    return 10 * exp * ticks


def _fmt(value, percent: bool) -> str:
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:.1f}%"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def bars(
    rows: list[tuple[str, float | None]],
    *,
    title: str,
    percent: bool = False,
    width: int = 460,
    color: str = PALETTE[0],
    colors: list[str] | None = None,
    max_value: float | None = None,
) -> str:
    """Horizontal bars, one per row, the value at the end of each bar."""
    rows = rows or [("（无数据）", 0)]
    size, bar, gap = 13, 18, 8
    label_w = min(190, max(60, max(text_width(r[0], size) for r in rows) + 8))
    value_w = 70
    top = 8
    height = top + len(rows) * (bar + gap) + 4
    plot = width - label_w - value_w
    top_value = max_value or (1 if percent else _nice_max(max((r[1] or 0) for r in rows)))
    body = []
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar + gap)
        w = 0 if not value else max(1.5, plot * min(value, top_value) / top_value)
        fill = colors[i % len(colors)] if colors else color
        body.append(_t(label_w - 6, y + bar - 4, fit(label, size, label_w - 8), size=size,
                       anchor="end"))  # fmt: skip
        body.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" rx="2" fill="{fill}"/>'
        )
        body.append(_t(label_w + w + 5, y + bar - 4, _fmt(value, percent), size=12, fill=MUTED))
    return _svg(width, height, body, title)


def columns(
    labels: list[str],
    series: list[tuple[str, list[float]]],
    *,
    title: str,
    width: int = 460,
    height: int = 220,
    percent: bool = False,
) -> str:
    """Vertical columns over a sequence (time buckets, age buckets); several series side by side,
    with a legend when there is more than one."""
    n = max(1, len(labels))
    left, right, top, bottom = 44, 8, 22 if len(series) > 1 else 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v or 0 for _, vals in series for v in vals] or [0])
    top_value = 1 if percent else _nice_max(peak)
    body = []
    for k in range(5):
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_t(left - 4, y + 4, _fmt(value, percent), size=10, anchor="end", fill=MUTED))
    slot = plot_w / n
    group = slot * 0.8
    bar_w = group / max(1, len(series))
    every = max(1, -(-n * 34 // plot_w))  # label every k-th bucket so labels do not collide
    for i, label in enumerate(labels):
        x0 = left + i * slot + (slot - group) / 2
        for s, (_, values) in enumerate(series):
            v = values[i] or 0
            h = plot_h * min(v, top_value) / top_value if top_value else 0
            body.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" fill="{PALETTE[s % 8]}"/>'
            )
        if i % every == 0:
            body.append(_t(left + i * slot + slot / 2, height - bottom + 14, label, size=10,
                           anchor="middle", fill=MUTED))  # fmt: skip
    if len(series) > 1:
        x = left
        for s, (name, _) in enumerate(series):
            body.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE[s % 8]}"/>')
            body.append(_t(x + 14, 13, name, size=11))
            x += 24 + text_width(name, 11)
    return _svg(width, height, body, title)


def data_uri(svg: str) -> str:
    """For <img src>: WeasyPrint draws SVG images reliably; the page inlines the SVG itself."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def dashboard_charts(d: dict) -> dict[str, str]:
    """Every chart of the dashboard and the report, from the selector's figures."""
    charts = {}
    trend = d["trend"]
    charts["trend"] = columns(
        [r["label"] for r in trend],
        [("受理", [r["received"] for r in trend]), ("已办结", [r["closed"] for r in trend])],
        title=f"{d['period'].label}投诉受理量",
        width=720,
        height=260,
    )

    def top(rows, n=12):
        # "Others" stays in the table: as a bar it would dwarf the ones it summarises.
        return [(r["label"], r["count"]) for r in rows[:n] if not r.get("others")]

    charts["category"] = bars(top(d["by_category"]), title="按投诉类别")
    charts["department"] = bars(top(d["by_department"]), title="按责任部门")
    charts["channel"] = bars(top(d["by_channel"]), title="按渠道", color=PALETTE[5])
    charts["respondent"] = bars(top(d["by_respondent"], 11), title="被投诉方（前十）",
                                color=PALETTE[6])  # fmt: skip
    charts["site"] = bars(top(d["by_site"]), title="按院区/地点", color=PALETTE[4])
    charts["process"] = bars(top(d["by_process"]), title="按流程", color=PALETTE[7])
    clocks = d["clocks"]
    several = len({c["template"] for c in clocks}) > 1
    charts["clocks"] = bars(
        [
            (f"{c['label']}（{c['template']}）" if several else c["label"], c["rate"])
            for c in clocks
        ],
        title="各时限及时率",
        percent=True,
        colors=[
            OK if (c["rate"] or 0) >= 0.9 else PALETTE[1] if (c["rate"] or 0) >= 0.8 else BAD
            for c in clocks
        ]
        or None,  # fmt: skip
    )
    h = d["handling"]["buckets"]
    charts["handling"] = columns(
        [b[0] for b in h], [("件数", [b[1] for b in h])], title="办理时长分布（工作日）"
    )
    b = d["backlog"]["buckets"]
    charts["backlog"] = columns(
        [x[0].replace("个工作日", "") for x in b],
        [("未结案件", [x[1] for x in b])],
        title="积压案件按已用工作日",
    )
    league = d["league"][:12]
    charts["league"] = bars(
        [(r["label"], r["on_time_rate"]) for r in league], title="部门及时率", percent=True
    )
    k, kp = d["k"], d["k_prev"]
    charts["satisfaction"] = bars(
        [("满意", k["satisfied"]), ("基本满意", k["basically"]), ("不满意", k["dissatisfied"])],
        title="首次评价",
        colors=[OK, PALETTE[0], BAD],
    )
    cats = d["by_category"][:8]
    charts["comparison"] = columns(
        [fit(r["label"], 10, 60) for r in cats],
        [
            (d["period"].label, [r["count"] for r in cats]),
            (d["previous"].label, [r["previous"] for r in cats]),
        ],
        title="本期与上期：主要类别",
        width=720,
    )
    charts["rates"] = columns(
        ["办结率", "及时率", "满意率", "回访率", "重办率", "重复投诉率"],
        [
            (
                d["period"].label,
                [
                    k["closed_rate"],
                    k["on_time_rate"],
                    k["satisfaction_rate"],
                    k["follow_up_rate"],
                    k["reopen_rate"],
                    k["repeat_rate"],
                ],
            ),
            (
                d["previous"].label,
                [
                    kp["closed_rate"],
                    kp["on_time_rate"],
                    kp["satisfaction_rate"],
                    kp["follow_up_rate"],
                    kp["reopen_rate"],
                    kp["repeat_rate"],
                ],
            ),
        ],  # fmt: skip
        title="本期与上期：主要比率",
        percent=True,
        width=560,
    )
    return charts
