"""Backstage entities -> svcascode Service and Team documents.

Component, Resource and API entities become Services, Groups become Teams (their members from the
Group's `members` and the Users' `memberOf`). An API with the name of a Component or Resource is that
service's interface, kept whole in an annotation of it. Users, Systems and Domains give no document of
their own: Users are members (their names kept on the team), a System is the label `svcascode.io/system`
of its components and its Domain the label `svcascode.io/domain`, and both are kept whole on the Team
that owns them. What an entity has and a Service or Team has no field for (kind, type, relations,
definition, namespace) is kept as `svcascode.io/backstage-*` annotations (names.ROUND_TRIP), so that
`export backstage` gives the entities back.

Whatever cannot be mapped, and every required svcascode field that Backstage does not have, is a
`Note` located in the file it came from. A required field without an honest value gets a placeholder
marked `# TODO` in the written file and listed in the annotation `svcascode.io/placeholders`, so that
an export and a second import keep it marked.

The files are read with the project's hardened YAML reader: size, depth, node and alias limits, and
every problem a located note, never an exception.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from pydantic import ValidationError

from svcascode.backstage.emit import modeline, render
from svcascode.backstage.names import (
    BACKSTAGE_API, BACKSTAGE_DEFINITION, BACKSTAGE_ENTITIES, BACKSTAGE_KIND, BACKSTAGE_LIFECYCLE, BACKSTAGE_NAMESPACE,
    BACKSTAGE_OWNER, BACKSTAGE_TYPE, BACKSTAGE_USERS, CLASSIFICATION, DOMAIN_LABEL, FIELD_ANNOTATIONS,
    DERIVED_LABELS, HARD_DEPENDENCIES, LIFECYCLES, PLACEHOLDERS, RELATIONS, ROLES, SUPPLIER, SUPPORT_HOURS, SYSTEM_LABEL, TIER,
    TEAM_TYPES, TYPE, EntityRef, is_rfc1123, parse_ref, rfc1123,
)
from svcascode.facts import ROLES_PLACEHOLDER
from svcascode.config import Limits
from svcascode.errors import SvcascodeError
from svcascode.finding import JsonPath, format_path
from svcascode.models.common import API_VERSION, URL_PATTERN
from svcascode.models.people import BusinessCalendar, Team
from svcascode.models.service import Service

# The project's hardened YAML reader, imported in this one place.
from svcascode.loading.discover import Refusal, read_regular
from svcascode.loading.yamlfile import RawDocument, parse_text
from svcascode.safewrite import OutputFolder

SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = frozenset({"node_modules"})
BACKSTAGE_MARK = b"backstage.io/"  # every Backstage entity's apiVersion; a file without it holds none

KINDS = {k.lower(): k for k in ("Component", "Resource", "API", "Group", "User", "System", "Domain",
                                "Location", "Template")}
SERVICE_KINDS = frozenset({"Component", "Resource", "API"})
# the order entities are named and planned in, whatever the order of the files: a Component before an API
# of the same name (the API is its interface), and the first of two same-named entities by file and place
KIND_ORDER = {kind: index for index, kind in enumerate(KINDS.values())}
OWNED_KINDS = ("System", "Domain")  # kept on the Team that owns them

SERVICE_TYPES = ("business", "technical", "platform", "external")
BUSINESS_TYPES = frozenset({"website", "business", "business-service", "product", "application", "app"})
EXTERNAL_TYPES = frozenset({"external", "external-service", "saas", "vendor", "third-party"})
PLATFORM_TYPES = frozenset({"platform", "cluster", "kubernetes-cluster", "network", "dns", "infrastructure"})
TECHNICAL_TYPES = frozenset({"service", "backend", "frontend", "database", "queue", "storage", "s3-bucket"})

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
ROLE_NAMES = ("lead", "manager", "member", "risk-owner")

# Placeholders: each errs on the side of more controls applying, and each is marked # TODO.
DEFAULT_TIER = "tier-1"
DEFAULT_LIFECYCLE = "production"
DEFAULT_CLASSIFICATION = "confidential"
PLACEHOLDER_CALENDAR = "imported-support-hours"
PLACEHOLDER_MEMBER = "TODO-add-members"

SECRET_ANNOTATIONS = {
    "pagerduty.com/integration-key": "a PagerDuty integration key is a credential that lets anyone open "
                                     "incidents; keep it in a secret store, not in the catalogue",
}
_TIER_VALUE = re.compile(r"^(?:tier[-_ ]?)?([0-3])$", re.I)
_URL = re.compile(URL_PATTERN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# set by Backstage itself on ingestion, not written in catalog files
_SERVER_METADATA = frozenset({"uid", "etag", "generation", "selfLink"})
_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata", "spec", "relations", "status"})
_METADATA = frozenset({"name", "namespace", "title", "description", "labels", "annotations", "tags", "links"})
PLACEHOLDER_COMMENTS = {
    "spec.tier": "placeholder: Backstage has no tier",
    "spec.lifecycle": "placeholder: no lifecycle svcascode knows",
    "spec.owner": "placeholder: the team of the owning User",
    "spec.supportHours": "placeholder: Backstage has no support hours",
    "spec.data.classification": "placeholder: Backstage has no data classification",
}
HEADER = "# Imported from Backstage by `svcascode import backstage`; values marked # TODO are placeholders to replace."


@dataclass(frozen=True, slots=True)
class Note:
    """Something to add or check, at a place in a Backstage file; `error` when it was not imported."""

    file: str
    line: int
    column: int
    subject: str
    message: str
    error: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.subject}: {self.message}"


@dataclass(slots=True)
class Entity:
    """One Backstage entity as read: its kind as Backstage spells it, its name and namespace as written."""

    raw: RawDocument
    kind: str
    name: str
    namespace: str

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.raw.data
        return data

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.lower(), self.namespace.lower(), self.name.lower())

    @property
    def subject(self) -> str:
        return f"{self.kind}/{self.name}"

    def part(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    def note(self, path: JsonPath, message: str, error: bool = False) -> Note:
        line, column = self.raw.locate(path)
        return Note(self.raw.file, line, column, self.subject, message, error)


@dataclass(slots=True)
class Planned:
    """A document to write: where (a folder under --out), its data and the comments on its placeholders."""

    kind: str
    name: str
    folder: str
    data: dict[str, Any]
    comments: dict[JsonPath, str]
    notes: list[Note]


@dataclass
class ImportResult:
    notes: list[Note] = field(default_factory=list)  # about the input, and about each document written
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(note.error for note in self.notes)


# ---------------------------------------------------------------------------------------------------
# Reading


def input_files(paths: list[str], limits: Limits | None = None) -> list[str]:
    """The files to read: each file given, and under each folder given every .yaml/.yml file holding
    Backstage entities (any name: catalog-info.yaml, components/x.yaml, all-apis.yaml); regular files
    that never mention `backstage.io/` (OpenAPI definitions, Helm values) are passed over, and links and
    special files are listed, to be refused by name when read."""
    files: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, subfolders, names in os.walk(path):  # links to folders are not followed
                subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in SKIPPED_FOLDERS)
                files.extend(file for file in (os.path.join(folder, n) for n in sorted(names)
                                               if n.endswith(SUFFIXES) and not n.startswith("."))
                             if _holds_entities(file, limits or Limits()))
        elif path.exists():
            files.append(given)
        else:
            raise SvcascodeError(f"{given}: no such file or folder")
    if not files:
        raise SvcascodeError(f"no Backstage entity file (.yaml or .yml with an apiVersion backstage.io/...) under "
                             f"{', '.join(paths)}: name the files to import")
    return files


def _holds_entities(file: str, limits: Limits) -> bool:
    """Whether a file found in a folder is one to read: a regular file that mentions `backstage.io/` (read
    at most up to the largest file the import reads), or a link or special file named as YAML, which is not
    read but said not imported (with its name), since it may stand for entities someone meant to import."""
    try:
        info = os.lstat(file)
        if not stat.S_ISREG(info.st_mode):
            return True
        with open(file, "rb") as handle:
            return BACKSTAGE_MARK in handle.read(min(info.st_size, limits.max_file_bytes) + 1)
    except OSError:
        return True  # unreadable: read_entities says so, with the file's name


def read_entities(files: list[str], limits: Limits) -> tuple[list[Entity], list[Note]]:
    entities: list[Entity] = []
    notes: list[Note] = []
    for file in files:
        # as documents are read: a regular file only (a FIFO would block, a device never end), opened without
        # following a link or blocking, and never more than the size limit
        if os.path.islink(file):
            notes.append(Note(file, 1, 1, file, "not imported: a link: links are not followed; name the file "
                              "it points to", True))
            continue
        try:
            data = read_regular(file, limits.max_file_bytes, resolved=True)
        except Refusal as refusal:
            why = str(refusal)
            notes.append(Note(file, 1, 1, file, f"not imported: {'the ' if why.startswith('file is') else ''}{why}",
                              True))
            continue
        parsed = parse_text(file, data, limits)
        notes.extend(Note(p.file, p.line, p.column, file, f"not imported: {p.message}", True) for p in parsed.problems)
        for raw in parsed.documents:
            entity = _entity(raw, notes)
            if entity is not None:
                entities.append(entity)
    return entities, notes


def _entity(raw: RawDocument, notes: list[Note]) -> Entity | None:
    data = raw.data
    subject = f"document {raw.index + 1}"

    def refuse(path: JsonPath, message: str) -> None:
        line, column = raw.locate(path)
        notes.append(Note(raw.file, line, column, subject, f"not imported: {message}", True))

    if data is None:
        return None
    if not isinstance(data, dict):
        refuse((), "not a mapping; a Backstage entity is a mapping of apiVersion, kind, metadata and spec")
        return None
    api_version, kind = data.get("apiVersion"), data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        subject = f"{kind}/{name}"
    if api_version == API_VERSION:
        refuse(("apiVersion",), "this is already a svcascode document; copy it into the catalogue as it is")
        return None
    if not isinstance(api_version, str) or not api_version.startswith("backstage.io/"):
        refuse(("apiVersion",), f"apiVersion {api_version!r} is not a Backstage one (backstage.io/v1alpha1)")
        return None
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        refuse(("kind",), f"kind {kind!r} is not one that import reads ({', '.join(KINDS.values())})")
        return None
    if not isinstance(name, str) or not name.strip():
        refuse(("metadata",), "metadata.name is missing or not text")
        return None
    namespace = metadata.get("namespace", "default") if isinstance(metadata, dict) else "default"
    if not isinstance(namespace, str) or not namespace.strip():
        namespace = "default"
    return Entity(raw, KINDS[kind.lower()], name, namespace)


# ---------------------------------------------------------------------------------------------------
# Mapping


class Importer:
    """Maps the entities read from Backstage files to the svcascode documents to write."""

    def __init__(self, entities: list[Entity], existing: dict[tuple[str, str], str]) -> None:
        self.entities = entities
        self.existing = existing  # (kind, name) -> file, of every document the catalogue defines
        self.notes: list[Note] = []
        self.by_key: dict[tuple[str, str, str], Entity] = {}
        self.service_names: dict[tuple[str, str, str], str] = {}
        self.team_names: dict[tuple[str, str, str], str] = {}
        self.members: dict[tuple[str, str, str], list[str]] = {}  # group key -> member ids from memberOf
        self.parents: dict[tuple[str, str, str], tuple[str, str, str]] = {}  # group key -> parent from children
        self.user_names: dict[str, str] = {}  # member id -> the Backstage User's name
        self.interfaces: dict[tuple[str, str, str], Entity] = {}  # Component/Resource key -> API of its name
        self.interface_of: dict[tuple[str, str, str], tuple[str, str, str]] = {}  # API key -> its provider's
        self.owned: dict[tuple[str, str, str], list[Entity]] = {}  # group key -> Systems and Domains it owns
        self.needs_calendar = False

    def plan(self) -> list[Planned]:
        ordered = sorted(self.entities, key=lambda e: (KIND_ORDER[e.kind], e.name.lower(), e.namespace.lower(),
                                                       e.raw.file, e.raw.index))
        for entity in ordered:
            if entity.key in self.by_key:
                first = self.by_key[entity.key]
                self.notes.append(entity.note(("metadata", "name"), f"not imported: {entity.subject} is defined "
                                              f"twice (first at {first.raw.file}:{first.raw.locate(())[0]})", True))
                continue
            self.by_key[entity.key] = entity
        unique = list(self.by_key.values())
        self._pair_interfaces(unique)
        self._name(e for e in unique if e.kind in SERVICE_KINDS and e.key not in self.interface_of)
        self._name((e for e in unique if e.kind == "Group"), teams=True)
        for entity in unique:
            if entity.kind == "User":
                self._user(entity)
            elif entity.kind == "Group":
                self._children(entity)
        for entity in unique:
            if entity.kind in OWNED_KINDS:
                self._owned(entity)
        planned: list[Planned] = []
        for entity in unique:
            document: Planned | None = None
            if entity.key in self.service_names:
                document = self._service(entity)
            elif entity.key in self.team_names:
                document = self._team(entity)
            elif entity.key in self.interface_of:
                provider = self.by_key[self.interface_of[entity.key]]
                if provider.key in self.service_names:
                    self.notes.append(entity.note(("metadata", "name"), f"kept as the interface of Service "
                                                  f"{self.service_names[provider.key]} ({provider.subject}, of the same "
                                                  f"name), in its annotation {BACKSTAGE_API}: export gives it back"))
                else:
                    self.notes.append(entity.note(("metadata", "name"), f"not imported: it is the interface of "
                                                  f"{provider.subject}, which was not imported", True))
            elif entity.kind == "Location":
                self.notes.append(entity.note(("spec",), "a Location points at other catalog files: import "
                                              "those files themselves"))
            elif entity.kind == "Template":
                self.notes.append(entity.note(("kind",), "a software Template describes no service or team: "
                                              "nothing to import"))
            if document is not None:
                planned.append(document)
        if self.needs_calendar:
            planned.append(_placeholder_calendar())
        return planned

    def _pair_interfaces(self, unique: list[Entity]) -> None:
        """An API with the name of a Component or Resource (the usual Backstage pattern: the service and the
        API it provides) is kept as that service's interface, not as a service of its own."""
        providers: dict[str, Entity] = {}
        for entity in unique:  # in KIND_ORDER: a Component is chosen before a Resource of the same name
            if entity.kind in ("Component", "Resource"):
                providers.setdefault(rfc1123(entity.name), entity)
        for entity in unique:
            provider = providers.get(rfc1123(entity.name)) if entity.kind == "API" else None
            if provider is not None and provider.key not in self.interfaces and rfc1123(entity.name):
                self.interfaces[provider.key] = entity
                self.interface_of[entity.key] = provider.key

    def _owned(self, entity: Entity) -> None:
        """A System or Domain is kept with the Team that owns it (a User's: that user's first Team)."""
        spec = entity.part("spec")
        ref = self._ref(entity, spec.get("owner"), "group")
        group: tuple[str, str, str] | None = None
        if ref is not None and ref.kind == "group" and (ref.kind, ref.namespace, ref.name.lower()) in self.team_names:
            group = (ref.kind, ref.namespace, ref.name.lower())
        elif ref is not None and ref.kind == "user":
            group = self._team_of_user(ref)
        label = SYSTEM_LABEL if entity.kind == "System" else DOMAIN_LABEL
        if group is None:
            self.notes.append(entity.note(("spec", "owner") if "owner" in spec else ("spec",), f"not kept: svcascode "
                                          f"keeps a {entity.kind} with the Team that owns it, and its owner "
                                          f"{spec.get('owner')!r} is no Group (nor a User of one) of the input; "
                                          f"its name stays the label {label} of its services"))
            return
        self.owned.setdefault(group, []).append(entity)
        self.notes.append(entity.note(("kind",), f"svcascode has no {entity.kind} kind: kept with its owner, Team "
                                      f"{self.team_names[group]} (annotation {BACKSTAGE_ENTITIES}), and as the label "
                                      f"{label} of its services"))

    # names and references ----------------------------------------------------------------------

    def _name(self, entities: Iterable[Entity], teams: bool = False) -> None:
        names = self.team_names if teams else self.service_names
        taken: dict[str, Entity] = {}
        what = "Team" if teams else "Service"
        for entity in entities:
            name = rfc1123(entity.name)
            where = ("metadata", "name")
            if not name:
                self.notes.append(entity.note(where, f"not imported: the name {entity.name!r} has no letters or "
                                              "digits to make a svcascode name of", True))
                continue
            if name in taken:
                other = taken[name]
                self.notes.append(entity.note(where, f"not imported: its svcascode name {name!r} is that of "
                                              f"{other.subject} ({other.raw.file}:{other.raw.locate(where)[0]}); "
                                              "rename one of them", True))
                continue
            if name != entity.name:
                self.notes.append(entity.note(where, f"the name {entity.name!r} is not an RFC 1123 name (lower-case "
                                              f"letters, digits and '-', at most 63): written as {what} {name}"))
            if entity.namespace.lower() != "default":
                self.notes.append(entity.note(("metadata", "namespace"), f"namespace {entity.namespace!r}: svcascode "
                                              f"names are not namespaced; kept in {BACKSTAGE_NAMESPACE} for export"))
            taken[name] = entity
            names[entity.key] = name

    def _ref(self, entity: Entity, text: Any, default_kind: str | None) -> EntityRef | None:
        if not isinstance(text, str):
            return None
        return parse_ref(text, default_kind, entity.namespace)

    def _service_of(self, ref: EntityRef) -> str | None:
        key = (ref.kind, ref.namespace, ref.name.lower())
        key = self.interface_of.get(key, key)  # an API that is a service's interface: that service
        if key in self.service_names:
            return self.service_names[key]
        name = rfc1123(ref.name)
        if ref.kind in ("component", "resource", "api") and ("Service", name) in self.existing:
            return name
        return None

    def _team_of(self, ref: EntityRef) -> str | None:
        key = (ref.kind, ref.namespace, ref.name.lower())
        if key in self.team_names:
            return self.team_names[key]
        name = rfc1123(ref.name)
        return name if ref.kind == "group" and ("Team", name) in self.existing else None

    def _user(self, entity: Entity) -> None:
        member_of = entity.part("spec").get("memberOf", [])
        for index, text in enumerate(member_of if isinstance(member_of, list) else []):
            ref = self._ref(entity, text, "group")
            key = (ref.kind, ref.namespace, ref.name.lower()) if ref is not None else None
            if key is None or key not in self.team_names:
                self.notes.append(entity.note(("spec", "memberOf", index), f"memberOf {text!r}: no such Group in "
                                              "the input; this membership is not imported"))
                continue
            ids = self.members.setdefault(key, [])
            member = self._member_id(entity)
            self.user_names.setdefault(member, entity.name)
            if member not in ids:
                ids.append(member)

    def _children(self, entity: Entity) -> None:
        children = entity.part("spec").get("children", [])
        for text in children if isinstance(children, list) else []:
            ref = self._ref(entity, text, "group")
            if ref is not None:
                self.parents.setdefault((ref.kind, ref.namespace, ref.name.lower()), entity.key)

    def _team_of_user(self, ref: EntityRef) -> tuple[str, str, str] | None:
        """The Group that stands for a User, whatever the order of its memberships: a `team` before a
        department or organisation, then by name."""
        user = self.by_key.get((ref.kind, ref.namespace, ref.name.lower()))
        if user is None:
            return None
        groups = [key for key, ids in self.members.items() if key in self.team_names and self._member_id(user) in ids]

        def rank(key: tuple[str, str, str]) -> tuple[bool, str]:
            kind_type = self.by_key[key].part("spec").get("type")
            return (not isinstance(kind_type, str) or TEAM_TYPES.get(kind_type.lower()) != "team", key[2])

        return min(groups, key=rank) if groups else None

    @staticmethod
    def _member_id(user: Entity) -> str:
        profile = user.part("spec").get("profile")
        email = profile.get("email") if isinstance(profile, dict) else None
        return email if isinstance(email, str) and _EMAIL.match(email) else user.name

    # the parts every document has -----------------------------------------------------------------

    def _metadata(self, entity: Entity, name: str, notes: list[Note]) -> tuple[dict[str, Any], dict[str, str], str | None]:
        """metadata (without annotations), the entity's text annotations, and a runbook URL from its links."""
        metadata = entity.part("metadata")
        out: dict[str, Any] = {"name": name}
        for key in ("title", "description"):
            value = metadata.get(key)
            if isinstance(value, str) and value.strip():
                out[key] = value
            elif value is not None:
                notes.append(entity.note(("metadata", key), f"metadata.{key} is not text: not imported"))
        labels = self._texts(entity, "labels", notes)
        annotations = self._texts(entity, "annotations", notes)
        kept_labels = {k: v for k, v in labels.items() if k not in DERIVED_LABELS}
        if kept_labels:
            out["labels"] = kept_labels
        tags = metadata.get("tags", [])
        if isinstance(tags, list):
            kept = [t for t in tags if isinstance(t, str) and t.strip()]
            if len(kept) != len(tags):
                notes.append(entity.note(("metadata", "tags"), "tags that are not text are not imported"))
            if kept:
                out["tags"] = list(dict.fromkeys(kept))
        else:
            notes.append(entity.note(("metadata", "tags"), "metadata.tags is not a list: not imported"))
        runbook: str | None = None
        links: list[dict[str, str]] = []
        raw_links = metadata.get("links", [])
        for index, link in enumerate(raw_links if isinstance(raw_links, list) else []):
            url = link.get("url") if isinstance(link, dict) else None
            if not isinstance(url, str) or not _URL.match(url):
                notes.append(entity.note(("metadata", "links", index), f"link {url!r} is not an http(s), tcp or "
                                         "grpc URL: not imported"))
                continue
            title = link.get("title") if isinstance(link, dict) else None
            kind = link.get("type") if isinstance(link, dict) else None
            is_runbook = any(isinstance(t, str) and "runbook" in t.lower() for t in (title, kind))
            if is_runbook and url.startswith(("http://", "https://")):
                runbook = runbook or url
                continue  # the runbook is spec.operations.runbook, and export writes it as a link again
            entry = {"url": url}
            if isinstance(title, str) and title.strip():
                entry["title"] = title
            if entry not in links:
                links.append(entry)
        if links:
            out["links"] = links
        if runbook is None:
            runbook = next((v for k, v in annotations.items() if k.lower().endswith(("runbook", "runbook-url"))
                            and v.startswith(("http://", "https://")) and _URL.match(v)), None)
        for key in metadata:
            if key not in _METADATA and key not in _SERVER_METADATA:
                notes.append(entity.note(("metadata", key), f"metadata.{key} is not imported: svcascode has no "
                                         "field for it"))
        for key in entity.data:
            if key not in _TOP_LEVEL:
                notes.append(entity.note((key,), f"{key} is not imported: a Backstage entity has no such field"))
        return out, annotations, runbook

    @staticmethod
    def _texts(entity: Entity, part: str, notes: list[Note]) -> dict[str, str]:
        value = entity.part("metadata").get(part, {})
        if not isinstance(value, dict):
            notes.append(entity.note(("metadata", part), f"metadata.{part} is not a mapping: not imported"))
            return {}
        kept = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
        for key in value:
            if key not in kept:
                notes.append(entity.note(("metadata", part, key), f"{part[:-1]} {key!r}: its value is not text: "
                                         "not imported"))
        return kept

    def _annotations(self, entity: Entity, annotations: dict[str, str], placeholders: set[str],
                     notes: list[Note]) -> dict[str, str]:
        kept: dict[str, str] = {}
        for key, value in annotations.items():
            if key in FIELD_ANNOTATIONS:
                continue
            if key in SECRET_ANNOTATIONS:
                notes.append(entity.note(("metadata", "annotations", key), f"{key} not imported: "
                                         f"{SECRET_ANNOTATIONS[key]}"))
                continue
            kept[key] = value
        if placeholders:
            kept[PLACEHOLDERS] = " ".join(sorted(placeholders))
        return kept

    # Services ---------------------------------------------------------------------------------------

    def _service(self, entity: Entity) -> Planned | None:
        name = self.service_names[entity.key]
        notes: list[Note] = []
        comments: dict[JsonPath, str] = {}
        placeholders: set[str] = set()
        metadata, annotations, runbook = self._metadata(entity, name, notes)
        marked = set(annotations.get(PLACEHOLDERS, "").split())
        spec = entity.part("spec")
        labels: dict[str, str] = dict(metadata.get("labels", {}))

        def placeholder(path: str) -> None:
            placeholders.add(path)
            comments[tuple(path.split("."))] = f"TODO: {PLACEHOLDER_COMMENTS[path]}"

        def known(path: str, value: str) -> str:  # a value read back from export: still a placeholder?
            if path in marked:
                placeholder(path)
                notes.append(entity.note(("metadata", "annotations", PLACEHOLDERS), f"{path}: {value} is still the "
                                         "placeholder an earlier import wrote (svcascode.io/placeholders): replace it"))
            return value

        # type
        kind_type = spec.get("type")
        backstage_type = kind_type.lower() if isinstance(kind_type, str) else None
        supplier = annotations.get(SUPPLIER)
        service_type = annotations.get(TYPE)
        if service_type in SERVICE_TYPES:
            service_type = known("spec.type", service_type)
        elif entity.kind == "Resource":
            service_type = "platform" if backstage_type in PLATFORM_TYPES else "technical"
        elif entity.kind == "API":
            service_type = "technical"
        elif backstage_type in BUSINESS_TYPES:
            service_type = "business"
        elif backstage_type in EXTERNAL_TYPES:
            service_type = "external"
        else:
            service_type = "technical"
            if backstage_type not in TECHNICAL_TYPES:
                notes.append(entity.note(("spec", "type"), f"spec.type {kind_type!r} has no svcascode counterpart: "
                                         "written as type technical; check it (business, technical, platform, external)"))
        if service_type == "external" and not supplier:
            service_type = "technical"
            notes.append(entity.note(("spec", "type"), "looks external, but an external service names its supplier: "
                                     "written as technical; set `type: external` and `supplier:`"))

        # tier
        tier_text = annotations.get(TIER) or labels.get("tier")
        match = _TIER_VALUE.match(tier_text) if isinstance(tier_text, str) else None
        if match:
            tier = known("spec.tier", f"tier-{match.group(1)}")
        else:
            tier = DEFAULT_TIER
            placeholder("spec.tier")
            notes.append(entity.note(("metadata", "name"), f"spec.tier: Backstage has no tier: written as {tier}, a "
                                     "placeholder marked # TODO; set the real tier (tier-0 most critical .. tier-3)"))

        # lifecycle
        lifecycle_text = spec.get("lifecycle")
        lifecycle = LIFECYCLES.get(lifecycle_text.lower()) if isinstance(lifecycle_text, str) else None
        if lifecycle is None:
            lifecycle = DEFAULT_LIFECYCLE
            placeholder("spec.lifecycle")
            notes.append(entity.note(("spec", "lifecycle") if "lifecycle" in spec else ("spec",),
                                     (f"spec.lifecycle {lifecycle_text!r} is not one svcascode knows" if lifecycle_text is not None
                                      else "Backstage gives no lifecycle") + ": written as "
                                     f"{lifecycle}, a placeholder marked # TODO; set pipeline, experimental, "
                                     "production, deprecated or retired"))
        else:
            lifecycle = known("spec.lifecycle", lifecycle)
            if isinstance(lifecycle_text, str) and lifecycle_text.lower() != lifecycle:
                notes.append(entity.note(("spec", "lifecycle"), f"lifecycle {lifecycle_text!r} written as {lifecycle}"))

        # owner
        owner = self._owner(entity, spec, notes, placeholder)
        if owner is None:
            self.notes.extend(notes)
            return None
        if "spec.owner" not in placeholders:
            known("spec.owner", owner)

        # support hours
        hours = annotations.get(SUPPORT_HOURS)
        if hours is not None and is_rfc1123(hours) and (("BusinessCalendar", hours) in self.existing
                                                         or hours == PLACEHOLDER_CALENDAR):
            hours = known("spec.supportHours", hours)
        else:
            hours = PLACEHOLDER_CALENDAR
            placeholder("spec.supportHours")
            notes.append(entity.note(("metadata", "name"), "spec.supportHours: Backstage has no support hours: "
                                     f"written as the placeholder calendar {PLACEHOLDER_CALENDAR} (always on), "
                                     "marked # TODO; name the BusinessCalendar of its real support hours"))
        if hours == PLACEHOLDER_CALENDAR and ("BusinessCalendar", hours) not in self.existing:
            self.needs_calendar = True

        # data classification
        classification = annotations.get(CLASSIFICATION)
        if classification in CLASSIFICATIONS:
            classification = known("spec.data.classification", classification)
        else:
            classification = DEFAULT_CLASSIFICATION
            placeholder("spec.data.classification")
            notes.append(entity.note(("metadata", "name"), "spec.data.classification: Backstage has no data "
                                     f"classification: written as {classification}, a placeholder marked # TODO; "
                                     "set public, internal, confidential or restricted"))

        dependencies = self._dependencies(entity, spec, name, annotations, notes)

        # system and domain as labels
        system = self._ref(entity, spec.get("system"), "system")
        if system is not None:
            labels.setdefault(SYSTEM_LABEL, system.name)
            system_entity = self.by_key.get((system.kind, system.namespace, system.name.lower()))
            domain = self._ref(system_entity, system_entity.part("spec").get("domain"), "domain") \
                if system_entity is not None else None
            if domain is not None:
                labels.setdefault(DOMAIN_LABEL, domain.name)
        for key in spec:
            if key not in ("type", "lifecycle", "owner", "system", "definition", *RELATIONS):
                notes.append(entity.note(("spec", key), f"spec.{key} is not imported: svcascode has no field for it"))
        if "pagerduty.com/service-id" in annotations:
            notes.append(entity.note(("metadata", "annotations", "pagerduty.com/service-id"),
                                     "pagerduty.com/service-id kept as an annotation; on-call lives on the owning "
                                     f"team: give Team {owner} `onCall` (tool: pagerduty, scheduleId, coverage, "
                                     "primary) and `escalation`"))
        target = annotations.get("svcascode.io/sla-target")
        notes.append(entity.note(("metadata", "name"), "no service level: add a ServiceLevel (SLA, OLA or UC) for "
                                 f"service {name}" + (f" with the availability target {target}%" if target else "")))

        if labels:
            metadata["labels"] = labels
        else:
            metadata.pop("labels", None)
        kept = self._annotations(entity, annotations, placeholders, notes)
        kept.update(self._round_trip(entity, lifecycle, "spec.owner" in placeholders))
        metadata = _ordered(metadata, kept)
        spec_out: dict[str, Any] = {"type": service_type, "tier": tier, "lifecycle": lifecycle, "owner": owner}
        if supplier:
            spec_out["supplier"] = supplier
        spec_out["supportHours"] = hours
        if dependencies:
            spec_out["dependencies"] = dependencies
        spec_out["data"] = {"classification": classification}
        if runbook:
            spec_out["operations"] = {"runbook": runbook}
        data = {"apiVersion": API_VERSION, "kind": "Service", "metadata": metadata, "spec": spec_out}
        return self._checked(entity, Planned("Service", name, "", data, comments, notes), Service)

    def _round_trip(self, entity: Entity, lifecycle: str, owner_placeholder: bool) -> dict[str, str]:
        """What the entity has and a svcascode Service has no field for, as annotations, so that export gives
        the entity back: its kind and type, its lifecycle and owner as written when svcascode's differ, its
        namespace, its relations as written, an API's definition, and the API of its name (its interface)."""
        spec = entity.part("spec")
        out: dict[str, str] = {BACKSTAGE_KIND: entity.kind}
        if isinstance(spec.get("type"), str):
            out[BACKSTAGE_TYPE] = spec["type"]
        if isinstance(spec.get("lifecycle"), str) and spec["lifecycle"] != lifecycle:
            out[BACKSTAGE_LIFECYCLE] = spec["lifecycle"]
        if owner_placeholder and isinstance(spec.get("owner"), str):
            out[BACKSTAGE_OWNER] = spec["owner"]
        if entity.namespace != "default":
            out[BACKSTAGE_NAMESPACE] = entity.namespace
        for field_name, annotation in RELATIONS.items():
            value = spec.get(field_name)
            refs = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            if refs and all(isinstance(ref, str) and ref.strip() and "," not in ref for ref in refs):
                out[annotation] = ", ".join(refs)
            elif refs:
                self.notes.append(entity.note(("spec", field_name), f"spec.{field_name} is not imported: its "
                                              "entries are not all entity references"))
        if "definition" in spec:
            out[BACKSTAGE_DEFINITION] = _json(spec["definition"])
        interface = self.interfaces.get(entity.key)
        if interface is not None:
            out[BACKSTAGE_API] = _json(_entity_data(interface))
        return out

    def _owner(self, entity: Entity, spec: dict[str, Any], notes: list[Note],
               placeholder: Callable[[str], None]) -> str | None:
        where = ("spec", "owner")
        ref = self._ref(entity, spec.get("owner"), "group")
        if ref is None or not rfc1123(ref.name):
            notes.append(entity.note(where if "owner" in spec else ("spec",), "not imported: spec.owner is missing "
                                     "or not an entity reference; every svcascode service has an owning Team", True))
            return None
        team = self._team_of(ref)
        if team is not None:
            return team
        if ref.kind == "user":
            group = self._team_of_user(ref)
            if group is not None:
                team = self.team_names[group]
                placeholder("spec.owner")
                notes.append(entity.note(where, f"owned by User {ref.name}: svcascode owners are Teams: written as "
                                         f"the user's team {team}, marked # TODO; check it"))
                return team
        name = rfc1123(ref.name)
        notes.append(entity.note(where, f"owner {spec.get('owner')!r}: no such Group in the input and no Team "
                                 f"{name} in the catalogue: import its Group or add Team {name}"))
        return name

    def _dependencies(self, entity: Entity, spec: dict[str, Any], name: str, annotations: dict[str, str],
                      notes: list[Note]) -> list[dict[str, str]]:
        hard = set(re.split(r"[,\s]+", annotations.get(HARD_DEPENDENCIES, "")))
        out: list[dict[str, str]] = []
        defaulted: list[str] = []
        for field_name, default_kind in (("dependsOn", "component"), ("consumesApis", "api")):
            values = spec.get(field_name, [])
            if not isinstance(values, list):
                notes.append(entity.note(("spec", field_name), f"spec.{field_name} is not a list: not imported"))
                continue
            for index, text in enumerate(values):
                ref = self._ref(entity, text, default_kind)
                target = self._service_of(ref) if ref is not None else None
                if target is None:
                    notes.append(entity.note(("spec", field_name, index), f"{field_name} {text!r}: not a Component, "
                                             "Resource or API of the input nor a Service of the catalogue: no "
                                             "svcascode dependency (kept as written for export, in "
                                             f"{RELATIONS[field_name]}); add it when that service is catalogued"))
                    continue
                if target == name or any(d["service"] == target for d in out):
                    continue
                out.append({"service": target, "criticality": "hard" if target in hard else "soft"})
                if HARD_DEPENDENCIES not in annotations and target not in hard:
                    defaulted.append(target)
        if defaulted:
            where = ("spec", "dependsOn") if "dependsOn" in spec else ("spec", "consumesApis")
            notes.append(entity.note(where, f"dependencies {', '.join(defaulted)} written as soft: Backstage does not "
                                     "say whether the service runs without them; make those it cannot run without "
                                     "`criticality: hard`"))
        return out

    # Teams ----------------------------------------------------------------------------------------

    def _team(self, entity: Entity) -> Planned | None:
        name = self.team_names[entity.key]
        notes: list[Note] = []
        comments: dict[JsonPath, str] = {}
        metadata, annotations, _ = self._metadata(entity, name, notes)
        spec = entity.part("spec")
        profile = spec.get("profile") if isinstance(spec.get("profile"), dict) else {}
        assert isinstance(profile, dict)
        display = profile.get("displayName")
        if isinstance(display, str) and display.strip():
            metadata["title"] = display
        kind_type = spec.get("type")
        team_type = TEAM_TYPES.get(kind_type.lower()) if isinstance(kind_type, str) else None
        if team_type is None:
            team_type = "team"
            notes.append(entity.note(("spec", "type") if "type" in spec else ("spec",), f"group type {kind_type!r} "
                                     "has no svcascode counterpart: written as team; check it (team, department, "
                                     "vendor)"))
        spec_out: dict[str, Any] = {"type": team_type}
        parent_ref = self._ref(entity, spec.get("parent"), "group")
        parent_key = self.parents.get(entity.key)
        parent: str | None = None
        if parent_ref is not None:
            parent = self._team_of(parent_ref)
            if parent is None:
                notes.append(entity.note(("spec", "parent"), f"parent {spec.get('parent')!r}: no such Group in the "
                                         "input nor Team in the catalogue: not imported"))
        elif parent_key is not None:
            parent = self.team_names.get(parent_key)
        if parent is not None and parent != name:
            spec_out["parent"] = parent
        email = profile.get("email")
        if isinstance(email, str) and email.strip():
            spec_out["email"] = email
        ids: list[str] = []
        members = spec.get("members", [])
        for text in members if isinstance(members, list) else []:
            ref = self._ref(entity, text, "user")
            if ref is None:
                continue
            user = self.by_key.get((ref.kind, ref.namespace, ref.name.lower()))
            member = self._member_id(user) if user is not None else ref.name
            if user is not None:
                self.user_names.setdefault(member, user.name)
            if member not in ids:
                ids.append(member)
        ids.extend(i for i in self.members.get(entity.key, []) if i not in ids)
        roles = _roles(annotations.get(ROLES))
        placeholders: set[str] = set()
        if ids:
            spec_out["members"] = [{"id": i, "role": roles.get(i, "member")} for i in ids]
            if not roles:
                placeholders.add(ROLES_PLACEHOLDER)
                notes.append(entity.note(("spec", "members") if "members" in spec else ("metadata", "name"),
                                         "Backstage has no roles: every member written as `member`, and "
                                         f"{ROLES_PLACEHOLDER} listed in {PLACEHOLDERS}; mark the lead and the manager"))
        else:
            spec_out["members"] = [{"id": PLACEHOLDER_MEMBER, "role": "member"}]
            placeholders.update({"spec.members", ROLES_PLACEHOLDER})
            comments[("spec", "members", 0)] = "TODO: Backstage lists no members; placeholder"
            notes.append(entity.note(("spec",), f"no members (no spec.members, no User memberOf): written with the "
                                     f"placeholder member {PLACEHOLDER_MEMBER}, marked # TODO; list the team's people"))
        for key in spec:
            if key not in ("type", "profile", "parent", "children", "members"):
                notes.append(entity.note(("spec", key), f"spec.{key} is not imported: svcascode has no field for it"))
        kept = self._annotations(entity, annotations, placeholders, notes)
        if isinstance(kind_type, str) and kind_type != team_type:
            kept[BACKSTAGE_TYPE] = kind_type
        if entity.namespace != "default":
            kept[BACKSTAGE_NAMESPACE] = entity.namespace
        users = {i: self.user_names[i] for i in sorted(ids) if i in self.user_names}
        if users:
            kept[BACKSTAGE_USERS] = _json(users)
        owned = self.owned.get(entity.key)
        if owned:
            kept[BACKSTAGE_ENTITIES] = _json([_entity_data(e) for e in owned])
        data = {"apiVersion": API_VERSION, "kind": "Team", "metadata": _ordered(metadata, kept), "spec": spec_out}
        return self._checked(entity, Planned("Team", name, "teams", data, comments, notes), Team)

    def _checked(self, entity: Entity, planned: Planned, model: type[Service] | type[Team]) -> Planned | None:
        try:
            model.model_validate(planned.data)
        except ValidationError as error:
            first = error.errors()[0]
            where = format_path(tuple(first["loc"]))
            self.notes.extend(planned.notes)
            self.notes.append(entity.note(("metadata", "name"), f"not imported: the {planned.kind} it gives is not "
                                          f"valid: {where}: {first['msg']}", True))
            return None
        return planned


