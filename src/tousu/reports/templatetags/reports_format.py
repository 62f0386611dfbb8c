"""Number formats for the statistics pages and the PDF: 12,345 件, 87.5%, +1.2 个百分点."""

from django import template

register = template.Library()


@register.filter
def num(value):
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


@register.filter
def pct(value, digits=1):
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def kpi_value(k):
    v = k["value"]
    if v is None:
        return "—"
    if k["kind"] == "rate":
        return pct(v)
    if k["kind"] == "days":
        return f"{v} 个工作日"
    return num(v)


@register.filter
def kpi_previous(k):
    return kpi_value({**k, "value": k["previous"]})


@register.filter
def kpi_change(k):
    c = k["change"]
    if c is None:
        return ""
    if k["kind"] == "rate":
        return f"{c:+.1f} 个百分点" if c else "持平"
    if k["kind"] == "days":
        return f"{c:+d} 个工作日" if c else "持平"
    return f"{c:+.1f}%" if c else "持平"


@register.filter
def delta(now, before):
    """Change of a count as text: +12（+8.0%）."""
    if now is None or before is None:
        return "—"
    diff = now - before
    if not before:
        return f"+{diff:,}" if diff else "—"
    return f"{diff:+,}（{diff / before * 100:+.1f}%）"
