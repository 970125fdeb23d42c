"""The one codec of the records a cached stage keeps: typed values to plain tuples `marshal` can write, and
back, checking the shape of what it reads.

Every stage that keeps findings (the parse of a file, the validation of its documents, a (control,
document) result) writes them with `encode_findings` and reads them with `decode_findings`. The codec's
code is part of svcascode's code digest, which every key of the store includes: a change here makes every
record of an earlier version unreachable, so no format number is kept by hand.
"""

from __future__ import annotations

from typing import Any

from svcascode.finding import Finding

FindingRow = tuple[Any, ...]


def encode_finding(finding: Finding) -> FindingRow:
    return (finding.rule, finding.severity, finding.message, finding.file, finding.line, finding.column,
            finding.path, finding.kind, finding.name, finding.enforcement, finding.waiver, finding.justification,
            finding.extra)


def decode_finding(row: Any) -> Finding:
    """A finding from its row; TypeError or ValueError when the row is not one."""
    if type(row) is not tuple or len(row) != 13:
        raise TypeError("not a finding")
    rule, severity, message, file, line, column, path, kind, name, enforcement, waiver, justification, extra = row
    # exact types, as marshal reads them, each compared in place: a run after a small edit reads tens of thousands
    if (type(rule) is not str or type(severity) is not str or type(message) is not str or type(file) is not str
            or type(kind) is not str or type(name) is not str or type(enforcement) is not str
            or type(line) is not int or type(column) is not int or type(path) is not tuple
            or (waiver is not None and type(waiver) is not str)
            or (justification is not None and type(justification) is not str) or type(extra) is not tuple):
        raise TypeError("not a finding")
    for part in path:
        if type(part) is not str and type(part) is not int:
            raise TypeError("not a finding")
    return Finding(rule, severity, message, file, line, column, path, kind, name, enforcement, waiver, justification,
                   extra)


def encode_findings(findings: tuple[Finding, ...] | list[Finding]) -> tuple[FindingRow, ...]:
    return tuple(encode_finding(f) for f in findings)


def decode_findings(rows: Any) -> tuple[Finding, ...]:
    if type(rows) is not tuple:
        raise TypeError("not findings")
    return tuple([decode_finding(row) for row in rows])
