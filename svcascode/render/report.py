"""The compliance report for auditors: scope, posture per framework and control, findings, waivers,
evidence and the posture trend, as one JSON-ready dict that every format (HTML, Markdown, JSON, OSCAL,
PDF) is drawn from.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

from svcascode import __version__
from svcascode.assessment import Assessment, WaiverResult
from svcascode.status import Status, worst
from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.finding import SEVERITY_RANK, Finding
from svcascode.facts import level_in_force
from svcascode.render import render_template, write_text
from svcascode.render.provenance import History


@dataclass(frozen=True)
class ReportInput:
    assessment: Assessment
    history: History
    generated_at: datetime

    @property
    def catalogue(self) -> Catalogue:
        return self.assessment.catalogue

    @property
    def as_of(self) -> date:
        return self.assessment.as_of


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


def control_posture(assessment: Assessment) -> dict[str, dict[str, Any]]:
    """Control id -> status and counts, for every selected control (malformed ones are not-assessed)."""
    posture: dict[str, dict[str, Any]] = {}
    for name, result in sorted(assessment.controls.items()):
        control = result.control
        posture[name] = {
            "status": str(result.status), "title": result.rule.title,
            "severity": result.rule.severity, "enforcement": result.rule.enforcement,
            "subjects": len(result.subjects), "failures": result.failures, "warnings": result.warnings,
            "waived": result.waived, "file": control.file, "line": control.locate(())[0],
            "mappings": [{"framework": m.framework, "controls": list(m.controls)} for m in result.rule.mappings],
        }
    return posture


def posture_counts(assessment: Assessment) -> tuple[int, int, int]:
    return assessment.control_counts()


_FRAMEWORK_STATES = (Status.SATISFIED, Status.NOT_SATISFIED, Status.WARNING, Status.WAIVED, Status.NOT_APPLICABLE,
                     Status.NOT_ASSESSED)


def framework_posture(catalogue: Catalogue, posture: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per framework, every control its Framework document lists, with the svcascode controls mapped to it
    and the outcome; those no control assesses are not-assessed, and coverage is the assessed share."""
    frameworks = []
    for framework in sorted(catalogue.of_kind("Framework"), key=lambda f: f.name):
        mapped: dict[str, list[str]] = {}
        for control_id, row in posture.items():
            for mapping in row["mappings"]:
                if mapping["framework"] == framework.name:
                    for target in mapping["controls"]:
                        mapped.setdefault(target, []).append(control_id)
        listed = {c.id: c.title or "" for c in framework.spec.controls}
        rows = []
        for control_id, title in listed.items():
            ours = sorted(mapped.get(control_id, []))
            status = worst((Status(posture[c]["status"]) for c in ours), Status.NOT_ASSESSED)
            rows.append({"id": control_id, "title": title, "status": str(status), "controls": ours})
        counts = {str(s): sum(1 for r in rows if r["status"] == str(s)) for s in _FRAMEWORK_STATES}
        assessed = sum(1 for r in rows if r["status"] != str(Status.NOT_ASSESSED))
        frameworks.append({
            "name": framework.name, "title": framework.model.metadata.title or framework.name,
            "version": framework.spec.version, "controls": rows, "counts": counts,
            "coverage": {"assessed": assessed, "total": len(rows),
                         "percent": round(100 * assessed / len(rows), 1) if rows else 0.0},
            # mappings to ids the Framework document does not list: a typo, or a framework out of date
            "unlisted": sorted(i for i in mapped if i not in listed),
        })
    return frameworks


# ---------------------------------------------------------------------------------------------------
# The report


