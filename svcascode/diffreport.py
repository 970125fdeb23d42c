"""What `svcascode diff` prints: the change set and the findings introduced and fixed, as text, JSON or
a Markdown pull-request comment. Each format is a pure function; `DIFF_FORMATS` is the --format list.
Text from YAML goes through `svcascode.escape`: `one_line` for the text, `md`/`code` for Markdown (a file
name as `one_line` shows it, a newline as `\\x0a`), and every output through `inert`/`inert_json`, so no
line starts a CI runner's command and no character acts on a terminal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from svcascode.diff import MISSING, STRENGTHENED, WEAKENED, ChangeSet, Classification, DocumentChange, show
from svcascode.escape import md_code as code
from svcascode.escape import inert, inert_json, md_text, one_line
from svcascode.finding import SEVERITY_RANK, Finding
from svcascode.levels import LevelChange

DIFF_JSON_VERSION = 1


@dataclass(frozen=True)
class DiffReport:
    base: str  # commit id
    head: str  # commit id, or "working tree"
    changes: ChangeSet
    introduced: tuple[Finding, ...] = ()
    fixed: tuple[Finding, ...] = ()
    unapproved: tuple[tuple[DocumentChange, Classification], ...] = ()
    gate: bool = False  # --fail-on-weakened was given
    approvals: dict[str, list[str]] = field(default_factory=dict)  # kind:name -> waivers approving its weakening
    levels: tuple[LevelChange, ...] = ()  # services whose maturity level on a Scorecard changed
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.gate and self.unapproved else 0


def _short(rev: str) -> str:
    return rev[:12] if re.fullmatch(r"[0-9a-f]{40,64}", rev) else rev


# ---------------------------------------------------------------------------------------------------
# Text


def render_text(report: DiffReport) -> str:
    lines = [f"catalogue changes {_short(report.base)} -> {_short(report.head)}"]
    counts = report.changes.counts()
    unreadable = (f", {counts['unreadable']} not compared (a file does not parse on one side)"
                  if counts["unreadable"] else "")
    lines.append(", ".join(f"{counts[k]} {k}" for k in ("added", "removed", "renamed", "changed")) +
                 f"{unreadable}; {counts[WEAKENED]} weakened, {counts[STRENGTHENED]} strengthened")
    for change in report.changes.changes:
        lines.append("")
        where = change.file if change.action != "renamed" else f"{change.old_file} -> {change.new_file}"
        lines.append(one_line(f"{change.action} {change.subject} ({where})"))
        for item in change.classes:
            lines.append(one_line(f"  [{item.direction}] {item.summary}"))
        for field_change in change.fields:
            lines.append(one_line(f"    {field_change.where}: {show(field_change.old)} -> {show(field_change.new)}"))
    for title, findings in (("findings introduced", report.introduced), ("findings fixed", report.fixed)):
        lines.append("")
        waived = sum(1 for f in findings if f.suppressed)
        lines.append(f"{title}: {len(findings) - waived}" + (f" (+{waived} waived)" if waived else ""))
        for f in findings:
            status = f"waived by {f.waiver}" if f.suppressed else f.severity
            lines.append(one_line(f"  {f.located()}: {f.subject}: [{status}] {f.rule}: {f.message}"))
    if report.levels:
        lines.append("")
        lines.append(f"level changes: {len(report.levels)}")
        lines.extend(one_line(f"  {change.summary}") for change in report.levels)
    if report.gate:
        lines.append("")
        lines.append(_gate_line(report))
        for change, item in report.unapproved:
            lines.append(one_line(f"  {change.subject}: {item.summary}"))
    return inert("\n".join(lines) + "\n")


def _gate_line(report: DiffReport) -> str:
    if not report.unapproved:
        return "weakening gate: PASS (nothing weakened without approval)"
    return (f"weakening gate: FAIL: {len(report.unapproved)} weakened change(s) without an approving waiver "
            "or label (see docs/git.md)")


# ---------------------------------------------------------------------------------------------------
# JSON


def _value(value: Any) -> Any:
    return None if value is MISSING else value


def _finding(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "severity": f.severity, "enforcement": f.enforcement, "message": f.message,
            "file": f.file, "line": f.line, "column": f.column, "path": f.json_path, "kind": f.kind or None,
            "name": f.name or None, "fingerprint": f.fingerprint, "suppressed": f.suppressed}


def change_json(change: DocumentChange) -> dict[str, Any]:
    return {
        "kind": change.kind, "name": change.name, "action": change.action,
        "oldFile": change.old_file, "newFile": change.new_file,
        "classifications": [{"category": c.category, "direction": c.direction, "summary": c.summary,
                             "path": c.path or None} for c in change.classes],
        "fields": [{"path": f.where, "old": _value(f.old), "new": _value(f.new),
                    "added": f.old is MISSING, "removed": f.new is MISSING} for f in change.fields],
    }


def render_json(report: DiffReport) -> str:
    body = {
        "version": DIFF_JSON_VERSION, "command": "diff", "base": report.base, "head": report.head,
        "exitCode": report.exit_code, "summary": {**report.changes.counts(), "introduced": len(report.introduced),
                                                  "fixed": len(report.fixed)},
        "changes": [change_json(c) for c in report.changes.changes],
        "introduced": [_finding(f) for f in report.introduced],
        "fixed": [_finding(f) for f in report.fixed],
        "levels": [change.as_dict() for change in report.levels],
        "gate": {"enabled": report.gate, "unapproved": [
            {"kind": c.kind, "name": c.name, "summary": i.summary} for c, i in report.unapproved]},
        **report.extra,
    }
    return inert_json(json.dumps(body, indent=2, ensure_ascii=False, default=str)) + "\n"


# ---------------------------------------------------------------------------------------------------
# Markdown: a pull-request comment read in ten seconds


def md(text: Any) -> str:
    """YAML text as Markdown on one line: no markup, link, HTML, mention or broken table cell."""
    return md_text(text, mentions=True)


def render_markdown(report: DiffReport, limit: int = 50) -> str:
    counts = report.changes.counts()
    unreadable = (f", {counts['unreadable']} not compared: a file does not parse on one side"
                  if counts["unreadable"] else "")
    weakened = list(report.changes.classified(WEAKENED))
    stronger = list(report.changes.classified(STRENGTHENED))
    failing = [f for f in report.introduced if not f.suppressed]
    verdict = "⚠️" if weakened or failing else "✅"
    lines = [f"### {verdict} svcascode: catalogue changes {code(_short(report.base))} → {code(_short(report.head))}",
             "",
             f"**{len(weakened)} weakened · {len(stronger)} strengthened · {len(failing)} new finding"
             f"{'s' * (len(failing) != 1)} · {len(report.fixed)} fixed** "
             f"({counts['added']} added, {counts['removed']} removed, {counts['renamed']} renamed, "
             f"{counts['changed']} changed document{'s' * (counts['changed'] != 1)}{unreadable})", ""]
    if report.gate:
        gate = ("✅ nothing weakened without approval" if not report.unapproved else
                f"❌ {len(report.unapproved)} weakened change(s) need an approving waiver or label")
        lines += [f"**Weakening gate:** {gate}", ""]
    unapproved = {(id(c), id(i)) for c, i in report.unapproved}

    def approval(change: DocumentChange, item: Classification) -> str:
        if not report.gate:
            return ""
        if (id(change), id(item)) in unapproved:
            return " — ❌ needs approval"
        by = report.approvals.get(f"{change.kind.lower()}:{change.name}")
        return f" — ✅ approved by waiver {md(', '.join(by))}" if by else " — ✅ approved by label"

    sections: list[tuple[str, list[str]]] = [
        ("🔻 Weaker", [f"- **{md(c.subject)}**: {md(i.summary)}{approval(c, i)}" for c, i in weakened]),
        ("❌ Now fails", [f"- **{md(f.rule)}** ({md(f.severity)}) {md(f.subject)}: {md(f.message)} "
                         f"— {code(one_line(f'{f.file}:{f.line}'))}"
                         for f in sorted(failing, key=lambda f: -SEVERITY_RANK.get(f.severity, 0))]),
        ("🔺 Stronger", [f"- **{md(c.subject)}**: {md(i.summary)}" for c, i in stronger]),
        ("✔️ Fixed", [f"- **{md(f.rule)}** {md(f.subject)}: {md(f.message)}" for f in report.fixed]),
        ("🏅 Levels", [f"- **{md(c.service)}** on {md(c.scorecard)}: {md(c.old or 'none')} → {md(c.new or 'none')} "
                       f"({md(c.direction)})" for c in report.levels]),
    ]
    for title, rows in sections:
        if not rows:
            continue
        lines.append(f"#### {title}")
        lines.extend(rows[:limit])
        if len(rows) > limit:
            lines.append(f"- … and {len(rows) - limit} more (see the JSON output)")
        lines.append("")
    if report.changes.changes:
        lines += ["<details><summary>All document changes</summary>", "", "| document | change | file |",
                  "|---|---|---|"]
        for change in report.changes.changes[: limit * 4]:
            where = (f"{code(one_line(change.old_file))} → {code(one_line(change.new_file))}"
                     if change.action == "renamed" else code(one_line(change.file)))
            what = "; ".join(md(i.summary) for i in change.classes) or md(
                ", ".join(f.where for f in change.fields[:5]) or change.action)
            lines.append(f"| {md(change.subject)} | {md(change.action)}: {what} | {where} |")
        lines += ["", "</details>", ""]
    if not report.changes.changes and not report.introduced and not report.fixed and not report.levels:
        lines += ["No change to the catalogue.", ""]
    return inert("\n".join(lines))


DIFF_FORMATS: dict[str, Callable[[DiffReport], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
