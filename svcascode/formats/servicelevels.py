"""Output formats of `svcascode sla`: the clocks, the attainment and the service review, from one shape.

Every format reads `ServiceReview.as_json()` (`svcascode.delivery.review`): text for a terminal, JSON,
Markdown for a pull request or wiki, CSV of the windows, and a self-contained HTML service review pack
(no script, no network) with a pygal trend chart of the last 12 windows per level.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Callable

from svcascode.escape import html_attr, inert, md_code, md_text, one_line, spreadsheet_cell, visible


def _t(value: Any) -> str:
    return inert(visible(one_line(value)))


def _mins(value: float) -> str:
    return f"{value:g} min"


def _clock_line(c: dict[str, Any]) -> str:
    when = c.get("breachedAt") or c.get("deadline")
    tail = {"met": f"met, {_mins(c.get('marginMinutes') or 0)} to spare (would have breached at {when})" if when
            else "met",
            "breached": f"BREACHED by {_mins(c['overByMinutes'])} at {when}",
            "running": f"running, breaches at {when}" if when else "running",
            "paused": "paused",
            "not recorded": ""}.get(c["status"], c["status"])
    if c["status"] == "not recorded":
        return (f"{c['incident']} {c['priority']} {c['level']} {c['metric']}: {c['target']} in {c['calendar']}: not "
                f"recorded: the incident gives no {c.get('stopField') or 'stop'} time, so neither met nor breached "
                f"(its target ran out at {when}) [definition: {_source(c['definition'])}]")
    return (f"{c['incident']} {c['priority']} {c['level']} {c['metric']}: {_mins(c['elapsedMinutes'])} of "
            f"{c['target']} ({_mins(c['targetMinutes'])}) in {c['calendar']}, paused {_mins(c['pausedMinutes'])}: "
            f"{tail} [definition: {_source(c['definition'])}]")


def _source(d: dict[str, Any]) -> str:
    if d.get("commit"):
        return f"commit {str(d['commit'])[:12]} of {str(d.get('committed') or '')[:10]}"
    return f"today's definitions ({d.get('reason')})"


def _window_line(w: dict[str, Any]) -> str:
    credit = f", credit {w['creditPercent']:g}%" if w.get("creditPercent") else ""
    running = [c["incident"] for c in w.get("incidents", []) if c.get("running")]
    notes = (f"; running (counted to the as-of instant): {', '.join(running)}" if running else "") + (
        f"; impact unknown, for review: {', '.join(w['unknownImpact'])}" if w.get("unknownImpact") else "")
    return (f"{w['level']} ({w['customer']}, {w['service']}) {w['window']}: attained {w['attainedPercent']:g}% "
            f"against {w['targetPercent']:g}%: {w['status']}; downtime {_mins(w['downtimeMinutes'])} of "
            f"{_mins(w['allowedMinutes'])} allowed, budget left {_mins(w['budgetRemainingMinutes'])}{credit}{notes} "
            f"[definition: {_source(w['definition'])}]")


def text(data: dict[str, Any], part: str = "review") -> str:
    lines: list[str] = [_t(f"period {data['period']}, as of {data['asOf']}; definitions: {data['definitions']}")]
    if part in ("review", "attainment"):
        lines += ["", "availability:"] + [f"  {_t(_window_line(w))}" for w in data["windows"]] if data["windows"] \
            else ["", "availability: no window of a service level in the period"]
    if part in ("review", "clocks"):
        lines += ["", "clocks:"] + [f"  {_t(_clock_line(c))}" for c in data["clocks"]] if data["clocks"] \
            else ["", "clocks: no incident in the period"]
    lines.append("")
    unrecorded = sum(1 for c in data["clocks"] if c["status"] == "not recorded")
    lines.append(f"{len(data['breaches']['windows'])} window(s) breached, {len(data['breaches']['clocks'])} "
                 f"clock(s) breached, {len(data['credits'])} credit(s)"
                 + (f", {unrecorded} clock(s) not recorded" if part != "attainment" and unrecorded else ""))
    return "\n".join(lines) + "\n"


def as_json(data: dict[str, Any], part: str = "review") -> str:
    keep = {"clocks": ("period", "asOf", "definitions", "commitsUsed", "clocks", "breaches"),
            "attainment": ("period", "asOf", "definitions", "commitsUsed", "windows", "breaches", "credits")}
    shown = {k: v for k, v in data.items() if part == "review" or k in keep[part]}
    return json.dumps(shown, indent=2, ensure_ascii=True) + "\n"


def markdown(data: dict[str, Any], part: str = "review") -> str:
    out = [f"# Service review {md_text(data['period'])}", "",
           f"As of {md_code(data['asOf'])}; definitions: {md_text(data['definitions'])}.", ""]
    if part == "review":
        out += _markdown_summary(data)
    if part in ("review", "attainment"):
        out += ["## Availability", ""]
        services: dict[str, list[dict[str, Any]]] = {}
        for w in data["windows"]:
            services.setdefault(w["service"], []).append(w)
        for service, windows in services.items():
            judged = "; ".join(dict.fromkeys(_source(w["definition"]) for w in windows))
            out += [f"### {md_text(service)}", "", f"Judged by {md_text(judged)}.", "",
                    "| level | customer | window | target | attained | downtime (min) | allowed (min) | budget left "
                    "(min) | status | credit |", "|---|---|---|---:|---:|---:|---:|---:|---|---:|"]
            for w in windows:
                out.append("| " + " | ".join(md_text(v) for v in (
                    w["level"], w["customer"], w["window"], f"{w['targetPercent']:g}%",
                    f"{w['attainedPercent']:g}%", f"{w['downtimeMinutes']:g}", f"{w['allowedMinutes']:g}",
                    f"{w['budgetRemainingMinutes']:g}", w["status"],
                    f"{w['creditPercent']:g}%" if w.get("creditPercent") else "")) + " |")
            out.append("")
    if part in ("review", "clocks"):
        out += ["## SLA clocks", "", "| incident | priority | level | clock | elapsed (min) | target | status | "
                "breached at / deadline | definition |", "|---|---|---|---|---:|---|---|---|---|"]
        for c in data["clocks"]:
            out.append("| " + " | ".join(md_text(v) for v in (
                c["incident"], c["priority"], c["level"], c["metric"],
                f"{c['elapsedMinutes']:g}" if c["status"] != "not recorded" else "", c["target"],
                c["status"] + (f" by {c['overByMinutes']:g} min" if c["status"] == "breached" else ""),
                c.get("breachedAt") or c.get("deadline") or "", _source(c["definition"]))) + " |")
        out.append("")
    if part == "review":
        out += ["## Breaches", ""]
        incidents = {i["incident"]: i for i in data["incidents"]}
        breached = [c for c in data["clocks"] if c["status"] == "breached"]
        for c in breached:
            out.append(f"- {md_text(c['incident'])} ({md_text(c['priority'])}) {md_text(c['level'])} "
                       f"{md_text(c['metric'])}: breached by {c['overByMinutes']:g} min at {md_code(c['breachedAt'])}")
            for event in incidents.get(c["incident"], {}).get("timeline", []):
                out.append(f"  - {md_code(event['at'])} {md_text(event['event'])}")
        for w in data["windows"]:
            if w["status"] == "breached":
                spent = ", ".join(f"{md_text(c['incident'])} {c['minutes']:g} min" for c in w["incidents"])
                out.append(f"- window {md_text(w['level'])} {md_text(w['window'])} breached: attained "
                           f"{w['attainedPercent']:g}% against {w['targetPercent']:g}%"
                           + (f"; downtime from {spent}" if spent else ""))
        if not breached and not data["breaches"]["windows"]:
            out.append("None.")
        out += ["", "## Credits", ""]
        out += [f"- {md_text(c['customer'])}: {md_text(c['level'])} {md_text(c['window'])}: "
                f"{c['creditPercent']:g}% service credit" for c in data["credits"]] or ["None."]
        out += ["", "## Reviews", ""]
        for i in data["incidents"]:
            review = i.get("postIncidentReview")
            out.append(f"- {md_text(i['incident'])}: post-incident review "
                       + (f"{md_text(review.get('url'))} published {md_code(review.get('published'))}"
                          if review else "none linked"))
        for r in data["reviews"]:
            out.append(f"- {md_text(r['level'])}: last service level review {md_code(r['lastSlaReview'])}")
        out += ["", "## Definitions used", ""]
        out += [f"- {md_text(_source(s))}" + (f": {md_text(s['subject'])}" if s.get("subject") else "")
                for s in data["commitsUsed"]]
    return "\n".join(out) + "\n"


def _markdown_summary(data: dict[str, Any]) -> list[str]:
    totals = data["summary"]["totals"]
    out = ["## Summary", "",
           f"{totals['windowsBreached']} of {totals['windows']} windows breached, {totals['credits']} service credit(s) "
           f"owed, {totals['clocksBreached']} of {totals['clocks']} clocks breached, {totals['clocksNotRecorded']} not "
           f"recorded, {totals['forReview']} incident(s) with unknown impact.", "",
           "| service | attained in the period (target) | breaches | credit owed | worst clock | now |",
           "|---|---|---:|---|---|---|"]
    for s in data["summary"]["services"]:
        attained = "; ".join(f"{level['attainedPercent']:g}% ({level['targetPercent']:g}% {level['type']})"
                             for level in s["levels"]) or "clocks only"
        credits = ", ".join(f"{c['creditPercent']:g}% {c['window']}" for c in s["credits"])
        worst = s["worstClock"]["text"] + f" ({s['worstClock']['incident']})" if s["worstClock"] else ""
        now = s["now"]["label"] if s["now"] else ""
        out.append("| " + " | ".join(md_text(v) for v in (s["service"], attained, s["breaches"] or "", credits, worst,
                                                           now)) + " |")
    return out + [""]


def as_csv(data: dict[str, Any], part: str = "review") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if part == "clocks":
        columns = ["incident", "priority", "level", "type", "service", "metric", "calendar", "target",
                   "targetMinutes", "elapsedMinutes", "pausedMinutes", "status", "overByMinutes"]
        writer.writerow([*columns, "breachedAt/deadline", "commit"])
        for c in data["clocks"]:
            writer.writerow([_cell(c[k]) for k in columns]
                            + [spreadsheet_cell(c.get("breachedAt") or c.get("deadline") or ""),
                               spreadsheet_cell(c["definition"].get("commit") or "working tree")])
        return buffer.getvalue()
    columns = ["customer", "service", "level", "type", "window", "targetPercent", "attainedPercent",
               "serviceMinutes", "allowedMinutes", "downtimeMinutes", "excludedMinutes", "budgetRemainingMinutes",
               "status", "creditPercent"]
    writer.writerow([*columns, "commit"])
    for w in data["windows"]:
        writer.writerow([_cell("" if w[k] is None else w[k]) for k in columns]
                        + [spreadsheet_cell(w["definition"].get("commit") or "working tree")])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """Numbers as they are; text guarded against spreadsheet formulas."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else spreadsheet_cell(value)


