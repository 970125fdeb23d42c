"""Incremental evaluation: a (control, document) result is reused while nothing it read has changed.

A check reads its document, the catalogue (only through `CatalogueReader`: `CheckContext.catalogue`,
the domain facts and the expressions' `CatalogueView` all go through it), the as-of date and its
control's parameters. While a check runs here, the reader it is given is a `RecordingReader` that notes
every lookup (a document by kind and name, the documents of a kind, the service levels of a service,
...) with a digest of what it returned, and notes whether the check read the as-of date. The result (the
check's findings, before waivers) is kept under a key of

- the control: the code of svcascode and of any plugin or repository check it calls, the control's
  document and where it stands in its file, and the Baselines (`MemoPairRunner.control_key`);
- the subject: its file's path, its place in the file, its data and the line and column of each of its
  nodes (a comment added or removed changes none of these);

with the trace of lookups and, when it read it, the as-of date (a check that asks only whether a
service level is in force records that answer instead, so its result holds on every date that gives
the same answers). A later run (the next `check`, or the next commit of `history --posture`) reuses
the findings only when the key is the same, the as-of date is the same or was not read, and every
lookup of the trace gives the same digest in the new catalogue; otherwise the pair is evaluated again.
A check whose reads could not be recorded is evaluated every time.

Waivers are applied after, on every run, so a change to a waiver never reuses a stale suppression.
The results are kept in memory for a process (a history walk) and in the store (`svcascode.store`),
outside the repository and signed: a cache may only ever save work, since every reuse is checked
against the inputs of this run.
"""

from __future__ import annotations

import hashlib
import marshal
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from svcascode import stages
from svcascode.codec import decode_findings, encode_findings
from svcascode.codeversion import code_digest
from svcascode.engine import Baselines, Deferred, PairRunner, Prepared, build_check, selector
from svcascode.finding import Finding
from svcascode.reader import LOOKUPS, CatalogueReader, Lookup, LookupDigests, Recorder, RecordingReader, \
    evaluate_lookup

if TYPE_CHECKING:
    from svcascode.catalogue import Catalogue
    from svcascode.documents import Document
    from svcascode.loading.cache import ParseCache
    from svcascode.loading.yamlfile import ParsedFile
    from svcascode.store import Pack

Trace = tuple[tuple[Lookup, bytes], ...]
_NONE = b"-"


class Digests(LookupDigests):
    """Digests of documents and of lookups in one catalogue on one date, each computed once."""

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

    def documents(self, documents: Iterable[Document]) -> bytes:
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
            found = self._lookups[key] = self._digest(evaluate_lookup(self.catalogue, key, self.as_of))
        return found

    def _digest(self, value: Any) -> bytes:
        if value is None:
            return _NONE
        if isinstance(value, bool):
            return b"1" if value else b"0"
        if isinstance(value, list):
            return self.documents(value)
        return self.document(value)


class MemoPairRunner(PairRunner):
    """A PairRunner that reuses a pair's findings from the memo while what they were computed from is
    unchanged, records what each pair it evaluates reads, and keeps the result."""

    def __init__(self, catalogue: Catalogue, as_of: date, baselines: Baselines, memo: ResultMemo) -> None:
        super().__init__(catalogue, as_of, baselines)
        self.memo = memo
        self.digests = Digests(catalogue, memo.files, as_of)
        self.recording = RecordingReader(catalogue, self.digests)
        self.as_of_text = as_of.isoformat()
        self._keys: dict[int, bytes] = {}

    def reader(self) -> CatalogueReader:
        return self.recording

    def control_key(self, control: Document) -> bytes:
        key = self._keys.get(id(control))
        if key is None:
            key = self._keys[id(control)] = self.memo.control_key(self.digests, control, self.baselines.baselines)
        return key

    def prepare(self, control: Document) -> Prepared:
        key = self.control_key(control)
        if self.memo.built_cleanly(key):
            # this version of the control built without a problem before: it is built when a document needs
            # it evaluated, so a run that reuses every result never compiles it (nor imports celpy)
            return self._ready(Prepared(control, Deferred(lambda: self.memo.check(key, control, self.source(control))),
                                        {}, []))
        function, params, problems = self.memo.check(key, control, self.source(control))
        return self._ready(Prepared(control, function, params, problems))

    def chosen(self, prepared: Prepared) -> list[Document]:
        return self.memo.select(self.control_key(prepared.control), prepared.control,
                                self.candidates(prepared.control), self.digests)

    def findings(self, prepared: Prepared, document: Document) -> tuple[Finding, ...]:
        key = self.control_key(prepared.control)
        subject = self.digests.document(document)
        found = self.memo.reuse(key, subject, self.digests, self.as_of_text)
        if found is not None:
            stages.count("pairs", True)
            return found
        why = self.memo.why
        stages.count("pairs", False, f"control changed: {prepared.control.name}" if why == "control changed"
                     else f"document changed: {document.file}" if why == "document changed" else why)
        with self.recording.recording(Recorder()) as recorder:
            found = super().findings(prepared, document)
        assert recorder is not None
        self.memo.store(key, subject, recorder, self.as_of_text, found)
        return found

    def done(self) -> None:
        if not self.memo.defer_save:
            self.memo.save()