def _json(value: Any) -> str:
    """A value kept in an annotation, as compact JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _entity_data(entity: Entity) -> dict[str, Any]:
    """An entity as Backstage would read it back: apiVersion, kind, its metadata without what the catalog
    sets on ingestion, and its spec."""
    metadata = {k: v for k, v in entity.part("metadata").items() if k not in _SERVER_METADATA}
    return {"apiVersion": entity.data.get("apiVersion"), "kind": entity.kind, "metadata": metadata,
            "spec": entity.part("spec")}


def _roles(text: str | None) -> dict[str, str]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and v in ROLE_NAMES}


def _ordered(metadata: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "title", "description", "labels"):
        if key in metadata:
            out[key] = metadata[key]
    if annotations:
        out["annotations"] = annotations
    for key in ("tags", "links"):
        if key in metadata:
            out[key] = metadata[key]
    return out


def _placeholder_calendar() -> Planned:
    data = {
        "apiVersion": API_VERSION,
        "kind": "BusinessCalendar",
        "metadata": {
            "name": PLACEHOLDER_CALENDAR,
            "title": "Support hours of imported services (placeholder)",
            "description": "Written by `svcascode import backstage`, which found no support hours in Backstage. "
                           f"Replace `supportHours: {PLACEHOLDER_CALENDAR}` of each imported service with the "
                           "calendar of its real support hours, then delete this calendar.",
        },
        "spec": {"timezone": "UTC", "alwaysOn": True},
    }
    BusinessCalendar.model_validate(data)
    comments: dict[JsonPath, str] = {("spec", "alwaysOn"): "TODO: placeholder; the real support hours are unknown"}
    return Planned("BusinessCalendar", PLACEHOLDER_CALENDAR, "calendars", data, comments, [])


# ---------------------------------------------------------------------------------------------------
# Writing


def import_backstage(paths: list[str], out: Path, root: Path, limits: Limits,
                     existing: dict[tuple[str, str], str]) -> ImportResult:
    """Read the Backstage files at `paths` and write the documents they give under `out`, never over an
    existing document or file."""
    entities, notes = read_entities(input_files(paths, limits), limits)
    importer = Importer(entities, existing)
    planned = importer.plan()
    result = ImportResult(notes=notes + importer.notes)
    written_notes: list[Note] = []
    base = out.resolve()
    folder: OutputFolder | None = None
    for document in planned:
        target = out / document.folder / f"{document.name}.yaml" if document.folder else out / f"{document.name}.yaml"
        if not target.resolve().is_relative_to(base):  # names are RFC 1123, so this cannot happen; refuse anyway
            raise SvcascodeError(f"{target}: would be written outside {out}")
        defined = existing.get((document.kind, document.name))
        if defined is not None:
            result.skipped.append((target, f"{document.kind}/{document.name} is already defined in {defined}"))
            continue
        if target.exists() or target.is_symlink():
            result.skipped.append((target, "the file exists"))
            continue
        text = render(document.data, document.comments, [modeline(target, root), HEADER])
        if folder is None:  # created, through no link, only when there is something to write
            folder = OutputFolder(out)
        try:  # never over a file made meanwhile, never through a link
            folder.write(target.relative_to(out).as_posix(), text, exclusive=True)
        except FileExistsError:
            result.skipped.append((target, "the file exists"))
            continue
        result.written.append(target)
        written_notes.extend(document.notes)
    result.notes = sorted(result.notes + written_notes, key=lambda n: (n.file, n.line, n.column))
    return result
