"""Incremental evaluation: a (control, document) result is reused while nothing it read has changed.

A built-in check reads its document, the catalogue (through `CheckContext.catalogue` and the helpers
of `CheckContext`), the as-of date and its control's parameters. While a check runs, the catalogue it
sees is a `TracingCatalogue` that records every lookup (a document by kind and name, the documents of
a kind, an index entry such as the service levels of a service) with a digest of what it returned,
and the context records whether the check read the as-of date. The result (the check's findings,
before waivers) is kept under a key of

- the control: a digest of the code of svcascode and the versions of Python and of the libraries
  checks rely on, the control's document, the Baselines, and the parse limits (`ResultMemo.control_key`);
- the subject: a digest of its file's path, its place in the file, its data and the line and column
  of each of its nodes (a comment added or removed changes none of these);

with the trace of lookups and, when it read it, the as-of date (a check that asks only whether a
service level is in force records that answer instead, so its result holds on every date that gives
the same answers). A later run (the next `check`, or the next commit of `history --posture`) reuses
the findings only when the key is the same, the as-of date is the same or was not read, and every
lookup of the trace gives the same digest in the new catalogue; otherwise the pair is evaluated again. A check that reaches anything the trace cannot
follow (an attribute of the catalogue not listed here, `CheckContext.facts`) is evaluated every time.
So is a control whose check is a repository module or an installed plugin: that code may read
files no trace follows, so its results are never kept.

Waivers are applied after, on every run, so a change to a waiver never reuses a stale suppression.
The memo is kept in memory for a process (a history walk) and, beside the parse cache, in a signed
pack outside the repository (`ParseCache.load_pack` / `save_pack`): a pack that is missing,
foreign or tampered with is ignored whole, and an entry of an unexpected shape is not used. A cache
may only ever save work: every reuse is checked against the inputs of this run.
"""

from __future__ import annotations

import hashlib
import marshal
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from svcascode.codeversion import code_digest
from svcascode.facts import level_in_force
from svcascode.finding import Finding

if TYPE_CHECKING:
    from svcascode.catalogue import Catalogue
    from svcascode.documents import Document
    from svcascode.loading.cache import ParseCache
    from svcascode.loading.yamlfile import ParsedFile

RESULTS_PACK = "results-v2"
_SELECTION = b"selection"  # the second half of the key of a document's row: which controls select it
_BUILT = b"built"  # the second half of the key of a control's row: its check built without a problem
_NONE = b"-"

Lookup = tuple[Any, ...]  # ("get", kind, name), ("of_kind", kind), ("index", name, key), ...
Trace = tuple[tuple[Lookup, bytes], ...]


