"""What `svcascode history` prints: the audit trail or the posture, as text, JSON or CSV.

Each format is a pure function of a `HistoryReport`; `HISTORY_FORMATS` is also the --format list.
Text lines go through `one_line` (commit messages and YAML values send no terminal escapes); free
text in CSV through `spreadsheet_cell` (no cell runs as a formula when an auditor opens the file), and
control characters in CSV shown as `\\xNN` (newlines in a cell kept). No line of any format starts a CI
runner's command (`inert`, `inert_json`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from svcascode.escape import inert, inert_json, one_line, spreadsheet_cell, visible
from svcascode.finding import SEVERITIES

HISTORY_JSON_VERSION = 1
AUDIT, POSTURE = "audit", "posture"


@dataclass(frozen=True)
class HistoryReport:
    """`audit`: `rows` are the commits that changed a document, each with its changes; `posture`: one
    row of counts per commit. `meta` holds the range, document, dates and (posture) the walk's stats."""

    mode: str
    rows: list[Any]
    meta: dict[str, Any] = field(default_factory=dict)


def _commit_json(commit: Any) -> dict[str, Any]:
    return {"commit": commit.sha, "author": commit.author, "email": commit.email, "date": commit.date,
            "committed": commit.committed, "message": commit.message}


# ---------------------------------------------------------------------------------------------------
# Text


def render_text(report: HistoryReport) -> str:
    return _posture_text(report) if report.mode == POSTURE else _audit_text(report)


def _audit_text(report: HistoryReport) -> str:
    from svcascode.diff import show

    lines: list[str] = []
    for e in report.rows:
        c = e.commit
        lines.append(one_line(f"{c.date[:10]}  {c.sha[:12]}  {c.author} <{c.email}>  {c.message}"))
        for change in e.changes:
            where = change.file if change.action != "renamed" else f"{change.old_file} -> {change.new_file}"
            lines.append(one_line(f"  {change.action} {change.subject} ({where})"))
            lines.extend(one_line(f"    [{i.direction}] {i.summary}") for i in change.classes)
            lines.extend(one_line(f"      {f.where}: {show(f.old)} -> {show(f.new)}") for f in change.fields)
        lines.append("")
    count = len(report.rows)
    lines.append(one_line(f"{count} commit{'s' * (count != 1)} changed "
                          f"{report.meta.get('document') or 'the catalogue'}"))
    return inert("\n".join(lines) + "\n")


def _posture_text(report: HistoryReport) -> str:
    head = f"{'as of':<10}  {'commit':<12}  " + "  ".join(f"{s[:4]:>4}" for s in SEVERITIES) + "  waived  fail  message"
    lines = [head]
    for r in report.rows:
        counts = "  ".join(f"{r.severities[s]:>4}" for s in SEVERITIES)
        lines.append(one_line(f"{r.as_of:<10}  {r.commit.sha[:12]}  {counts}  {r.waived:>6}  {r.failing:>4}  "
                              f"{r.commit.message[:60]}"))
    stats = report.meta.get("stats", {})
    lines.append(f"{len(report.rows)} commits; {stats.get('blobsRead', 0)} file versions parsed for "
                 f"{stats.get('blobsSeen', 0)} seen")
    return inert("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------------
# JSON


def render_json(report: HistoryReport) -> str:
    if report.mode == POSTURE:
        commits = [{**_commit_json(r.commit), "asOf": r.as_of, "findings": r.severities, "waived": r.waived,
                    "failing": r.failing, "controls": r.controls} for r in report.rows]
    else:
        from svcascode.diffreport import change_json

        commits = [{**_commit_json(e.commit), "changes": [change_json(c) for c in e.changes]} for e in report.rows]
    body = {"version": HISTORY_JSON_VERSION, "command": "history", "mode": report.mode, **report.meta,
            "commits": commits}
    return inert_json(json.dumps(body, indent=2, ensure_ascii=False, default=str)) + "\n"


# ---------------------------------------------------------------------------------------------------
# CSV


def render_csv(report: HistoryReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cell = spreadsheet_cell
    if report.mode == POSTURE:
        controls = sorted({rule for r in report.rows for rule in r.controls})
        writer.writerow(["commit", "as_of", "author", "message", *SEVERITIES, "waived", "failing", *controls])
        for r in report.rows:
            writer.writerow([r.commit.sha, r.as_of, cell(r.commit.author), cell(r.commit.message),
                             *(r.severities[s] for s in SEVERITIES), r.waived, r.failing,
                             *(r.controls.get(c, 0) for c in controls)])
        return _csv_text(out)
    from svcascode.diff import show

    writer.writerow(["commit", "date", "author", "email", "message", "kind", "name", "action", "file",
                     "direction", "summary", "path", "old", "new"])
    for e in report.rows:
        c = e.commit
        for change in e.changes:
            for direction, summary, path, old, new in _audit_rows(change, show):
                writer.writerow([c.sha, c.date, cell(c.author), cell(c.email), cell(c.message),
                                 change.kind, change.name, change.action, change.file, direction,
                                 cell(summary), path, cell(old), cell(new)])
    return _csv_text(out)


def _csv_text(out: io.StringIO) -> str:
    """The CSV as written, with control characters shown as `\\xNN` (a newline inside a quoted cell
    kept) and no line starting a CI runner's command."""
    return inert(visible(out.getvalue(), keep="\n"))


def _audit_rows(change: Any, show: Callable[[Any], str]) -> list[tuple[str, str, str, str, str]]:
    """One row per field changed (with its classification, if any), then classifications of no field."""
    rows: list[tuple[str, str, str, str, str]] = []
    used: set[int] = set()
    for field_change in change.fields:
        item = next((i for i in change.classes if i.path == field_change.where), None)
        if item is not None:
            used.add(id(item))
        rows.append((item.direction if item else "", item.summary if item else "", field_change.where,
                     show(field_change.old), show(field_change.new)))
    rows += [(i.direction, i.summary, i.path, "", "") for i in change.classes if id(i) not in used]
    return rows or [("", "", "", "", "")]


HISTORY_FORMATS: dict[str, Callable[[HistoryReport], str]] = {
    "text": render_text,
    "json": render_json,
    "csv": render_csv,
}