def _h(value: Any) -> str:
    return html_attr(value)


def trend_svg(level: str, trend: list[dict[str, Any]], target: float) -> str:
    """The attained percent of the last windows against the target, as a pygal line chart (no script)."""
    import pygal
    from pygal.style import Style

    style = Style(background="#ffffff", plot_background="#ffffff", colors=("#1a5fb4", "#b3261e"),
                  font_family="sans-serif")
    chart = pygal.Line(js=[], disable_xml_declaration=True, style=style, width=640, height=260,
                       title=f"{level}: attained % by window", x_label_rotation=30, explicit_size=True,
                       legend_at_bottom=True, truncate_label=-1)
    chart.x_labels = [t["window"] for t in trend]
    chart.add("attained %", [t["attainedPercent"] for t in trend])
    chart.add("target %", [target for _ in trend])
    svg = str(chart.render(is_unicode=True))
    match = re.search(r'id="chart-([0-9a-f-]{36})"', svg)
    if match:
        svg = svg.replace(match.group(1), "trend-" + re.sub(r"[^a-z0-9-]", "", level))
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # pygal's credits, with links
    return re.sub(r"<script\b[^>]*>.*?</script>", "", svg, flags=re.S)


def html(data: dict[str, Any], part: str = "review") -> str:
    """The service review pack as a page of the catalogue site's look: a one-screen summary (per service the
    attainment of the period, breaches, credits owed, the worst clock and its delivery now), a table of
    contents, then the details, each service's definitions named once in its section. No script, no network."""
    from markupsafe import Markup

    from svcascode.render import render_template

    windows_by_service: dict[str, list[dict[str, Any]]] = {}
    charts: dict[str, Any] = {}
    for w in data["windows"]:
        row = dict(w, runningIncidents=[c["incident"] for c in w["incidents"] if c.get("running")])
        windows_by_service.setdefault(w["service"], []).append(row)
        if len(w["trend"]) > 1 and w["level"] not in charts:
            charts[w["level"]] = Markup(trend_svg(w["level"], w["trend"], w["targetPercent"]))
    breached_clocks = [c for c in data["clocks"] if c["status"] == "breached"]
    breached_windows = [w for w in data["windows"] if w["status"] == "breached"]
    definitions = [_source(s) + (f": {s['subject']}" if s.get("subject") else "") for s in data["commitsUsed"]]
    return render_template("review.html.j2", r=data, as_of=data.get("asOfDate") or str(data["asOf"])[:10], commit=None,
                           windows_by_service=windows_by_service, charts=charts, breached_clocks=breached_clocks,
                           breached_windows=breached_windows, definitions=definitions,
                           incidents={i["incident"]: i for i in data["incidents"]})


