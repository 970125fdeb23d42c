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
A check whose reads could not be recorded is evaluated every time. So is a control whose check is a
repository module or an installed plugin: that code may read files no trace follows, so its results are
never kept.

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

from svcascode import celeval, stages, twocores
from svcascode.codec import decode_findings, encode_findings
from svcascode.codeversion import code_digest
from svcascode.engine import Baselines, Deferred, PairRunner, Prepared, build_check, selector
from svcascode.finding import Finding
from svcascode.reader import LOOKUPS, Answer, CatalogueReader, Lookup, LookupDigests, Paths, Recorder, \
    RecordingReader, evaluate_lookup
from svcascode.store import stage_key

if TYPE_CHECKING:
    from svcascode.catalogue import Catalogue
    from svcascode.documents import Document
    from svcascode.loading.cache import ParseCache
    from svcascode.loading.yamlfile import ParsedFile, RawDocument
    from svcascode.store import Pack

Trace = tuple[tuple[Lookup, Answer], ...]
_NONE = b"-"
# A lookup whose documents an expression read field by field keeps, per document, the digest of those fields
# (`expressions.projection`) in the store's `fields` pack when it gives this many documents or more: a later
# run compares the fields of the documents that changed and reads the others' digests.
KEEP_FIELDS_FROM = 8
# A lookup's fields are digested over (its documents x the paths read of any of them) only while that is
# at most FIELDS_PER_READ times the reads the evaluation made, plus FIELDS_FREE: an expression that reads
# distinct fields of many documents (every label of every service, each by its own key) is followed by the
# documents' whole digests instead, so digesting what it read costs in proportion to reading it.
FIELDS_PER_READ = 4
FIELDS_FREE = 10_000


class Digests(LookupDigests):
    """Digests of documents and of lookups in one catalogue on one date, each computed once."""

    def __init__(self, catalogue: Catalogue, files: dict[int, tuple[ParsedFile, bytes]], as_of: date,
                 raws: dict[int, tuple[RawDocument, bytes]] | None = None) -> None:
        self.catalogue = catalogue
        self.as_of = as_of
        self._files = files  # id(ParsedFile) -> (the file, digest of its path and text); kept across runs
        # id(RawDocument) -> (it, its digest as a catalogue document): kept across the commits of a walk
        self._raws = raws if raws is not None else {}
        self._parsed = {parsed.path: parsed for parsed in catalogue.files}
        self._documents: dict[int, bytes] = {}
        self._sources: dict[int, bytes] = {}
        self._lookups: dict[Lookup, bytes] = {}
        self._projected: dict[tuple[Lookup, Paths], bytes] = {}
        self._fields: dict[tuple[bytes, bytes], bytes] = {}  # (paths digest, document digest) -> fields digest
        self.kept_fields: dict[Any, Any] = {}  # the memo's `fields` rows, from the last run
        self.new_fields: dict[tuple[bytes, bytes], bytes] = {}  # rows computed here, for the memo to keep

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
                known = self._raws.get(id(raw))
                if known is not None and known[0] is raw:
                    found = known[1]
                else:
                    h = hashlib.blake2b(digest_size=16)
                    h.update(document.file.encode("utf-8", "surrogatepass") + b"\0")
                    h.update(raw.index.to_bytes(4, "big", signed=False))
                    h.update(raw.content_digest())
                    found = h.digest()
                    self._raws[id(raw)] = (raw, found)
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

    def projected(self, key: Lookup, paths: Paths) -> bytes:
        """The digest of what a lookup gives as an expression read it: which documents, in order, and what each
        holds at the paths the expression read of them."""
        found = self._projected.get((key, paths))
        if found is None:
            value = evaluate_lookup(self.catalogue, key, self.as_of)
            documents = value if isinstance(value, list) else [] if value is None or isinstance(value, bool) \
                else [value]
            keep = len(documents) >= KEEP_FIELDS_FROM
            named = stage_key("fields", b"", marshal.dumps(paths))  # the code that reads them, and the paths
            h = hashlib.blake2b(digest_size=16)
            h.update(b"fields" if value is not None else _NONE)
            for document in documents:
                h.update(f"{document.kind}\0{document.name}\0".encode("utf-8", "surrogatepass"))
                h.update(self._fields_of(document, paths, named, keep))
            h.update(len(documents).to_bytes(8, "big"))
            found = self._projected[(key, paths)] = h.digest()
        return found

    def _fields_of(self, document: Document, paths: Paths, named: bytes, keep: bool) -> bytes:
        from svcascode.expressions import projection

        if not paths:
            return b""
        key = (named, self.document(document))
        found = self._fields.get(key)
        if found is None:
            kept = self.kept_fields.get(key)
            if isinstance(kept, bytes):
                found = kept
            else:
                found = projection(document, paths)
                if keep:
                    self.new_fields[key] = found
            self._fields[key] = found
        return found

    def _digest(self, value: Any) -> bytes:
        if value is None:
            return _NONE
        if isinstance(value, bool):
            return b"1" if value else b"0"
        if isinstance(value, list):
            return self.documents(value)
        return self.document(value)