# ---------------------------------------------------------------------------------------------------
# The memo


_Entry = tuple[Trace, str | None, tuple[Finding, ...]]  # lookups, the as-of date read (or None), findings
_SELECTION = b"selection"  # the second half of the key of a document's row: which controls select it
_BUILT = b"built"  # the second half of the key of a control's row: its check built without a problem


class ResultMemo:
    """(control key, subject digest) -> the check's findings, with what they were computed from, kept in
    the store's `pairs` pack (or in memory only, without one)."""

    def __init__(self, pack: Pack | None = None) -> None:
        self._pack = pack
        self._stored: dict[Any, Any] = pack.entries() if pack is not None else {}
        self._entries: dict[tuple[bytes, bytes], _Entry] = {}
        self.files: dict[int, tuple[ParsedFile, bytes]] = {}
        self._checks: dict[bytes, tuple[Any, dict[str, Any], list[Finding]]] = {}  # in this process only
        self._selected: dict[bytes, dict[bytes, bool]] = {}  # subject digest -> control key -> selected
        self.defer_save = False  # a walk through history saves once, at its end
        self.why = ""  # why the last pair asked for could not be reused
        self.reused = 0
        self.evaluated = 0

    def runner(self, catalogue: Catalogue, as_of: date, baselines: Baselines) -> MemoPairRunner:
        return MemoPairRunner(catalogue, as_of, baselines, self)

    def control_key(self, digests: Digests, control: Document, baselines: list[Document]) -> bytes:
        h = hashlib.blake2b(digest_size=16)
        h.update(code_digest())
        h.update(digests.source(control))
        builtin = getattr(control.spec.check, "builtin", None)
        if builtin:  # a plugin's or repository module's code is not the package's: its own bytes count
            from svcascode.checks import code_identity

            h.update(code_identity(builtin))
        h.update(digests.documents(baselines))
        return h.digest()

    def reuse(self, control: bytes, subject: bytes, digests: Digests, as_of: str) -> tuple[Finding, ...] | None:
        """The pair's findings when what they were computed from is unchanged; else None, with the reason in
        `why`."""
        key = (control, subject)
        entry = self._entries.get(key)
        if entry is None:
            row = self._stored.get(key)
            if row is None:
                self.why = self._missing(control)
                return None
            try:
                entry = _decode(row)
            except (TypeError, ValueError, EOFError):
                self.why = "not kept"
                return None
            self._keep(key, row)
            if self.defer_save:  # a walk through history asks again at the next commit: keep it decoded
                self._entries[key] = entry
        trace, as_of_read, findings = entry
        if as_of_read is not None and as_of_read != as_of:
            self.why = "date changed"
            return None
        if trace:
            try:
                lookup = digests.lookup
                for looked, digest in trace:
                    if lookup(looked) != digest:
                        self.why = "lookup changed: " + " ".join(map(str, looked))
                        return None
            except (TypeError, ValueError, AttributeError, IndexError):
                self.why = "not kept"
                return None
        self.reused += 1
        return findings

    def _missing(self, control: bytes) -> str:
        """Why a pair has no record: the store says (no earlier run, code changed), its control is new or
        changed, or its document is."""
        why = self._pack.store.reason() if self._pack is not None else "no earlier run"
        if why is not None:
            return why
        return "document changed" if self._stored.get((control, _BUILT)) is True else "control changed"

    def _keep(self, key: Any, row: Any) -> None:
        if self._pack is not None:
            self._pack.keep(key, row)

    def check(self, control_key: bytes, control: Document, source: str | None = None
              ) -> tuple[Any, dict[str, Any], list[Finding]]:
        """The control's check built once per control version in this process (`engine.build_check`)."""
        built = self._checks.get(control_key)
        if built is None:
            built = self._checks[control_key] = build_check(control, source)
        if built[0] is not None and not built[2]:
            self._keep((control_key, _BUILT), True)
        return built

    def built_cleanly(self, control_key: bytes) -> bool:
        """Whether this version of a control (code, control, Baselines) built without a problem before:
        then building it again gives the same check, and it can wait until a document needs it."""
        key = (control_key, _BUILT)
        if self._stored.get(key) is True:
            self._keep(key, True)
            return True
        return False

    def select(self, control_key: bytes, control: Document, candidates: Iterator[Document], digests: Digests
               ) -> list[Document]:
        """The candidates the control's appliesTo chooses (`engine.selector`), each judged once per version.

        Whether a control selects a document depends on the control and the document alone: each
        document has one row, control key -> selected, so an edited document renews only its own row."""
        chosen_by: Any = None
        out: list[Document] = []
        for document in candidates:
            subject = digests.document(document)
            key = (subject, _SELECTION)
            row = self._selected.get(subject)
            if row is None:
                stored = self._stored.get(key)
                row = self._selected[subject] = dict(stored) if isinstance(stored, dict) else {}
                self._keep(key, row)
            chosen = row.get(control_key)
            if not isinstance(chosen, bool):
                if chosen_by is None:
                    chosen_by = selector(control)
                chosen = row[control_key] = bool(chosen_by(document))
                self._keep(key, row)
            if chosen:
                out.append(document)
        return out

    def store(self, control: bytes, subject: bytes, recorder: Recorder, as_of: str,
              findings: tuple[Finding, ...]) -> None:
        self.evaluated += 1
        if recorder.untraceable:
            return
        key = (control, subject)
        entry: _Entry = (tuple(recorder.lookups.items()), as_of if recorder.as_of_read else None, findings)
        self._entries[key] = entry
        try:
            self._keep(key, _encode(entry))
        except ValueError:  # a value marshal cannot write: this pair is evaluated again next time
            pass

    def save(self) -> None:
        """Write what this process used to the store (the pack keeps only those rows)."""
        if self._pack is not None:
            self._pack.save()


