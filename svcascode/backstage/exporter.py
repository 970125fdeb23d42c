"""The catalogue as Backstage entities: a Component (a Resource for platform services, or the kind it was
imported from) per Service, a Group per Team and a User per team member, with their relations (owner,
dependsOn, system, parent, children, members, memberOf), links, and the tier, SLA target and compliance
status as annotations and labels; and what import kept of the Backstage entities (names.ROUND_TRIP):
kinds, types, relations as written, the API of a service's name, the Systems and Domains a team owns.

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
    BACKSTAGE_API, BACKSTAGE_DEFINITION, BACKSTAGE_ENTITIES, BACKSTAGE_KIND, BACKSTAGE_LIFECYCLE, BACKSTAGE_NAMESPACE,
    BACKSTAGE_OWNER, BACKSTAGE_TYPE, BACKSTAGE_USERS, CLASSIFICATION, COMPLIANCE, HARD_DEPENDENCIES, PLACEHOLDERS,
    RELATIONS, ROLES, ROUND_TRIP, SLA_TARGET, SUPPLIER, SUPPORT_HOURS, SYSTEM_LABEL, TIER, TYPE, as_backstage_name,
    LIFECYCLES, TEAM_TYPES, backstage_key, backstage_label_value, backstage_name, backstage_tag, parse_ref, rfc1123,
)
from svcascode.facts import placeholders
from svcascode.catalogue import Catalogue
from svcascode.documents import Document

API_VERSION = "backstage.io/v1alpha1"
HEADER = ("# Backstage catalog entities written by `svcascode export backstage` from the svcascode catalogue.\n"
          "# Generated: edit the svcascode documents, not this file.\n")
# set by export, or read by it into the entity (ROUND_TRIP: what import kept of the Backstage entity)
_SET_BY_EXPORT = frozenset({TIER, TYPE, SLA_TARGET, COMPLIANCE, SUPPORT_HOURS, CLASSIFICATION, SUPPLIER,
                            HARD_DEPENDENCIES, ROLES, *ROUND_TRIP})
KINDS = ("Component", "Resource", "API")


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


def _kept(document: Document, key: str) -> str | None:
    """An annotation import kept of the Backstage entity (names.ROUND_TRIP), when it is text."""
    value = document.model.metadata.annotations.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _kept_json(document: Document, key: str, export: Export) -> Any:
    text = _kept(document, key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        export.notes.append(_note(document, ("metadata", "annotations", key), f"annotation {key} is not JSON: "
                                  "what it kept of the Backstage entity is not exported"))
        return None


def _backstage_kind(document: Document) -> str:
    """The kind a Service is in Backstage: the one it was imported from, else a Resource for a platform
    service and a Component for the others."""
    kept = _kept(document, BACKSTAGE_KIND)
    if kept in KINDS:
        return kept
    return "Resource" if document.spec.type == "platform" else "Component"


def _refs(text: str | None) -> list[str]:
    return [ref.strip() for ref in text.split(",") if ref.strip()] if text else []


def _qualified(kind: str, name: str, namespace: str | None, within: str | None) -> str:
    """A reference from an entity in namespace `within` to one in `namespace` (None: default for both):
    the namespace is written when the two differ, since a reference without one means the referrer's."""
    target, source = namespace or "default", within or "default"
    return f"{kind}:{name}" if target == source else f"{kind}:{target}/{name}"


def _relations(document: Document, catalogue: Catalogue, kind: str, namespace: str | None) -> dict[str, Any]:
    """dependsOn, consumesApis and the relations import kept as written; each dependency svcascode has that
    none of them names is added (an API's service to consumesApis, the others to dependsOn), and a kept
    reference to a catalogued service that is no longer a dependency is dropped."""
    dependencies = {d.service for d in document.spec.dependencies}
    services = {s.name for s in catalogue.of_kind("Service")}
    covered: set[str] = set()
    out: dict[str, Any] = {}
    for field_name, annotation in RELATIONS.items():
        refs = _refs(_kept(document, annotation))
        if field_name in ("dependsOn", "consumesApis"):
            named = [(ref, parse_ref(ref, "api" if field_name == "consumesApis" else "component", "default"))
                     for ref in refs]
            refs = [ref for ref, parsed in named if parsed is None or rfc1123(parsed.name) in dependencies
                    or rfc1123(parsed.name) not in services]
            covered.update(rfc1123(parsed.name) for _, parsed in named if parsed is not None)
        if refs:
            out[field_name] = refs[0] if field_name == "subcomponentOf" else refs
    for dependency in document.spec.dependencies:
        if dependency.service in covered:
            continue
        target = catalogue.get("Service", dependency.service)
        target_kind = _backstage_kind(target) if target is not None else "Component"
        field_name = "consumesApis" if target_kind == "API" else "dependsOn"
        out.setdefault(field_name, []).append(_qualified(target_kind.lower(), dependency.service, _kept(
            target, BACKSTAGE_NAMESPACE) if target is not None else None, namespace))
    allowed = {"Component": set(RELATIONS), "Resource": {"dependsOn", "dependencyOf", "partOf", "hasPart"},
               "API": set()}[kind]
    return {name: value for name, value in out.items() if name in allowed}


