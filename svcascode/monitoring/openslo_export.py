"""OpenSLO v1 documents for every service level measured by an SLO: the Service, its SLOs as the
catalogue holds them, and what they refer to, so that the folder is valid OpenSLO on its own.

An SLO keeps the alert policies its author wrote, inline or by reference; the policies, conditions and
notification targets they refer to are exported with it. An SLO without alert policies gets one
AlertPolicy per burn-rate condition of its service's tier, each notifying the owning team's targets:
the AlertNotificationTargets labelled `svcascode.io/team: TEAM`, or, when there are none, an e-mail
target for the team's address (the Team's `email`). A team with neither gets no generated policy (an
AlertPolicy must name a notification target), and the export says so.

The folder written is a catalogue of its own (a `.svcascode.yaml` with `roots: [.]`), so
`svcascode -C DIR validate` reads it back, and its SLOs carry the same objectives as the catalogue's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.models import OPENSLO_API_VERSION
from svcascode.monitoring.prometheus import CONDITIONS, DEFAULT_OVERRIDES, WORKBOOK_WINDOW_SECONDS, factor_of
from svcascode.monitoring.slos import slo_window

SETTINGS = {"roots": ["."], "exclude": [".svcascode.yaml"], "cache": False}
TEAM_LABEL = "svcascode.io/team"
# files of the documents more than one service's SLOs may refer to, each written once
SHARED_FILES = {"AlertNotificationTarget": "notification-targets", "AlertPolicy": "alert-policies",
                "AlertCondition": "alert-policies", "SLI": "indicators", "DataSource": "indicators"}


@dataclass
class Exported:
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # file stem -> OpenSLO documents
    notes: list[str] = field(default_factory=list)  # located, about what could not be exported


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _team_targets(catalogue: Catalogue, team: str) -> list[Document]:
    return sorted((t for t in catalogue.of_kind("AlertNotificationTarget")
                   if isinstance(t.model.metadata.labels, dict) and t.model.metadata.labels.get(TEAM_LABEL) == team),
                  key=lambda t: t.name)


def _email_target(catalogue: Catalogue, team: Document) -> dict[str, Any] | None:
    """An AlertNotificationTarget for the team's e-mail address, when the Team gives one."""
    if not team.spec.email:
        return None
    name = next(n for n in (f"{team.name}-email", *(f"{team.name}-email-{i}" for i in range(2, 100)))
                if catalogue.get("AlertNotificationTarget", n) is None)
    return {"apiVersion": OPENSLO_API_VERSION, "kind": "AlertNotificationTarget",
            "metadata": {"name": name, "labels": {TEAM_LABEL: team.name}},
            "spec": {"target": "email", "description": f"E-mail to team {team.name} at {team.spec.email}"}}


def alert_policies(slo: Document, service: Document, targets: list[str]) -> list[dict[str, Any]]:
    """One AlertPolicy per burn-rate condition of the service's tier, notifying `targets` (not empty), its
    factors scaled to the SLO's window."""
    window = slo_window(slo)
    window_seconds = window.seconds if window is not None else WORKBOOK_WINDOW_SECONDS  # no window: the table's
    policies = []
    for condition in CONDITIONS:
        factor = factor_of(DEFAULT_OVERRIDES, str(service.spec.tier), condition, window_seconds)
        if factor is None:
            continue
        policies.append({"apiVersion": OPENSLO_API_VERSION, "kind": "AlertPolicy",
                         "metadata": {"name": f"{slo.name}-{condition.name}",
                                      "labels": {TEAM_LABEL: str(service.spec.owner)}},
                         "spec": {
            "description": f"Error budget burning at {factor}x over {condition.long} and over {condition.short} "
                           f"({condition.severity})",
            "alertWhenBreaching": True,
            "alertWhenResolved": True,
            "conditions": [{
                "kind": "AlertCondition",
                "metadata": {"name": f"{slo.name}-{condition.name}-condition"},
                "spec": {"severity": condition.severity,
                         "condition": {"kind": "burnrate", "op": "gte", "threshold": _number(factor),
                                       "lookbackWindow": condition.long}},
            }],
            "notificationTargets": [{"targetRef": name} for name in targets],
        }})
    return policies


