"""The loaded, cross-referenced set of documents: indexes by kind and name, references, dependency graph."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator

from svcascode.config import Settings
from svcascode.documents import Document, index_kind, validate_document
from svcascode.errors import SvcascodeError
from svcascode.finding import Finding, JsonPath
from svcascode.loading.cache import ParseCache, make_cache
from svcascode.loading.discover import discover, read_bytes
from svcascode.loading.parallel import parse_many
from svcascode.loading.yamlfile import ParsedFile
from svcascode.models import KINDS, OPENSLO_API_VERSION, OPENSLO_MODELS

RULE_REFERENCE = "ref-unresolved"
RULE_DUPLICATE = "name-duplicate"
RULE_CYCLE = "dependency-cycle"

# kind -> (dotted path with [*] and * wildcards, kind it refers to). "*" as target: a `kind:name` reference.
REFERENCES: dict[str, list[tuple[str, str]]] = {
    "Service": [
        ("spec.owner", "Team"), ("spec.supportHours", "BusinessCalendar"), ("spec.peakHours", "BusinessCalendar"),
        ("spec.dependencies[*].service", "Service"), ("spec.security.accessPolicy", "AccessPolicy"),
        ("spec.operations.maintenanceWindows[*]", "MaintenanceWindow"),
        ("spec.operations.patchPolicy", "PatchPolicy"), ("spec.operations.incidentPolicy", "IncidentPolicy"),
        ("spec.operations.monitoring.slos[*]", "SLO"), ("spec.compliance.scope[*]", "Framework"),
    ],
    "ServiceLevel": [
        ("spec.service", "Service"), ("spec.coverage", "BusinessCalendar"),
        ("spec.support.priorities.*.coverage", "BusinessCalendar"), ("spec.availability.slo", "SLO"),
        ("spec.performance[*].slo", "SLO"), ("spec.underpinnedBy[*]", "ServiceLevel"),
    ],
    "Team": [("spec.parent", "Team"), ("spec.onCall.coverage", "BusinessCalendar"),
             ("spec.escalation[*].notify[*]", "team:")],
    "MaintenanceWindow": [("spec.services[*]", "Service")],
    "AccessPolicy": [("spec.targets[*]", "Service"), ("spec.review.reviewer", "team:")],
    "Evidence": [("spec.subject", "*")],
    "Waiver": [("spec.control", "Control"), ("spec.subjects[*]", "*")],
    "Control": [("spec.mappings[*].framework", "Framework")],
    "Baseline": [("spec.controls[*]", "Control"), ("spec.exclude[*]", "Control")],
}

KIND_BY_LOWER = {k.lower(): k for k in ("Service", "ServiceLevel", "Team", "BusinessCalendar", "MaintenanceWindow",
                                         "AccessPolicy", "PatchPolicy", "IncidentPolicy", "Evidence", "Control",
                                         "Baseline", "Framework", "Waiver", "SLO")}


def _compile(path: str) -> list[str]:
    return path.replace("[*]", ".[*]").split(".")


_COMPILED = {kind: [(_compile(p), target) for p, target in refs] for kind, refs in REFERENCES.items()}


def walk(data: Any, parts: list[str], prefix: JsonPath = ()) -> list[tuple[JsonPath, Any]]:
    """Values at a dotted path with `[*]` (every list item) and `*` (every mapping value) wildcards."""
    found: list[tuple[JsonPath, Any]] = [(prefix, data)]
    for head in parts:
        following: list[tuple[JsonPath, Any]] = []
        for path, value in found:
            if head == "[*]":
                if isinstance(value, list):
                    following.extend(((*path, index), item) for index, item in enumerate(value))
            elif head == "*":
                if isinstance(value, dict):
                    following.extend(((*path, key), item) for key, item in value.items())
            elif isinstance(value, dict) and head in value:
                following.append(((*path, head), value[head]))
        if not following:
            return []
        found = following
    return found


@dataclass
class Catalogue:
    """Every valid document, indexed by kind and name, plus the files they came from."""

    documents: list[Document] = field(default_factory=list)
    files: list[ParsedFile] = field(default_factory=list)
    by_kind: dict[str, dict[str, Document]] = field(default_factory=lambda: defaultdict(dict))
    invalid: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) of documents that failed

    def defines(self, kind: str, name: str) -> bool:
        """Whether a document of that kind and name exists, valid or not (its own errors are reported)."""
        return name in self.by_kind.get(kind, {}) or (kind, name) in self.invalid

    def add(self, document: Document) -> Document | None:
        """Index a document; returns the earlier document of the same kind and name, if any."""
        self.documents.append(document)
        existing = self.by_kind[document.kind].get(document.name)
        if existing is None:
            self.by_kind[document.kind][document.name] = document
        return existing

    def get(self, kind: str, name: str) -> Document | None:
        return self.by_kind.get(kind, {}).get(name)

    def of_kind(self, kind: str) -> list[Document]:
        return list(self.by_kind.get(kind, {}).values())

    def resolve(self, reference: str, default_kind: str | None = None) -> Document | None:
        """`kind:name` or, with a default kind, a bare name."""
        if ":" in reference:
            kind, _, name = reference.partition(":")
            real = KIND_BY_LOWER.get(kind.lower())
            return self.get(real, name) if real else None
        return self.get(default_kind, reference) if default_kind else None

    # Indexes for cross-document checks, built on first use: every check asks the same questions of
    # every document, and scanning the whole catalogue each time would make a check quadratic.

    @cached_property
    def levels_by_service(self) -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = defaultdict(list)
        for level in self.of_kind("ServiceLevel"):
            index[level.spec.service].append(level)
        return index

    @cached_property
    def evidence_by_subject(self) -> dict[tuple[str, str], list[Document]]:
        index: dict[tuple[str, str], list[Document]] = defaultdict(list)
        for evidence in self.of_kind("Evidence"):
            kind, _, name = evidence.spec.subject.partition(":")
            index[(KIND_BY_LOWER.get(kind.lower(), kind), name)].append(evidence)
        return index

    @cached_property
    def services_by_owner(self) -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = defaultdict(list)
        for service in self.of_kind("Service"):
            index[service.spec.owner].append(service)
        return index

    @cached_property
    def dependants(self) -> dict[str, list[Document]]:
        """Service name -> the services that depend on it (hard or soft)."""
        index: dict[str, list[Document]] = defaultdict(list)
        for service in self.of_kind("Service"):
            for dependency in service.spec.dependencies:
                index[dependency.service].append(service)
        return index

    @cached_property
    def _window_services(self) -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = {}
        services = self.of_kind("Service")
        for window in self.of_kind("MaintenanceWindow"):
            spec = window.spec
            if spec.services:
                index[window.name] = [s for s in (self.get("Service", n) for n in spec.services) if s is not None]
                continue
            selector = spec.selector
            index[window.name] = [s for s in services
                                  if (not selector.tiers or s.spec.tier in selector.tiers)
                                  and all(s.labels.get(k) == v for k, v in selector.labels.items())]
        return index

    def window_services(self, window: Document) -> list[Document]:
        """Services a MaintenanceWindow affects: those it names, or those its selector matches."""
        return self._window_services.get(window.name, [])

    @cached_property
    def windows_by_service(self) -> dict[str, list[Document]]:
        """Service name -> the MaintenanceWindows that affect it, by either side naming the other or a selector."""
        index: dict[str, dict[str, Document]] = defaultdict(dict)
        for window in self.of_kind("MaintenanceWindow"):
            for service in self.window_services(window):
                index[service.name][window.name] = window
        for service in self.of_kind("Service"):
            operations = service.spec.operations
            for name in (operations.maintenance_windows if operations is not None else ()):
                named = self.get("MaintenanceWindow", name)
                if named is not None:
                    index[service.name][name] = named
        return {name: sorted(found.values(), key=lambda w: w.name) for name, found in index.items()}

    def hard_dependencies(self, service: Document) -> list[tuple[int, Any]]:
        return [(i, d) for i, d in enumerate(service.spec.dependencies) if d.criticality == "hard"]


def check_integrity(catalogue: Catalogue, duplicates: Iterable[tuple[Document, Document]]) -> list[Finding]:
    """Unique names, resolvable references, no cycles among hard dependencies."""
    findings: list[Finding] = []
    for later, earlier in duplicates:
        line, _ = earlier.locate(("metadata", "name"))
        findings.append(later.finding(RULE_DUPLICATE, "critical",
                                      f"{later.kind} '{later.name}' is also defined in {earlier.file}:{line}; "
                                      "names are unique per kind: rename or remove one",
                                      ("metadata", "name")))
    for document in catalogue.documents:
        findings.extend(_references(catalogue, document))
    findings.extend(_cycles(catalogue))
    return findings


def _references(catalogue: Catalogue, document: Document) -> Iterator[Finding]:
    for parts, target in _COMPILED.get(document.kind, ()):
        for path, value in walk(document.data, parts):
            if not isinstance(value, str):
                continue
            if target == "team:":
                if not value.startswith("team:"):
                    continue  # a person or an on-call role
                found, wanted = catalogue.resolve(value), f"Team '{value[5:]}'"
                if catalogue.defines("Team", value[5:]):
                    continue
            elif target == "*":
                kind = KIND_BY_LOWER.get(value.partition(":")[0])
                if kind is None:
                    yield document.finding(RULE_REFERENCE, "critical",
                                           f"'{value}' names no known kind; use kind:name with kind one of "
                                           f"{', '.join(sorted(KIND_BY_LOWER))}", path)
                    continue
                found, wanted = catalogue.resolve(value), f"{kind} '{value.partition(':')[2]}'"
                if catalogue.defines(kind, value.partition(":")[2]):
                    continue
            elif target == "Control" and document.kind == "Baseline" and value == "all":
                continue
            else:
                found, wanted = catalogue.get(target, value), f"{target} '{value}'"
                if catalogue.defines(target, value):
                    continue
            if found is None:
                yield document.finding(RULE_REFERENCE, "critical",
                                       f"refers to {wanted}, which is not defined{_near(catalogue, target, value)}",
                                       path)


def _near(catalogue: Catalogue, target: str, value: str) -> str:
    import difflib

    if target in ("*", "team:"):
        kind, _, value = value.partition(":")
        target = KIND_BY_LOWER.get(kind, "")
    close = difflib.get_close_matches(value, list(catalogue.by_kind.get(target, {})), n=1, cutoff=0.7)
    return f"; did you mean '{close[0]}'?" if close else f"; add the {target or 'document'} or fix the name"


def _cycles(catalogue: Catalogue) -> list[Finding]:
    """Each cycle of hard dependencies once, printed whole, at the edge that closes it."""
    services = catalogue.by_kind.get("Service", {})
    graph = {name: [d.service for _, d in catalogue.hard_dependencies(doc) if d.service in services]
             for name, doc in services.items()}
    findings: list[Finding] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(start: str) -> None:
        # iterative depth-first search: a long dependency chain must not exhaust Python's recursion limit
        iterators = [iter(graph[start])]
        stack.append(start)
        state[start] = 1
        while iterators:
            node = stack[-1]
            nxt = next(iterators[-1], None)
            if nxt is None:
                iterators.pop()
                state[stack.pop()] = 2
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    doc = services[node]
                    index = next(i for i, d in catalogue.hard_dependencies(doc) if d.service == nxt)
                    findings.append(doc.finding(RULE_CYCLE, "critical",
                                                "hard dependency cycle: " + " -> ".join(cycle)
                                                + "; make one of these dependencies soft or remove it",
                                                ("spec", "dependencies", index, "service")))
            elif nxt not in state:
                state[nxt] = 1
                stack.append(nxt)
                iterators.append(iter(graph[nxt]))

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return findings


@dataclass
class LoadResult:
    catalogue: Catalogue
    findings: list[Finding]
    cache: ParseCache
    scope: frozenset[str] | None = None  # the files asked for, when paths were given

    def in_scope(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if self.scope is None or f.file in self.scope]


def build_catalogue(files: Iterable[ParsedFile]) -> tuple[Catalogue, list[Finding]]:
    """Validate every document of the parsed files and check the whole set's integrity."""
    catalogue = Catalogue()
    findings: list[Finding] = []
    duplicates: list[tuple[Document, Document]] = []
    for parsed in files:
        catalogue.files.append(parsed)
        findings.extend(parsed.problems)
        if parsed.problems:
            catalogue.invalid.update(_claimed_in_text(parsed.text))
        for raw in parsed.documents:
            document, problems = validate_document(raw, parsed.text)
            findings.extend(problems)
            if problems and isinstance(raw.data, dict):
                catalogue.invalid.update(_claimed(raw.data))
            if document is not None:
                earlier = catalogue.add(document)
                if earlier is not None:
                    duplicates.append((document, earlier))
    findings.extend(check_integrity(catalogue, duplicates))
    return catalogue, findings


