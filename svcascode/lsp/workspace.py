"""The language server's one adapter to the core: everything it takes from svcascode's engine goes
through here, so that the rest of `svcascode.lsp` depends on these names only.

A `CatalogueWorkspace` is the catalogue as it is in the editor: the files under the configured roots as
they are on disk, overlaid by the open buffers. Each file is given to the catalogue builder as a
`FileSource` whose version is a digest of its bytes, so a build re-validates only the files whose bytes
changed; the assessment is `svcascode.assessment.assess`, the one `check` runs, which reuses the
(control, document) results of the previous run through the result memo. The findings published are
those of the Report `check --format json` renders (`Assessment.report`).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator

from svcascode.assessment import Assessment, ControlSelection, assess
from svcascode.catalogue import (KIND_BY_LOWER, REFERENCES, Catalogue, CatalogueBuilder, FileSource, LoadResult,
                                 walk)
from svcascode.config import Settings, find_root, load_settings
from svcascode.documents import Document, index_kind
from svcascode.errors import SvcascodeError
from svcascode.finding import FAIL_ON_CHOICES, Finding, JsonPath
from svcascode.formats.report import Report
from svcascode.library import PREFIX, is_library
from svcascode.loading.cache import ParseCache, make_cache
from svcascode.loading.discover import CACHE_DIR, YAML_SUFFIXES, SourceFile, catalogue_sources, checked_bytes, read_bytes
from svcascode.loading.yamlfile import ParsedFile, RawDocument, parse_text
from svcascode.models import API_VERSION, KINDS, OPENSLO_API_VERSION
from svcascode.rules import TOOL_RULES

__all__ = ["API_VERSION", "Catalogue", "Document", "FAIL_ON_CHOICES", "Finding", "KINDS", "OPENSLO_API_VERSION",
           "REFERENCES", "RawDocument", "Settings", "SvcascodeError", "TOOL_RULES", "find_root"]

LIBRARY_FOLDER = Path(__file__).resolve().parent.parent / "library"


def library_path(file: str) -> Path | None:
    """The installed file a built-in library document comes from (`<svcascode library>/controls/x.yaml`)."""
    if not is_library(file):
        return None
    path = LIBRARY_FOLDER / file[len(PREFIX) + 1:]
    return path if path.is_file() else None


def explain(name: str, catalogue: Catalogue) -> str | None:
    """`svcascode explain NAME` as the command prints it: a control of the catalogue or a rule of the tool."""
    from svcascode.explain import render_explain, render_tool_rule

    control = catalogue.by_kind.get("Control", {}).get(name)
    if control is not None:
        return render_explain(control, catalogue)
    if name in TOOL_RULES:
        return render_tool_rule(name)
    return None


def kind_schema(kind: str) -> dict[str, Any] | None:
    """The JSON Schema of a kind (`svcascode schema KIND`), or None for a kind svcascode does not define."""
    from svcascode.schemas import kind_schema as schema_of

    return schema_of(kind) if kind in KINDS else None


@dataclass(frozen=True)
class Options:
    """What a run of `check` is asked: the as-of date (None: today, at each run), --fail-on, --select, --ignore."""

    as_of: date | None = None
    fail_on: str = "high"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class _DiskFile:
    source: SourceFile
    stat: tuple[int, int, int]  # (mtime_ns, size, inode): re-read when it changes
    version: str
    data: bytes | ParsedFile  # the bytes, or why the file was refused


@dataclass(frozen=True)
class Reference:
    """A place where a document names another: the value at `path` of `document` (in `file`)."""

    file: str
    line: int  # of the node (1-based; for a mapping value, its key)
    column: int
    path: JsonPath
    value: str
    target: tuple[str, str] | None  # (kind, name) it names; None when the value names no kind


@dataclass(frozen=True)
class Definition:
    """Where a document of a kind and name is defined: its `metadata.name` node."""

    kind: str
    name: str
    file: str
    line: int
    column: int
    document: Document | None  # the valid document, when it validated


def kind_of(data: dict[str, Any]) -> str | None:
    kind = data.get("kind")
    return index_kind(data.get("apiVersion"), kind) if isinstance(kind, str) else None


def raw_name(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def reference_target(target: str, value: str) -> tuple[str, str] | None:
    """The (kind, name) a reference's value names, by the REFERENCES target: a kind, `team:`, or `*`."""
    if target == "team:":
        return ("Team", value[5:]) if value.startswith("team:") else None
    if target == "*":
        kind, _, name = value.partition(":")
        real = KIND_BY_LOWER.get(kind.lower())
        return (real, name) if real and name else None
    return (target, value)