class Digests:
    """Digests of documents and of lookups in one catalogue, each computed once."""

    def __init__(self, catalogue: Catalogue, files: dict[int, tuple[ParsedFile, bytes]], as_of: date) -> None:
        self.catalogue = catalogue
        self.as_of = as_of
        self._files = files  # id(ParsedFile) -> (the file, digest of its path and text); kept across runs
        self._parsed = {parsed.path: parsed for parsed in catalogue.files}
        self._documents: dict[int, bytes] = {}
        self._sources: dict[int, bytes] = {}
        self._lookups: dict[Lookup, bytes] = {}

    def file(self, parsed: ParsedFile) -> bytes:
        known = self._files.get(id(parsed))
        if known is not None and known[0] is parsed:
            return known[1]
        h = hashlib.blake2b(digest_size=16)
        h.update(parsed.path.encode("utf-8", "surrogatepass") + b"\0")
        h.update(parsed.text.encode("utf-8", "surrogatepass"))
        digest = h.digest()
        self._files[id(parsed)] = (parsed, digest)
        return digest

    def document(self, document: Document | None) -> bytes:
        """What a check can read of a document: its file's path, its place in the file, its data and the
        line and column of each node (the content digest of `RawDocument`), so an edit that only adds a
        comment changes nothing a result depends on."""
        if document is None:
            return _NONE
        key = id(document)
        found = self._documents.get(key)
        if found is None:
            raw = document.raw
            if document.file not in self._parsed or self.catalogue.by_kind.get(
                    document.kind, {}).get(document.name) is not document:
                found = self._foreign(document)
            else:
                h = hashlib.blake2b(digest_size=16)
                h.update(document.file.encode("utf-8", "surrogatepass") + b"\0")
                h.update(raw.index.to_bytes(4, "big", signed=False))
                h.update(raw.content_digest())
                found = h.digest()
            self._documents[key] = found
        return found

    def source(self, document: Document) -> bytes:
        """A digest of a document's file text and its place in it (a Control: where an error in one of its
        expressions stands is worked out from the text)."""
        key = id(document)
        found = self._sources.get(key)
        if found is None:
            parsed = self._parsed.get(document.file)
            if parsed is None or self.catalogue.by_kind.get(document.kind, {}).get(document.name) is not document:
                found = self._foreign(document)
            else:
                found = self.file(parsed) + document.raw.index.to_bytes(4, "big", signed=False)
            self._sources[key] = found
        return found

    def _foreign(self, document: Document) -> bytes:
        """Not a document of this catalogue's files (a built-in one, whose code the code digest covers) or
        one shadowed by an earlier document of the same name: named by what it is."""
        parsed = self._parsed.get(document.file)
        file = self.file(parsed) if parsed is not None else None
        return hashlib.blake2b(repr((document.kind, document.name, document.file, document.raw.index,
                                     file)).encode(), digest_size=16).digest()

    def documents(self, documents: Any) -> bytes:
        h = hashlib.blake2b(digest_size=16)
        count = 0
        for document in documents:
            h.update(self.document(document))
            count += 1
        h.update(count.to_bytes(8, "big"))
        return h.digest()

    def lookup(self, key: Lookup) -> bytes:
        """The digest of what a lookup gives in this catalogue (the same function the trace recorded)."""
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = self._evaluate(key)
        return found

    def _evaluate(self, key: Lookup) -> bytes:
        catalogue = self.catalogue
        op = key[0]
        if op == "get":
            return self.document(catalogue.get(key[1], key[2]))
        if op == "resolve":
            return self.document(catalogue.resolve(key[1], key[2]))
        if op == "defines":
            return b"1" if catalogue.defines(key[1], key[2]) else b"0"
        if op == "of_kind":
            return self.documents(catalogue.of_kind(key[1]))
        if op == "window_services":
            return self.documents(catalogue._window_services.get(key[1], []))
        if op == "index":
            index = getattr(catalogue, key[1])
            value = index.get(key[2], _MISSING) if isinstance(index, dict) else _MISSING
            return _NONE if value is _MISSING else self.documents(value)
        if op == "in_force":
            level = catalogue.get(key[1], key[2])
            return _NONE if level is None else b"1" if level_in_force(level, self.as_of) else b"0"
        if op == "contains":
            index = getattr(catalogue, key[1])
            return b"1" if key[2] in index else b"0"
        raise ValueError(f"unknown lookup {op!r}")  # an entry of a foreign shape: never reused


_MISSING = object()
_INDEXES = frozenset({"levels_by_service", "evidence_by_subject", "services_by_owner", "dependants", "incidents_by_service",
                      "windows_by_service", "services_by_access_policy"})


class _Recorder:
    """The lookups one check made while evaluating one document."""

    __slots__ = ("lookups", "as_of_read", "untraceable")

    def __init__(self) -> None:
        self.lookups: dict[Lookup, bytes] = {}
        self.as_of_read = False
        self.untraceable = False


class _TracedIndex:
    """An index of the catalogue (a dict of lists of documents) whose reads are recorded."""

    __slots__ = ("_name", "_index", "_owner")

    def __init__(self, name: str, index: dict[Any, Any], owner: TracingCatalogue) -> None:
        self._name, self._index, self._owner = name, index, owner

    def get(self, key: Any, default: Any = None) -> Any:
        self._owner._note(("index", self._name, key))
        value = self._index.get(key, _MISSING)
        return default if value is _MISSING else value

    def __getitem__(self, key: Any) -> Any:
        self._owner._note(("index", self._name, key))
        return self._index[key]

    def __contains__(self, key: Any) -> bool:
        self._owner._note(("contains", self._name, key))
        return key in self._index

    def __getattr__(self, name: str) -> Any:
        self._owner._untraceable()
        return getattr(self._index, name)

    def __iter__(self) -> Iterator[Any]:
        self._owner._untraceable()
        return iter(self._index)

    def __len__(self) -> int:
        self._owner._untraceable()
        return len(self._index)