# ---------------------------------------------------------------------------------------------------
# What changed since the last evaluation, and which pairs it reaches

# ("doc", kind, name), ("kind", kind), ("date",) (the as-of date itself), ("in_force", kind, name) (whether
# that level is in force on the as-of date), or an index lookup itself
Dependency = tuple[Any, ...]

# The lookups answered from an index of the catalogue, and the index: a document a lookup of this kind can
# give is one the index lists under the lookup's key.
INDEX_LOOKUPS = {"levels_of": "levels_by_service", "incidents_of": "incidents_by_service",
                 "evidence_about": "evidence_by_subject", "services_owned_by": "services_by_owner",
                 "services_with_access_policy": "services_by_access_policy", "dependants_of": "dependants",
                 "windows_of": "windows_by_service", "window_services_of": "_window_services"}
DATE: Dependency = ("date",)


def dependencies_of(lookup: Lookup) -> tuple[Dependency, ...]:
    """What a lookup's answer can change with: the document it names, the documents of a kind, the entry of an
    index it reads, and, for whether a level is in force, that answer on the as-of date."""
    from svcascode.catalogue import KIND_BY_LOWER

    op = lookup[0]
    if op in ("get", "defines"):
        return (("doc", lookup[1], lookup[2]),)
    if op == "in_force":
        return (("doc", lookup[1], lookup[2]), ("in_force", lookup[1], lookup[2]))
    if op == "resolve":
        reference, default = lookup[1], lookup[2]
        if ":" in reference:
            kind, _, name = reference.partition(":")
            real = KIND_BY_LOWER.get(kind.lower())
            return (("doc", real, name),) if real else ()
        return (("doc", default, reference),) if default else ()
    if op == "of_kind":
        return (("kind", lookup[1]),)
    if op in INDEX_LOOKUPS:
        return (lookup,)
    raise ValueError(f"unknown lookup {op!r}")


def contributions(catalogue: Catalogue) -> dict[tuple[str, str], set[Dependency]]:
    """For every document (kind, name), valid or not: what a lookup's answer has in it when it holds that
    document: the document itself, its kind, and each index entry that lists it."""
    found: dict[tuple[str, str], set[Dependency]] = {}
    for kind, named in catalogue.by_kind.items():
        for name in named:
            found[(kind, name)] = {("doc", kind, name), ("kind", kind)}
    for kind, name in catalogue.invalid:  # `defines` answers for those too
        found.setdefault((kind, name), set()).add(("doc", kind, name))
    for op, attribute in INDEX_LOOKUPS.items():
        index = getattr(catalogue, attribute)
        for key, documents in index.items():
            dependency = (op, *key) if isinstance(key, tuple) else (op, key)
            for document in documents:
                found.setdefault((document.kind, document.name), set()).add(dependency)
    return found


Numbers = tuple[int, ...]  # dependencies by their number in a RunState's table


class Numbering:
    """Every dependency a run state names, numbered once: a state holds each pair's and each document's
    dependencies as numbers, so the next run reads, compares and writes numbers (a state of 156,000 pairs
    names 450,000), and a dependency keeps its number from run to run."""

    def __init__(self, table: list[Dependency]) -> None:
        self.table = table
        self._index: dict[Dependency, int] | None = None

    def index(self) -> dict[Dependency, int]:
        if self._index is None:
            self._index = {dependency: number for number, dependency in enumerate(self.table)}
        return self._index

    def number(self, dependency: Dependency) -> int:
        index = self.index()
        found = index.get(dependency)
        if found is None:
            found = index[dependency] = len(self.table)
            self.table.append(dependency)
        return found

    def numbers(self, dependencies: Iterable[Dependency]) -> Numbers:
        return tuple(map(self.number, dependencies))