def _encode(entry: _Entry) -> bytes:
    trace, as_of_read, findings = entry
    return marshal.dumps((trace, as_of_read, encode_findings(findings)))


def _decode(row: Any) -> _Entry:
    """An entry read from the store (one marshalled row, decoded only when its pair is asked for, so the
    memo holds bytes, not objects); a row of another shape raises TypeError or ValueError (not used)."""
    if not isinstance(row, bytes):
        raise TypeError("not a row")
    trace, as_of_read, findings = marshal.loads(row)
    if not isinstance(trace, tuple) or not (as_of_read is None or isinstance(as_of_read, str)):
        raise TypeError("not an entry")
    for lookup, digest in trace:
        if not isinstance(lookup, tuple) or not lookup or lookup[0] not in LOOKUPS or not isinstance(digest, bytes):
            raise TypeError("not a lookup")
    return trace, as_of_read, decode_findings(findings)


def memo_of(cache: ParseCache) -> ResultMemo:
    """The result memo that goes with a parse cache (one per cache, made on first use): kept in its store's
    `pairs` pack when the store has a folder, else in this process only."""
    memo = cache.results
    if not isinstance(memo, ResultMemo):
        memo = cache.results = ResultMemo(cache.store.pack("pairs") if cache.folder is not None else None)
    return memo