SLA_FORMATS: dict[str, Callable[[dict[str, Any], str], str]] = {
    "text": text, "json": as_json, "markdown": markdown, "csv": as_csv, "html": html,
}


# --- sla reconcile ---------------------------------------------------------------------------------


def _tool_side(d: dict[str, Any]) -> str:
    tool = d["tool"]
    said = "breached" if tool["breached"] else ("not breached" if tool["breached"] is not None else "no result")
    counted = f", {tool['elapsedMinutes']:g} min" if tool.get("elapsedMinutes") is not None else ""
    stage = f", {tool['stage']}" if tool.get("stage") else ""
    return f"{said}{counted} ({tool['definition']}{stage})"


def _contract_side(d: dict[str, Any]) -> str:
    contract = d.get("contract")
    if contract is None:
        return "no such clock"
    return (f"{contract['status']}, {contract['elapsedMinutes']:g} min of {contract['target']} in {contract['calendar']} "
            f"under {contract['level']}")


def _reconcile_line(d: dict[str, Any]) -> str:
    contract = d.get("contract")
    clock = f"{contract['priority']} {contract['metric']}" if contract else d["tool"]["metric"]
    where = f" [definition: {_source(contract['definition'])}]" if contract else ""
    return (f"{d['ticket']} ({d['incident']}) {clock}: the tool recorded {_tool_side(d)}; the contract gives "
            f"{_contract_side(d)}: {'; '.join(d['differences'])}{where}")