DocumentState = tuple[bytes, frozenset[int]]  # a document's digest; the dependencies it contributes to


class RunState:
    """What the last evaluation saw, to tell what the next one must look at again: each document's digest
    and what lookups it is part of, the date, and what each (control, document) pair's lookups depend on,
    the dependencies numbered in `numbering`."""

    def __init__(self, as_of: str, numbering: Numbering, documents: dict[tuple[str, str], DocumentState],
                 pairs: dict[tuple[bytes, bytes], Numbers]) -> None:
        self.as_of, self.numbering, self.documents, self.pairs = as_of, numbering, documents, pairs

    def encode(self) -> Any:
        """As plain values. A table that names more than twice what the pairs and documents use (documents
        removed, lookups no longer made) is numbered again from the ones in use."""
        table = self.numbering.table
        if len(table) > 2 * len(self.documents) + 1024:
            used = {number for numbers in self.pairs.values() for number in numbers}
            used.update(number for _, numbers in self.documents.values() for number in numbers)
            if len(table) > 2 * len(used):
                kept = sorted(used)
                renumber = {old: new for new, old in enumerate(kept)}
                return (self.as_of, tuple(table[old] for old in kept),
                        {key: (digest, frozenset(renumber[n] for n in numbers))
                         for key, (digest, numbers) in self.documents.items()},
                        {key: tuple(renumber[n] for n in numbers) for key, numbers in self.pairs.items()})
        return (self.as_of, tuple(table), self.documents, self.pairs)

    @staticmethod
    def decode(value: Any) -> RunState:
        as_of, table, documents, pairs = value
        if not isinstance(as_of, str) or not isinstance(table, tuple) or not isinstance(documents, dict) \
                or not isinstance(pairs, dict):
            raise TypeError("not a run state")
        # signed, and written by this code (the code digest keys the store): the shapes are checked, not every number
        for digest, numbers in documents.values():
            if not isinstance(digest, bytes) or not isinstance(numbers, frozenset):
                raise TypeError("not a run state")
        if not all(type(numbers) is tuple for numbers in pairs.values()):
            raise TypeError("not a run state")
        return RunState(as_of, Numbering(list(table)), documents, pairs)

    def untouched(self, catalogue: Catalogue, digests: Digests, as_of: str
                  ) -> tuple[set[tuple[bytes, bytes]], dict[tuple[str, str], DocumentState]]:
        """The pairs of the last evaluation that nothing changed since reaches (their findings hold as they
        are), and this catalogue's documents as the next state records them (numbered in this numbering)."""
        now = _documents(catalogue, digests, self.numbering)
        changed: set[int] = set()
        for key in self.documents.keys() | now.keys():
            before, after = self.documents.get(key), now.get(key)
            if before is None or after is None or before[0] != after[0]:
                changed.update(before[1] if before is not None else ())
                changed.update(after[1] if after is not None else ())
        if as_of != self.as_of:  # what read the date itself, and what read a level whose answer is not the same
            changed.add(self.numbering.number(DATE))
            changed.update(self._moved(catalogue, date.fromisoformat(self.as_of), date.fromisoformat(as_of)))
        reached = {pair for pair, deps in self.pairs.items() if not changed.isdisjoint(deps)} if changed else set()
        return set(self.pairs) - reached, now


    def _moved(self, catalogue: Catalogue, before: date, now: date) -> list[int]:
        """The numbers of the `in_force` dependencies whose level is in force on one date and not the other
        (`facts.level_in_force`, the answer a lookup gives). A level changed or gone is its document's
        dependency."""
        from svcascode.facts import level_in_force

        moved, by_kind = [], catalogue.by_kind
        for number, dependency in enumerate(self.numbering.table):
            if dependency[0] == "in_force":
                level = by_kind.get(dependency[1], {}).get(dependency[2])
                if level is not None and level_in_force(level, before) != level_in_force(level, now):
                    moved.append(number)
        return moved


def _documents(catalogue: Catalogue, digests: Digests, numbering: Numbering
               ) -> dict[tuple[str, str], DocumentState]:
    found = contributions(catalogue)
    out: dict[tuple[str, str], DocumentState] = {}
    number, index = numbering.number, numbering.index()
    by_kind = catalogue.by_kind
    for (kind, name), deps in found.items():
        document = by_kind.get(kind, {}).get(name)
        digest = digests.document(document) if document is not None else b"invalid"
        try:  # numbered before, almost always: no call per dependency
            numbers = frozenset([index[dependency] for dependency in deps])
        except KeyError:
            numbers = frozenset(map(number, deps))
        out[(kind, name)] = (digest, numbers)
    return out


