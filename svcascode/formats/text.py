"""Text: one line per finding, `path:line:col: kind/name: message`, grouped by file, then a summary.

With `check --base`, each finding that already existed at the base is tagged `[existing]`, and the
summary is followed by the ratchet: how many findings are new, existing and fixed, and which.
Every line goes through `one_line`, so YAML text cannot send terminal escapes or start a line, and the
whole through `inert`, so no line starts a CI runner's command (`::set-env`, `##vso[`).
"""

from __future__ import annotations

from typing import Any

from svcascode.escape import inert, one_line
from svcascode.formats.report import Report
from svcascode.library import describe


def render(report: Report) -> str:
    lines: list[str] = []
    current = None
    grouped = report.command != "validate"
    for finding in sorted(report.findings, key=lambda f: f.sort_key()):
        if grouped and finding.file != current:
            if current is not None:
                lines.append("")
            current = finding.file
            lines.append(one_line(finding.file))
        tag = ""
        if report.command != "validate":
            tag = f"[{finding.severity}/{finding.enforcement}] {finding.rule}: "
            if finding.suppressed:
                tag = f"[waived by {finding.waiver}] {finding.rule}: "
            if report.status(finding) == "existing":
                tag = f"[existing] {tag}"
            elif report.status(finding) == "touched":
                tag = f"[touched] {tag}"
        prefix = "  " if grouped else ""
        subject = f"{finding.kind}/{finding.name}: " if finding.kind and finding.name else ""
        waiver = f" [justification: {finding.justification}]" if finding.suppressed else ""
        lines.append(one_line(f"{prefix}{finding.located()}: {subject}{tag}{finding.message}{waiver}"))
    if lines:
        lines.append("")
    library = report.extra.get("library")
    if isinstance(library, dict) and library.get("enabled", True):  # which built-in library was evaluated
        lines.append(one_line(describe(library)))
    lines.append(summary(report))
    text = "\n".join(lines) + "\n"
    return inert(text + ratchet(report) if report.base is not None else text)


def ratchet(report: Report) -> str:
    """The account of a --base comparison: what is new (and may fail), what existed, what was fixed."""
    base = one_line((report.base or "")[:12])
    ordered = sorted(report.findings, key=lambda f: f.sort_key())
    new = [f for f in ordered if report.status(f) == "new"]
    touched = [f for f in ordered if report.status(f) == "touched"]
    fixed = report.extra.get("fixed") or []
    edited = (f"{len(touched)} touched (at the base, on documents this change edits: failing as if new), "
              if report.extra.get("ratchet") == "touched" else "")
    lines = ["", f"against {base}: {len(new)} new, {edited}{len(report.findings) - len(new) - len(touched)} "
                 f"existing (reported, never failing), {len(fixed)} fixed"]
    for title, rows in (("new", [(f.located(), f.subject, f.rule, f.message) for f in new]),
                        ("touched (its document is edited by this change)",
                         [(f.located(), f.subject, f.rule, f.message) for f in touched]),
                        ("fixed", [fixed_row(x) for x in fixed])):
        if rows:
            lines.append(f"{title}:")
            lines.extend(one_line(f"  {where}: {subject}: {rule}: {message}") for where, subject, rule, message in rows)
    return "\n".join(lines) + "\n"


def fixed_row(fixed: dict[str, Any]) -> tuple[str, str, str, str]:
    """Where, what, rule and message of a fixed finding (an entry of `extra["fixed"]`)."""
    subject = f"{fixed['kind']}/{fixed['name']}" if fixed.get("kind") else str(fixed.get("file", ""))
    return (f"{fixed.get('file', '')}:{fixed.get('line', 0)}", subject, str(fixed.get("rule", "")),
            str(fixed.get("message", "")))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def summary(report: Report) -> str:
    counts = report.counts()
    if report.command == "validate":
        problems = len(report.findings)
        if not problems:
            return f"valid: {_count(report.documents, 'document')} in {_count(report.files, 'file')}"
        files = len({f.file for f in report.findings})
        return (f"invalid: {_count(problems, 'problem')} in {_count(files, 'file')} "
                f"({report.documents} valid {'document' if report.documents == 1 else 'documents'} in "
                f"{_count(report.files, 'file')})")
    parts = [f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if counts[s]]
    if counts["suppressed"]:
        parts.append(f"{counts['suppressed']} waived")
    verdict = "FAIL" if report.exit_code else "PASS"
    found = ", ".join(parts) if parts else "no findings"
    return (f"{verdict}: {found}; {counts['failing']} at or above '{report.fail_on}' that block "
            f"({_count(report.documents, 'document')} in {_count(report.files, 'file')})")