def reconcile_text(data: dict[str, Any]) -> str:
    lines = [_t(f"period {data['period']}, as of {data['asOf']}; definitions: {data['definitions']}"), ""]
    if data["differences"]:
        lines.append("differences between the ticketing tool and the contract:")
        lines += [f"  {_t(_reconcile_line(d))}" for d in data["differences"]]
    else:
        lines.append("no difference between the ticketing tool and the contract")
    if data["notComparable"]:
        lines += ["", "not comparable:"] + [f"  {_t(n['incident'] + ' ' + n['definition'] + ': ' + n['why'])}"
                                             for n in data["notComparable"]]
    lines += ["", f"{len(data['differences'])} clock(s) differ, {data['agreeing']} agree, "
              f"{len(data['notComparable'])} not comparable"]
    return "\n".join(lines) + "\n"


def reconcile_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def reconcile_markdown(data: dict[str, Any]) -> str:
    out = [f"# Reconciliation with the ticketing tool, {md_text(data['period'])}", "",
           f"As of {md_code(data['asOf'])}; definitions: {md_text(data['definitions'])}.", "",
           f"{len(data['differences'])} clock(s) differ, {data['agreeing']} agree, {len(data['notComparable'])} not "
           "comparable.", ""]
    if data["differences"]:
        out += ["| ticket | incident | clock | the tool recorded | the contract gives | difference | definition |",
                "|---|---|---|---|---|---|---|"]
        for d in data["differences"]:
            contract = d.get("contract")
            out.append("| " + " | ".join(md_text(v) for v in (
                d["ticket"], d["incident"], f"{contract['priority']} {contract['metric']}" if contract else
                d["tool"]["metric"], _tool_side(d), _contract_side(d), "; ".join(d["differences"]),
                _source(contract["definition"]) if contract else "")) + " |")
    return "\n".join(out) + "\n"


def reconcile_csv(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["ticket", "incident", "toolDefinition", "toolBreached", "toolElapsedMinutes", "level",
                     "metric", "contractStatus", "contractElapsedMinutes", "differences", "commit"])
    for d in data["differences"]:
        contract = d.get("contract") or {}
        writer.writerow([spreadsheet_cell(d["ticket"]), spreadsheet_cell(d["incident"]),
                         spreadsheet_cell(d["tool"]["definition"]), d["tool"]["breached"],
                         _cell("" if d["tool"]["elapsedMinutes"] is None else d["tool"]["elapsedMinutes"]),
                         spreadsheet_cell(contract.get("level", "")), spreadsheet_cell(contract.get("metric", "")),
                         spreadsheet_cell(contract.get("status", "")), _cell(contract.get("elapsedMinutes", "")),
                         spreadsheet_cell("; ".join(d["differences"])),
                         spreadsheet_cell((contract.get("definition") or {}).get("commit") or "working tree")])
    return buffer.getvalue()


RECONCILE_FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "text": reconcile_text, "json": reconcile_json, "markdown": reconcile_markdown, "csv": reconcile_csv,
}
