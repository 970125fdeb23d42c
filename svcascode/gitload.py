"""The catalogue as it was at a git revision, read from git objects without a checkout.

A `RevisionLoader` keeps, for the whole run, every file it has seen by (path, blob id): a blob is read
and parsed once, and its documents validated once, however many commits hold it. Loading the next
commit of a history then costs reading and parsing only what that commit changed, plus the
catalogue-wide integrity checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from svcascode.catalogue import RULE_REFERENCE, Catalogue, LoadResult, check_integrity
from svcascode.config import Settings
from svcascode.documents import Document, validate_document
from svcascode.finding import Finding
from svcascode.gitrepo import GitRepo, TreeFile
from svcascode.loading.cache import ParseCache, make_cache, parse_blob
from svcascode.loading.parallel import parse_many
from svcascode.loading.yamlfile import ParsedFile

_Validated = tuple[ParsedFile, list[Document], list[Finding]]


class RevisionLoader:
    """Loads catalogues at commits of one repository, sharing parsed and validated files between them."""

    def __init__(self, root: Path, settings: Settings, repo: GitRepo | None = None,
                 cache: ParseCache | None = None) -> None:
        self.root, self.settings = root, settings
        self.repo = repo or GitRepo(root)
        self.cache = cache or make_cache(root, settings)
        self.files: dict[tuple[str, str], _Validated] = {}
        self.blobs_seen = 0  # file versions asked for, over every commit loaded
        self.blobs_read = 0  # distinct (path, blob) read from git
        self._names: frozenset[tuple[str, str]] = frozenset()
        self._references: dict[tuple[str, str], list[Finding]] = {}  # (path, blob) -> unresolved references

    def close(self) -> None:
        self.cache.save()
        self.repo.close()

    def load(self, rev: str, paths: Sequence[str] = (), option: str = "--rev") -> LoadResult:
        """The validated catalogue at `rev`; `paths` (relative to the root) narrow what is reported."""
        sha = self.repo.resolve(rev, option)
        return self.load_commit(sha, paths)

    def load_commit(self, sha: str, paths: Sequence[str] = (), require: bool = True) -> LoadResult:
        listed, refused = self.repo.yaml_files(sha, self.settings, require)
        result = self.load_files(listed, refused)
        if paths:
            result.scope = _scope(paths, [f.path for f in listed])
        return result

    def load_files(self, listed: Sequence[TreeFile], refused: Sequence[Finding] = ()) -> LoadResult:
        """The validated catalogue made of these file versions (as listed at some commit).

        Reference checks are incremental: while the set of document kinds and names stays the same
        as in the previous catalogue loaded, a file version's unresolved references cannot change, so
        only files not seen in that catalogue are checked again. Duplicates and cycles are checked
        whole every time.
        """
        catalogue = Catalogue()
        findings: list[Finding] = list(refused)
        duplicates: list[tuple[Document, Document]] = []
        owners: dict[int, tuple[str, str]] = {}
        for file, (parsed, documents, problems) in zip(listed, self.validated(listed)):
            catalogue.files.append(parsed)
            findings.extend(problems)
            for document in documents:
                owners[id(document)] = (file.path, file.blob)
                earlier = catalogue.add(document)
                if earlier is not None:
                    duplicates.append((document, earlier))
        names = frozenset((d.kind, d.name) for d in catalogue.documents)
        if names != self._names:
            self._references = {}
            self._names = names
        fresh = [d for d in catalogue.documents if owners[id(d)] not in self._references]
        blob_of = {f.path: f.blob for f in listed}
        view = Catalogue(documents=fresh, by_kind=catalogue.by_kind)  # references of the fresh ones only
        for key in {owners[id(d)] for d in fresh}:
            self._references[key] = []
        for finding in check_integrity(view, duplicates):
            if finding.rule == RULE_REFERENCE:
                self._references[(finding.file, blob_of[finding.file])].append(finding)
            else:
                findings.append(finding)
        for key in dict.fromkeys(owners.values()):
            findings.extend(self._references.get(key, ()))
        return LoadResult(catalogue, sorted(findings, key=Finding.sort_key), self.cache)

    def validated(self, listed: Iterable[TreeFile]) -> list[_Validated]:
        """Each file version parsed and validated, once per run: by (path, blob id)."""
        listed = list(listed)
        self.blobs_seen += len(listed)
        missing = [f for f in listed if (f.path, f.blob) not in self.files]
        if missing:
            self.blobs_read += len(missing)
            items = [(f.path, _bytes(self.repo.read(f.blob), f.path, self.cache)) for f in missing]
            for file, parsed in zip(missing, parse_many(items, self.cache)):
                self.files[(file.path, file.blob)] = _validate(parsed)
        return [self.files[(f.path, f.blob)] for f in listed]


def _bytes(data: bytes, path: str, cache: ParseCache) -> bytes | ParsedFile:
    """Oversized blobs are refused before parsing, as oversized files are on disk."""
    return data if len(data) <= cache.limits.max_file_bytes else parse_blob(path, data, cache)


def _validate(parsed: ParsedFile) -> _Validated:
    documents: list[Document] = []
    problems: list[Finding] = list(parsed.problems)
    for raw in parsed.documents:
        document, found = validate_document(raw, parsed.text)
        problems.extend(found)
        if document is not None:
            documents.append(document)
    return parsed, documents, problems


def _scope(paths: Sequence[str], listed: list[str]) -> frozenset[str]:
    """The listed files equal to, or under, the given paths (relative to the catalogue root)."""
    wanted = [p.strip("/") for p in paths]
    return frozenset(f for f in listed if any(f == w or f.startswith(w + "/") for w in wanted))


def load_revision(root: Path, settings: Settings, rev: str, paths: Sequence[str] = ()) -> LoadResult:
    """One catalogue at one revision (what `check --rev` loads)."""
    loader = RevisionLoader(root, settings)
    try:
        return loader.load(rev, paths)
    finally:
        loader.close()