def references_of(raw: RawDocument) -> Iterator[tuple[Reference, str]]:
    """Every reference of a raw document (valid or not) with its REFERENCES target (`Team`, `team:`, `*`)."""
    data = raw.data
    if not isinstance(data, dict):
        return
    kind = kind_of(data)
    for dotted, target in REFERENCES.get(kind or "", ()):
        for path, value in walk(data, dotted.replace("[*]", ".[*]").split(".")):
            if isinstance(value, str):
                line, column = raw.locate(path)
                yield Reference(raw.file, line, column, path, value, reference_target(target, value)), target


@dataclass
class Snapshot:
    """One assessment of the workspace as it is in the editor: the Report `check` renders, and what the
    editor features read (the catalogue, every file's text, references and definitions)."""

    root: Path
    settings: Settings
    loaded: LoadResult
    assessment: Assessment
    report: Report
    texts: dict[str, str]  # path -> the text assessed
    generation: int = 0
    versions: dict[str, int | None] = field(default_factory=dict)  # open buffers assessed -> editor version

    @property
    def catalogue(self) -> Catalogue:
        return self.assessment.catalogue

    @cached_property
    def by_file(self) -> dict[str, list[Finding]]:
        found: dict[str, list[Finding]] = {}
        for finding in self.report.findings:
            found.setdefault(finding.file, []).append(finding)
        return found

    def failing(self, finding: Finding) -> bool:
        return self.report.failing(finding)

    @cached_property
    def raw_documents(self) -> dict[str, list[RawDocument]]:
        return {parsed.path: parsed.documents for parsed in self.catalogue.files}

    @cached_property
    def definitions(self) -> dict[tuple[str, str], Definition]:
        """(kind, name) -> where it is defined: the first document of that kind and name, in catalogue order."""
        valid = {(d.kind, d.name, d.file, d.raw.index): d for d in self.catalogue.documents}
        found: dict[tuple[str, str], Definition] = {}
        for parsed in self.catalogue.files:
            for raw in parsed.documents:
                data = raw.data
                if not isinstance(data, dict):
                    continue
                kind, name = kind_of(data), raw_name(data)
                if kind is None or name is None or (kind, name) in found:
                    continue
                line, column = raw.locate(("metadata", "name"))
                found[(kind, name)] = Definition(kind, name, raw.file, line, column,
                                                 valid.get((kind, name, raw.file, raw.index)))
        return found

    def definition(self, key: tuple[str, str]) -> Definition | None:
        """Where a document is defined: a valid one found by its kind and name, an invalid one by a scan."""
        document = self.catalogue.by_kind.get(key[0], {}).get(key[1])
        if document is not None:
            line, column = document.locate(("metadata", "name"))
            return Definition(key[0], key[1], document.file, line, column, document)
        if key not in self.catalogue.invalid:
            return None
        return self.definitions.get(key)

    def references_in(self, file: str) -> list[Reference]:
        """The references of the documents of one file."""
        found = self._in_file.get(file)
        if found is None:
            found = self._in_file[file] = [reference for raw in self.raw_documents.get(file, ())
                                           for reference, _ in references_of(raw)]
        return found

    @cached_property
    def _in_file(self) -> dict[str, list[Reference]]:
        return {}

    @cached_property
    def references(self) -> tuple[dict[str, list[Reference]], dict[tuple[str, str], list[Reference]]]:
        """Every reference of every document: by the file it is in, and by the (kind, name) it names."""
        by_file: dict[str, list[Reference]] = {}
        by_target: dict[tuple[str, str], list[Reference]] = {}
        for parsed in self.catalogue.files:
            if is_library(parsed.path):
                continue
            for raw in parsed.documents:
                for reference, _ in references_of(raw):
                    by_file.setdefault(reference.file, []).append(reference)
                    if reference.target is not None:
                        by_target.setdefault(reference.target, []).append(reference)
        return by_file, by_target

    def reference_kinds(self, kind: str) -> dict[str, str]:
        """For a document kind: dotted path -> the REFERENCES target of that field."""
        return dict(REFERENCES.get(kind, ()))

    def names(self, kind: str) -> list[str]:
        return sorted(self.catalogue.by_kind.get(kind, {}))

    def document_at(self, file: str, index: int) -> Document | None:
        for document in self.catalogue.documents:
            if document.file == file and document.raw.index == index:
                return document
        return None


