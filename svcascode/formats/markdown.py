"""Markdown for a pull-request comment: verdict, summary, a table of open findings, the waived ones folded.

GitHub refuses comments over 65,536 characters, so the body is kept under MAX_LENGTH (counted in
UTF-16 code units, as GitHub counts): rows are added most important first (failing, then by
severity) until the budget is spent, and a closing note says how many were left out.

Cells are escaped by `svcascode.escape.md_text` so YAML text cannot change the comment: `|` and
other Markdown punctuation are backslash-escaped, `<` and `&` become entities (no HTML, no
`<script>`), `@` and `#` get a zero-width space so nobody is mentioned and no issue is
cross-referenced, newlines become `<br>`, and control characters are shown as `\\xNN`.
"""

from __future__ import annotations

from svcascode.escape import md_text, shorten
from svcascode.finding import Finding
from svcascode.formats.report import Report, severity_rank
from svcascode.formats.text import summary

MAX_LENGTH = 60_000  # GitHub's limit is 65,536; the margin covers the closing note
MAX_CELL = 300


def render(report: Report) -> str:
    budget = Budget(MAX_LENGTH)
    verdict = "FAIL" if report.exit_code else "PASS"
    budget.add(f"### svcascode {report.command}: {verdict}\n")
    budget.add(f"{cell(summary(report))}" + (f" As of {cell(report.as_of)}." if report.as_of else "") + "\n")
    open_findings = [f for f in report.findings if not f.suppressed]
    waived = [f for f in report.findings if f.suppressed]
    shown = _open_table(open_findings, report, budget)
    shown += _waived_table(waived, budget)
    left_out = len(report.findings) - shown
    if left_out:
        budget.add(f"\n_{left_out} more finding{'s' * (left_out != 1)} not shown: a comment holds at most "
                   "65,536 characters. The job log, SARIF or `svcascode check --format json` has all of them._\n",
                   force=True)
    return budget.text()


def _open_table(findings: list[Finding], report: Report, budget: Budget) -> int:
    if not findings:
        budget.add("\nNo open findings.\n")
        return 0
    findings = sorted(findings, key=lambda f: (not report.failing(f), severity_rank(f.severity), f.sort_key()))
    budget.add("\n| | Severity | Rule | Location | Finding |\n|---|---|---|---|---|\n")
    shown = 0
    for finding in findings:
        mark = "❌" if report.failing(finding) else "⚠️" if finding.enforcement != "audit" else "ℹ️"
        row = (f"| {mark} | {finding.severity} | {cell(finding.rule)} | {cell(finding.located())} | "
               f"{cell(_described(finding))} |\n")
        if not budget.add(row):
            break
        shown += 1
    return shown


def _waived_table(findings: list[Finding], budget: Budget) -> int:
    if not findings or not budget.add(f"\n<details><summary>{len(findings)} waived</summary>\n\n"
                                      "| Rule | Location | Waiver | Justification |\n|---|---|---|---|\n"):
        return 0
    shown = 0
    for finding in sorted(findings, key=Finding.sort_key):
        row = (f"| {cell(finding.rule)} | {cell(finding.located())} | {cell(finding.waiver or '')} | "
               f"{cell(finding.justification or '')} |\n")
        if not budget.add(row, reserve=len("\n</details>\n")):
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
        size = len(part.encode("utf-16-le")) // 2
        if not force and self.used + size + reserve > self.limit:
            return False
        self.parts.append(part)
        self.used += size
        return True

    def text(self) -> str:
        return "".join(self.parts)
