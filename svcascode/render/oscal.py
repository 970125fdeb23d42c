"""The report as an OSCAL assessment-results document (OSCAL 1.1), as compliance-trestle loads it.

One result per run; one observation per evaluation (a control checking one document); one finding per
control, satisfied or not-satisfied; one risk per waived failure, with status deviation-approved and
the waiver's expiry as its deadline. Evidence links carry the file path and the commit. Every UUID is
a uuid5 of what it identifies, so the same inputs give the same document.
"""

from __future__ import annotations

import uuid
from typing import Any

OSCAL_VERSION = "1.1.2"
NS = "https://svcascode.io/ns/oscal"
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_ROOT, "\x1f".join(parts)))


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": str(value)}


def _midnight(day: str) -> str:
    return f"{day}T00:00:00+00:00"


def assessment_results(report: dict[str, Any]) -> dict[str, Any]:
    scope = report["scope"]
    commit = scope["commit"] or "uncommitted"
    run = _uuid("run", scope["inputsDigest"], scope["asOf"], commit)
    findings_by_print = {f["fingerprint"]: f for f in report["findings"]}
    expiry = {w["name"]: w["expiresAt"] for w in report["waivers"]}
    observations, risks = [], []
    observations_of: dict[str, list[str]] = {}
    risks_of: dict[str, list[str]] = {}
    for item in report["evaluations"]:
        observation = _uuid("observation", run, item["control"], item["subject"])
        observations_of.setdefault(item["control"], []).append(observation)
        found = [findings_by_print[p] for p in item["findings"] if p in findings_by_print]
        observations.append(_observation(observation, item, found, scope, commit))
        for finding in found:
            if finding["waiver"]:
                risk = _uuid("risk", run, finding["fingerprint"])
                risks_of.setdefault(item["control"], []).append(risk)
                risks.append(_risk(risk, observation, finding, expiry.get(finding["waiver"])))
    oscal_findings = [_finding(control, run, observations_of.get(control["id"], []), risks_of.get(control["id"], []))
                      for control in report["controls"]]
    result: dict[str, Any] = {
        "uuid": _uuid("result", run),
        "title": f"svcascode compliance check as of {scope['asOf']}",
        "description": f"Every control of the catalogue evaluated as of {scope['asOf']} at commit {commit}.",
        "start": scope["generatedAt"], "end": scope["generatedAt"],
        "props": [_prop("as-of", scope["asOf"]), _prop("commit", commit),
                  _prop("inputs-digest", scope["inputsDigest"])],
        "reviewed-controls": {"control-selections": [{"include-controls": [
            {"control-id": c["id"]} for c in report["controls"]]}]} if report["controls"] else
        {"control-selections": [{"include-all": {}}]},
        "observations": observations,
        "findings": oscal_findings,
    }
    if risks:
        result["risks"] = risks
    if not observations:
        del result["observations"]
    if not oscal_findings:
        del result["findings"]
    return {"assessment-results": {
        "uuid": _uuid("assessment-results", run),
        "metadata": {
            "title": "svcascode compliance assessment results",
            "last-modified": scope["generatedAt"], "version": scope["inputsDigest"][7:19],
            "oscal-version": OSCAL_VERSION,
            "props": [_prop("tool", scope["tool"]), _prop("tool-version", scope["toolVersion"])],
        },
        "import-ap": {"href": "#", "remarks": "The assessment plan is the control library under policies/: "
                      "every Control document evaluated with its selectors, baselines and waivers."},
        "results": [result],
    }}


def _observation(identity: str, item: dict[str, Any], found: list[dict[str, Any]], scope: dict[str, Any],
                 commit: str) -> dict[str, Any]:
    outcome = item["result"]
    description = f"{item['control']} checked {item['subject']}: {outcome}"
    if found:
        description += "; " + "; ".join(f["message"] for f in found[:5])
    return {
        "uuid": identity, "title": f"{item['control']} on {item['subject']}", "description": description,
        "props": [_prop("result", outcome), _prop("control", item["control"])],
        "methods": ["TEST"], "types": ["control-objective"] if not found else ["finding"],
        "subjects": [{"subject-uuid": _uuid("subject", item["subject"]), "type": "component",
                      "title": item["subject"]}],
        "relevant-evidence": [{
            "href": f"{item['file']}#L{item['line']}",
            "description": f"{item['kind']} {item['name']} in {item['file']} line {item['line']} at commit {commit}",
            "props": [_prop("file", item["file"]), _prop("commit", commit)],
        }],
        "collected": scope["generatedAt"],
    }


def _finding(control: dict[str, Any], run: str, observations: list[str], risks: list[str]) -> dict[str, Any]:
    satisfied = control["status"] == "satisfied"
    finding: dict[str, Any] = {
        "uuid": _uuid("finding", run, control["id"]),
        "title": f"{control['id']}: {control['title']}",
        "description": f"{control['failures']} open failure(s), {control['waived']} waived, "
                       f"{control['warnings']} warning(s) over {control['subjects']} document(s).",
        "props": [_prop("posture", control["status"]), _prop("severity", control["severity"])],
        "target": {"type": "objective-id", "target-id": control["id"],
                   "status": {"state": "satisfied" if satisfied else "not-satisfied"}},
    }
    if observations:
        finding["related-observations"] = [{"observation-uuid": o} for o in observations]
    if risks:
        finding["related-risks"] = [{"risk-uuid": r} for r in risks]
    return finding


def _risk(identity: str, observation: str, finding: dict[str, Any], expires: str | None) -> dict[str, Any]:
    risk: dict[str, Any] = {
        "uuid": identity, "title": f"Waived: {finding['rule']} on {finding['subject']}",
        "description": finding["message"],
        "statement": finding["justification"] or f"Accepted under waiver {finding['waiver']}.",
        "props": [_prop("waiver", finding["waiver"]), _prop("severity", finding["severity"])],
        "status": "deviation-approved",
        "related-observations": [{"observation-uuid": observation}],
    }
    if expires:
        risk["deadline"] = _midnight(expires)
    return risk
