"""JUnit XML for CI test dashboards (GitLab, Jenkins, Azure DevOps): one test suite per file, one test case per finding.

A finding that fails the run is a `<failure>`; a waived one is `<skipped>` with its waiver; one that
is reported but does not fail (warn or audit enforcement, or below --fail-on) passes, with the finding
in `<system-out>`. A clean run is one passing test case, so dashboards show that the check ran. With
`check --base`, each finding's details say whether it is new or already existed at the base.

Whatever the YAML holds, the output parses: ElementTree escapes markup, and characters XML 1.0
cannot carry at all (NUL and the other controls, lone surrogates) are shown as `\\xNN` first. A file
name is shown on one line (a newline in it as `\\x0a`), and no line of the output starts a CI runner's
command (`svcascode.escape.inert`: a message line `::set-env ...` is shown as `\\x3a:set-env ...`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from svcascode.escape import inert, one_line, shorten, visible
from svcascode.finding import Finding
from svcascode.formats.report import Report

MAX_ATTRIBUTE = 1_000


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    suites = [_suite(file, list(group), report) for file, group in groupby(findings, key=lambda f: f.file)]
    if not suites:
        suites = [_clean_suite(report)]
    root = ET.Element("testsuites", _counts(suites), name=f"svcascode {report.command}")
    root.extend(suites)
    ET.indent(root)
    return inert('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def _counts(suites: list[ET.Element]) -> dict[str, str]:
    return {key: str(sum(int(s.get(key, "0")) for s in suites)) for key in ("tests", "failures", "errors", "skipped")}


def _suite(file: str, findings: list[Finding], report: Report) -> ET.Element:
    suite = ET.Element("testsuite", name=_attribute(file), file=_attribute(file))
    cases = [_case(finding, report) for finding in findings]
    suite.extend(cases)
    suite.attrib.update(tests=str(len(cases)), errors="0",
                        failures=str(sum(1 for c in cases if c.find("failure") is not None)),
                        skipped=str(sum(1 for c in cases if c.find("skipped") is not None)))
    return suite


def _case(finding: Finding, report: Report) -> ET.Element:
    name = " ".join(part for part in (finding.rule, finding.subject, finding.json_path) if part)
    case = ET.Element("testcase", name=_attribute(name), classname=_attribute(finding.file),
                      file=_attribute(finding.file), line=str(max(1, finding.line)))
    summary = _attribute(f"{finding.located()}: [{finding.severity}/{finding.enforcement}] {finding.message}")
    if finding.suppressed:
        reason = f"waived by {finding.waiver}: {finding.justification or ''}".rstrip(": ")
        status = report.status(finding)
        reason += f" ({status})" if status else ""  # with --base: new, touched or existing
        ET.SubElement(case, "skipped", message=_attribute(reason))
    elif report.failing(finding):
        failure = ET.SubElement(case, "failure", message=summary, type=_attribute(finding.rule))
        failure.text = _details(finding, report)
    else:
        ET.SubElement(case, "system-out").text = _details(finding, report)
    return case


def _details(finding: Finding, report: Report) -> str:
    rule = report.rules.get(finding.rule, {})
    lines = [
        one_line(f"{finding.located()}: {finding.subject}"),
        f"rule: {finding.rule}" + (f" ({rule['title']})" if rule.get("title") else ""),
        f"severity: {finding.severity}, enforcement: {finding.enforcement}",
    ]
    if finding.path:
        lines.append(f"path: {finding.json_path}")
    lines.append(f"message: {finding.message}")
    if rule.get("help"):
        lines.append(f"remediation: {str(rule['help']).strip()}")
    status = report.status(finding)
    if status == "existing":
        lines.append(f"status: existing (already at the base {report.base}; reported, never failing)")
    elif status == "new":
        lines.append(f"status: new (not at the base {report.base})")
    elif status == "touched":
        lines.append(f"status: touched (already at the base {report.base}, on a document this change edits: "
                     "failing as if new)")
    return visible("\n".join(lines), keep="\n\t")


def _clean_suite(report: Report) -> ET.Element:
    suite = ET.Element("testsuite", name="svcascode", tests="1", failures="0", errors="0", skipped="0")
    ET.SubElement(suite, "testcase", name=f"{report.command}: {report.documents} documents in {report.files} files",
                  classname="svcascode")
    return suite


def _attribute(text: str) -> str:
    return shorten(visible(text), MAX_ATTRIBUTE)