class CatalogueWorkspace:
    """The catalogue under a root as the editor has it: files on disk, overlaid by open buffers.

    Not thread-safe: one thread builds (the server's assessment thread); the snapshots it returns are
    immutable and may be read from any thread.
    """

    def __init__(self, root: Path, options: Options = Options()) -> None:
        self.root = root
        self.options = options
        if options.fail_on not in FAIL_ON_CHOICES:
            raise SvcascodeError(f"failOn {options.fail_on!r}: use one of {', '.join(FAIL_ON_CHOICES)}")
        self.settings = load_settings(root)
        if self.settings.local_checks:  # as every command: only when the configuration asks
            from svcascode.checks import enable_local_checks

            enable_local_checks(root, self.settings.local_checks)
        self._disk: dict[str, _DiskFile] = {}
        self._refused: list[Finding] = []
        _parse_in_this_process()
        self._disk_cache: ParseCache | None = make_cache(root, self.settings)
        self._builder = CatalogueBuilder(self._disk_cache, self.settings)
        self._memo: Any = None
        self.builds = 0
        self.lock = threading.Lock()

    # -- which files ----------------------------------------------------------------------------------------

    def relative(self, path: Path) -> str | None:
        """The path of a file relative to the root when it is a catalogue file: a YAML file under one of the
        configured roots, not excluded, not in a hidden folder; else None."""
        try:
            rel = Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None
        import fnmatch

        parts = rel.split("/")
        if (not rel.endswith(YAML_SUFFIXES) or any(p.startswith(".") for p in parts[:-1]) or rel.startswith(CACHE_DIR)
                or any(fnmatch.fnmatch(rel, pattern) for pattern in self.settings.exclude)):
            return None
        if not any(rel == r or rel.startswith(r.rstrip("/") + "/") for r in self.settings.roots):
            return None
        return rel

    def scan(self) -> bool:
        """Discover the files under the configured roots and read those that are new or changed on disk;
        whether anything changed since the last scan."""
        sources, refused, _ = catalogue_sources(self.root, self.settings)
        disk: dict[str, _DiskFile] = {}
        for source in sources:
            try:
                info = os.stat(source.location)
                stat = (info.st_mtime_ns, info.st_size, info.st_ino)
            except OSError:
                stat = (0, -1, 0)
            known = self._disk.get(source.path)
            if known is not None and known.stat == stat and stat[1] >= 0:
                disk[source.path] = known
                continue
            data = read_bytes(source, self.settings.limits)
            version = _digest(data) if isinstance(data, bytes) else "refused:" + _digest(
                repr([p.message for p in data.problems]).encode())
            disk[source.path] = _DiskFile(source, stat, version, data)
        changed = ({p: f.version for p, f in disk.items()} != {p: f.version for p, f in self._disk.items()}
                   or refused != self._refused)
        self._disk = disk
        self._refused = refused
        return changed

    def on_disk(self, path: str, data: bytes) -> bool:
        """Whether a buffer holds exactly what its file holds on disk."""
        disk = self._disk.get(path)
        return disk is not None and isinstance(disk.data, bytes) and disk.data == data

    # -- building ---------------------------------------------------------------------------------------------

    def sources(self, overlays: dict[str, bytes]) -> list[FileSource]:
        """The files of the build, in check's order (by path): disk files, each replaced by its open buffer."""
        limits = self.settings.limits
        refused = {f.file for f in self._refused}
        paths = sorted(set(self._disk) | {p for p in overlays if p not in refused})
        out: list[FileSource] = []
        for path in paths:
            if path in overlays:
                checked = checked_bytes(path, overlays[path], limits)
                if isinstance(checked, ParsedFile):
                    version = "oversized:" + str(len(overlays[path]))
                    out.append(FileSource(path, version, _constant(checked)))
                else:
                    out.append(FileSource(path, _digest(checked), _constant(checked)))
            else:
                disk = self._disk[path]
                out.append(FileSource(path, disk.version, _constant(disk.data)))
        return out

    def build(self, overlays: dict[str, bytes], generation: int = 0) -> Snapshot:
        """Build and assess the catalogue with these buffers over the files on disk: what `check` reports."""
        from svcascode.incremental import memo_of

        sources = self.sources(overlays)
        first = self._memo is None
        if not first:
            self._forget_parses()
        loaded = self._builder.build(sources, self._refused)
        if first:
            self._memo = memo_of(loaded.cache)
            self._memo.defer_save = True  # kept in memory between builds; saved once below
        known = [c.name for c in loaded.catalogue.of_kind("Control")]
        selection = ControlSelection.resolve(self.options.select, self.options.ignore, known)
        as_of = self.options.as_of or date.today()
        assessment = assess(loaded, as_of, selection)
        report = assessment.report(self.options.fail_on)
        self.builds += 1
        if first:
            self._after_first_build(loaded)
        self._prune(sources, loaded)
        texts = {parsed.path: parsed.text for parsed in loaded.catalogue.files}
        return Snapshot(self.root, self.settings, loaded, assessment, report, texts, generation)

    def _after_first_build(self, loaded: LoadResult) -> None:
        """The first build's parses and results saved to the store (the next start, and the next `check`,
        read them), then parses of buffers kept in memory only, for the build that needs them: a file
        version parsed once is kept by the builder, so the parse cache need not remember it."""
        cache = self._disk_cache
        if cache is not None:
            cache.save()
            memory = ParseCache(None, self.settings.limits)
            memory.results = self._memo
            self._builder.cache = memory
            self._disk_cache = None

    def _forget_parses(self) -> None:
        if isinstance(self._builder.cache, ParseCache):
            self._builder.cache.forget()

    def _prune(self, sources: list[FileSource], loaded: LoadResult) -> None:
        """Forget what only earlier versions of the buffers needed: validated files, reference findings,
        and the memo's results of documents no longer in the catalogue (a buffer's every keystroke is a
        version)."""
        self._builder.forget((s.path, s.version) for s in sources)
        if self._memo is not None:
            self._memo.forget(loaded.catalogue.files)