class MemoPairRunner(PairRunner):
    """A PairRunner that reuses a pair's findings from the memo while what they were computed from is
    unchanged, records what each pair it evaluates reads, and keeps the result."""

    def __init__(self, catalogue: Catalogue, as_of: date, baselines: Baselines, memo: ResultMemo) -> None:
        super().__init__(catalogue, as_of, baselines)
        self.memo = memo
        self.digests = Digests(catalogue, memo.files, as_of, memo.raws)
        self.digests.kept_fields = memo.fields()
        self.recording = RecordingReader(catalogue, self.digests)
        self.as_of_text = as_of.isoformat()
        self._keys: dict[int, bytes] = {}
        state = memo.state()
        self.trusted: set[tuple[bytes, bytes]] = set()
        self.documents: dict[tuple[str, str], DocumentState] | None = None
        self.before: dict[tuple[bytes, bytes], Numbers] = state.pairs if state is not None else {}
        # the dependencies of this evaluation's state, numbered as the last one's were (new ones after them)
        self.numbering = state.numbering if state is not None else Numbering([])
        if state is not None:
            self.trusted, self.documents = state.untouched(catalogue, self.digests, self.as_of_text)
        self.pairs: dict[tuple[bytes, bytes], Numbers] = {}  # what this evaluation's pairs read
        self._rows: dict[tuple[str, ...], list[Selection]] = {}

    def reader(self) -> CatalogueReader:
        return self.recording

    def control_key(self, control: Document) -> bytes:
        key = self._keys.get(id(control))
        if key is None:
            key = self._keys[id(control)] = self.memo.control_key(self.digests, control, self.baselines.baselines)
        return key

    def prepare(self, control: Document) -> Prepared:
        key = self.control_key(control)
        if not key:  # results never kept (a repository module's or a plugin's check)
            return super().prepare(control)
        if self.memo.built_cleanly(key):
            # this version of the control built without a problem before: it is built when a document needs
            # it evaluated, so a run that reuses every result never compiles it (nor imports celpy)
            return self._ready(Prepared(control, Deferred(lambda: self.memo.check(key, control, self.source(control))),
                                        {}, []))
        function, params, problems = self.memo.check(key, control, self.source(control))
        return self._ready(Prepared(control, function, params, problems))

    def chosen(self, prepared: Prepared) -> list[Document]:
        key = self.control_key(prepared.control)
        if not key:
            return super().chosen(prepared)
        kinds = tuple(prepared.control.spec.applies_to.kinds)
        rows = self._rows.get(kinds)
        if rows is None:  # the candidates of these kinds with their selection rows: one walk for every control
            rows = self._rows[kinds] = self.memo.selection_rows(self.candidates(prepared.control), self.digests)
        return self.memo.select(key, prepared.control, rows)

    def findings_of(self, pairs: list[tuple[Prepared, Document]]) -> list[tuple[Finding, ...]]:
        """Each pair's findings: reused where nothing it read has changed; the others evaluated with what they
        read recorded, on two cores when there are many (svcascode.twocores), and kept."""
        results: list[tuple[Finding, ...] | None] = []
        trusted, before, now, recall = self.trusted, self.before, self.pairs, self.memo.recall
        document_digest, control_key = self.digests.document, self.control_key
        reused = 0
        for prepared, document in pairs:
            # a pair that nothing changed since reaches is reused here, in a loop over most of a run's pairs
            # after a small edit; any other is asked in full (`_reused`), reasons counted
            key = control_key(prepared.control)
            if key:
                pair = (key, document_digest(document))
                if pair in trusted:
                    found = recall(pair)
                    if found is not None:
                        now[pair] = before[pair]
                        reused += 1
                        results.append(found)
                        continue
            results.append(self._reused(prepared, document))
        stages.count_many("pairs", reused)
        todo = [i for i, found in enumerate(results) if found is None]
        if not todo:
            return [found for found in results if found is not None]
        traced = twocores.computed([pairs[i] for i in todo], self._traced, _encode_traced, _decode_traced)
        for i, (found, recorder) in zip(todo, traced):
            results[i] = self._kept(pairs[i][0], pairs[i][1], found, recorder)
        return [found if found is not None else () for found in results]

    def findings(self, prepared: Prepared, document: Document) -> tuple[Finding, ...]:
        found = self._reused(prepared, document)
        if found is None:
            found = self._kept(prepared, document, *self._traced((prepared, document)))
        return found

    def _reused(self, prepared: Prepared, document: Document) -> tuple[Finding, ...] | None:
        """The pair's findings from the memo when nothing it read has changed; None when it is to be evaluated
        (counted, with the reason)."""
        key = self.control_key(prepared.control)
        if not key:  # its code may read what no trace follows: evaluated every time, never kept
            stages.count("pairs", False, f"never kept: {prepared.control.name} runs the repository's or a "
                         "plugin's code")
            return None
        subject = self.digests.document(document)
        pair = (key, subject)
        if pair in self.trusted:  # nothing it read has changed since the last evaluation
            found = self.memo.recall(pair)
            if found is not None:
                stages.count("pairs", True)
                self.pairs[pair] = self.before[pair]
                return found
        found = self.memo.reuse(key, subject, self.digests, self.as_of_text)
        if found is not None:
            stages.count("pairs", True)
            self.pairs[pair] = self.numbering.numbers(self.memo.dependencies(key, subject))
            return found
        why = self.memo.why
        stages.count("pairs", False, f"control changed: {prepared.control.name}" if why == "control changed"
                     else f"document changed: {document.file}" if why == "document changed" else why)
        return None

    def _traced(self, pair: tuple[Prepared, Document]) -> tuple[tuple[Finding, ...], Recorder | None]:
        """The pair evaluated, with what it read (None for a check whose reads no trace follows)."""
        from svcascode.expressions import field_reads

        prepared, document = pair
        if not self.control_key(prepared.control):
            return super().findings(prepared, document), None
        with self.recording.recording(Recorder()) as recorder, field_reads(document) as reads:
            found = super().findings(prepared, document)
        assert recorder is not None
        handed = len(recorder.read) < len(recorder.lookups)  # most checks hand nothing over: no walk
        for looked in list(recorder.lookups) if handed else ():
            if recorder.handed(looked) and looked[0] != "in_force":
                value = evaluate_lookup(self.catalogue, looked, self.as_of)
                documents = value if isinstance(value, list) else [] if value is None else [value]
                paths = reads.paths(documents)
                if len(paths) * len(documents) <= FIELDS_PER_READ * reads.count + FIELDS_FREE:
                    recorder.lookups[looked] = (self.digests.projected(looked, paths), paths)
        if self.digests.new_fields:
            recorder.rows, self.digests.new_fields = self.digests.new_fields, {}
        return found, recorder

    def _kept(self, prepared: Prepared, document: Document, found: tuple[Finding, ...],
              recorder: Recorder | None) -> tuple[Finding, ...]:
        """Keep an evaluated pair's findings with what it read."""
        key = self.control_key(prepared.control)
        if recorder is None or not key:
            return found
        subject = self.digests.document(document)
        if self.memo.store(key, subject, recorder, self.as_of_text, found):
            self.pairs[(key, subject)] = self.numbering.numbers(_dependencies(recorder.lookups, recorder.as_of_read))
            self.digests.new_fields.update(recorder.rows)
        return found

    def done(self) -> None:
        documents = self.documents if self.documents is not None else _documents(self.catalogue, self.digests,
                                                                                self.numbering)
        self.memo.remember(RunState(self.as_of_text, self.numbering, documents, self.pairs))
        self.memo.keep_fields({digest for digest, _ in documents.values()}, self.digests.new_fields)
        self.digests.new_fields = {}
        if not self.memo.defer_save:
            self.memo.save()


