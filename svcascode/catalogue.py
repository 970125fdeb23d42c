"""The loaded, cross-referenced set of documents: indexes by kind and name, references, dependency graph,
and the one builder that turns a set of files (on disk or in a git tree) into it."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence, overload

from svcascode import stages
from svcascode.codec import decode_findings, encode_findings
from svcascode.config import Settings
from svcascode.documents import Document, index_kind, validate_documents
from svcascode.finding import Finding, JsonPath
from svcascode.library import LibraryUse, check_disabled, library_files
from svcascode.builtins import builtin_document
from svcascode.loading.cache import ParseCache, make_cache
from svcascode.loading.discover import catalogue_sources, read_bytes
from svcascode.loading.parallel import parse_many
from svcascode.loading.yamlfile import ParsedFile
from svcascode.models import KINDS, OPENSLO_API_VERSION, OPENSLO_MODELS
from svcascode.models import (  # the spec model of each kind, for typed lookups
    AccessPolicySpec, BaselineSpec, BusinessCalendarSpec, ControlSpec, EvidenceSpec, FrameworkSpec,
    IncidentPolicySpec, MaintenanceWindowSpec, PatchPolicySpec, ServiceLevelSpec, ServiceSpec, SloSpec,
    TeamSpec, WaiverSpec, IncidentSpec,
)
from svcascode.reader import CatalogueReader
from svcascode.store import stage_key
from svcascode.rules import RULE_CYCLE, RULE_DUPLICATE, RULE_REFERENCE, RULE_TEAM_CYCLE


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
    "Incident": [("spec.impacts[*].service", "Service")],
    "Scorecard": [("spec.levels[*].controls[*]", "Control"), ("spec.levels[*].tiers.*[*]", "Control")],
    # OpenSLO: an SLO's service is an OpenSLO Service or a Service of the catalogue ("|": either kind)
    "SLO": [("spec.service", "Service|openslo/Service"), ("spec.indicatorRef", "SLI"),
            ("spec.objectives[*].indicatorRef", "SLI"), ("spec.alertPolicies[*].alertPolicyRef", "AlertPolicy"),
            ("spec.alertPolicies[*].spec.conditions[*].conditionRef", "AlertCondition"),
            ("spec.alertPolicies[*].spec.notificationTargets[*].targetRef", "AlertNotificationTarget"),
            *((f"{sli}.spec.{metric}.metricSource.metricSourceRef", "DataSource")
              for sli in ("spec.indicator", "spec.objectives[*].indicator")
              for metric in ("thresholdMetric", "ratioMetric.*"))],
    "SLI": [(f"spec.{metric}.metricSource.metricSourceRef", "DataSource")
            for metric in ("thresholdMetric", "ratioMetric.*")],
    "AlertPolicy": [("spec.conditions[*].conditionRef", "AlertCondition"),
                    ("spec.notificationTargets[*].targetRef", "AlertNotificationTarget")],
}

# Kinds a `kind:name` reference may name: every svcascode kind, and OpenSLO SLOs.
KIND_BY_LOWER = {k.lower(): k for k in (*KINDS, "SLO")}


def _compile(path: str) -> list[str]:
    return path.replace("[*]", ".[*]").split(".")


@dataclass(frozen=True, slots=True)
class _Reference:
    """One reference field of a kind, compiled once: where its values are, and what they name."""

    parts: list[str]  # the path with its wildcards, for `walk`
    path: JsonPath | None  # the path when it has no wildcard: at most one value, read directly
    target: str  # a kind (`Service`, `Service|openslo/Service`), `team:` or `*`
    kinds: tuple[str, ...]  # the kinds a plain target names, the first looked up for the message
    shown: str  # how the message names them


def _reference(dotted: str, target: str) -> _Reference:
    parts = _compile(dotted)
    kinds = tuple(target.split("|"))
    return _Reference(parts, None if "[*]" in parts or "*" in parts else tuple(parts), target, kinds,
                      " or ".join(kind.replace("openslo/", "OpenSLO ") for kind in kinds))


_COMPILED = {kind: [_reference(p, target) for p, target in refs] for kind, refs in REFERENCES.items()}


def _values(data: Any, reference: _Reference) -> list[tuple[JsonPath, Any]]:
    """The values of a reference field in a document's data, with their paths."""
    path = reference.path
    if path is None:
        return walk(data, reference.parts)
    value = data
    for head in path:  # a field path without wildcards: one dict lookup a step
        if not isinstance(value, dict) or head not in value:
            return []
        value = value[head]
    return [(path, value)]


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


