"""The compliance report for auditors: scope, posture per framework and control, findings, waivers,
evidence and the posture trend, as one JSON-ready dict that every format (HTML, Markdown, JSON, OSCAL,
PDF) is drawn from.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

from svcascode import __version__
from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.engine import Evaluation
from svcascode.finding import SEVERITY_RANK, Finding
from svcascode.render import render_template, write_text
from svcascode.render.provenance import History
from svcascode.render.status import owning_teams

SATISFIED, NOT_SATISFIED, WAIVED, NOT_ASSESSED = "satisfied", "not-satisfied", "waived", "not-assessed"


@dataclass(frozen=True)
class ReportInput:
    catalogue: Catalogue
    evaluation: Evaluation
    load_findings: list[Finding]  # what validation found (schema, references, YAML)
    as_of: date
    history: History
    generated_at: datetime


def generated_time() -> datetime:
    """Now, or SOURCE_DATE_EPOCH when set, so that a rebuild can give the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def inputs_digest(catalogue: Catalogue) -> str:
    """sha256 over every input file's path and content, in path order."""
    digest = hashlib.sha256()
    for parsed in sorted(catalogue.files, key=lambda f: f.path):
        digest.update(parsed.path.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(parsed.text.encode("utf-8")).digest())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------
# Posture


def is_main_failure(finding: Finding, control: Document) -> bool:
    """An open finding of the control's main condition (not its warning clause)."""
    return not finding.suppressed and (finding.enforcement == "block" or finding.severity == str(control.spec.severity))