def _service(document: Document, catalogue: Catalogue, status: str | None, levels: list[Document],
             export: Export) -> list[dict[str, Any]]:
    """The service's entity, and the API of its name that import kept as its interface."""
    spec = document.spec
    kind = _backstage_kind(document)
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
    namespace = _kept(document, BACKSTAGE_NAMESPACE)
    if namespace and backstage_name(namespace):
        metadata = {"name": metadata.pop("name"), "namespace": namespace, **metadata}
    runbook = spec.operations.runbook if spec.operations is not None else None
    if runbook and all(link["url"] != runbook for link in metadata.get("links", [])):
        metadata.setdefault("links", []).append({"url": runbook, "title": "Runbook", "type": "runbook"})
    written_type = _kept(document, BACKSTAGE_TYPE)
    out_spec: dict[str, Any] = {"type": written_type or ("platform" if kind == "Resource" else
                                                         "openapi" if kind == "API" else "service")}
    # the lifecycle as Backstage wrote it while it still stands for svcascode's (or is still the placeholder
    # for one svcascode does not know); none for a Resource that had none
    written, marked = _kept(document, BACKSTAGE_LIFECYCLE), "spec.lifecycle" in placeholders(document)
    if written and (marked or LIFECYCLES.get(written.lower()) == spec.lifecycle):
        out_spec["lifecycle"] = written
    elif not (marked and kind == "Resource"):
        out_spec["lifecycle"] = spec.lifecycle
    owner = _kept(document, BACKSTAGE_OWNER)
    team = catalogue.get("Team", spec.owner)
    out_spec["owner"] = owner if owner and "spec.owner" in placeholders(document) else \
        _qualified("group", spec.owner, _kept(team, BACKSTAGE_NAMESPACE) if team is not None else None, namespace)
    system = document.model.metadata.labels.get(SYSTEM_LABEL)
    if isinstance(system, str) and backstage_name(system):
        out_spec["system"] = system
    out_spec.update(_relations(document, catalogue, kind, namespace))
    if kind == "API":
        definition = _kept_json(document, BACKSTAGE_DEFINITION, export)
        out_spec["definition"] = definition if definition is not None else (
            f"The API of service {document.name}; its definition was not in the catalogue.")
    entities = [{"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": out_spec}]
    interface = _kept_json(document, BACKSTAGE_API, export)
    if interface is not None:
        entities.extend(_kept_entities(document, [interface], ("API",), export, BACKSTAGE_API))
    return entities


def _kept_entities(document: Document, kept: Any, kinds: tuple[str, ...], export: Export,
                   key: str) -> list[dict[str, Any]]:
    """Entities import kept whole in an annotation (a service's interface API, a team's Systems and
    Domains), as they were; one that is not an entity of those kinds with a Backstage name is left out."""
    out = []
    for entity in kept if isinstance(kept, list) else []:
        metadata = entity.get("metadata") if isinstance(entity, dict) else None
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if (isinstance(entity, dict) and entity.get("kind") in kinds and isinstance(entity.get("spec"), dict)
                and isinstance(name, str) and backstage_name(name)):
            out.append({"apiVersion": API_VERSION, "kind": entity["kind"], "metadata": metadata,
                        "spec": entity["spec"]})
        else:
            export.notes.append(_note(document, ("metadata", "annotations", key), f"annotation {key}: an entry "
                                      f"that is not a Backstage {' or '.join(kinds)} entity is not exported"))
    return out