def _encode_traced(traced: tuple[tuple[Finding, ...], Recorder | None]) -> Any:
    """An evaluated pair as plain values, for the pipe from the second core (svcascode.twocores)."""
    found, recorder = traced
    if recorder is None:
        return encode_findings(found), None
    return encode_findings(found), (tuple(recorder.lookups.items()), recorder.as_of_read, recorder.untraceable,
                                    tuple(recorder.rows.items()))


def _decode_traced(row: Any) -> tuple[tuple[Finding, ...], Recorder | None]:
    """The evaluated pair `_encode_traced` wrote; TypeError when the row is not one."""
    if not isinstance(row, tuple) or len(row) != 2:
        raise TypeError("not an evaluated pair")
    found, read = decode_findings(row[0]), row[1]
    if read is None:
        return found, None
    if not (isinstance(read, tuple) and len(read) == 4 and isinstance(read[0], tuple)
            and all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], tuple)
                    and _is_answer(item[1]) for item in read[0])
            and isinstance(read[1], bool) and isinstance(read[2], bool) and isinstance(read[3], tuple)
            and all(isinstance(row, tuple) and len(row) == 2 and isinstance(row[1], bytes) for row in read[3])):
        raise TypeError("not what an evaluated pair read")
    recorder = Recorder()
    recorder.lookups = dict(read[0])
    recorder.as_of_read, recorder.untraceable = read[1], read[2]
    recorder.rows = dict(read[3])
    return found, recorder