@dataclass(eq=False)
class Catalogue(CatalogueReader):
    """Every valid document, indexed by kind and name, plus the files they came from."""

    documents: list[Document] = field(default_factory=list)
    files: list[ParsedFile] = field(default_factory=list)
    by_kind: dict[str, dict[str, Document]] = field(default_factory=lambda: defaultdict(dict))
    invalid: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) of documents that failed
    library: LibraryUse | None = None  # what was taken from the built-in library (svcascode.library)
    _concerning: dict[str, dict[str, list[Document]]] = field(default_factory=dict, repr=False)
    _names: dict[tuple[str, ...], list[str]] = field(default_factory=dict, repr=False)
    _suggested: dict[tuple[tuple[str, ...], str], str | None] = field(default_factory=dict, repr=False)

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

    def _get(self, kind: str, name: str) -> Document | None:
        return self.by_kind.get(kind, {}).get(name) or builtin_document(kind, name)

    def _of_kind(self, kind: str) -> list[Document]:
        return list(self.by_kind.get(kind, {}).values())

    def resolve(self, reference: str, default_kind: str | None = None) -> Document | None:
        """`kind:name` or, with a default kind, a bare name."""
        if ":" in reference:
            kind, _, name = reference.partition(":")
            real = KIND_BY_LOWER.get(kind.lower())
            return self.get(real, name) if real else None
        return self.get(default_kind, reference) if default_kind else None

    # Indexes for cross-document checks, built on first use: every check asks the same questions of
    # every document, and scanning the whole catalogue each time would make a check quadratic. They are
    # built from the documents' facts (`documents.facts_of`), never from their models: a catalogue whose
    # files were validated before is indexed without validating a document again.

    @cached_property
    def levels_by_service(self) -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = defaultdict(list)
        for level in self.of_kind("ServiceLevel"):
            index[level.facts["service"]].append(level)
        return index

    @cached_property
    def incidents_by_service(self) -> dict[str, list[Document[IncidentSpec]]]:
        """Service name -> the Incidents that impact it, ordered by when they opened (then by name)."""
        index: dict[str, list[Document[IncidentSpec]]] = defaultdict(list)
        for incident in sorted(self.of_kind("Incident"), key=lambda i: (i.facts["opened"], i.name)):
            for service in incident.facts["impacts"]:
                index[service].append(incident)
        return index

    @cached_property
    def evidence_by_subject(self) -> dict[tuple[str, str], list[Document]]:
        index: dict[tuple[str, str], list[Document]] = defaultdict(list)
        for evidence in self.of_kind("Evidence"):
            kind, _, name = evidence.facts["subject"].partition(":")
            index[(KIND_BY_LOWER.get(kind.lower(), kind), name)].append(evidence)
        return index

    @cached_property
    def services_by_owner(self) -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = defaultdict(list)
        for service in self.of_kind("Service"):
            index[service.facts["owner"]].append(service)
        return index

    @cached_property
    def services_by_access_policy(self) -> dict[str, list[Document]]:
        """AccessPolicy name -> the services whose spec.security.accessPolicy names it."""
        index: dict[str, list[Document]] = defaultdict(list)
        for service in self.of_kind("Service"):
            if service.facts["accessPolicy"]:
                index[service.facts["accessPolicy"]].append(service)
        return index

    @cached_property
    def dependants(self) -> dict[str, list[Document]]:
        """Service name -> the services that depend on it (hard or soft)."""
        index: dict[str, list[Document]] = defaultdict(list)
        for service in self.of_kind("Service"):
            for name, _ in service.facts["dependencies"]:
                index[name].append(service)
        return index

    @cached_property
    def _window_services(self) -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = {}
        services = self.of_kind("Service")
        for window in self.of_kind("MaintenanceWindow"):
            named, selector = window.facts["services"], window.facts["selector"]
            if named:
                index[window.name] = [s for s in (self.get("Service", n) for n in named) if s is not None]
                continue
            if selector is None:  # the model requires services or a selector
                index[window.name] = []
                continue
            tiers, labels = selector
            index[window.name] = [s for s in services if (not tiers or s.facts["tier"] in tiers)
                                  and all(s.labels.get(k) == v for k, v in labels.items())]
        return index

    @cached_property
    def windows_by_service(self) -> dict[str, list[Document]]:
        """Service name -> the MaintenanceWindows that affect it, by either side naming the other or a selector."""
        index: dict[str, dict[str, Document]] = defaultdict(dict)
        for window in self.of_kind("MaintenanceWindow"):
            for service in self.window_services(window):
                index[service.name][window.name] = window
        for service in self.of_kind("Service"):
            for name in service.facts["windows"]:
                named = self.get("MaintenanceWindow", name)
                if named is not None:
                    index[service.name][name] = named
        return {name: sorted(found.values(), key=lambda w: w.name) for name, found in index.items()}

    def suggest(self, kinds: tuple[str, ...], value: str) -> str | None:
        """The defined name of one of these kinds closest to `value` (difflib's ratio at least 0.7), for a
        "did you mean": the answer difflib.get_close_matches gives over every name, found by `closest`
        without comparing the value with every name in Python. Asked once per value."""
        key = (kinds, value)
        if key in self._suggested:
            return self._suggested[key]
        names = self._names.get(kinds)
        if names is None:
            names = self._names[kinds] = [name for kind in kinds for name in self.by_kind.get(kind, {})]
        found = self._suggested[key] = closest(value, names, 0.7)
        return found

    def concerning(self, kind: str) -> dict[str, list[Document]]:
        """Service name -> the documents of a kind that concern it (`facts.services_of`), in catalogue order:
        worked out once per kind, so that a page per service costs what the catalogue holds, not its square."""
        from svcascode.facts import services_of

        found = self._concerning.get(kind)
        if found is None:
            found = self._concerning[kind] = {}
            for document in self.of_kind(kind):
                for service in dict.fromkeys(s.name for s in services_of(self, document)):
                    found.setdefault(service, []).append(document)
        return found

    def hard_dependency_names(self, service: Document) -> list[tuple[int, str]]:
        """(index in spec.dependencies, service name) of the service's hard dependencies, from its facts."""
        return [(i, name) for i, (name, criticality) in enumerate(service.facts["dependencies"])
                if criticality == "hard"]

    # -- the reads of CatalogueReader, from the indexes

    def levels_of(self, service: str) -> list[Document[ServiceLevelSpec]]:
        return self.levels_by_service.get(service, [])

    def incidents_of(self, service: str) -> list[Document[IncidentSpec]]:
        return self.incidents_by_service.get(service, [])

    def evidence_about(self, kind: str, name: str) -> list[Document[EvidenceSpec]]:
        return self.evidence_by_subject.get((kind, name), [])

    def services_owned_by(self, team: str) -> list[Document[ServiceSpec]]:
        return self.services_by_owner.get(team, [])

    def services_with_access_policy(self, policy: str) -> list[Document[ServiceSpec]]:
        return self.services_by_access_policy.get(policy, [])

    def dependants_of(self, service: str) -> list[Document[ServiceSpec]]:
        return self.dependants.get(service, [])

    def windows_of(self, service: str) -> list[Document[MaintenanceWindowSpec]]:
        return self.windows_by_service.get(service, [])

    def window_services_of(self, window: str) -> list[Document[ServiceSpec]]:
        return self._window_services.get(window, [])


