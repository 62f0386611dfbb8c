"""Process diagrams as SVG, drawn offline: a layered (Sugiyama) layout from grandalf, rendered here
as plain SVG with Chinese labels. On a case page the states visited and the actions taken are
highlighted, and the current state stands out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

from .definition import ProcessDef
from .validation import ANY_STATE

FONT = 14
NODE_H = 38
PAD = 24
FONT_FAMILY = "'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif"


def text_width(text: str, size: float = FONT) -> float:
    # CJK characters are full width; Latin letters and digits about half.
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


class _View:
    def __init__(self, w: float, h: float):
        self.w, self.h, self.xy = w, h, None


class _EdgeView:
    def __init__(self):
        self.points: list[tuple[float, float]] = []

    def setpath(self, points):
        self.points = [tuple(p) for p in points]


@dataclass(frozen=True)
class Label:
    x: float
    y: float  # baseline
    anchor: str  # "start" | "end" | "middle"
    text: str  # the actions' labels, or a number pointing to the legend
    badge: bool = False


@dataclass(frozen=True)
class Laid:
    nodes: dict[str, tuple[float, float, float, float]]  # name → x, y (centre), w, h
    edges: dict[
        tuple[str, str], tuple[list[tuple[float, float]], list[str]]
    ]  # (a, b) → points, actions
    width: float
    height: float
    notes: list[str]  # actions drawn as notes: available from any state, or keeping the state
    labels: dict[tuple[str, str], Label]
    legend: list[str]  # "N 标签" for the edges whose label had no free place beside them


_LAYOUTS: dict[int, tuple[ProcessDef, Laid]] = {}


def _layout(definition: ProcessDef) -> Laid:
    # Keyed by identity: a parsed definition is immutable and itself cached per process version.
    hit = _LAYOUTS.get(id(definition))
    if hit is None or hit[0] is not definition:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        hit = _LAYOUTS[id(definition)] = (definition, _compute_layout(definition))
    return hit[1]


def _compute_layout(definition: ProcessDef) -> Laid:
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    notes = []
    for action in definition.actions:
        if action.to is None or ANY_STATE in action.source:
            target = definition.state_label(action.to) if action.to else "状态不变"
            notes.append(
                f"{action.label}（{'任一未结束状态' if ANY_STATE in action.source else '、'.join(definition.state_label(s) for s in action.source)} → {target}）"
            )
            continue
        for source in action.source:
            labels[(source, action.to)].append(action.name)

    vertices = {}
    for state in definition.states:
        v = Vertex(state.name)
        v.view = _View(max(text_width(state.label) + 2 * PAD, 90), NODE_H)
        vertices[state.name] = v
    edges = []
    for a, b in labels:
        e = Edge(vertices[a], vertices[b])
        e.view = _EdgeView()
        edges.append(e)
    graph = Graph(list(vertices.values()), edges)
    for component in graph.C:
        sug = SugiyamaLayout(component)
        roots = (
            [vertices[definition.initial_state.name]]
            if vertices[definition.initial_state.name] in component.sV
            else None
        )
        sug.xspace, sug.yspace = 30, 70
        sug.init_all(roots=roots)
        sug.draw(3)
        for e in component.sE:
            if not e.view.points:
                e.view.setpath([e.v[0].view.xy, e.v[1].view.xy])

    # Shift into positive coordinates with a margin (components are laid side by side by grandalf's
    # own offsets; one connected graph is the normal case).
    # A transition and its reverse (plan ↔ return) would share one line: shift the second aside.
    paths = {}
    for e in edges:
        key = (e.v[0].data, e.v[1].data)
        shift = 12 if key > (key[1], key[0]) and (key[1], key[0]) in labels else 0
        paths[key] = [(x + shift, y) for x, y in e.view.points]

    # Labels where they fit: at the middle of the edge, else further along it, on either side; an
    # edge whose label overlaps everywhere gets a number and a line in the legend below.
    names = {a.name: a.label for a in definition.actions}
    boxes = [
        (x - w / 2 - 2, y - h / 2 - 2, x + w / 2 + 2, y + h / 2 + 2)
        for (x, y), w, h in ((v.view.xy, v.view.w, v.view.h) for v in vertices.values())
    ]
    placed: dict[tuple[str, str], Label] = {}
    legend: list[str] = []
    order = sorted(paths, key=lambda k: -text_width(" / ".join(names[n] for n in labels[k])))
    for key in order:
        text = " / ".join(names[n] for n in labels[key])
        label = _place(paths[key], text, boxes)
        if label is None:
            legend.append(f"{len(legend) + 1} {text}")
            label = _place(paths[key], str(len(legend)), boxes, badge=True) or Label(
                *_point_at(paths[key], 0.5), "middle", str(len(legend)), True
            )
        boxes.append(_label_box(label))
        placed[key] = label

    # Bounds over boxes, routed edges and labels, so nothing is clipped.
    xs = [b[0] for b in boxes] + [b[2] for b in boxes]
    ys = [b[1] for b in boxes] + [b[3] for b in boxes]
    for points in paths.values():
        xs += [p[0] for p in points]
        ys += [p[1] for p in points]
    dx, dy = 20 - min(xs), 20 - min(ys)
    nodes = {
        n: (v.view.xy[0] + dx, v.view.xy[1] + dy, v.view.w, v.view.h) for n, v in vertices.items()
    }
    laid_edges = {
        key: ([(x + dx, y + dy) for x, y in pts], labels[key]) for key, pts in paths.items()
    }
    moved = {k: Label(v.x + dx, v.y + dy, v.anchor, v.text, v.badge) for k, v in placed.items()}
    width = max(xs) + dx + 20
    height = max(ys) + dy + 20
    if legend:
        width = max(width, 40 + max(text_width(t, LEGEND) for t in legend))
        height += LEGEND_LINE * len(legend) + 10
    return Laid(nodes, laid_edges, width, height, notes, moved, legend)


LABEL = FONT - 3
LEGEND = FONT - 2
LEGEND_LINE = LEGEND + 8


def _label_box(label: Label) -> tuple[float, float, float, float]:
    w = 18 if label.badge else text_width(label.text, LABEL)
    left = {"start": label.x, "end": label.x - w, "middle": label.x - w / 2}[label.anchor]
    return (left - 2, label.y - LABEL - 1, left + w + 2, label.y + 4)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _point_at(points, t: float) -> tuple[float, float]:
    """The point a fraction `t` along a polyline's length."""
    segments = list(zip(points, points[1:], strict=False))
    lengths = [((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 for (x0, y0), (x1, y1) in segments]
    goal = sum(lengths) * t
    for ((x0, y0), (x1, y1)), seg in zip(segments, lengths, strict=True):
        if goal <= seg and seg:
            f = goal / seg
            return (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f)
        goal -= seg
    return points[-1]


def _place(points, text: str, boxes, *, badge: bool = False) -> Label | None:
    # A full label is tried near the middle first; a number (small) anywhere along the edge,
    # a little further aside if need be.
    steps = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)
    if badge:
        steps += tuple(i / 20 for i in range(1, 20))
    sides = (("start", 5), ("end", -6))
    if badge:
        sides += (("start", 16), ("end", -17), ("start", 28), ("end", -29))
    for t in steps:
        x, y = _point_at(points, t)
        for dy in (0, 14, -14) if badge else (0,):
            for anchor, offset in sides:
                label = Label(x + offset, y - 3 + dy, anchor, text, badge)
                box = _label_box(label)
                if not any(_overlaps(box, b) for b in boxes):
                    return label
    return None


def _clip(p, q, box):
    """The point where segment p→q leaves the node box centred at p (so arrows touch the border)."""
    (x0, y0), (x1, y1) = p, q
    _, _, w, h = box
    dx, dy = x1 - x0, y1 - y0
    if dx == 0 and dy == 0:
        return p
    tx = (w / 2) / abs(dx) if dx else float("inf")
    ty = (h / 2) / abs(dy) if dy else float("inf")
    t = min(tx, ty, 1.0)
    return (x0 + dx * t, y0 + dy * t)


def render_svg(
    definition: ProcessDef,
    *,
    current: str | None = None,
    visited: frozenset[str] = frozenset(),
    taken: frozenset[tuple[str, str]] = frozenset(),
    title: str | None = None,
) -> str:
    laid = _layout(definition)
    label_of = {s.name: s.label for s in definition.states}
    final = definition.final_states
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram" viewBox="0 0 {laid.width:.0f} {laid.height:.0f}" '
        f'width="{laid.width:.0f}" height="{laid.height:.0f}" font-family="{FONT_FAMILY}" font-size="{FONT}" role="img" '
        f'aria-label="{escape(title or definition.label)}">',
        f"<title>{escape(title or definition.label)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#9aa5b1"/></marker>'
        '<marker id="arrow-on" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#0b6bcb"/></marker></defs>',
    ]
    for (a, b), (points, _actions) in laid.edges.items():
        on = (a, b) in taken
        pts = list(points)
        pts[0] = _clip(pts[0], pts[1], laid.nodes[a])
        pts[-1] = _clip(pts[-1], pts[-2], laid.nodes[b])
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        colour, width, marker = ("#0b6bcb", 2.5, "arrow-on") if on else ("#9aa5b1", 1.2, "arrow")
        out.append(
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" marker-end="url(#{marker})"'
            f' class="edge{" taken" if on else ""}" data-from="{a}" data-to="{b}"/>'
        )
        label = laid.labels[(a, b)]
        ink = "#0b4f8a" if on else "#616e7c"
        if label.badge:
            out.append(
                f'<g class="edge-badge"><circle cx="{label.x + (8 if label.anchor == "start" else -8):.1f}" '
                f'cy="{label.y - 4:.1f}" r="8" fill="#fff" stroke="{ink}"/><text x="{label.x + (8 if label.anchor == "start" else -8):.1f}" '
                f'y="{label.y:.1f}" font-size="{LABEL}" text-anchor="middle" fill="{ink}">{escape(label.text)}</text></g>'
            )
        else:
            out.append(
                f'<text x="{label.x:.1f}" y="{label.y:.1f}" font-size="{LABEL}" text-anchor="{label.anchor}" fill="{ink}"'
                f' paint-order="stroke" stroke="#fff" stroke-width="3">{escape(label.text)}</text>'
            )
    for name, (x, y, w, h) in laid.nodes.items():
        is_current, seen = name == current, name in visited
        fill, stroke, ink = (
            ("#0b6bcb", "#0b4f8a", "#fff")
            if is_current
            else (("#e3f0fc", "#0b6bcb", "#0b4f8a") if seen else ("#fff", "#9aa5b1", "#1f2933"))
        )
        rx = h / 2 if name in final else 6
        out.append(
            f'<g class="state{" current" if is_current else ""}{" visited" if seen else ""}" data-state="{name}">'
            f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{2 if is_current or seen else 1.2}"/>'
            f'<text x="{x:.1f}" y="{y + FONT * 0.35:.1f}" text-anchor="middle" fill="{ink}">{escape(label_of[name])}</text></g>'
        )
    top = laid.height - LEGEND_LINE * len(laid.legend) - 4
    for i, line in enumerate(laid.legend):
        out.append(
            f'<text class="legend" x="20" y="{top + i * LEGEND_LINE:.1f}" font-size="{LEGEND}" fill="#3e4c59">{escape(line)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def notes(definition: ProcessDef) -> list[str]:
    return _layout(definition).notes