def build_report(data: ReportInput) -> dict[str, Any]:
    from svcascode.levels import scorecards_json

    assessment, history = data.assessment, data.history
    catalogue = assessment.catalogue
    posture = control_posture(assessment)
    findings = sorted(assessment.findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.sort_key()))
    frameworks = framework_posture(catalogue, posture)
    rows = [_finding_row(assessment, f, history) for f in findings]
    return {
        "scope": {
            "commit": history.commit, "uncommittedChanges": history.dirty, "history": history.note or None,
            "asOf": data.as_of.isoformat(), "generatedAt": data.generated_at.isoformat(),
            "tool": "svcascode", "toolVersion": __version__, "inputsDigest": f"sha256:{inputs_digest(catalogue)}",
            "files": len(catalogue.files), "documents": len(catalogue.documents),
            "services": len(catalogue.of_kind("Service")), "controls": len(assessment.evaluated),
        },
        "summary": _summary(posture, findings),
        "overview": _overview(catalogue, data.as_of, frameworks, posture, rows, history),
        "frameworks": frameworks,
        "controls": [{"id": cid, **row} for cid, row in posture.items()],
        "findings": rows,
        "waivers": [_waiver_row(w) for w in assessment.waivers.values()],
        "evidence": [_evidence_row(e, data.as_of) for e in
                     sorted(catalogue.of_kind("Evidence"), key=lambda e: (e.spec.performed_at, e.name),
                            reverse=True)],
        "evaluations": _evaluations(assessment),
        "serviceLevelsDelivered": _delivered(catalogue, data.as_of, posture),
        "trend": [{"commit": p.commit, "date": p.date, "satisfied": p.satisfied, "notSatisfied": p.not_satisfied,
                   "waived": p.waived, "openFindings": p.open_findings} for p in history.trend],
        **scorecards_json(assessment),  # maturity levels, when the catalogue defines a Scorecard
    }


def _overview(catalogue: Catalogue, as_of: date, frameworks: list[dict[str, Any]], posture: dict[str, dict[str, Any]],
              findings: list[dict[str, Any]], history: History) -> dict[str, Any]:
    """The report's first screen: per framework its posture and the findings new in the history read; the
    open findings by severity; and the services whose service levels were breached, as their pages say."""
    from svcascode.delivery.ledger import ledger_for

    open_rows = [f for f in findings if not f["waiver"]]
    new = [f for f in open_rows if f["firstSeen"] is not None and not f["firstSeen"]["atOrBefore"]]
    since = history.trend[0] if history.trend else None
    by_framework: dict[str, int] = {}
    for finding in new:
        for mapping in posture.get(finding["rule"], {}).get("mappings", []):
            by_framework[mapping["framework"]] = by_framework.get(mapping["framework"], 0) + 1
    ledger = ledger_for(catalogue, as_of)
    services = {s.name: ledger.service(s.name) for s in sorted(catalogue.of_kind("Service"), key=lambda d: d.name)}
    return {
        "frameworks": [{"name": fw["name"], "title": fw["title"], "coverage": fw["coverage"]["percent"],
                        "counts": fw["counts"], "newFindings": by_framework.get(fw["name"], 0)} for fw in frameworks],
        "openBySeverity": {severity: sum(1 for f in open_rows if f["severity"] == severity)
                           for severity in sorted(SEVERITY_RANK, key=lambda s: -SEVERITY_RANK[s])},
        "since": None if since is None else {"commit": since.commit, "date": since.date,
                                             "notSatisfied": since.not_satisfied, "openFindings": since.open_findings},
        "newFindings": len(new),
        "delivery": {"breached": [{"service": name, "label": d.label, "summary": d.summary()}
                                  for name, d in services.items() if d.status == "breached"],
                     "met": sum(1 for d in services.values() if d.status == "met"),
                     "none": sum(1 for d in services.values() if d.status == "none")},
    }


DELIVERY_CONTROL_PREFIXES = ("inc-", "mon-", "dlv-")  # incident management and monitoring controls


