"""SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`) and other SARIF viewers.

What code scanning needs, and where it comes from:

- `tool.driver.rules`: every rule that ran or reported, with `shortDescription` (the title),
  `fullDescription` (the rationale), `help` (the remediation and framework mappings), `helpUri` (the
  rule's entry in the published control reference, for built-in controls and the tool's own rules) and
  `properties.security-severity` (critical 9.5, high 8.0, medium 5.5, low 3.0, info 0.0), which
  GitHub turns into the alert's severity.
- results: `level` from the enforcement (block error, warn warning, audit note); a relative `uri`;
  `startLine` and `startColumn` of at least 1 (columns count code points, `columnKind`);
  `partialFingerprints["svcascode/v1"]` from rule, document and JSON path, so an alert stays the
  same alert when lines move; waived findings are listed with an `external` suppression carrying
  the waiver's justification, so they show as dismissed rather than disappear.
- at most 25,000 results per run: beyond that the most important are kept (failing first, then by
  severity) and `run.properties` says how many were left out.
- with `check --base`, `baselineState` is `new` or `unchanged` (the finding already existed at the base).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Iterable
from urllib.parse import quote

from svcascode.finding import Finding
from svcascode.escape import inert_json, shorten, squash, visible
from svcascode.formats.report import Report, severity_rank

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000  # GitHub code scanning rejects runs with more results
MAX_MESSAGE = 4_000
MAX_TAGS = 20  # GitHub ignores tags beyond 20 per rule
FINGERPRINT_KEY = "svcascode/v1"
INFORMATION_URI = "https://github.com/svcascode/svcascode"

LEVELS = {"block": "error", "warn": "warning", "audit": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
PROBLEM_SEVERITY = {"block": "error", "warn": "warning", "audit": "recommendation"}


def render(report: Report, max_results: int = MAX_RESULTS) -> str:
    return inert_json(json.dumps(sarif_log(report, max_results), indent=2, ensure_ascii=False)) + "\n"


def sarif_log(report: Report, max_results: int = MAX_RESULTS) -> dict[str, Any]:
    kept = _most_important(report, max_results)
    rules = rule_descriptors(report)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "svcascode", "version": report.version, "semanticVersion": report.version,
            "informationUri": INFORMATION_URI, "rules": rules,
        }},
        "invocations": [_invocation(report, len(kept))],
        "columnKind": "unicodeCodePoints",
        "results": _results(kept, report, index),
    }
    properties: dict[str, Any] = {"command": report.command, "failOn": report.fail_on}
    if report.as_of:
        properties["asOf"] = report.as_of
    if len(kept) < len(report.findings):
        total = len(report.findings)
        properties.update(truncated=True, totalResults=total, omittedResults=total - len(kept),
                          note=_truncation_note(total, len(kept)))
    run["properties"] = properties
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _most_important(report: Report, limit: int) -> list[Finding]:
    ordered = sorted(report.findings, key=Finding.sort_key)
    if len(ordered) <= limit:
        return ordered
    ranked = sorted(ordered, key=lambda f: (not report.failing(f), f.suppressed, severity_rank(f.severity)))
    return sorted(ranked[:limit], key=Finding.sort_key)


def _truncation_note(total: int, kept: int) -> str:
    return (f"{total - kept} of {total} results were left out: code scanning "
            f"accepts at most {MAX_RESULTS:,} per run. Failing and more severe findings were kept; "
            "run `svcascode check --format json` for all of them.")


def _invocation(report: Report, kept: int) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True, "exitCode": report.exit_code}
    if kept < len(report.findings):
        invocation["toolExecutionNotifications"] = [
            {"level": "warning", "message": {"text": _truncation_note(len(report.findings), kept)}}]
    return invocation


# ---------------------------------------------------------------------------------------------------
# Rules


def rule_descriptors(report: Report) -> list[dict[str, Any]]:
    """One descriptor per rule in the report's metadata, plus any rule a finding names without metadata."""
    metadata = dict(report.rules)
    for finding in report.findings:
        metadata.setdefault(finding.rule, {"title": finding.rule, "severity": finding.severity,
                                           "enforcement": finding.enforcement})
    return [_descriptor(rule_id, meta) for rule_id, meta in sorted(metadata.items())]


