"""The catalogue as Backstage entities: a Component (a Resource for platform services) per Service, a
Group per Team and a User per team member, with their relations (owner, dependsOn, system, parent,
children, members, memberOf), links, and the tier, SLA target and compliance status as annotations and
labels.

Everything written satisfies Backstage's own rules (`@backstage/catalog-model`): a label, annotation
or tag that does not is left out and said so. The annotations `svcascode.io/*` carry what Backstage has
no field for, so that `import backstage` reads the same documents back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from svcascode.backstage.names import (
    CLASSIFICATION, COMPLIANCE, HARD_DEPENDENCIES, ROLES, SLA_TARGET, SUPPLIER, SUPPORT_HOURS, SYSTEM_LABEL, TIER,
    TYPE, as_backstage_name, backstage_key, backstage_label_value, backstage_name, backstage_tag,
)
from svcascode.catalogue import Catalogue
from svcascode.documents import Document

API_VERSION = "backstage.io/v1alpha1"
HEADER = ("# Backstage catalog entities written by `svcascode export backstage` from the svcascode catalogue.\n"
          "# Generated: edit the svcascode documents, not this file.\n")
_SET_BY_EXPORT = frozenset({TIER, TYPE, SLA_TARGET, COMPLIANCE, SUPPORT_HOURS, CLASSIFICATION, SUPPLIER,
                            HARD_DEPENDENCIES, ROLES})


@dataclass
class Export:
    entities: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out, located in the svcascode files

    def text(self) -> str:
        return HEADER + yaml.safe_dump_all(self.entities, sort_keys=False, allow_unicode=True, width=100,
                                           explicit_start=True)


def _note(document: Document, path: tuple[str | int, ...], message: str) -> str:
    line, column = document.raw.locate(path)
    return f"{document.file}:{line}:{column}: {document.kind}/{document.name}: {message}"


def _metadata(document: Document, export: Export, labels: dict[str, str],
              annotations: dict[str, str]) -> dict[str, Any]:
    meta = document.model.metadata
    out: dict[str, Any] = {"name": document.name}
    if meta.title:
        out["title"] = meta.title
    if meta.description:
        out["description"] = meta.description
    kept_labels: dict[str, str] = {}
    for key, value in meta.labels.items():
        if key in labels:
            continue
        if backstage_key(key) and backstage_label_value(value):
            kept_labels[key] = value
        else:
            export.notes.append(_note(document, ("metadata", "labels", key), f"label {key}: {value!r} not exported: "
                                      "Backstage label keys are [prefix/]name and values at most 63 characters of "
                                      "[a-zA-Z0-9] separated by - _ ."))
    kept_labels.update(labels)
    if kept_labels:
        out["labels"] = kept_labels
    kept_annotations: dict[str, str] = {}
    for key, value in meta.annotations.items():
        if key in _SET_BY_EXPORT:
            continue
        if backstage_key(key):
            kept_annotations[key] = value
        else:
            export.notes.append(_note(document, ("metadata", "annotations", key), f"annotation {key!r} not exported: "
                                      "a Backstage annotation key is [prefix/]name"))
    kept_annotations.update(annotations)
    if kept_annotations:
        out["annotations"] = kept_annotations
    tags = [t for t in meta.tags if backstage_tag(t)]
    for index, tag in enumerate(meta.tags):
        if not backstage_tag(tag):
            export.notes.append(_note(document, ("metadata", "tags", index), f"tag {tag!r} not exported: Backstage "
                                      "tags are lower-case [a-z0-9+#] separated by '-', at most 63 characters"))
    if tags:
        out["tags"] = tags
    links = [{"url": link.url, **({"title": link.title} if link.title else {})} for link in meta.links]
    if links:
        out["links"] = links
    return out


def _sla_target(levels: Iterable[Document]) -> str | None:
    targets = [level.spec.availability.target_percent for level in levels if level.spec.type == "SLA"]
    return f"{max(targets):g}" if targets else None


def _service(document: Document, catalogue: Catalogue, status: str | None, levels: list[Document],
             export: Export) -> dict[str, Any]:
    spec = document.spec
    resource = spec.type == "platform"
    labels = {TIER: spec.tier}
    annotations = {TIER: spec.tier, TYPE: spec.type, SUPPORT_HOURS: spec.support_hours,
                   CLASSIFICATION: spec.data.classification}
    if spec.supplier:
        annotations[SUPPLIER] = spec.supplier
    hard = [d.service for d in spec.dependencies if d.criticality == "hard"]
    if hard:
        annotations[HARD_DEPENDENCIES] = ",".join(hard)
    target = _sla_target(levels)
    if target is not None:
        annotations[SLA_TARGET] = target
        labels[SLA_TARGET] = target
    if status is not None:
        annotations[COMPLIANCE] = status
        labels[COMPLIANCE] = status
    metadata = _metadata(document, export, labels, annotations)
    runbook = spec.operations.runbook if spec.operations is not None else None
    if runbook and all(link["url"] != runbook for link in metadata.get("links", [])):
        metadata.setdefault("links", []).append({"url": runbook, "title": "Runbook", "type": "runbook"})
    out_spec: dict[str, Any] = {"type": "platform" if resource else "service", "lifecycle": spec.lifecycle,
                                "owner": f"group:{spec.owner}"}
    system = document.model.metadata.labels.get(SYSTEM_LABEL)
    if isinstance(system, str) and backstage_name(system):
        out_spec["system"] = system
    depends = []
    for dependency in spec.dependencies:
        target_document = catalogue.get("Service", dependency.service)
        kind = "resource" if target_document is not None and target_document.spec.type == "platform" else "component"
        depends.append(f"{kind}:{dependency.service}")
    if depends:
        out_spec["dependsOn"] = depends
    return {"apiVersion": API_VERSION, "kind": "Resource" if resource else "Component", "metadata": metadata,
            "spec": out_spec}


def _user_names(teams: list[Document]) -> dict[str, str]:
    """A Backstage User name for each member id: the e-mail's local part, else the whole id, unique."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for team in teams:
        for member in team.spec.members:
            if member.id in names:
                continue
            local = member.id.split("@")[0] if "@" in member.id else member.id
            for candidate in (as_backstage_name(local), as_backstage_name(member.id)):
                if candidate and candidate not in taken:
                    break
            else:
                base = as_backstage_name(member.id)[:56] or "user"
                candidate = next(f"{base}-{n}" for n in range(2, 10_000) if f"{base}-{n}" not in taken)
            names[member.id] = candidate
            taken.add(candidate)
    return names


