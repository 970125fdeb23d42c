"""The report as an OSCAL assessment-results document (OSCAL 1.1), as compliance-trestle loads it.

One result per run. Its reviewed controls are the framework controls the control library maps to
(ISO/IEC 27001 A.5.15, SOC 2 CC6.1, NIST SP 800-53 AC-2), one control selection per framework.

- One observation per evaluation (a svcascode control checking one document), naming in its props the
  framework controls that svcascode control maps to.
- One finding per framework control that some evaluated svcascode control maps to. Its target is that
  control: ``type: objective-id`` and ``target-id`` the control id in OSCAL form (``ac-2``,
  ``ac-2.3`` for NIST's ``AC-2(3)``; ISO and SOC 2 ids are already OSCAL tokens and stay as written),
  with the framework and the id as written in props. The state is satisfied when every svcascode
  control mapped to it that checked anything is satisfied, otherwise not-satisfied. The finding's
  related observations are the evaluations of those svcascode controls, its related risks their
  waived failures.
- One risk per waived failure, with status deviation-approved and the waiver's expiry as its deadline.

``import-ap`` points at a back-matter resource of the same document (``#<uuid>``), the form OSCAL
gives a reference to something the document carries itself: the assessment plan is the control
library, and the resource links each Control document that was evaluated, by its path in the
repository like the evidence links, at the commit in its props. Evidence links carry the file path
and the commit. Every UUID is a uuid5 of what it identifies, so the same inputs give the same document.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

OSCAL_VERSION = "1.1.2"
NS = "https://svcascode.io/ns/oscal"
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)
_NIST_ENHANCEMENT = re.compile(r"^([A-Za-z]{2})-(\d+)\((\d+)\)$")
_TOKEN_START = re.compile(r"[A-Za-z_]")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]")
# svcascode control statuses that say nothing about a framework control: the check selected nothing
_SILENT = ("not-applicable",)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_ROOT, "\x1f".join(parts)))


def _prop(name: str, value: Any, cls: str | None = None) -> dict[str, str]:
    prop = {"name": name, "ns": NS, "value": str(value)}
    if cls:
        prop["class"] = _token(cls)
    return prop


def _midnight(day: str) -> str:
    return f"{day}T00:00:00+00:00"


def _token(text: str) -> str:
    """`text` as an OSCAL token: characters outside [A-Za-z0-9_.-] become "-", and it starts with a letter or "_"."""
    token = _NOT_TOKEN.sub("-", text)
    return token if token and _TOKEN_START.match(token) else f"_{token}"


def oscal_control_id(framework: str, control_id: str) -> str:
    """A framework control id as OSCAL catalogs spell it: NIST SP 800-53 ``AC-2(3)`` is ``ac-2.3``.

    NIST publishes its catalog in OSCAL with lower-case ids and enhancements after a dot; ISO/IEC 27001
    (``A.5.15``) and SOC 2 (``CC6.1``) have no official OSCAL catalog, and their ids are kept as written.
    """
    if framework.startswith("nist-800-53"):
        enhancement = _NIST_ENHANCEMENT.match(control_id)
        text = f"{enhancement.group(1)}-{enhancement.group(2)}.{enhancement.group(3)}" if enhancement else control_id
        return _token(text.lower())
    return _token(control_id)


def assessment_results(report: dict[str, Any]) -> dict[str, Any]:
    scope = report["scope"]
    commit = scope["commit"] or "uncommitted"
    run = _uuid("run", scope["inputsDigest"], scope["asOf"], commit)
    findings_by_print = {f["fingerprint"]: f for f in report["findings"]}
    expiry = {w["name"]: w["expiresAt"] for w in report["waivers"]}
    mappings = {c["id"]: c.get("mappings") or [] for c in report["controls"]}
    observations, risks = [], []
    observations_of: dict[str, list[str]] = {}
    risks_of: dict[str, list[str]] = {}
    for item in report["evaluations"]:
        observation = _uuid("observation", run, item["control"], item["subject"])
        observations_of.setdefault(item["control"], []).append(observation)
        found = [findings_by_print[p] for p in item["findings"] if p in findings_by_print]
        observations.append(_observation(observation, item, found, scope, commit, mappings.get(item["control"], [])))
        for finding in found:
            if finding["waiver"]:
                risk = _uuid("risk", run, finding["fingerprint"])
                risks_of.setdefault(item["control"], []).append(risk)
                risks.append(_risk(risk, observation, finding, expiry.get(finding["waiver"])))
    targets = _framework_targets(report)
    oscal_findings = [f for f in (_finding(target, run, observations_of, risks_of) for target in targets) if f]
    plan = _uuid("assessment-plan", run)
    result: dict[str, Any] = {
        "uuid": _uuid("result", run),
        "title": f"svcascode compliance check as of {scope['asOf']}",
        "description": f"Every control of the catalogue evaluated as of {scope['asOf']} at commit {commit}.",
        "start": scope["generatedAt"], "end": scope["generatedAt"],
        "props": [_prop("as-of", scope["asOf"]), _prop("commit", commit),
                  _prop("inputs-digest", scope["inputsDigest"])],
        "reviewed-controls": {"control-selections": _selections(targets)},
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
        "import-ap": {"href": f"#{plan}", "remarks": "The assessment plan is the control library: the Control "
                      "documents evaluated, with their selectors, Baselines and Waivers, described by the "
                      "back-matter resource this reference names."},
        "results": [result],
        "back-matter": {"resources": [_plan_resource(plan, report, commit)]},
    }}


def _framework_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (framework, control id) some svcascode control maps to, with its title and those controls."""
    titles = {(fw["name"], c["id"]): c.get("title") or "" for fw in report.get("frameworks", [])
              for c in fw.get("controls", [])}
    framework_titles = {fw["name"]: fw.get("title") or fw["name"] for fw in report.get("frameworks", [])}
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    for control in report["controls"]:
        for mapping in control.get("mappings") or []:
            for control_id in mapping["controls"]:
                key = (mapping["framework"], control_id)
                target = targets.setdefault(key, {
                    "framework": mapping["framework"], "frameworkTitle": framework_titles.get(mapping["framework"],
                                                                                              mapping["framework"]),
                    "id": control_id, "oscalId": oscal_control_id(mapping["framework"], control_id),
                    "title": titles.get(key, ""), "controls": []})
                target["controls"].append(control)
    return [targets[key] for key in sorted(targets)]