def _descriptor(rule_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    title = squash(meta.get("title") or rule_id)
    description = str(meta.get("description") or "").strip() or title
    severity = str(meta.get("severity") or "medium")
    enforcement = str(meta.get("enforcement") or "block")
    mappings = list(meta.get("mappings") or [])
    help_text, help_markdown = _help(str(meta.get("help") or "").strip(), mappings)
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "name": title,
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
    }
    help_uri = meta.get("helpUri")
    if isinstance(help_uri, str) and help_uri.startswith("https://"):
        descriptor["helpUri"] = help_uri
    return descriptor | {
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS.get(enforcement, "warning")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
            "problem.severity": PROBLEM_SEVERITY.get(enforcement, "warning"),
            "precision": "very-high",
            "severity": severity,
            "enforcement": enforcement,
            "tags": _tags(mappings),
        },
    }


def _help(remediation: str, mappings: list[dict[str, Any]]) -> tuple[str, str]:
    remediation = remediation or "No remediation is documented for this rule."
    lines = [_mapping_line(m) for m in mappings]
    if not lines:
        return remediation, remediation
    text = remediation + "\n\nFramework mappings:\n" + "\n".join(f"- {line}" for line in lines)
    markdown = remediation + "\n\n**Framework mappings**\n\n" + "\n".join(f"- {line}" for line in lines)
    return text, markdown


def _mapping_line(mapping: dict[str, Any]) -> str:
    controls = ", ".join(str(c) for c in mapping.get("controls") or [])
    relationship = mapping.get("relationship")
    return f"{mapping.get('framework', '?')}: {controls}" + (f" ({relationship})" if relationship else "")


def _tags(mappings: Iterable[dict[str, Any]]) -> list[str]:
    tags = ["security", "compliance"]
    for mapping in mappings:
        tags.extend(f"{mapping.get('framework')}/{control}" for control in mapping.get("controls") or [])
    return list(dict.fromkeys(tags))[:MAX_TAGS]


# ---------------------------------------------------------------------------------------------------
# Results


def _results(findings: list[Finding], report: Report, index: dict[str, int]) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    results = []
    # Order fingerprint repeats by message, not line, so the n-th repeat stays the n-th when lines move.
    for finding in sorted(findings, key=lambda f: (f.fingerprint, f.message)):
        seen[finding.fingerprint] += 1
        fingerprint = finding.fingerprint + (f":{seen[finding.fingerprint]}" if seen[finding.fingerprint] > 1 else "")
        results.append((finding.sort_key(), _result(finding, report, index[finding.rule], fingerprint)))
    return [result for _, result in sorted(results, key=lambda pair: pair[0])]


def _result(finding: Finding, report: Report, rule_index: int, fingerprint: str) -> dict[str, Any]:
    message = visible(finding.message, keep="\n\t")
    if finding.kind and finding.name:
        message = f"{visible(finding.subject)}: {message}"
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.enforcement, "warning"),
        "message": {"text": shorten(message, MAX_MESSAGE)},
        "locations": [_location(finding)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {
            "severity": finding.severity,
            "enforcement": finding.enforcement,
            "failing": report.failing(finding),
        },
    }
    status = report.status(finding)
    if status is not None:  # with --base: code scanning's own notion of new and existing results
        # a touched finding: the result was there, its document is edited (it fails as if new)
        result["baselineState"] = {"new": "new", "touched": "updated"}.get(status, "unchanged")
    if finding.suppressed:
        result["suppressions"] = [{
            "kind": "external", "status": "accepted",
            "justification": visible(finding.justification or f"waived by {finding.waiver}", keep="\n\t"),
            "properties": {"waiver": finding.waiver},
        }]
    return result


def _location(finding: Finding) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {
        "artifactLocation": {"uri": relative_uri(finding.file), "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": max(1, finding.line), "startColumn": max(1, finding.column)},
    }}
    if finding.kind and finding.name:
        qualified = f"{finding.kind}/{finding.name}" + (f"/{finding.json_path}" if finding.path else "")
        location["logicalLocations"] = [{"fullyQualifiedName": visible(qualified), "kind": "object"}]
    return location


def relative_uri(file: str) -> str:
    """A relative, percent-encoded URI reference: `services/a b.yaml` -> `services/a%20b.yaml`."""
    path = PureWindowsPath(file) if "\\" in file else PurePosixPath(file)
    parts = [part for part in path.parts if part not in (path.anchor, "", ".")]
    return quote("/".join(parts) or "unknown", safe="/")