def _parse_in_this_process() -> None:
    """No parse worker processes: the server has threads (the protocol's reader, the assessment), and a
    process forked from a threaded one can deadlock on a lock another thread held at the fork."""
    from svcascode.loading import parallel

    parallel.PARALLEL_THRESHOLD = sys.maxsize


def _constant(data: bytes | ParsedFile) -> Callable[[], bytes | ParsedFile]:
    return lambda: data


@dataclass
class Buffers:
    """The open documents: path -> (bytes, editor version); changed by the server, read by the builder."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    data: dict[str, tuple[bytes, int | None]] = field(default_factory=dict)

    def set(self, path: str, text: str, version: int | None) -> None:
        with self.lock:
            self.data[path] = (text.encode("utf-8", "surrogatepass"), version)

    def drop(self, path: str) -> None:
        with self.lock:
            self.data.pop(path, None)

    def copy(self) -> dict[str, tuple[bytes, int | None]]:
        with self.lock:
            return dict(self.data)


# The REFERENCES paths split into parts, for matching the path under the cursor
REFERENCE_PATTERNS: dict[str, list[tuple[list[str], str]]] = {
    kind: [(dotted.replace("[*]", ".[*]").split("."), target) for dotted, target in refs]
    for kind, refs in REFERENCES.items()}


def parse_buffer(path: str, data: bytes, settings: Settings) -> list[RawDocument]:
    """The documents of a buffer's bytes, parsed as `check` parses a file (nothing over the limits)."""
    checked = checked_bytes(path, data, settings.limits)
    if isinstance(checked, ParsedFile):
        return []
    return parse_text(path, checked, settings.limits).documents