def _selections(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not targets:
        return [{"include-all": {}}]
    selections: dict[str, dict[str, Any]] = {}
    for target in targets:
        selection = selections.setdefault(target["framework"], {
            "description": f"{target['frameworkTitle']}: the controls the control library maps to.",
            "props": [_prop("framework", target["framework"])], "include-controls": []})
        if not any(c["control-id"] == target["oscalId"] for c in selection["include-controls"]):
            selection["include-controls"].append({"control-id": target["oscalId"]})
    return list(selections.values())


def _observation(identity: str, item: dict[str, Any], found: list[dict[str, Any]], scope: dict[str, Any],
                 commit: str, mappings: list[dict[str, Any]]) -> dict[str, Any]:
    outcome = item["result"]
    description = f"{item['control']} checked {item['subject']}: {outcome}"
    concerns = [f"{m['framework']} {c}" for m in mappings for c in m["controls"]]
    if concerns:
        description += f" (concerns {', '.join(concerns)})"
    if found:
        description += "; " + "; ".join(f["message"] for f in found[:5])
    return {
        "uuid": identity, "title": f"{item['control']} on {item['subject']}", "description": description,
        "props": [_prop("result", outcome), _prop("control", item["control"]),
                  *(_prop("framework-control", c, m["framework"]) for m in mappings for c in m["controls"])],
        "methods": ["TEST"], "types": ["control-objective"] if not found else ["finding"],
        "subjects": [{"subject-uuid": _uuid("subject", item["subject"]), "type": "component",
                      "title": item["subject"]}],
        "relevant-evidence": [{
            "href": _href(item["file"], item["line"], {"scope": scope}),
            "description": f"{item['kind']} {item['name']} in {item['file']} line {item['line']} at commit {commit}",
            "props": [_prop("file", item["file"]), _prop("commit", commit)],
        }],
        "collected": scope["generatedAt"],
    }


def _finding(target: dict[str, Any], run: str, observations_of: dict[str, list[str]],
             risks_of: dict[str, list[str]]) -> dict[str, Any] | None:
    """The finding on one framework control, or None when none of its svcascode controls checked anything."""
    checking = [c for c in target["controls"] if c["status"] not in _SILENT]
    if not checking:
        return None
    statuses = {c["status"] for c in checking}
    if statuses == {"satisfied"}:
        state, reason = "satisfied", "pass"
    elif statuses & {"not-satisfied", "waived", "warning"}:
        state, reason = "not-satisfied", "fail"
    else:  # a svcascode control that could not be evaluated: the objective is not shown to be met
        state, reason = "not-satisfied", "other"
    framework, control_id = target["framework"], target["id"]
    checked_by = "; ".join(f"{c['id']} {c['status']} ({c['failures']} open failure(s), {c['waived']} waived, "
                           f"{c['warnings']} warning(s) over {c['subjects']} document(s))" for c in checking)
    title = f"{target['frameworkTitle']} {control_id}" + (f": {target['title']}" if target["title"] else "")
    named = [_prop("framework", framework), _prop("control-id", control_id, framework)]
    finding: dict[str, Any] = {
        "uuid": _uuid("finding", run, framework, control_id),
        "title": title,
        "description": f"{framework} {control_id} {state}, checked by {checked_by}.",
        "props": [*named, _prop("posture", _posture(statuses)),
                  *(_prop("checked-by", c["id"]) for c in checking)],
        "target": {"type": "objective-id", "target-id": target["oscalId"],
                   "title": f"{framework} {control_id}", "props": named,
                   "status": {"state": state, "reason": reason}},
    }
    observations = [o for c in checking for o in observations_of.get(c["id"], [])]
    risks = [r for c in checking for r in risks_of.get(c["id"], [])]
    if observations:
        finding["related-observations"] = [{"observation-uuid": o} for o in observations]
    if risks:
        finding["related-risks"] = [{"risk-uuid": r} for r in risks]
    return finding


_POSTURE_ORDER = ("not-satisfied", "not-assessed", "warning", "waived", "satisfied")


def _posture(statuses: set[str]) -> str:
    """The worst svcascode status among those checking one framework control."""
    return next((s for s in _POSTURE_ORDER if s in statuses), sorted(statuses)[0])


def _plan_resource(identity: str, report: dict[str, Any], commit: str) -> dict[str, Any]:
    controls = report["controls"]
    return {
        "uuid": identity,
        "title": "svcascode assessment plan: the control library",
        "description": f"The {len(controls)} Control documents evaluated, each with the documents it selects, "
                       "the Baseline parameters and the Waivers in force, at the commit in this resource's props. "
                       "Links are paths in the repository, like the observations' evidence links; a control of the "
                       "built-in library is linked as a urn:svcascode:library URN naming the tool version and file.",
        "props": [_prop("commit", commit), _prop("inputs-digest", report["scope"]["inputsDigest"])],
        "rlinks": [{"href": _href(c["file"], c["line"], report)} for c in controls if c.get("file")]
        or [{"href": "policies/"}],
    }


def _href(file: str, line: int, report: dict[str, Any]) -> str:
    """A document's link: its path in the repository, or for the built-in library a URN with the version."""
    from svcascode.library import PREFIX

    if file.startswith(PREFIX + "/"):
        return f"urn:svcascode:library:{report['scope']['toolVersion']}:{file[len(PREFIX) + 1:]}#L{line}"
    return f"{file}#L{line}"


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