def control_posture(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Control id -> status (satisfied, not-satisfied, waived) and counts."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in evaluation.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    posture: dict[str, dict[str, Any]] = {}
    for control in sorted(evaluation.controls, key=lambda c: c.name):
        findings = by_rule.get(control.name, [])
        failures = [f for f in findings if is_main_failure(f, control)]
        waived = [f for f in findings if f.suppressed]
        status = NOT_SATISFIED if failures else WAIVED if waived else SATISFIED
        posture[control.name] = {
            "status": status, "title": control.model.metadata.title or control.name,
            "severity": str(control.spec.severity), "enforcement": str(control.spec.enforcement),
            "subjects": len(evaluation.subjects.get(control.name, [])), "failures": len(failures),
            "warnings": sum(1 for f in findings if not f.suppressed and f not in failures),
            "waived": len(waived), "file": control.file, "line": control.locate(())[0],
            "mappings": [{"framework": m.framework, "controls": list(m.controls)} for m in control.spec.mappings],
        }
    return posture


def posture_counts(catalogue: Catalogue, evaluation: Evaluation) -> tuple[int, int, int]:
    statuses = [p["status"] for p in control_posture(evaluation).values()]
    return statuses.count(SATISFIED), statuses.count(NOT_SATISFIED), statuses.count(WAIVED)


def framework_posture(catalogue: Catalogue, posture: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per framework, each of its controls with the svcascode controls mapped to it and the outcome."""
    frameworks = []
    for framework in sorted(catalogue.of_kind("Framework"), key=lambda f: f.name):
        mapped: dict[str, list[str]] = {}
        for control_id, row in posture.items():
            for mapping in row["mappings"]:
                if mapping["framework"] == framework.name:
                    for target in mapping["controls"]:
                        mapped.setdefault(target, []).append(control_id)
        listed = [(c.id, c.title or "") for c in framework.spec.controls]
        listed += [(cid, "") for cid in sorted(mapped) if cid not in {i for i, _ in listed}]
        rows = []
        for control_id, title in listed:
            ours = sorted(mapped.get(control_id, []))
            statuses = {posture[c]["status"] for c in ours}
            status = (NOT_ASSESSED if not ours else NOT_SATISFIED if NOT_SATISFIED in statuses
                      else WAIVED if WAIVED in statuses else SATISFIED)
            rows.append({"id": control_id, "title": title, "status": status, "controls": ours})
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in (SATISFIED, NOT_SATISFIED, WAIVED,
                                                                       NOT_ASSESSED)}
        frameworks.append({"name": framework.name, "title": framework.model.metadata.title or framework.name,
                           "version": framework.spec.version, "controls": rows, "counts": counts})
    return frameworks


# ---------------------------------------------------------------------------------------------------
# The report


def build_report(data: ReportInput) -> dict[str, Any]:
    catalogue, evaluation, history = data.catalogue, data.evaluation, data.history
    posture = control_posture(evaluation)
    findings = sorted([*data.load_findings, *evaluation.findings, *evaluation.problems],
                      key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.sort_key()))
    return {
        "scope": {
            "commit": history.commit, "uncommittedChanges": history.dirty, "history": history.note or None,
            "asOf": data.as_of.isoformat(), "generatedAt": data.generated_at.isoformat(),
            "tool": "svcascode", "toolVersion": __version__, "inputsDigest": f"sha256:{inputs_digest(catalogue)}",
            "files": len(catalogue.files), "documents": len(catalogue.documents),
            "services": len(catalogue.of_kind("Service")), "controls": len(evaluation.controls),
        },
        "summary": _summary(posture, findings),
        "frameworks": framework_posture(catalogue, posture),
        "controls": [{"id": cid, **row} for cid, row in posture.items()],
        "findings": [_finding_row(catalogue, f, history) for f in findings],
        "waivers": [_waiver_row(w, data.as_of, evaluation) for w in
                    sorted(catalogue.of_kind("Waiver"), key=lambda w: w.name)],
        "evidence": [_evidence_row(e, data.as_of) for e in
                     sorted(catalogue.of_kind("Evidence"), key=lambda e: (e.spec.performed_at, e.name),
                            reverse=True)],
        "evaluations": _evaluations(evaluation),
        "trend": [{"commit": p.commit, "date": p.date, "satisfied": p.satisfied, "notSatisfied": p.not_satisfied,
                   "waived": p.waived, "openFindings": p.open_findings} for p in history.trend],
    }


def _evaluations(evaluation: Evaluation) -> list[dict[str, Any]]:
    """One row per control checking one document: the observation an auditor can trace."""
    found: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in evaluation.findings:
        found.setdefault((finding.rule, finding.kind, finding.name), []).append(finding)
    rows = []
    for control in sorted(evaluation.controls, key=lambda c: c.name):
        for subject in evaluation.subjects.get(control.name, []):
            mine = found.get((control.name, subject.kind, subject.name), [])
            result = ("fail" if any(is_main_failure(f, control) for f in mine) else
                      "waived" if any(f.suppressed for f in mine) else "warn" if mine else "pass")
            rows.append({"control": control.name, "subject": subject.ref, "kind": subject.kind,
                         "name": subject.name, "file": subject.file, "line": subject.locate(())[0],
                         "result": result, "findings": [f.fingerprint for f in mine]})
    return rows


def _summary(posture: dict[str, dict[str, Any]], findings: list[Finding]) -> dict[str, Any]:
    statuses = [p["status"] for p in posture.values()]
    return {"satisfied": statuses.count(SATISFIED), "notSatisfied": statuses.count(NOT_SATISFIED),
            "waived": statuses.count(WAIVED), "findings": len(findings),
            "openFindings": sum(1 for f in findings if not f.suppressed),
            "waivedFindings": sum(1 for f in findings if f.suppressed)}


def _finding_row(catalogue: Catalogue, finding: Finding, history: History) -> dict[str, Any]:
    seen = history.first_seen.get(finding.fingerprint)
    return {
        "rule": finding.rule, "severity": finding.severity, "enforcement": finding.enforcement,
        "message": finding.message, "file": finding.file, "line": finding.line, "column": finding.column,
        "path": finding.json_path, "subject": finding.subject, "kind": finding.kind, "name": finding.name,
        "teams": owning_teams(catalogue, finding), "waiver": finding.waiver,
        "justification": finding.justification, "fingerprint": finding.fingerprint,
        "firstSeen": None if seen is None else {"commit": seen.commit, "author": seen.author, "date": seen.date,
                                                "atOrBefore": seen.before_range},
    }


def _waiver_row(waiver: Document, as_of: date, evaluation: Evaluation) -> dict[str, Any]:
    spec = waiver.spec
    if spec.requested_by in spec.approved_by:
        state = "invalid: approved by its requester"
    elif as_of < spec.approved_at:
        state = "not yet in force"
    elif as_of >= spec.expires_at:
        state = "expired"
    else:
        state = "active"
    return {"name": waiver.name, "title": waiver.model.metadata.title, "control": spec.control,
            "subjects": list(spec.subjects), "justification": " ".join(str(spec.justification).split()),
            "compensatingControls": " ".join(str(spec.compensating_controls or "").split()) or None,
            "risk": spec.risk.rating if spec.risk else None, "requestedBy": spec.requested_by,
            "approvedBy": list(spec.approved_by), "approvedAt": spec.approved_at.isoformat(),
            "expiresAt": spec.expires_at.isoformat(), "ticket": spec.ticket, "state": state,
            "findingsWaived": evaluation.waiver_matches.get(waiver.name, 0),
            "file": waiver.file, "line": waiver.locate(())[0]}


def _evidence_row(evidence: Document, as_of: date) -> dict[str, Any]:
    spec = evidence.spec
    return {"name": evidence.name, "type": spec.type, "subject": spec.subject,
            "performedAt": spec.performed_at.isoformat(), "ageDays": (as_of - spec.performed_at).days,
            "performedBy": list(spec.performed_by), "result": spec.result, "summary": spec.summary,
            "artifact": spec.artifact, "expiresAt": spec.expires_at.isoformat() if spec.expires_at else None,
            "file": evidence.file, "line": evidence.locate(())[0]}


# ---------------------------------------------------------------------------------------------------
# Formats


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def to_html(report: dict[str, Any], chart: str | None) -> str:
    from markupsafe import Markup

    return render_template("report.html.j2", report=report, chart=Markup(chart) if chart else None,
                           as_of=report["scope"]["asOf"], commit=report["scope"]["commit"])


def to_markdown(report: dict[str, Any], chart_file: str | None) -> str:
    return render_template("report.md.j2", report=report, chart_file=chart_file)


def pdf_available() -> bool:
    """WeasyPrint and the system libraries it loads (Pango, cairo) are present."""
    try:
        import weasyprint  # noqa: F401
    except Exception:  # ImportError, or OSError when a system library is missing
        return False
    return True


def write_pdf(html: str, path: Path) -> Path:
    import weasyprint

    path.parent.mkdir(parents=True, exist_ok=True)
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
    return path


Writer = Callable[[dict[str, Any], Path, str | None], list[Path]]


def write_report(report: dict[str, Any], out: Path, fmt: str, chart: str | None) -> list[Path]:
    """Write the report in one format into `out`; returns the files written."""
    from svcascode.render.oscal import assessment_results

    written: list[Path] = []
    if fmt == "json":
        written.append(write_text(out / "report.json", to_json(report)))
    elif fmt == "oscal":
        written.append(write_text(out / "assessment-results.json", to_json(assessment_results(report))))
    elif fmt == "md":
        if chart:
            written.append(write_text(out / "posture-trend.svg", chart))
        written.append(write_text(out / "report.md", to_markdown(report, "posture-trend.svg" if chart else None)))
    elif fmt in ("html", "pdf"):
        html = to_html(report, chart)
        written.append(write_text(out / "report.html", html))
        if fmt == "pdf":
            written.append(write_pdf(html, out / "report.pdf"))
    return written