def _user_names(teams: list[Document], export: Export) -> dict[str, str]:
    """A Backstage User name for each member id: the name import kept (the User it came from), else the
    e-mail's local part, else the whole id; each unique."""
    kept: dict[str, str] = {}
    for team in teams:
        mapping = _kept_json(team, BACKSTAGE_USERS, export)
        if isinstance(mapping, dict):
            kept.update({k: v for k, v in mapping.items() if isinstance(k, str) and isinstance(v, str)
                         and backstage_name(v) and k not in kept})
    names: dict[str, str] = {}
    taken: set[str] = set()
    for team in teams:
        for member in _members(team):
            if member.id in names:
                continue
            chosen = kept.get(member.id)
            if chosen is None or chosen in taken:
                local = member.id.split("@")[0] if "@" in member.id else member.id
                for chosen in (as_backstage_name(local), as_backstage_name(member.id)):
                    if chosen and chosen not in taken:
                        break
                else:
                    base = as_backstage_name(member.id)[:56] or "user"
                    chosen = next(f"{base}-{n}" for n in range(2, 10_000) if f"{base}-{n}" not in taken)
            names[member.id] = chosen
            taken.add(chosen)
    return names


def _members(team: Document) -> list[Any]:
    """The team's members, without the placeholder import wrote for a Group that listed none."""
    if "spec.members" in placeholders(team):
        return []
    return list(team.spec.members)


def _team(document: Document, teams: list[Document], users: dict[str, str], export: Export) -> list[dict[str, Any]]:
    """The team's Group, and the Systems and Domains import kept with it."""
    spec = document.spec
    members = _members(document)
    roles = {m.id: m.role for m in members if m.role != "member"}
    annotations = {ROLES: json.dumps(roles, ensure_ascii=False)} if roles else {}
    metadata = _metadata(document, export, {}, annotations)
    metadata.pop("title", None)  # a Group's display name is its profile's, where import reads it
    namespace = _kept(document, BACKSTAGE_NAMESPACE)
    if namespace and backstage_name(namespace):
        metadata = {"name": metadata.pop("name"), "namespace": namespace, **metadata}
    profile: dict[str, str] = {}
    if document.model.metadata.title:
        profile["displayName"] = document.model.metadata.title
    if spec.email:
        profile["email"] = spec.email
    written_type = _kept(document, BACKSTAGE_TYPE)
    out_spec: dict[str, Any] = {"type": written_type if written_type and TEAM_TYPES.get(written_type.lower())
                                == spec.type else spec.type}
    if profile:
        out_spec["profile"] = profile
    spaces = {t.name: _kept(t, BACKSTAGE_NAMESPACE) for t in teams}
    if spec.parent:
        out_spec["parent"] = _qualified("group", spec.parent, spaces.get(spec.parent), namespace)
    out_spec["children"] = [_qualified("group", t.name, spaces[t.name], namespace) for t in teams
                            if t.spec.parent == document.name]
    out_spec["members"] = [_qualified("user", users[m.id], None, namespace) for m in members]
    group = {"apiVersion": API_VERSION, "kind": "Group", "metadata": metadata, "spec": out_spec}
    owned = _kept_json(document, BACKSTAGE_ENTITIES, export)
    return [group, *(_kept_entities(document, owned, ("System", "Domain"), export, BACKSTAGE_ENTITIES)
                     if owned is not None else [])]


def export_backstage(catalogue: Catalogue, statuses: dict[str, str]) -> Export:
    """Every Team, its members and every Service of `catalogue` as Backstage entities, with what import
    kept of the entities they came from (their kinds, types and relations, the APIs that are services'
    interfaces, the Systems and Domains teams own); `statuses` are the services' compliance statuses
    (non-compliant, warnings, waived, compliant)."""
    export = Export()
    teams = sorted(catalogue.of_kind("Team"), key=lambda d: d.name)
    users = _user_names(teams, export)
    owned: list[dict[str, Any]] = []
    for team in teams:
        group, *kept = _team(team, teams, users, export)
        export.entities.append(group)
        owned.extend(kept)
    member_of: dict[str, list[str]] = {}
    for team in teams:
        group_ref = _qualified("group", team.name, _kept(team, BACKSTAGE_NAMESPACE), None)
        for member in _members(team):
            groups = member_of.setdefault(member.id, [])
            if group_ref not in groups:
                groups.append(group_ref)
    for member_id, name in users.items():
        spec: dict[str, Any] = {"memberOf": member_of.get(member_id, [])}
        if "@" in member_id:
            spec = {"profile": {"email": member_id}, **spec}
        export.entities.append({"apiVersion": API_VERSION, "kind": "User", "metadata": {"name": name}, "spec": spec})
    for service in sorted(catalogue.of_kind("Service"), key=lambda d: d.name):
        export.entities.extend(_service(service, catalogue, statuses.get(service.name),
                                        catalogue.levels_of(service.name), export))
    export.entities.extend(owned)
    return export