def _delivered(catalogue: Catalogue, as_of: date, posture: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Evidence of service delivery for the incident-management and monitoring controls: each level's last
    complete window attained from the Incident documents (the full pack: `svcascode sla review`)."""
    from svcascode.delivery.ledger import ledger_for

    rows = []
    ledger = ledger_for(catalogue, as_of)
    for level in catalogue.of_kind("ServiceLevel"):
        if not level_in_force(level, as_of):
            continue
        windows = ledger.current_and_last(level)
        if not windows:
            continue
        last = windows[0]
        rows.append({"level": level.name, "service": last.service, "window": last.label,
                     "target": float(last.target_percent), "attained": round(float(last.attained_percent), 4),
                     "status": last.status, "downtimeMinutes": round(float(last.downtime), 2),
                     "credit": None if last.credit_percent is None else float(last.credit_percent)})
    return {"incidents": len(catalogue.of_kind("Incident")), "levels": rows,
            "controls": [cid for cid in posture if cid.startswith(DELIVERY_CONTROL_PREFIXES)],
            "reproduce": "svcascode sla review --period <window>"}


_RESULT = {Status.NOT_SATISFIED: "fail", Status.WAIVED: "waived", Status.WARNING: "warn", Status.SATISFIED: "pass"}


def _evaluations(assessment: Assessment) -> list[dict[str, Any]]:
    """One row per control checking one document: the observation an auditor can trace."""
    rows = []
    for (control, _), pair in sorted(assessment.pairs.items(), key=lambda item: item[0][0]):
        subject = pair.subject
        rows.append({"control": control, "subject": subject.ref, "kind": subject.kind, "name": subject.name,
                     "file": subject.file, "line": subject.locate(())[0], "result": _RESULT[pair.status],
                     "findings": [f.fingerprint for f in pair.findings]})
    return rows


def _summary(posture: dict[str, dict[str, Any]], findings: list[Finding]) -> dict[str, Any]:
    statuses = [p["status"] for p in posture.values()]
    return {"satisfied": statuses.count(Status.SATISFIED), "notSatisfied": statuses.count(Status.NOT_SATISFIED),
            "warning": statuses.count(Status.WARNING), "waived": statuses.count(Status.WAIVED),
            "notApplicable": statuses.count(Status.NOT_APPLICABLE),
            "notAssessed": statuses.count(Status.NOT_ASSESSED), "findings": len(findings),
            "openFindings": sum(1 for f in findings if not f.suppressed),
            "waivedFindings": sum(1 for f in findings if f.suppressed)}


def _finding_row(assessment: Assessment, finding: Finding, history: History) -> dict[str, Any]:
    seen = history.first_seen.get(finding.fingerprint)
    return {
        "rule": finding.rule, "severity": finding.severity, "enforcement": finding.enforcement,
        "message": finding.message, "file": finding.file, "line": finding.line, "column": finding.column,
        "path": finding.json_path, "subject": finding.subject, "kind": finding.kind, "name": finding.name,
        "teams": assessment.teams_of(finding), "waiver": finding.waiver,
        "justification": finding.justification, "fingerprint": finding.fingerprint,
        "firstSeen": None if seen is None else {"commit": seen.commit, "author": seen.author, "date": seen.date,
                                                "atOrBefore": seen.before_range},
    }


def _waiver_row(result: WaiverResult) -> dict[str, Any]:
    waiver = result.waiver
    spec = waiver.spec
    return {"name": waiver.name, "title": waiver.model.metadata.title, "control": spec.control,
            "subjects": list(spec.subjects), "justification": " ".join(str(spec.justification).split()),
            "compensatingControls": " ".join(str(spec.compensating_controls or "").split()) or None,
            "risk": spec.risk.rating if spec.risk else None, "requestedBy": spec.requested_by,
            "approvedBy": list(spec.approved_by), "approvedAt": spec.approved_at.isoformat(),
            "expiresAt": spec.expires_at.isoformat(), "ticket": spec.ticket, "state": str(result.state),
            "suppresses": result.state.suppresses, "findingsWaived": result.matched,
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
        importlib.import_module("weasyprint")
    except Exception:  # ImportError, or OSError when a system library is missing
        return False
    return True


def write_pdf(html: str, out: Path, relative: str) -> Path:
    weasyprint = importlib.import_module("weasyprint")  # optional, untyped: loaded only for a PDF
    data = weasyprint.HTML(string=html, base_url=str(out)).write_pdf()  # bytes, written as every output is
    return write_text(out, relative, bytes(data))


Writer = Callable[[dict[str, Any], Path, str | None], list[Path]]


def write_json(report: dict[str, Any], out: Path, chart: str | None) -> list[Path]:
    return [write_text(out, "report.json", to_json(report))]


def write_oscal(report: dict[str, Any], out: Path, chart: str | None) -> list[Path]:
    from svcascode.render.oscal import assessment_results

    return [write_text(out, "assessment-results.json", to_json(assessment_results(report)))]


def write_markdown(report: dict[str, Any], out: Path, chart: str | None) -> list[Path]:
    written = [write_text(out, "posture-trend.svg", chart)] if chart else []
    written.append(write_text(out, "report.md", to_markdown(report, "posture-trend.svg" if chart else None)))
    return written


def write_html(report: dict[str, Any], out: Path, chart: str | None) -> list[Path]:
    return [write_text(out, "report.html", to_html(report, chart))]


def write_html_and_pdf(report: dict[str, Any], out: Path, chart: str | None) -> list[Path]:
    html = to_html(report, chart)
    return [write_text(out, "report.html", html), write_pdf(html, out, "report.pdf")]


# Name -> writer: also the `render report --format` choices, in the order the help lists them.
REPORT_FORMATS: dict[str, Writer] = {
    "html": write_html,
    "md": write_markdown,
    "json": write_json,
    "oscal": write_oscal,
    "pdf": write_html_and_pdf,
}