# Integrity of the whole set: unique names, resolvable references, no cycles among hard dependencies.


def _duplicates(duplicates: Iterable[tuple[Document, Document]]) -> Iterator[Finding]:
    for later, earlier in duplicates:
        line, _ = earlier.locate(("metadata", "name"))
        yield later.finding(RULE_DUPLICATE, "critical",
                            f"{later.kind} '{later.name}' is also defined in {earlier.file}:{line}; "
                            "names are unique per kind: rename or remove one",
                            ("metadata", "name"))


def _references(catalogue: Catalogue, document: Document) -> Iterator[Finding]:
    """A document's references that name nothing defined. Most resolve: whether one does is asked first, and
    what a message needs is made only for one that does not."""
    for reference in _COMPILED.get(document.kind, ()):
        target = reference.target
        for path, value in _values(document.data, reference):
            if not isinstance(value, str):
                continue
            if target == "team:":
                if not value.startswith("team:"):
                    continue  # a person or an on-call role
                if catalogue.defines("Team", value[5:]):
                    continue
                found, wanted = catalogue.resolve(value), f"Team '{value[5:]}'"
            elif target == "*":
                kind = KIND_BY_LOWER.get(value.partition(":")[0])
                if kind is None:
                    yield document.finding(RULE_REFERENCE, "critical",
                                           f"'{value}' names no known kind; use kind:name with kind one of "
                                           f"{', '.join(sorted(KIND_BY_LOWER))}", path)
                    continue
                if catalogue.defines(kind, value.partition(":")[2]):
                    continue
                found, wanted = catalogue.resolve(value), f"{kind} '{value.partition(':')[2]}'"
            elif target == "Control" and document.kind == "Baseline" and value == "all":
                continue
            elif (target == "Control" and document.kind == "Scorecard" and catalogue.library is not None
                  and value in catalogue.library.disabled):
                continue  # disabled by configuration: known, and passed by no service (docs/levels-and-deadlines.md)
            else:
                if any(catalogue.defines(kind, value) for kind in reference.kinds):
                    continue
                found, wanted = catalogue.get(reference.kinds[0], value), f"{reference.shown} '{value}'"
            if found is None:
                yield document.finding(RULE_REFERENCE, "critical",
                                       f"refers to {wanted}, which is not defined{_near(catalogue, target, value)}",
                                       path)


