"""Text: one line per finding, `path:line:col: kind/name: message`, grouped by file, then a summary."""

from __future__ import annotations

from svcascode.escape import one_line
from svcascode.formats.report import Report


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
        prefix = "  " if grouped else ""
        subject = f"{finding.kind}/{finding.name}: " if finding.kind and finding.name else ""
        # one_line(): one finding stays one line, and YAML text cannot send terminal escapes
        waiver = f" [justification: {finding.justification}]" if finding.suppressed else ""
        lines.append(one_line(f"{prefix}{finding.located()}: {subject}{tag}{finding.message}{waiver}"))
    if lines:
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


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
