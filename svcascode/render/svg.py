"""The dependency graph of one service as inline SVG text: a three-layer layout, no Graphviz needed.

Dependencies on the left, the service in the middle, its dependants on the right. Hard dependencies
are solid lines, soft ones dashed. Every name is escaped; nodes link to the services' own pages.
"""

from __future__ import annotations

from typing import NamedTuple

from markupsafe import Markup, escape

NODE_WIDTH, NODE_HEIGHT, ROW, COLUMN_GAP, MARGIN = 190, 30, 42, 90, 12
COLOURS = {"non-compliant": "#b3261e", "warnings": "#9a6700", "waived": "#5a5a9e", "compliant": "#1a7f37"}


class Edge(NamedTuple):
    service: str
    criticality: str  # hard | soft
    status: str  # the other service's compliance status, for its node's border colour
    known: bool = True  # False: the name is not a service in the catalogue


def dependency_graph(name: str, status: str, dependencies: list[Edge], dependants: list[Edge],
                     href: str = "{name}.html") -> Markup:
    rows = max(len(dependencies), len(dependants), 1)
    height = MARGIN * 2 + rows * ROW
    width = MARGIN * 2 + 3 * NODE_WIDTH + 2 * COLUMN_GAP
    x_left, x_mid, x_right = MARGIN, MARGIN + NODE_WIDTH + COLUMN_GAP, MARGIN + 2 * (NODE_WIDTH + COLUMN_GAP)
    y_mid = height / 2 - NODE_HEIGHT / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="depgraph" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f"<title>Dependencies and dependants of {escape(name)}</title>"]

    def column(edges: list[Edge], x: int, towards_middle: int, outgoing: bool) -> None:
        top = height / 2 - len(edges) * ROW / 2 + (ROW - NODE_HEIGHT) / 2
        for index, edge in enumerate(edges):
            y = top + index * ROW
            dash = ' stroke-dasharray="5 4"' if edge.criticality == "soft" else ""
            x1, x2 = (x_mid, x + NODE_WIDTH) if outgoing else (x_mid + NODE_WIDTH, x)
            parts.append(f'<line x1="{x1}" y1="{y_mid + NODE_HEIGHT / 2:.1f}" x2="{x2}" '
                         f'y2="{y + NODE_HEIGHT / 2:.1f}" stroke="#666"{dash}>'
                         f"<title>{escape(edge.criticality)} dependency</title></line>")
            parts.append(_node(edge.service, x, y, edge.status, href if edge.known else None))

    column(dependencies, x_left, x_mid, outgoing=True)
    column(dependants, x_right, x_mid + NODE_WIDTH, outgoing=False)
    parts.append(_node(name, x_mid, y_mid, status, None, bold=True))
    parts.append(f'<text x="{x_left}" y="{MARGIN - 2}" fill="#555">depends on</text>' if dependencies else "")
    parts.append(f'<text x="{x_right}" y="{MARGIN - 2}" fill="#555">used by</text>' if dependants else "")
    parts.append("</svg>")
    return Markup("".join(parts))


def _node(name: str, x: float, y: float, status: str, href: str | None, bold: bool = False) -> str:
    colour = COLOURS.get(status, "#888")
    label = name if len(name) <= 26 else name[:25] + "\u2026"
    weight = ' font-weight="bold"' if bold else ""
    body = (f'<rect x="{x}" y="{y:.1f}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="5" fill="#fff" '
            f'stroke="{colour}" stroke-width="{3 if bold else 2}"/>'
            f'<text x="{x + 10}" y="{y + 19:.1f}" fill="#111"{weight}>{escape(label)}</text>')
    if href is None:
        return f"<g><title>{escape(name)}</title>{body}</g>"
    link = escape(href.format(name=name))
    return f'<a href="{link}"><title>{escape(name)} ({escape(status)})</title>{body}</a>'
