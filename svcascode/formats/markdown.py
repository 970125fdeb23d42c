"""Markdown for a pull-request comment: verdict, summary, a table of open findings, the waived ones folded.

GitHub refuses comments over 65,536 characters, so the body is kept under MAX_LENGTH (counted in
UTF-16 code units, as GitHub counts): rows are added most important first (failing, then by
severity) until the budget is spent, and a closing note says how many were left out.

With `check --base`, a line under the summary counts the findings new, existing at the base and
fixed since; the table has a column saying which each finding is, new findings first; the fixed ones
are folded like the waived.

Cells are escaped by `svcascode.escape.md_text` so YAML text cannot change the comment: `|` and
other Markdown punctuation are backslash-escaped, `<` and `&` become entities (no HTML, no
`<script>`), `@` and `#` get a zero-width space so nobody is mentioned and no issue is
cross-referenced, newlines become `<br>`, and control characters are shown as `\\xNN`; a location is
shown on one line (a newline in a file name as `\\x0a`), and no line starts a CI runner's command.
"""

from __future__ import annotations

from typing import Any

from svcascode.escape import inert, md_code, md_text, one_line, shorten
from svcascode.finding import Finding
from svcascode.formats.report import Report, severity_rank
from svcascode.formats.text import fixed_row, summary

MAX_LENGTH = 60_000  # GitHub's limit is 65,536; the margin covers the closing note
MAX_CELL = 300
_STATUS = {"new": "🆕 new", "touched": "✏️ touched", "existing": "existing"}


def render(report: Report) -> str:
    budget = Budget(MAX_LENGTH)
    verdict = "FAIL" if report.exit_code else "PASS"
    budget.add(f"### svcascode {report.command}: {verdict}\n")
    budget.add(f"{cell(summary(report))}" + (f" As of {cell(report.as_of)}." if report.as_of else "") + "\n")
    fixed: list[dict[str, Any]] = list(report.extra.get("fixed") or []) if report.base is not None else []
    if report.base is not None:
        new = sum(1 for f in report.findings if report.status(f) == "new")
        touched = sum(1 for f in report.findings if report.status(f) == "touched")
        edited = f"**{touched} touched**, " if report.extra.get("ratchet") == "touched" else ""
        budget.add(f"\nAgainst the base {md_code(report.base[:12])}: **{new} new**, {edited}"
                   f"{len(report.findings) - new - touched} existing (reported, never failing), {len(fixed)} fixed.\n")
        if report.extra.get("ratchet") == "touched":
            budget.add("\n✏️ **touched**: the finding was already at the base, but this change edits its document, "
                       "so it blocks as if new (`--ratchet touched`): fix it while the document is open.\n")
    open_findings = [f for f in report.findings if not f.suppressed]
    waived = [f for f in report.findings if f.suppressed]
    shown = _open_table(open_findings, report, budget)
    shown += _waived_table(waived, report, budget)
    fixed_shown = _fixed_table(fixed, budget)
    left_out = len(report.findings) - shown + len(fixed) - fixed_shown
    if left_out:
        budget.add(f"\n_{left_out} more finding{'s' * (left_out != 1)} not shown: a comment holds at most "
                   "65,536 characters. The job log, SARIF or `svcascode check --format json` has all of them._\n",
                   force=True)
    return budget.text()


def _open_table(findings: list[Finding], report: Report, budget: Budget) -> int:
    if not findings:
        budget.add("\nNo open findings.\n")
        return 0
    findings = sorted(findings, key=lambda f: (not report.failing(f), report.status(f) == "existing",
                                               report.status(f) == "touched",
                                               severity_rank(f.severity), f.sort_key()))
    based = report.base is not None
    budget.add("\n| | Severity | Rule | Location | Finding |" + (" Base |" if based else "") +
               "\n|---|---|---|---|---|" + ("---|" if based else "") + "\n")
    shown = 0
    for finding in findings:
        mark = "❌" if report.failing(finding) else "⚠️" if finding.enforcement != "audit" else "ℹ️"
        status = f" {_STATUS[report.status(finding) or 'new']} |" if based else ""
        row = (f"| {mark} | {cell(finding.severity)} | {cell(finding.rule)} | {cell(one_line(finding.located()))} | "
               f"{cell(_described(finding))} |{status}\n")
        if not budget.add(row):
            break
        shown += 1
    return shown


def _waived_table(findings: list[Finding], report: Report, budget: Budget) -> int:
    based = report.base is not None
    if not findings or not budget.add(f"\n<details><summary>{len(findings)} waived</summary>\n\n"
                                      "| Rule | Location | Waiver | Justification |" + (" Base |" if based else "") +
                                      "\n|---|---|---|---|" + ("---|" if based else "") + "\n"):
        return 0
    shown = 0
    for finding in sorted(findings, key=Finding.sort_key):
        status = f" {_STATUS[report.status(finding) or 'new']} |" if based else ""
        row = (f"| {cell(finding.rule)} | {cell(one_line(finding.located()))} | {cell(finding.waiver or '')} | "
               f"{cell(finding.justification or '')} |{status}\n")
        if not budget.add(row, reserve=len("\n</details>\n")):
            break
        shown += 1
    budget.add("\n</details>\n", force=True)
    return shown


def _fixed_table(fixed: list[dict[str, Any]], budget: Budget) -> int:
    """The findings the base had that are gone, folded: rule, where it was, what it said."""
    if not fixed or not budget.add(f"\n<details><summary>{len(fixed)} fixed since the base</summary>\n\n"
                                   "| Rule | Location | Finding |\n|---|---|---|\n"):
        return 0
    shown = 0
    for entry in fixed:
        where, subject, rule, message = fixed_row(entry)
        if not budget.add(f"| {cell(rule)} | {cell(one_line(where))} | {cell(f'{subject}: {message}')} |\n",
                          reserve=len("\n</details>\n")):
            break
        shown += 1
    budget.add("\n</details>\n", force=True)
    return shown


def _described(finding: Finding) -> str:
    return f"{finding.subject}: {finding.message}" if finding.kind and finding.name else finding.message


def cell(text: str) -> str:
    """Text that stays inside one table cell and renders as the text it is."""
    return md_text(shorten(text, MAX_CELL), breaks=True, mentions=True)


class Budget:
    """The comment being built, and how much of GitHub's limit is left (in UTF-16 code units)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.used = 0

    def add(self, part: str, reserve: int = 0, force: bool = False) -> bool:
        part = inert(part)  # no line starts a CI runner's command (the comment may be printed to a log)
        size = len(part.encode("utf-16-le")) // 2
        if not force and self.used + size + reserve > self.limit:
            return False
        self.parts.append(part)
        self.used += size
        return True

    def text(self) -> str:
        return "".join(self.parts)