def _is_answer(value: Any) -> bool:
    """A digest, or a digest of fields with the paths they were read at."""
    return isinstance(value, bytes) or (
        isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bytes) and isinstance(value[1], tuple)
        and all(isinstance(path, tuple) and path and all(isinstance(k, (str, int)) or k is None for k in path)
                for path in value[1]))


def _dependencies(lookups: Iterable[Lookup], as_of_read: bool) -> tuple[Dependency, ...]:
    found: dict[Dependency, None] = {}
    for lookup in lookups:
        for dependency in dependencies_of(lookup):
            found[dependency] = None
    if as_of_read:
        found[DATE] = None
    return tuple(found)


# ---------------------------------------------------------------------------------------------------
# The memo


_Entry = tuple[Trace, str | None, tuple[Finding, ...]]  # lookups, the as-of date read (or None), findings
_SELECTION = b"selection"  # the second half of the key of a document's row: which controls select it
Selection = tuple["Document", bytes, dict[bytes, bool]]  # a candidate, its digest, its selection row
_BUILT = b"built"  # the second half of the key of a control's row: its check built without a problem


class ResultMemo:
    """(control key, subject digest) -> the check's findings, with what they were computed from, kept in
    the store's `pairs` pack (or in memory only, without one)."""

    def __init__(self, pack: Pack | None = None) -> None:
        self._pack = pack
        self._stored: dict[Any, Any] = pack.entries() if pack is not None else {}
        if pack is not None:  # expressions compiled by earlier runs: a Control is built without parsing
            celeval.attach(pack.store)
        self._entries: dict[tuple[bytes, bytes], _Entry] = {}
        self._last: tuple[tuple[bytes, bytes], _Entry] | None = None  # the entry `reuse` decoded last
        self.files: dict[int, tuple[ParsedFile, bytes]] = {}
        self.raws: dict[int, tuple[RawDocument, bytes]] = {}
        self._checks: dict[bytes, tuple[Any, dict[str, Any], list[Finding]]] = {}  # in this process only
        self._selected: dict[bytes, dict[bytes, bool]] = {}  # subject digest -> control key -> selected
        self.defer_save = False  # a walk through history saves once, at its end
        self._state: RunState | None = None
        self._state_read = False
        self._state_changed = False
        self._fields: Pack | None = None
        self._fields_here: dict[Any, Any] = {}  # without a store: in this process only
        self.why = ""  # why the last pair asked for could not be reused
        self.reused = 0
        self.evaluated = 0

    def fields(self) -> dict[Any, Any]:
        """The digests of the fields expressions read of documents (`Digests.projected`), kept by the last run."""
        if self._fields is None:
            self._fields = self._pack.store.pack("fields") if self._pack is not None else None
        return self._fields.entries() if self._fields is not None else self._fields_here

    def keep_fields(self, current: set[bytes], new: dict[tuple[bytes, bytes], bytes]) -> None:
        """Keep the field digests of the documents the catalogue now holds, and those this run computed."""
        pack = self._fields
        if pack is None:  # in this process only (an editor's server without a store): the current documents'
            self._fields_here = {key: row for key, row in {**self._fields_here, **new}.items() if key[1] in current}
            return
        for key, row in list(pack.entries().items()):
            if isinstance(key, tuple) and len(key) == 2 and key[1] in current and key not in new:
                pack.keep(key, row)
        for key, row in new.items():
            pack.keep(key, row)

    def runner(self, catalogue: Catalogue, as_of: date, baselines: Baselines) -> MemoPairRunner:
        return MemoPairRunner(catalogue, as_of, baselines, self)

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
        h.update(digests.source(control))
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
        self._last = (key, entry)  # its dependencies are asked next when it is reused: not decoded twice
        trace, as_of_read, findings = entry
        if as_of_read is not None and as_of_read != as_of:
            self.why = "date changed"
            return None
        if trace:
            try:
                lookup = digests.lookup
                for looked, digest in trace:
                    if type(digest) is tuple:  # the fields an expression read of the documents it was handed
                        if digests.projected(looked, digest[1]) != digest[0]:
                            self.why = "lookup changed: " + " ".join(map(str, looked))
                            return None
                    elif lookup(looked) != digest:
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

    def recall(self, key: tuple[bytes, bytes]) -> tuple[Finding, ...] | None:
        """The findings kept for a (control, subject) pair, without asking whether they still hold (the caller
        knows they do). Called for almost every pair of a run after a small edit: the common row, a pair
        without findings, is told by its first half alone.

        The pair is trusted against the state of the last evaluation, so its row is the one that evaluation
        kept: in a process that evaluates again (the later dates of a forecast), the row this process kept
        last, before the store's (which may be of other inputs: it is kept first for `reuse`, which checks)."""
        entry = self._entries.get(key)
        if entry is None:
            row = self._pack.kept(key) if self._pack is not None else None
            if row is None:
                row = self._stored.get(key)
            if row is None:
                return None
            try:
                if not self.defer_save:  # only the findings are read: the trace is not asked of a trusted pair
                    found = () if type(row) is tuple and len(row) == 2 and row[0] == _NO_FINDINGS \
                        else _decode_findings(row)
                    if self._pack is not None:
                        self._pack.keep(key, row)
                    self.reused += 1
                    return found
                entry = _decode(row)
            except (TypeError, ValueError, EOFError):
                return None
            self._keep(key, row)
            self._entries[key] = entry
        self.reused += 1
        return entry[2]

    def dependencies(self, control: bytes, subject: bytes) -> tuple[Dependency, ...]:
        """What a kept pair's findings depend on (from its trace)."""
        key = (control, subject)
        entry = self._entries.get(key)
        if entry is None:
            last = self._last
            entry = last[1] if last is not None and last[0] == key else _decode(self._stored[key])
        trace, as_of_read, _ = entry
        return _dependencies((looked for looked, _ in trace), as_of_read is not None)

    _STATE = "pairs.state"

    def state(self) -> RunState | None:
        """What the last evaluation (of this process, or the last run that kept its results) saw."""
        if not self._state_read:
            self._state_read = True
            if self._state is None and self._pack is not None:
                try:
                    self._state = RunState.decode(self._pack.store.load(self._STATE))
                except (TypeError, ValueError, IndexError, KeyError):
                    self._state = None
        return self._state

    def forget(self, files: Iterable[ParsedFile]) -> None:
        """Keep only what the last evaluation used (in a long-lived process, an editor's server, where every
        keystroke is a version): the results of its pairs, the selections of their documents, the digests of
        these files. What was read from the store is held decoded by then."""
        kept = set(self._state.pairs) if self._state is not None else set()
        self._entries = {key: entry for key, entry in self._entries.items() if key in kept}
        self._stored = {}
        subjects = {subject for _, subject in kept}
        self._selected = {subject: row for subject, row in self._selected.items() if subject in subjects}
        files = list(files)
        current = {id(parsed) for parsed in files}
        self.files = {key: known for key, known in self.files.items() if key in current}
        raws = {id(raw) for parsed in files for raw in parsed.documents}
        self.raws = {key: known for key, known in self.raws.items() if key in raws}

    def remember(self, state: RunState) -> None:
        """The state of this evaluation, saved with the results unless it is the state already kept (a run
        that reused everything: encoding and signing every pair's dependencies again would be most of it)."""
        kept = self._state
        same = kept is not None and kept.as_of == state.as_of and kept.pairs == state.pairs \
            and kept.documents == state.documents
        self._state, self._state_read = state, True
        self._state_changed = self._state_changed or not same

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

    def selection_rows(self, candidates: Iterator[Document], digests: Digests) -> list[Selection]:
        """Each candidate with its digest and its selection row: control key -> whether that control selects it.

        Whether a control selects a document depends on the control and the document alone: each
        document has one row, so an edited document renews only its own row."""
        out: list[Selection] = []
        for document in candidates:
            subject = digests.document(document)
            row = self._selected.get(subject)
            if row is None:
                key = (subject, _SELECTION)
                stored = self._stored.get(key)
                row = self._selected[subject] = dict(stored) if isinstance(stored, dict) else {}
                self._keep(key, row)
            out.append((document, subject, row))
        return out

    def select(self, control_key: bytes, control: Document, rows: list[Selection]) -> list[Document]:
        """The candidates the control's appliesTo chooses (`engine.selector`), each judged once per version."""
        chosen_by: Any = None
        out: list[Document] = []
        for document, subject, row in rows:
            chosen = row.get(control_key)
            if type(chosen) is not bool:
                if chosen_by is None:
                    chosen_by = selector(control)
                chosen = row[control_key] = bool(chosen_by(document))
                self._keep((subject, _SELECTION), row)
            if chosen:
                out.append(document)
        return out

    def store(self, control: bytes, subject: bytes, recorder: Recorder, as_of: str,
              findings: tuple[Finding, ...]) -> bool:
        """Keep a pair's result with what it read; False when what it read could not be recorded."""
        self.evaluated += 1
        if recorder.untraceable:
            return False
        key = (control, subject)
        self._last = None  # a new entry for a pair: never answered by the one decoded before
        entry: _Entry = (tuple(recorder.lookups.items()), as_of if recorder.as_of_read else None, findings)
        if self.defer_save:  # a process that evaluates again (history, the editor's server) asks for it decoded;
            self._entries[key] = entry  # one run holds only the row it writes
        try:
            self._keep(key, _encode(entry))
        except ValueError:  # a value marshal cannot write: this pair is evaluated again next time
            return False
        return True

    def save(self) -> None:
        """Write what this process used to the store (the pack keeps only those rows), and the state of the
        last evaluation."""
        if self._pack is not None:
            self._pack.save()
            # the pack now holds the rows this process used and kept: the next evaluation in this process
            # (the other revision of a diff, the next date of a forecast) reuses them as a later run would.
            # A row read from the store stays first: a pair that reads the date has one row, and the store's
            # is of the date the last run evaluated last, which this run's forecast evaluates last too
            kept = self._pack.entries()
            if kept is not self._stored:
                self._stored = {**kept, **self._stored}
            if self._fields is not None:
                self._fields.save()
            celeval.save()
            if self._state is not None and self._state_changed:
                self._pack.store.save(self._STATE, self._state.encode())
                self._state_changed = False


