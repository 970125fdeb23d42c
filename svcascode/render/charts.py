"""The posture trend chart: SVG drawn by pygal, with its tooltip script (fetched from the web) turned off."""

from __future__ import annotations

import re
from typing import Sequence

from svcascode.render.provenance import TrendPoint

SERIES_COLOURS = ("#1a7f37", "#b3261e", "#5a5a9e", "#9a6700")


def trend_chart(points: Sequence[TrendPoint], title: str = "Control posture by commit") -> str:
    """An SVG line chart of satisfied, not satisfied and waived controls and open findings per commit."""
    import pygal
    from pygal.style import Style

    style = Style(background="#ffffff", plot_background="#ffffff", foreground="#222", foreground_strong="#111",
                  foreground_subtle="#666", colors=SERIES_COLOURS, font_family="sans-serif")
    chart = pygal.Line(
        js=[],  # pygal links its tooltip script from a CDN by default; the report must work offline
        disable_xml_declaration=True, style=style, width=900, height=360, title=title,
        x_label_rotation=30, show_dots=True, dots_size=3, legend_at_bottom=True, truncate_label=-1,
        show_minor_x_labels=len(points) <= 20, explicit_size=True, print_values=False)
    chart.x_labels = [p.label for p in points]
    chart.add("Satisfied controls", [p.satisfied for p in points])
    chart.add("Not satisfied", [p.not_satisfied for p in points])
    chart.add("Waived", [p.waived for p in points])
    chart.add("Open findings", [p.open_findings for p in points])
    return _reproducible(str(chart.render(is_unicode=True)))


def _reproducible(svg: str) -> str:
    """Same input, same bytes: a fixed chart id, no generation date, no inline config script."""
    match = re.search(r'id="chart-([0-9a-f-]{36})"', svg)
    if match:
        svg = svg.replace(match.group(1), "posture-trend")
    svg = re.sub(r"<!--Generated with pygal[^>]*-->", "", svg)
    return re.sub(r"<script\b[^>]*>.*?</script>", "", svg, flags=re.S)
