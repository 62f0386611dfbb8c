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
class Laid:
    nodes: dict[str, tuple[float, float, float, float]]  # name → x, y (centre), w, h
    edges: dict[
        tuple[str, str], tuple[list[tuple[float, float]], list[str]]
    ]  # (a, b) → points, actions
    width: float
    height: float
    notes: list[str]  # actions drawn as notes: available from any state, or keeping the state


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

    # Bounds over boxes, routed edges and edge labels, so nothing is clipped.
    xs, ys = [], []
    for v in vertices.values():
        (x, y), w, h = v.view.xy, v.view.w, v.view.h
        xs += [x - w / 2, x + w / 2]
        ys += [y - h / 2, y + h / 2]
    for key, points in paths.items():
        mid = _midpoint(points)
        text = " / ".join(labels[key])
        xs += [p[0] for p in points] + [
            mid[0] + 4 + text_width(text, FONT - 3),
            mid[0] - 6 - text_width(text, FONT - 3),
        ]
        ys += [p[1] for p in points]
    dx, dy = 20 - min(xs), 20 - min(ys)
    nodes = {
        n: (v.view.xy[0] + dx, v.view.xy[1] + dy, v.view.w, v.view.h) for n, v in vertices.items()
    }
    laid_edges = {
        key: ([(x + dx, y + dy) for x, y in pts], labels[key]) for key, pts in paths.items()
    }
    return Laid(nodes, laid_edges, max(xs) + dx + 20, max(ys) + dy + 20, notes)


def _midpoint(points):
    if len(points) > 2:
        return points[len(points) // 2]
    (x0, y0), (x1, y1) = points[0], points[-1]
    return ((x0 + x1) / 2, (y0 + y1) / 2)


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
    action_label = {a.name: a.label for a in definition.actions}
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
    for (a, b), (points, actions) in laid.edges.items():
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
        mid = _midpoint(pts)
        text = " / ".join(action_label[n] for n in actions)
        size = FONT - 3
        # The second of a pair of opposite transitions is labelled on the left, the first on the right.
        left = (b, a) in laid.edges and (a, b) > (b, a)
        x, anchor = (mid[0] - 6, "end") if left else (mid[0] + 4, "start")
        out.append(
            f'<text x="{x:.1f}" y="{mid[1] - 3:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{"#0b4f8a" if on else "#616e7c"}"'
            f' paint-order="stroke" stroke="#fff" stroke-width="3">{escape(text)}</text>'
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
    out.append("</svg>")
    return "".join(out)


def notes(definition: ProcessDef) -> list[str]:
    return _layout(definition).notes
