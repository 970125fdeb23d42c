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
            "not recorded": f"not recorded: the incident gives no {c.get('stopField') or 'stop'} time "
                            "(neither met nor breached)"}.get(c["status"], c["status"])
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
    lines.append(f"{len(data['breaches']['windows'])} window(s) breached, {len(data['breaches']['clocks'])} "
                 f"clock(s) breached, {len(data['credits'])} credit(s)")
    return "\n".join(lines) + "\n"


def as_json(data: dict[str, Any], part: str = "review") -> str:
    keep = {"clocks": ("period", "asOf", "definitions", "commitsUsed", "clocks", "breaches"),
            "attainment": ("period", "asOf", "definitions", "commitsUsed", "windows", "breaches", "credits")}
    shown = {k: v for k, v in data.items() if part == "review" or k in keep[part]}
    return json.dumps(shown, indent=2, ensure_ascii=True) + "\n"


def markdown(data: dict[str, Any], part: str = "review") -> str:
    out = [f"# Service review {md_text(data['period'])}", "",
           f"As of {md_code(data['asOf'])}; definitions: {md_text(data['definitions'])}.", ""]
    if part in ("review", "attainment"):
        out += ["## Availability", "", "| customer | service | level | window | target | attained | downtime "
                "(min) | allowed (min) | budget left (min) | status | credit | definition |",
                "|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
        for w in data["windows"]:
            out.append("| " + " | ".join(md_text(v) for v in (
                w["customer"], w["service"], w["level"], w["window"], f"{w['targetPercent']:g}%",
                f"{w['attainedPercent']:g}%", f"{w['downtimeMinutes']:g}", f"{w['allowedMinutes']:g}",
                f"{w['budgetRemainingMinutes']:g}", w["status"],
                f"{w['creditPercent']:g}%" if w.get("creditPercent") else "", _source(w["definition"]))) + " |")
        out.append("")
    if part in ("review", "clocks"):
        out += ["## SLA clocks", "", "| incident | priority | level | clock | elapsed (min) | target | status | "
                "breached at / deadline | definition |", "|---|---|---|---|---:|---|---|---|---|"]
        for c in data["clocks"]:
            out.append("| " + " | ".join(md_text(v) for v in (
                c["incident"], c["priority"], c["level"], c["metric"], f"{c['elapsedMinutes']:g}", c["target"],
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
    body = [f"<h1>Service review {_h(data['period'])}</h1>",
            f"<p>As of {_h(data['asOf'])}; definitions: {_h(data['definitions'])}.</p>"]
    customers: dict[str, list[dict[str, Any]]] = {}
    for w in data["windows"]:
        customers.setdefault(w["customer"], []).append(w)
    incidents = {i["incident"]: i for i in data["incidents"]}
    for customer, windows in customers.items():
        body.append(f"<h2>{_h(customer)}</h2><table><tr><th>service</th><th>level</th><th>window</th><th>target</th>"
                    "<th>attained</th><th>downtime (min)</th><th>allowed (min)</th><th>budget left (min)</th>"
                    "<th>status</th><th>credit</th><th>definition</th></tr>")
        for w in windows:
            body.append(f"<tr class=\"{_h(w['status'].replace(' ', '-'))}\"><td>{_h(w['service'])}</td>"
                        f"<td>{_h(w['level'])}</td><td>{_h(w['window'])}</td><td>{w['targetPercent']:g}%</td>"
                        f"<td>{w['attainedPercent']:g}%</td><td>{w['downtimeMinutes']:g}</td>"
                        f"<td>{w['allowedMinutes']:g}</td><td>{w['budgetRemainingMinutes']:g}</td>"
                        f"<td>{_h(w['status'])}</td><td>{_h(str(w['creditPercent']) + '%' if w.get('creditPercent') else '')}"
                        f"</td><td>{_h(_source(w['definition']))}</td></tr>")
        body.append("</table>")
        for w in windows:
            if len(w["trend"]) > 1:
                body.append(f"<figure>{trend_svg(w['level'], w['trend'], w['targetPercent'])}</figure>")
    body.append("<h2>Breaches</h2>")
    breached = [c for c in data["clocks"] if c["status"] == "breached"]
    if not breached and not data["breaches"]["windows"]:
        body.append("<p>None.</p>")
    for w in data["windows"]:
        if w["status"] == "breached":
            spent = ", ".join(f"{_h(c['incident'])} {c['minutes']:g} min" for c in w["incidents"])
            body.append(f"<p>Window {_h(w['level'])} {_h(w['window'])} breached: attained {w['attainedPercent']:g}% "
                        f"against {w['targetPercent']:g}%" + (f"; downtime from {spent}" if spent else "") + ".</p>")
    for c in breached:
        info = incidents.get(c["incident"], {})
        body.append(f"<h3>{_h(c['incident'])} ({_h(c['priority'])}): {_h(c['level'])} {_h(c['metric'])}</h3>"
                    f"<p>{_h(info.get('title') or '')}: {c['elapsedMinutes']:g} min counted in {_h(c['calendar'])} "
                    f"against {_h(c['target'])}, breached by {c['overByMinutes']:g} min at {_h(c['breachedAt'])}.</p>"
                    "<ol>" + "".join(f"<li><time>{_h(e['at'])}</time> {_h(e['event'])}</li>"
                                     for e in info.get("timeline", [])) + "</ol>")
    body.append("<h2>SLA clocks</h2><table><tr><th>incident</th><th>priority</th><th>level</th><th>clock</th>"
                "<th>elapsed (min)</th><th>target</th><th>status</th><th>breached at / deadline</th></tr>")
    for c in data["clocks"]:
        body.append(f"<tr><td>{_h(c['incident'])}</td><td>{_h(c['priority'])}</td><td>{_h(c['level'])}</td>"
                    f"<td>{_h(c['metric'])}</td><td>{c['elapsedMinutes']:g}</td><td>{_h(c['target'])}</td>"
                    f"<td>{_h(c['status'])}</td><td>{_h(c.get('breachedAt') or c.get('deadline') or '')}</td></tr>")
    body.append("</table><h2>Credits</h2>")
    body.append("".join(f"<p>{_h(c['customer'])}: {_h(c['level'])} {_h(c['window'])}: {c['creditPercent']:g}% "
                        "service credit</p>" for c in data["credits"]) or "<p>None.</p>")
    body.append("<h2>Reviews</h2><ul>")
    for i in data["incidents"]:
        review = i.get("postIncidentReview")
        body.append(f"<li>{_h(i['incident'])}: post-incident review "
                    + (f"{_h(review.get('url'))} published {_h(review.get('published'))}" if review
                       else "none linked") + "</li>")
    body += [f"<li>{_h(r['level'])}: last service level review {_h(r['lastSlaReview'])}</li>" for r in data["reviews"]]
    body.append("</ul><h2>Definitions used</h2><ul>")
    body += [f"<li>{_h(_source(s))} {_h(s.get('subject') or '')}</li>" for s in data["commitsUsed"]]
    body.append("</ul>")
    style = ("body{font-family:sans-serif;max-width:72rem;margin:2rem auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2rem .4rem}tr.breached td{background:#fbe9e7}")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Service review "
            f"{_h(data['period'])}</title><style>{style}</style></head><body>" + "\n".join(body) + "</body></html>\n")


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