class TracingCatalogue:
    """The catalogue as a check sees it: the same answers, each lookup recorded in the current trace."""

    def __init__(self, catalogue: Catalogue, digests: Digests) -> None:
        self._catalogue = catalogue
        self._digests = digests
        self.recorder: _Recorder | None = None

    def _note(self, key: Lookup) -> None:
        recorder = self.recorder
        if recorder is not None and key not in recorder.lookups:
            try:
                recorder.lookups[key] = self._digests.lookup(key)
            except TypeError:  # an unhashable key: nothing to follow it by
                recorder.untraceable = True

    def _untraceable(self) -> None:
        if self.recorder is not None:
            self.recorder.untraceable = True

    def get(self, kind: str, name: str) -> Document | None:
        self._note(("get", kind, name))
        return self._catalogue.get(kind, name)

    def resolve(self, reference: str, default_kind: str | None = None) -> Document | None:
        self._note(("resolve", reference, default_kind))
        return self._catalogue.resolve(reference, default_kind)

    def defines(self, kind: str, name: str) -> bool:
        self._note(("defines", kind, name))
        return self._catalogue.defines(kind, name)

    def of_kind(self, kind: str) -> list[Document]:
        self._note(("of_kind", kind))
        return self._catalogue.of_kind(kind)

    def window_services(self, window: Document) -> list[Document]:
        self._note(("window_services", window.name))
        return self._catalogue.window_services(window)

    def note_in_force(self, level: Document, as_of: date) -> bool:
        """Whether a ServiceLevel is in force on the as-of date, recorded as that answer (not the date)."""
        if self._catalogue.get(level.kind, level.name) is level:
            self._note(("in_force", level.kind, level.name))
        elif self.recorder is not None:
            self.recorder.as_of_read = True  # a level the catalogue does not index by its name: the date itself
        return level_in_force(level, as_of)

    def hard_dependencies(self, service: Document) -> list[tuple[int, Any]]:
        return self._catalogue.hard_dependencies(service)  # reads only the service itself

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._catalogue, name)
        if name in _INDEXES:
            return _TracedIndex(name, value, self)
        self._untraceable()
        return value


# ---------------------------------------------------------------------------------------------------
# The memo


_Entry = tuple[Trace, str | None, tuple[Finding, ...]]  # lookups, the as-of date read (or None), findings


def _finding_row(finding: Finding) -> tuple[Any, ...]:
    return (finding.rule, finding.severity, finding.message, finding.file, finding.line, finding.column,
            finding.path, finding.kind, finding.name, finding.enforcement, finding.waiver, finding.justification,
            finding.extra)


def _finding_from(row: Any) -> Finding:
    finding = Finding(*row)
    if not (isinstance(finding.message, str) and isinstance(finding.file, str) and isinstance(finding.line, int)
            and isinstance(finding.column, int) and isinstance(finding.path, tuple)
            and isinstance(finding.extra, tuple)):
        raise TypeError("not a finding")
    return finding


