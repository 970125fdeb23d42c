"""JSON: a stable, documented document (see README "JSON output"); `version` changes only with its shape."""

from __future__ import annotations

import json
from typing import Any

from svcascode.escape import inert_json
from svcascode.finding import Finding
from svcascode.formats.report import Report

JSON_FORMAT_VERSION = 1
LARGE = 2000  # findings above which the output is written without indentation


def finding_json(finding: Finding, report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity,
        "enforcement": finding.enforcement,
        "failing": report.failing(finding),
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "path": finding.json_path,
        "kind": finding.kind or None,
        "name": finding.name or None,
        "fingerprint": finding.fingerprint,
        "suppressed": finding.suppressed,
    }
    if finding.suppressed:
        out["waiver"] = {"name": finding.waiver, "justification": finding.justification}
    status = report.status(finding)
    if status is not None:  # with --base: new, touched or existing
        out["status"] = status
    for key, value in finding.extra:
        out.setdefault(key, value)
    return out


def render(report: Report) -> str:
    body: dict[str, Any] = {
        "version": JSON_FORMAT_VERSION,
        "tool": {"name": "svcascode", "version": report.version},
        "command": report.command,
        "asOf": report.as_of,
        "failOn": report.fail_on,
        "exitCode": report.exit_code,
        "valid": not any(f.rule in ("yaml-invalid", "schema-invalid", "file-refused", "ref-unresolved",
                                     "name-duplicate", "dependency-cycle") for f in report.findings),
        "summary": {"documents": report.documents, "files": report.files, **report.counts()},
        "findings": [finding_json(f, report) for f in sorted(report.findings, key=Finding.sort_key)],
    }
    body.update(report.extra)
    # Indented for people; compact (and encoded by the C encoder, many times faster) when it is large.
    indent = 2 if len(report.findings) <= LARGE else None
    text = json.dumps(body, indent=indent, ensure_ascii=False)
    del body  # the findings as dicts, most of a large output's memory, are let go before the text is copied
    # Exact text, but bidirectional and C1 characters as JSON escapes: nothing acts on a terminal or a CI log.
    return inert_json(text) + "\n"
