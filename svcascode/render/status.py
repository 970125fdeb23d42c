"""Which services a document or finding is about, and the compliance status that follows for each service.

A finding counts for a service when it is about the service itself or about a document that relates
to it: its service levels, the access policies that target it, the maintenance windows that cover it,
and evidence whose subject is one of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.engine import Evaluation
from svcascode.finding import Finding

# The order is the order of badness: a service's status is the worst that applies.
STATUSES = ("non-compliant", "warnings", "waived", "compliant")
PASSED, FAILED, WAIVED, WARNING, NOT_APPLICABLE = "passed", "failed", "waived", "warning", "not applicable"


def services_of(catalogue: Catalogue, document: Document | None, depth: int = 0) -> list[str]:
    """Names of the services a document is about."""
    if document is None or depth > 3:
        return []
    spec = document.spec
    if document.kind == "Service":
        return [document.name]
    if document.kind == "ServiceLevel":
        return [spec.service]
    if document.kind == "AccessPolicy":
        return list(spec.targets)
    if document.kind == "MaintenanceWindow":
        if spec.services:
            return list(spec.services)
        selector = spec.selector
        return [s.name for s in catalogue.of_kind("Service")
                if (not selector.tiers or s.spec.tier in selector.tiers)
                and all(s.labels.get(k) == v for k, v in selector.labels.items())]
    if document.kind == "Evidence":
        return services_of(catalogue, catalogue.resolve(spec.subject), depth + 1)
    if document.kind == "Waiver":
        return [n for s in spec.subjects for n in services_of(catalogue, catalogue.resolve(s), depth + 1)]
    return []


def finding_services(catalogue: Catalogue, finding: Finding) -> list[str]:
    if not finding.kind:
        return []
    return services_of(catalogue, catalogue.get(finding.kind, finding.name))


def owning_teams(catalogue: Catalogue, finding: Finding) -> list[str]:
    """The teams that own the services a finding is about; for a Team document, the team itself."""
    if finding.kind == "Team":
        return [finding.name]
    owners = []
    for name in finding_services(catalogue, finding):
        service = catalogue.get("Service", name)
        if service is not None and service.spec.owner not in owners:
            owners.append(service.spec.owner)
    return owners


def is_open_failure(finding: Finding) -> bool:
    return not finding.suppressed and finding.enforcement == "block"


@dataclass
class ControlStatus:
    """One control's outcome for one service."""

    control: Document
    status: str
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ServiceCompliance:
    service: str
    status: str
    controls: list[ControlStatus]
    findings: list[Finding]

    def count(self, status: str) -> int:
        return sum(1 for c in self.controls if c.status == status)


def control_status(findings: Iterable[Finding], applicable: bool) -> str:
    findings = list(findings)
    if any(is_open_failure(f) for f in findings):
        return FAILED
    if any(not f.suppressed for f in findings):
        return WARNING
    if findings:
        return WAIVED
    return PASSED if applicable else NOT_APPLICABLE


def service_compliance(catalogue: Catalogue, evaluation: Evaluation) -> dict[str, ServiceCompliance]:
    """Each service's status and the status of every evaluated control for it."""
    names = sorted(s.name for s in catalogue.of_kind("Service"))
    by_service: dict[str, list[Finding]] = {n: [] for n in names}
    for finding in evaluation.findings:
        for name in finding_services(catalogue, finding):
            if name in by_service:
                by_service[name].append(finding)
    checked: dict[str, set[str]] = {n: set() for n in names}  # service -> controls that looked at it
    for control, subjects in evaluation.subjects.items():
        for subject in subjects:
            for name in services_of(catalogue, subject):
                if name in checked:
                    checked[name].add(control)
    result: dict[str, ServiceCompliance] = {}
    for name in names:
        rows = []
        for control in sorted(evaluation.controls, key=lambda c: c.name):
            mine = [f for f in by_service[name] if f.rule == control.name]
            rows.append(ControlStatus(control, control_status(mine, control.name in checked[name]), mine))
        result[name] = ServiceCompliance(name, overall(rows), rows, by_service[name])
    return result


def overall(rows: Iterable[ControlStatus]) -> str:
    statuses = {r.status for r in rows}
    if FAILED in statuses:
        return "non-compliant"
    if WARNING in statuses:
        return "warnings"
    if WAIVED in statuses:
        return "waived"
    return "compliant"