class ResultMemo:
    """(control key, subject digest) -> the check's findings, with what they were computed from."""

    def __init__(self, cache: ParseCache | None = None) -> None:
        self._cache = cache if cache is not None and cache.folder is not None else None  # None: memory only
        self.salt = cache.salt if cache is not None else b""
        self._entries: dict[tuple[bytes, bytes], _Entry] = {}
        self._stored: dict[tuple[bytes, bytes], Any] = {}  # rows read from disk, decoded when first asked
        self._used: set[tuple[bytes, bytes]] = set()
        self._files: dict[int, tuple[ParsedFile, bytes]] = {}
        self._checks: dict[bytes, tuple[Any, dict[str, Any], list[Finding]]] = {}  # in this process only
        self._selected: dict[bytes, dict[bytes, bool]] = {}  # subject digest -> control key -> selected
        self._rows: dict[tuple[bytes, bytes], Any] = {}  # what the pack holds (or will), as rows
        self._written: dict[tuple[bytes, bytes], _Entry] = {}  # the entry each row was made from
        self._renewed: set[tuple[bytes, bytes]] = set()  # rows made in this process
        self._dirty = False
        self.defer_save = False  # a walk through history saves once, at its end
        self.reused = 0
        self.evaluated = 0
        if self._cache is not None:
            self._stored = self._cache.load_pack(RESULTS_PACK)

    def digests(self, catalogue: Catalogue, as_of: date) -> Digests:
        return Digests(catalogue, self._files, as_of)

    def control_key(self, digests: Digests, control: Document, baselines: list[Document]) -> bytes:
        """The key of a control's results, or b"" when they are never reused (`checks.memoisable`: a
        repository module's or a plugin's code may read files no trace follows)."""
        builtin = getattr(control.spec.check, "builtin", None)
        if builtin:
            from svcascode.checks import memoisable

            if not memoisable(builtin):
                return b""
        h = hashlib.blake2b(digest_size=16)
        h.update(code_digest())
        h.update(self.salt)
        h.update(digests.source(control))
        h.update(digests.documents(baselines))
        return h.digest()

    def reuse(self, control: bytes, subject: bytes, digests: Digests, as_of: str) -> tuple[Finding, ...] | None:
        key = (control, subject)
        entry = self._entries.get(key)
        if entry is None:
            row = self._stored.get(key)
            if row is None:
                return None
            try:
                entry = self._decode(row)
            except (TypeError, ValueError, EOFError):
                return None
            self._rows[key] = row  # kept as the bytes it was read as, and written back as they are
            if self.defer_save:  # a walk through history asks again at the next commit: keep it decoded
                self._entries[key] = self._written[key] = entry
        trace, as_of_read, findings = entry
        if as_of_read is not None and as_of_read != as_of:
            return None
        if trace:
            try:
                lookup = digests.lookup
                for looked, digest in trace:
                    if lookup(looked) != digest:
                        return None
            except (TypeError, ValueError, AttributeError):
                return None
        self._used.add(key)
        self.reused += 1
        return findings

    def check(self, control_key: bytes, control: Document, source: str | None = None
              ) -> tuple[Any, dict[str, Any], list[Finding]]:
        """The control's check built once per control version in this process (`engine.build_check`)."""
        built = self._checks.get(control_key)
        if built is None:
            from svcascode.engine import build_check

            built = self._checks[control_key] = build_check(control, source)
        key = (control_key, _BUILT)
        clean = built[0] is not None and not built[2]
        if clean:
            self._used.add(key)
            if self._rows.get(key) is not True:
                self._rows[key] = True
                self._renewed.add(key)
                self._dirty = True
        return built

    def built_cleanly(self, control_key: bytes) -> bool:
        """Whether this version of a control (code, control, Baselines) built without a problem before:
        then building it again gives the same check, and it can wait until a document needs it."""
        key = (control_key, _BUILT)
        if self._rows.get(key) is True or self._stored.get(key) is True:
            self._rows[key] = True
            self._used.add(key)
            return True
        return False

    def select(self, control_key: bytes, control: Document, candidates: Iterable[Document], digests: Digests
               ) -> list[Document]:
        """The candidates the control's appliesTo chooses (`engine.selector`), each judged once per version.

        Whether a control selects a document depends on the control and the document alone: each
        document has one row, control key -> selected, so an edited document renews only its own row."""
        from svcascode.engine import selector

        chosen_by: Any = None
        out: list[Document] = []
        for document in candidates:
            subject = digests.document(document)
            key = (subject, _SELECTION)
            row = self._selected.get(subject)
            if row is None:
                stored = self._stored.get(key)
                row = self._selected[subject] = dict(stored) if isinstance(stored, dict) else {}
                self._rows[key] = row
                self._used.add(key)
            chosen = row.get(control_key)
            if not isinstance(chosen, bool):
                if chosen_by is None:
                    chosen_by = selector(control)
                chosen = row[control_key] = bool(chosen_by(document))
                self._renewed.add(key)
                self._dirty = True
            if chosen:
                out.append(document)
        return out

    @staticmethod
    def recorder() -> _Recorder:
        return _Recorder()

    def store(self, control: bytes, subject: bytes, recorder: _Recorder, as_of: str,
              findings: tuple[Finding, ...]) -> None:
        self.evaluated += 1
        if recorder.untraceable:
            return
        key = (control, subject)
        self._entries[key] = (tuple(recorder.lookups.items()), as_of if recorder.as_of_read else None, findings)
        self._used.add(key)
        self._dirty = True

    @staticmethod
    def _decode(row: Any) -> _Entry:
        """An entry read from the pack (one marshalled row, decoded only when its pair is asked for, so the
        memo holds bytes, not objects); a row of another shape raises TypeError or ValueError (not used)."""
        if not isinstance(row, bytes):
            raise TypeError("not a row")
        trace, as_of_read, finding_rows = marshal.loads(row)
        if not isinstance(trace, tuple) or not (as_of_read is None or isinstance(as_of_read, str)):
            raise TypeError("not an entry")
        for lookup, digest in trace:
            if not isinstance(lookup, tuple) or not isinstance(digest, bytes):
                raise TypeError("not a lookup")
        return trace, as_of_read, tuple(_finding_from(r) for r in finding_rows) if finding_rows else ()

    def save(self) -> None:
        """Write the entries this process used, when any is new: signed, beside the parse cache."""
        if self._cache is None or not self._dirty:
            return
        rows: dict[tuple[bytes, bytes], Any] = self._rows
        for key in self._used:
            if key[1] in (_SELECTION, _BUILT):
                continue  # a selection or build row, kept in `rows` as it is
            entry = self._entries.get(key)
            if entry is not None and self._written.get(key) is not entry:
                trace, as_of_read, findings = entry
                try:
                    rows[key] = marshal.dumps((trace, as_of_read, tuple(_finding_row(f) for f in findings)))
                except ValueError:  # a value marshal cannot write: this pair is evaluated again next time
                    continue
                self._written[key] = entry
                self._renewed.add(key)
        self._cache.save_pack(RESULTS_PACK, rows, self._used, replaced=self._renewed)
        self._dirty = False


def memo_of(cache: ParseCache) -> ResultMemo:
    """The result memo that goes with a parse cache (one per cache, made on first use)."""
    memo = getattr(cache, "results", None)
    if not isinstance(memo, ResultMemo):
        memo = ResultMemo(cache)
        cache.results = memo
    return memo

