"""OpenSLO v1 documents for every service level measured by an SLO: the Service, its SLOs (as the
catalogue holds them, alert policies by reference), and one AlertPolicy per burn-rate condition.

The folder written is a catalogue of its own (a `.svcascode.yaml` with `roots: [.]`), so
`svcascode -C DIR validate` reads it back, and its SLOs carry the same objectives as the catalogue's.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.models import OPENSLO_API_VERSION
from svcascode.monitoring.prometheus import CONDITIONS, DEFAULT_OVERRIDES, WORKBOOK_WINDOW_SECONDS, factor_of
from svcascode.monitoring.slos import slo_window

SETTINGS = {"roots": ["."], "exclude": [".svcascode.yaml"], "cache": False}


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _targets(catalogue: Catalogue, team: str) -> list[Document]:
    return sorted((t for t in catalogue.of_kind("AlertNotificationTarget")
                   if isinstance(t.model.metadata.labels, dict)
                   and t.model.metadata.labels.get("svcascode.io/team") == team), key=lambda t: t.name)


def alert_policies(catalogue: Catalogue, slo: Document, service: Document) -> list[dict[str, Any]]:
    targets = _targets(catalogue, str(service.spec.owner))
    window = slo_window(slo)
    window_seconds = window.seconds if window is not None else WORKBOOK_WINDOW_SECONDS  # no window: the table's
    policies = []
    for condition in CONDITIONS:
        factor = factor_of(DEFAULT_OVERRIDES, str(service.spec.tier), condition, window_seconds)
        if factor is None:
            continue
        spec: dict[str, Any] = {
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
        }
        if targets:
            spec["notificationTargets"] = [{"targetRef": t.name} for t in targets]
        policies.append({"apiVersion": OPENSLO_API_VERSION, "kind": "AlertPolicy",
                         "metadata": {"name": f"{slo.name}-{condition.name}",
                                      "labels": {"svcascode.io/team": str(service.spec.owner)}},
                         "spec": spec})
    return policies


def export(catalogue: Catalogue) -> dict[str, list[dict[str, Any]]]:
    """File stem -> OpenSLO documents: one file per service, and the notification targets they use."""
    files: dict[str, list[dict[str, Any]]] = {}
    used_targets: dict[str, Document] = {}
    for service in sorted(catalogue.of_kind("Service"), key=lambda s: s.name):
        levels = sorted(catalogue.levels_by_service.get(service.name, ()), key=lambda level: level.name)
        names = dict.fromkeys(n for level in levels
                              for n in (level.spec.availability.slo, *(t.slo for t in level.spec.performance)) if n)
        slos = [s for s in (catalogue.get("SLO", n) for n in names) if s is not None and s.spec.service == service.name]
        if not slos:
            continue
        metadata = service.model.metadata
        documents: list[dict[str, Any]] = [{
            "apiVersion": OPENSLO_API_VERSION, "kind": "Service",
            "metadata": {"name": service.name, "displayName": metadata.title or service.name,
                         "labels": {"svcascode.io/tier": str(service.spec.tier),
                                    "svcascode.io/team": str(service.spec.owner)}},
            "spec": {"description": metadata.description or f"{service.name} (svcascode catalogue)"},
        }]
        for slo in slos:
            data = copy.deepcopy(slo.data)
            policies = alert_policies(catalogue, slo, service)
            spec = data.setdefault("spec", {})
            spec["alertPolicies"] = [{"alertPolicyRef": p["metadata"]["name"]} for p in policies]
            data.setdefault("metadata", {}).setdefault("labels", {})
            if isinstance(data["metadata"]["labels"], dict):
                data["metadata"]["labels"]["svcascode.io/service-levels"] = ",".join(
                    level.name for level in levels if slo.name in (level.spec.availability.slo,
                                                                    *(t.slo for t in level.spec.performance)))
            documents.append(data)
            reference = spec.get("indicatorRef")
            sli = catalogue.get("SLI", reference) if isinstance(reference, str) else None
            if sli is not None:
                documents.append(copy.deepcopy(sli.data))
            documents.extend(policies)
            used_targets.update({t.name: t for t in _targets(catalogue, str(service.spec.owner))})
        files[service.name] = documents
    if used_targets:
        files["notification-targets"] = [copy.deepcopy(t.data) for _, t in sorted(used_targets.items())]
    return files