def _references(catalogue: Catalogue, slo: Document) -> Iterator[Document]:
    """The OpenSLO documents an SLO refers to, and those they refer to: its SLI, data sources, alert
    policies, their conditions and notification targets."""
    spec = slo.data.get("spec") if isinstance(slo.data, dict) else None
    if not isinstance(spec, dict):
        return
    indicators = [spec.get("indicator"), *(o.get("indicator") for o in _list(spec.get("objectives")))]
    for name in [spec.get("indicatorRef"), *(o.get("indicatorRef") for o in _list(spec.get("objectives")))]:
        sli = catalogue.get("SLI", name) if isinstance(name, str) else None
        if sli is not None:
            yield sli
            indicators.append(sli.data)
    for source in _metric_sources(indicators):
        data_source = catalogue.get("DataSource", source) if isinstance(source, str) else None
        if data_source is not None:
            yield data_source
    for item in _list(spec.get("alertPolicies")):
        policy: Any = item
        if isinstance(item.get("alertPolicyRef"), str):
            found = catalogue.get("AlertPolicy", item["alertPolicyRef"])
            if found is None:
                continue
            yield found
            policy = found.data
        policy_spec = policy.get("spec") if isinstance(policy, dict) else None
        if not isinstance(policy_spec, dict):
            continue
        for kind, items, key in (("AlertCondition", "conditions", "conditionRef"),
                                 ("AlertNotificationTarget", "notificationTargets", "targetRef")):
            for entry in _list(policy_spec.get(items)):
                document = catalogue.get(kind, entry[key]) if isinstance(entry.get(key), str) else None
                if document is not None:
                    yield document


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _metric_sources(indicators: list[Any]) -> Iterator[Any]:
    stack = list(indicators)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "metricSourceRef" in item:
                yield item["metricSourceRef"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def export(catalogue: Catalogue) -> Exported:
    """One file per service measured by an SLO, and one per kind of the documents their SLOs share."""
    out = Exported()
    shared: dict[tuple[str, str], dict[str, Any]] = {}
    for service in sorted(catalogue.of_kind("Service"), key=lambda s: s.name):
        levels = sorted(catalogue.levels_of(service.name), key=lambda level: level.name)
        names = dict.fromkeys(n for level in levels
                              for n in (level.spec.availability.slo, *(t.slo for t in level.spec.performance)) if n)
        slos = [s for s in (catalogue.get("SLO", n) for n in names) if s is not None and s.spec.service == service.name]
        if not slos:
            continue
        metadata = service.model.metadata
        documents: list[dict[str, Any]] = [{
            "apiVersion": OPENSLO_API_VERSION, "kind": "Service",
            "metadata": {"name": service.name, "displayName": metadata.title or service.name,
                         "labels": {"svcascode.io/tier": str(service.spec.tier), TEAM_LABEL: str(service.spec.owner)}},
            "spec": {"description": (metadata.description or f"{service.name} (svcascode catalogue)")[:1050]},
        }]
        for slo in slos:
            data = copy.deepcopy(slo.data)
            data.setdefault("metadata", {}).setdefault("labels", {})
            if isinstance(data["metadata"]["labels"], dict):
                data["metadata"]["labels"]["svcascode.io/service-levels"] = ",".join(
                    level.name for level in levels if slo.name in (level.spec.availability.slo,
                                                                    *(t.slo for t in level.spec.performance)))
            documents.append(data)
            for document in _references(catalogue, slo):
                shared.setdefault((document.kind, document.name), copy.deepcopy(document.data))
            if data["spec"].get("alertPolicies"):
                continue  # the author's own policies, kept as written
            targets = [t.name for t in _team_targets(catalogue, str(service.spec.owner))]
            for target in _team_targets(catalogue, str(service.spec.owner)):
                shared.setdefault((target.kind, target.name), copy.deepcopy(target.data))
            team = catalogue.get("Team", str(service.spec.owner))
            if not targets and team is not None and (email := _email_target(catalogue, team)) is not None:
                name = email["metadata"]["name"]
                shared.setdefault(("AlertNotificationTarget", name), email)
                targets = [name]
            if not targets:
                line, column = slo.locate(("spec",))
                out.notes.append(f"{slo.file}:{line}:{column}: SLO/{slo.name}: exported without alert policies: it "
                                 f"has none, and team {service.spec.owner} has no AlertNotificationTarget labelled "
                                 f"{TEAM_LABEL}: {service.spec.owner} and no e-mail to notify")
                continue
            policies = alert_policies(slo, service, targets)
            data["spec"]["alertPolicies"] = [{"alertPolicyRef": p["metadata"]["name"]} for p in policies]
            documents.extend(policies)
        out.files[service.name] = documents
    for (kind, name), data in sorted(shared.items(), key=lambda item: (SHARED_FILES[item[0][0]], item[0])):
        out.files.setdefault(SHARED_FILES[kind], []).append(data)
    return out
