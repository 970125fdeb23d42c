"""The catalogue as it was at a git revision, read from git objects without a checkout.

A `RevisionLoader` lists a commit's catalogue files and hands them, by (path, blob id), to one
`CatalogueBuilder` kept for the whole run: a blob is read and parsed once, and its documents validated
once, however many commits hold it. Loading the next commit of a history then costs reading and parsing
only what that commit changed, plus the catalogue-wide integrity checks.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterable, Sequence

from svcascode.catalogue import Catalogue, CatalogueBuilder, FileSource, LoadResult, ValidatedFile
from svcascode.config import Settings
from svcascode.escape import inert, visible
from svcascode.finding import Finding
from svcascode.gitrepo import GitRepo, TreeFile
from svcascode.loading.cache import ParseCache, make_cache
from svcascode.loading.discover import checked_bytes
from svcascode.loading.yamlfile import ParsedFile


class RevisionLoader:
    """Loads catalogues at commits of one repository, sharing parsed and validated files between them."""

    def __init__(self, root: Path, settings: Settings, repo: GitRepo | None = None,
                 cache: ParseCache | None = None) -> None:
        self.root, self.settings = root, settings
        self.repo = repo or GitRepo(root)
        self.cache = cache or make_cache(root, settings)
        self.builder = CatalogueBuilder(self.cache, settings)

    @property
    def blobs_seen(self) -> int:
        """File versions asked for, over every commit loaded."""
        return self.builder.seen

    @property
    def blobs_read(self) -> int:
        """Distinct (path, blob) read from git and parsed."""
        return self.builder.read

    @property
    def files(self) -> dict[tuple[str, str], ValidatedFile]:
        """Every file version seen, by (path, blob id)."""
        return self.builder.validated

    def close(self) -> None:
        self.cache.save()
        self.repo.close()
        _SKIPPED.update(self.repo.skipped)

    def load(self, rev: str, paths: Sequence[str] = (), option: str = "--rev") -> LoadResult:
        """The validated catalogue at `rev`; `paths` (relative to the root) narrow what is reported."""
        sha = self.repo.resolve(rev, option)
        return self.load_commit(sha, paths)

    def load_commit(self, sha: str, paths: Sequence[str] = (), require: bool = True) -> LoadResult:
        listed, refused = self.repo.yaml_files(sha, self.settings, require)
        scope = _scope(paths, [f.path for f in listed]) if paths else None
        return self.builder.build(self.sources(listed), refused, scope)

    def load_files(self, listed: Sequence[TreeFile], refused: Sequence[Finding] = ()) -> LoadResult:
        """The validated catalogue made of these file versions (as listed at some commit)."""
        return self.builder.build(self.sources(listed), refused)

    def catalogue(self, listed: Sequence[TreeFile]) -> Catalogue:
        """These file versions' documents, indexed, without the catalogue-wide checks."""
        return self.builder.catalogue(self.sources(listed))

    def sources(self, listed: Iterable[TreeFile]) -> list[FileSource]:
        return [FileSource(f.path, f.blob, partial(self._read, f)) for f in listed]

    def _read(self, file: TreeFile) -> bytes | ParsedFile:
        """A blob's bytes; oversized blobs are refused before parsing, as oversized files are on disk."""
        return checked_bytes(file.path, self.repo.read(file.blob), self.cache.limits)


_SKIPPED: dict[str, str] = {}  # over every loader of the command: said once, when it ends


def pending_note() -> str:
    """The note `end_of_command_note` would write now, left to it (the run cache keeps it with an output)."""
    return skipped_note(_SKIPPED)


def end_of_command_note() -> str:
    """What the revisions read by this command held under the roots and was not read: one note, which the
    command line writes on stderr when the command ends (it changes no exit code); then forgotten."""
    note = skipped_note(_SKIPPED)
    _SKIPPED.clear()
    return note


def skipped_note(skipped: dict[str, str], shown: int = 10) -> str:
    """One note listing what the revisions held under the roots and was not read (submodules, other files)."""
    if not skipped:
        return ""
    lines = [f"svcascode: note: {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} under the roots at the "
             "revisions read were not read:"]
    lines += [f"  {inert(visible(path))}: {why}" for path, why in sorted(skipped.items())[:shown]]
    if len(skipped) > shown:
        lines.append(f"  ... and {len(skipped) - shown} more")
    return "\n".join(lines) + "\n"


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