def _team(document: Document, teams: list[Document], users: dict[str, str], export: Export) -> dict[str, Any]:
    spec = document.spec
    roles = {m.id: m.role for m in spec.members if m.role != "member"}
    annotations = {ROLES: json.dumps(roles, ensure_ascii=False)} if roles else {}
    metadata = _metadata(document, export, {}, annotations)
    profile: dict[str, str] = {}
    if document.model.metadata.title:
        profile["displayName"] = document.model.metadata.title
    if spec.email:
        profile["email"] = spec.email
    out_spec: dict[str, Any] = {"type": spec.type}
    if profile:
        out_spec["profile"] = profile
    if spec.parent:
        out_spec["parent"] = f"group:{spec.parent}"
    out_spec["children"] = [f"group:{t.name}" for t in teams if t.spec.parent == document.name]
    out_spec["members"] = [f"user:{users[m.id]}" for m in spec.members]
    return {"apiVersion": API_VERSION, "kind": "Group", "metadata": metadata, "spec": out_spec}


def export_backstage(catalogue: Catalogue, statuses: dict[str, str]) -> Export:
    """Every Team, its members and every Service of `catalogue` as Backstage entities; `statuses` are the
    services' compliance statuses (non-compliant, warnings, waived, compliant)."""
    export = Export()
    teams = sorted(catalogue.of_kind("Team"), key=lambda d: d.name)
    users = _user_names(teams)
    export.entities.extend(_team(team, teams, users, export) for team in teams)
    member_of: dict[str, list[str]] = {}
    for team in teams:
        for member in team.spec.members:
            groups = member_of.setdefault(member.id, [])
            if f"group:{team.name}" not in groups:
                groups.append(f"group:{team.name}")
    for member_id, name in users.items():
        spec: dict[str, Any] = {"memberOf": member_of.get(member_id, [])}
        if "@" in member_id:
            spec = {"profile": {"email": member_id}, **spec}
        export.entities.append({"apiVersion": API_VERSION, "kind": "User", "metadata": {"name": name}, "spec": spec})
    for service in sorted(catalogue.of_kind("Service"), key=lambda d: d.name):
        export.entities.append(_service(service, catalogue, statuses.get(service.name),
                                        catalogue.levels_of(service.name), export))
    return export