def _near(catalogue: Catalogue, target: str, value: str) -> str:
    if target in ("*", "team:"):
        kind, _, value = value.partition(":")
        target = KIND_BY_LOWER.get(kind, "")
    kinds = tuple(target.split("|"))
    close = catalogue.suggest(kinds, value)
    return f"; did you mean '{close}'?" if close else f"; add the {kinds[0] or 'document'} or fix the name"


def _cycles(catalogue: Catalogue) -> list[Finding]:
    """Each cycle of hard dependencies, and each cycle of team parents, once, printed whole, at the edge
    that closes it."""
    return [*_dependency_cycles(catalogue), *_team_cycles(catalogue)]


def _team_cycles(catalogue: Catalogue) -> list[Finding]:
    """Teams whose `spec.parent` chain comes back to itself: each cycle once, at the parent that closes it.

    A team has at most one parent, so following parents from each team either ends or enters a cycle;
    every team is visited once, whatever the chain's length.
    """
    teams = catalogue.by_kind.get("Team", {})
    done: set[str] = set()
    findings: list[Finding] = []
    for first in sorted(teams):
        chain: list[str] = []
        on_chain: dict[str, int] = {}
        name: str | None = first
        while name is not None and name in teams and name not in done and name not in on_chain:
            on_chain[name] = len(chain)
            chain.append(name)
            name = teams[name].facts["parent"]
        if name is not None and name in on_chain:
            cycle = chain[on_chain[name]:]
            closing = cycle[-1]
            shown = " -> ".join(f"Team/{team}" for team in [*cycle, name])
            findings.append(teams[closing].finding(
                RULE_TEAM_CYCLE, "critical", f"team parent cycle: {shown}; change or remove `parent` of one of "
                "these teams so that the chain ends", ("spec", "parent")))
        done.update(chain)
    return findings