# A document that failed to parse or to validate still claims its kind and name, so that references to
# it are not reported as well: one mistake gives one line, not one line per document that refers to it.


def _closest(word: str, choices: Iterable[str]) -> str | None:
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _claimed(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The (kind, name) an invalid document meant to define, reading past misspelt keys and kinds."""
    kind = data.get("kind")
    if not isinstance(kind, str):
        return
    api = data.get("apiVersion")
    kind = _closest(kind, OPENSLO_MODELS if api == OPENSLO_API_VERSION else KINDS) or kind
    key = "metadata" if "metadata" in data else _closest("metadata", (k for k in data if isinstance(k, str)))
    metadata = data.get(key) if key else None
    if not isinstance(metadata, dict):
        return
    key = "name" if "name" in metadata else _closest("name", (k for k in metadata if isinstance(k, str)))
    name = metadata.get(key) if key else None
    if isinstance(name, str):
        yield index_kind(api, kind), name


_DOCUMENT_START = re.compile(r"^---", re.M)
_TEXT_KIND = re.compile(r"^kind:[ \t]*[\"']?([A-Za-z]+)", re.M)
_TEXT_API = re.compile(r"^apiVersion:[ \t]*[\"']?([^\s\"'#]+)", re.M)
_TEXT_METADATA = re.compile(r"^metadata:", re.M)
_TEXT_NAME = re.compile(r"\bname:[ \t]*[\"']?([^\s\"'#,}]+)")


def _claimed_in_text(text: str) -> Iterator[tuple[str, str]]:
    """The (kind, name) of each document of a file whose YAML could not be read, from its plain text."""
    for chunk in _DOCUMENT_START.split(text):
        kind, api, metadata = _TEXT_KIND.search(chunk), _TEXT_API.search(chunk), _TEXT_METADATA.search(chunk)
        name = _TEXT_NAME.search(chunk, metadata.end()) if metadata else None
        if kind and name:
            yield from _claimed({"apiVersion": api[1] if api else None, "kind": kind[1],
                                 "metadata": {"name": name[1]}})


def load_catalogue(root: Path, settings: Settings, paths: Iterable[str] = ()) -> LoadResult:
    """Load the catalogue under `root` (or the given paths on top of it) and validate it."""
    cache = make_cache(root, settings)
    paths = list(paths)
    scope: frozenset[str] | None = None
    if paths:
        given, refused = discover(root, settings, paths)
        scope = frozenset(s.path for s in given) | frozenset(f.file for f in refused)
        try:  # the configured roots too, so that references from the given files resolve
            context, _ = discover(root, settings, ())
        except SvcascodeError:
            context = []
        # the given files last: a name they share with another file is then reported on them
        asked = {s.path for s in given}
        sources = [s for s in context if s.path not in asked] + sorted(given, key=lambda s: s.path)
    else:
        sources, refused = discover(root, settings, ())
    parsed = parse_many(((s.path, read_bytes(s, settings.limits)) for s in sources), cache)
    catalogue, findings = build_catalogue(parsed)
    cache.save()
    return LoadResult(catalogue, sorted(refused + findings, key=Finding.sort_key), cache, scope)
