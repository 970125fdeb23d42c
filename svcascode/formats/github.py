"""GitHub Actions workflow commands: each finding an annotation on its file and line, then a summary line.

`::error` for a finding that fails the run, `::warning` for one that is reported but does not fail
(warn enforcement, or below --fail-on), `::notice` for audit findings. Waived findings are not
annotated; the summary counts them.

With `check --base`, only new findings are annotated: GitHub shows a limited number of annotations
per step, and the ones a pull request introduced must not sit behind those it inherited. One
`::notice` counts the existing findings left unannotated.

Text from YAML cannot issue commands of its own: every line this format prints either starts with
`::` and was composed here, or is the summary. Data is escaped as the runner expects (`%` `%25`,
CR `%0D`, LF `%0A`), properties also escape `:` and `,`, so a message holding `\\n::error::` or a
literal `%0A` stays inside its own annotation. Other control characters are shown as `\\xNN`, and the
first `#` of an Azure Pipelines `##vso[` as `\\x23`.
"""

from __future__ import annotations

from svcascode.escape import inert, shorten
from svcascode.escape import workflow_data as escape_data
from svcascode.escape import workflow_property as escape_property
from svcascode.finding import Finding
from svcascode.formats.report import Report
from svcascode.formats.text import summary

__all__ = ["render", "command", "escape_data", "escape_property"]

MAX_MESSAGE = 4_000


def render(report: Report) -> str:
    annotated = [f for f in sorted(report.findings, key=Finding.sort_key) if not f.suppressed]
    existing = [f for f in annotated if report.status(f) == "existing"]
    lines = [command(finding, report) for finding in annotated if report.status(finding) != "existing"]
    if report.base is not None:
        lines.append(existing_notice(report, len(annotated) - len(existing), len(existing)))
    lines.append(inert(summary(report)))
    return "\n".join(lines) + "\n"


def existing_notice(report: Report, new: int, existing: int) -> str:
    """The one line that accounts, with --base, for the findings not annotated."""
    base = (report.base or "")[:12]
    message = (f"{existing} finding{'s' * (existing != 1)} already at the base {base} "
               f"{'are' if existing != 1 else 'is'} not annotated (reported, never failing; the job log and "
               f"--format json list them); {new} {'new or touched' if report.touched else 'new'} "
               f"finding{'s' * (new != 1)} annotated")
    return f"::notice title={escape_property(f'svcascode check --base {base}')}::{escape_data(message)}"


def command(finding: Finding, report: Report) -> str:
    level = "error" if report.failing(finding) else "notice" if finding.enforcement == "audit" else "warning"
    title = report.rules.get(finding.rule, {}).get("title")
    properties = {
        "file": finding.file,
        "line": str(max(1, finding.line)),
        "col": str(max(1, finding.column)),
        "title": f"{finding.rule} ({_qualifiers(finding, report)})" + (f": {title}" if title else ""),
    }
    message = f"{finding.subject}: {finding.message}" if finding.kind and finding.name else finding.message
    rendered = ",".join(f"{key}={escape_property(shorten(value, 500))}" for key, value in properties.items())
    return f"::{level} {rendered}::{escape_data(shorten(message, MAX_MESSAGE))}"


def _qualifiers(finding: Finding, report: Report) -> str:
    status = report.status(finding)  # with --base: new or touched (existing findings are not annotated)
    return finding.severity + (f", {status}" if status else "")