_NO_FINDINGS = marshal.dumps(())


def _encode(entry: _Entry) -> tuple[bytes, bytes]:
    """A row: its findings and its trace marshalled apart, so a pair known to hold reads its findings only
    (most have none)."""
    trace, as_of_read, findings = entry
    return (marshal.dumps(encode_findings(findings)) if findings else _NO_FINDINGS,
            marshal.dumps((trace, as_of_read)))


def _decode_findings(row: Any) -> tuple[Finding, ...]:
    if not isinstance(row, tuple) or len(row) != 2 or not isinstance(row[0], bytes):
        raise TypeError("not a row")
    return () if row[0] == _NO_FINDINGS else decode_findings(marshal.loads(row[0]))


def _decode(row: Any) -> _Entry:
    """An entry read from the store (one row, decoded only when its pair is asked for, so the memo holds
    bytes, not objects); a row of another shape raises TypeError or ValueError (not used)."""
    findings = _decode_findings(row)
    if not isinstance(row[1], bytes):
        raise TypeError("not a row")
    trace, as_of_read = marshal.loads(row[1])
    if not isinstance(trace, tuple) or not (as_of_read is None or isinstance(as_of_read, str)):
        raise TypeError("not an entry")
    for lookup, digest in trace:
        if not isinstance(lookup, tuple) or not lookup or lookup[0] not in LOOKUPS or not _is_answer(digest):
            raise TypeError("not a lookup")
    return trace, as_of_read, findings


def memo_of(cache: ParseCache) -> ResultMemo:
    """The result memo that goes with a parse cache (one per cache, made on first use): kept in its store's
    `pairs` pack when the store has a folder, else in this process only."""
    memo = cache.results
    if not isinstance(memo, ResultMemo):
        memo = cache.results = ResultMemo(cache.store.pack("pairs") if cache.folder is not None else None)
    return memo