def _dependency_cycles(catalogue: Catalogue) -> list[Finding]:
    """Each cycle of hard dependencies once, printed whole, at the edge that closes it."""
    services = catalogue.by_kind.get("Service", {})
    graph = {name: [target for _, target in catalogue.hard_dependency_names(doc) if target in services]
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
                    index = next(i for i, target in catalogue.hard_dependency_names(doc) if target == nxt)
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


# A document that failed to parse or to validate still claims its kind and name, so that references to
# it are not reported as well: one mistake gives one line, not one line per document that refers to it.


def closest(value: str, names: list[str], cutoff: float) -> str | None:
    """`difflib.get_close_matches(value, names, n=1, cutoff=cutoff)`: the name of the highest ratio at least
    `cutoff` (of two equal, the greater name), or None; the same answer, found in time linear in the names.

    difflib's ratio is 2M/T, M the letters of its matching blocks and T both lengths; the blocks are a common
    subsequence, so M is at most the longest one's length, and 2·LCS/T (rapidfuzz's `fuzz.ratio`, computed
    in C++) bounds the ratio from above. Names are compared with difflib in order of that bound, and only
    while the bound can still beat the best ratio found: a catalogue whose names are all alike
    (`svc-00001`...) no longer compares each unresolved reference with every name in Python."""
    from rapidfuzz import fuzz, process

    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(value)  # as get_close_matches does: the value is the second sequence
    best: tuple[float, str] | None = None
    seen: set[str] = set()
    limit = 8
    while True:
        bounded = process.extract(value, names, scorer=fuzz.ratio, processor=None, limit=limit,
                                  score_cutoff=cutoff * 100 - 1e-6)
        for name, bound, _ in bounded:
            if best is not None and bound / 100 < best[0] - 1e-9:
                return best[1]  # no name left can reach the best ratio
            if name in seen:
                continue
            seen.add(name)
            matcher.set_seq1(name)
            if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
                ratio = matcher.ratio()
                if ratio >= cutoff and (best is None or (ratio, name) > best):
                    best = (ratio, name)
        if len(bounded) < limit:
            return best[1] if best is not None else None
        limit *= 4



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


# ---------------------------------------------------------------------------------------------------
# The one builder: files -> validated catalogue


@dataclass
class LoadResult:
    catalogue: Catalogue
    findings: list[Finding]
    cache: ParseCache
    scope: frozenset[str] | None = None  # the files asked for, when paths were given
    files: list[ValidatedFile] = field(default_factory=list)  # the repository's files, in order
    refused: list[Finding] = field(default_factory=list)  # the files not read, and why

    def in_scope(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if self.scope is None or f.file in self.scope]


@dataclass(frozen=True, slots=True)
class FileSource:
    """One file of a catalogue to build: its path (relative to the root), and how to read its bytes.

    `version` names exactly these bytes (a git blob id): a builder then reads, parses and validates the
    file once, however many builds hold it. None (a file on disk, which may change) means every build.
    """

    path: str
    version: str | None
    read: Callable[[], bytes | ParsedFile]  # the bytes, or a ParsedFile saying why the file was refused


@dataclass(frozen=True, slots=True)
class ValidatedFile:
    """A parsed file with its valid documents, its findings, and what its invalid documents claim."""

    parsed: ParsedFile
    documents: list[Document]
    problems: list[Finding]  # the file's parse and validation findings
    claims: frozenset[tuple[str, str]]  # (kind, name) its unreadable or invalid documents meant to define


def validate_file(parsed: ParsedFile, cache: ParseCache | None = None) -> ValidatedFile:
    documents: list[Document] = []
    problems: list[Finding] = list(parsed.problems)
    claims: set[tuple[str, str]] = set(_claimed_in_text(parsed.text)) if parsed.problems else set()
    for raw, document, found in validate_documents(parsed, cache):
        if found:
            problems.extend(found)
            if isinstance(raw.data, dict):
                claims.update(_claimed(raw.data))
        if document is not None:
            documents.append(document)
    return ValidatedFile(parsed, documents, problems, frozenset(claims))


_Key = tuple[str, str]  # (path, version) of a file version


class CatalogueBuilder:
    """The one way a set of files becomes a validated catalogue, whether the files come from disk
    (`load_catalogue`), from a git revision (`svcascode.gitload.RevisionLoader`) or from each commit of
    a history (`svcascode.history`).

    Each file is parsed through the cache and its documents validated; the valid documents are indexed
    into a Catalogue; then the whole set is checked: unique names, resolvable references, no cycles among
    hard dependencies. A builder kept for several builds (a walk through history) does the per-file work
    once per file version, and checks a version's references again only when the set of names changed:
    while it stays the same, a file version's unresolved references cannot change. Duplicates and cycles
    are checked whole every time.
    """

    def __init__(self, cache: ParseCache, settings: Settings | None = None) -> None:
        self.cache = cache
        self.library = (settings or Settings()).library
        self._library: list[ValidatedFile] | None = None  # the built-in library's files, validated once
        self.seen = 0  # files asked for, over every build
        self.read = 0  # files read and parsed: a versioned file once
        self.validated: dict[_Key, ValidatedFile] = {}
        self._names: bytes | None = None  # the digest of the names the kept references were looked up in
        self._references: dict[tuple[str, str], list[Finding]] = {}

    def build(self, sources: Sequence[FileSource], refused: Iterable[Finding] = (),
              scope: frozenset[str] | None = None) -> LoadResult:
        """The catalogue of these files with every finding about them; `refused` are files not read
        (links leaving the repository), `scope` the files the findings are reported for."""
        not_read = list(refused)
        findings = list(not_read)
        catalogue, duplicates, owned = self._assemble(sources, findings)
        findings.extend(_duplicates(duplicates))
        findings.extend(self._unresolved(catalogue, owned))
        findings.extend(_cycles(catalogue))
        files = [file for _, file in owned[:len(sources)]]  # the library's files come after the sources'
        return LoadResult(catalogue, sorted(findings, key=Finding.sort_key), self.cache, scope, files, not_read)

    def forget(self, current: Iterable[tuple[str, str | None]]) -> None:
        """Keep only the file versions given (path, version): what a long-lived process still needs."""
        kept = set(current)
        self.validated = {key: file for key, file in self.validated.items() if key in kept}
        self._references = {key: found for key, found in self._references.items() if key in kept}

    def catalogue(self, sources: Sequence[FileSource]) -> Catalogue:
        """The files' valid documents, indexed, without the whole-set checks (to compare two states)."""
        return self._assemble(sources, [])[0]

    def _assemble(self, sources: Sequence[FileSource], findings: list[Finding]
                  ) -> tuple[Catalogue, list[tuple[Document, Document]], list[tuple[_Key | None, ValidatedFile]]]:
        catalogue = Catalogue()
        duplicates: list[tuple[Document, Document]] = []
        owned: list[tuple[_Key | None, ValidatedFile]] = []
        for key, file in self._validate(sources):
            catalogue.files.append(file.parsed)
            findings.extend(file.problems)
            if file.claims:
                catalogue.invalid.update(file.claims)
            for document in file.documents:
                earlier = catalogue.add(document)
                if earlier is not None:
                    duplicates.append((document, earlier))
            owned.append((key, file))
        self._add_library(catalogue, findings, owned)
        return catalogue, duplicates, owned

    def _add_library(self, catalogue: Catalogue, findings: list[Finding],
                     owned: list[tuple[_Key | None, ValidatedFile]]) -> None:
        """The built-in library's documents, after the repository's: a repository document of the same
        kind and name replaces a library one, `library.disable` leaves controls out, and a repository
        that defines any Baseline replaces the default baselines as a whole."""
        use = catalogue.library = LibraryUse(enabled=self.library.enabled)
        if not self.library.enabled:
            return
        if self._library is None:
            self._library = [validate_file(self.cache.parse(f.path, f.data), self.cache) for f in library_files()]
        check_disabled(self.library.disable, {d.name for f in self._library for d in f.documents
                                              if d.kind == "Control"})
        own_baselines = any(kind == "Baseline" for kind, _ in catalogue.invalid) or bool(catalogue.of_kind("Baseline"))
        use.baselines = not own_baselines
        for file in self._library:
            kept: list[Document] = []
            for document in file.documents:
                if document.kind == "Control" and document.name in self.library.disable:
                    use.disabled.append(document.name)
                elif catalogue.defines(document.kind, document.name):
                    if document.kind == "Control":
                        use.overridden.append(document.name)
                elif document.kind != "Baseline" or not own_baselines:
                    kept.append(document)
                    catalogue.add(document)
                    if document.kind == "Control":
                        use.controls.append(document.name)
            if kept:
                catalogue.files.append(file.parsed)
                findings.extend(file.problems)
                owned.append((None, ValidatedFile(file.parsed, kept, [], frozenset())))

    def _validate(self, sources: Sequence[FileSource]) -> Iterator[tuple[_Key | None, ValidatedFile]]:
        """Each file parsed and validated, in order, as soon as it is parsed (workers parse later files
        meanwhile); a versioned file once per builder."""
        self.seen += len(sources)
        fresh: list[FileSource] = []
        wanted: set[_Key] = set()
        for source in sources:
            if source.version is None:
                fresh.append(source)
            elif (key := (source.path, source.version)) not in self.validated and key not in wanted:
                wanted.add(key)
                fresh.append(source)
        self.read += len(fresh)
        parsed = parse_many(((s.path, s.read()) for s in fresh), self.cache)
        for source in sources:
            if source.version is None:
                yield None, validate_file(next(parsed), self.cache)
                continue
            key = (source.path, source.version)
            file = self.validated.get(key)
            if file is None:
                file = self.validated[key] = validate_file(next(parsed), self.cache)
            yield key, file
        next(parsed, None)  # run parse_many to its end, so that it closes its worker processes now

    def _unresolved(self, catalogue: Catalogue, owned: list[tuple[_Key | None, ValidatedFile]]) -> list[Finding]:
        """Every valid document's unresolved references, in the catalogue's order.

        A file version's unresolved references depend on its documents and on the names the catalogue
        defines (and the controls the configuration disables): they are kept per file version and set of
        names, in this process and in the store's `references` stage, so a run after an edit that renames
        nothing looks up the references of the edited files only."""
        names = hashlib.blake2b(digest_size=16)
        for kind, name in sorted({(d.kind, d.name) for d in catalogue.documents} | catalogue.invalid):
            names.update(f"{kind}\0{name}\0".encode("utf-8", "surrogatepass"))
        names.update(repr(sorted(catalogue.library.disabled) if catalogue.library is not None else None).encode())
        settings = names.digest()
        if settings != self._names:
            self._references = {}
            self._names = settings
        pack = self.cache.store.pack("references") if self.cache.folder is not None else None
        findings: list[Finding] = []
        for key, file in owned:
            path = file.parsed.path
            version = key[1] if key is not None else self.cache.keys.get(path) if file.documents else None
            if version is None:  # the built-in library's files, or a file with no valid document
                findings.extend(f for document in file.documents for f in _references(catalogue, document))
                continue
            found = self._references.get((path, version))
            if found is None:
                record = stage_key("references", settings, path.encode("utf-8", "surrogatepass"),
                                   version.encode())
                stored = pack.get(record) if pack is not None else None
                try:
                    found = list(decode_findings(stored)) if stored is not None else None
                except (TypeError, ValueError):
                    found = None
                stages.count("references", found is not None, None if found is not None else
                              self.cache.store.reason() or f"file or names changed: {path}")
                if found is None:
                    found = [f for document in file.documents for f in _references(catalogue, document)]
                if pack is not None:
                    pack.keep(record, stored if stored is not None else encode_findings(found))
                self._references[(path, version)] = found
            findings.extend(found)
        return findings


def load_catalogue(root: Path, settings: Settings, paths: Iterable[str] = ()) -> LoadResult:
    """Load the catalogue under `root` (or the given paths on top of it) and validate it."""
    cache = make_cache(root, settings)
    sources, refused, scope = catalogue_sources(root, settings, paths)
    limits = settings.limits
    result = CatalogueBuilder(cache, settings).build([FileSource(s.path, None, partial(read_bytes, s, limits))
                                            for s in sources], refused, scope)
    cache.save()
    return result
