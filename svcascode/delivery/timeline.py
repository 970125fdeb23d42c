"""As it was then: the catalogue whose definitions were in force at a moment, from git.

A moment is judged against the last commit on the first-parent line of HEAD that entered the history
(committer date) at or before it (`svcascode.delivery.inforce`). Outside git, with no commit yet, or before the first commit that
touched the catalogue, today's definitions (the working tree) are used, and the result says so.
A catalogue is built once per commit however many clocks and windows ask for it; blobs are read and
parsed once per run by the shared `CatalogueBuilder` of a `RevisionLoader`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from svcascode.calendars import as_utc
from svcascode.reader import CatalogueReader
from svcascode.config import Settings
from svcascode.delivery.inforce import index_in_force, line_times
from svcascode.errors import SvcascodeError
from svcascode.gitrepo import MODE_SYMLINK, TreeFile


@dataclass(frozen=True)
class Source:
    """Where a definition was read from: a commit, or today's working tree (with why)."""

    commit: str | None = None  # full sha
    committed: str | None = None  # ISO 8601 committer date
    subject: str | None = None
    reason: str | None = None  # why today's definitions were used, when they were

    @property
    def short(self) -> str:
        return self.commit[:12] if self.commit else "working tree"

    def describe(self) -> str:
        if self.commit is None:
            return f"today's definitions (working tree): {self.reason}"
        return f"commit {self.short} of {(self.committed or '')[:10]} ({self.subject})"

    def as_json(self) -> dict[str, Any]:
        return {"commit": self.commit, "committed": self.committed, "subject": self.subject, "reason": self.reason}


class FileStates:
    """The catalogue files at each commit of a first-parent log, worked out when asked: from the nearest
    state already known, by the changes of the commits between (a listing of the tree where a commit
    changes a symlink). Asking for commits in order costs one pass over the log; a state is kept every
    `EVERY` commits, so asking for an earlier one replays at most that many."""

    EVERY = 64

    def __init__(self, loader: Any, settings: Settings, log: list[tuple[Any, list[Any]]]) -> None:
        self.loader, self.settings, self.log = loader, settings, log
        self._kept: dict[int, dict[str, str]] = {}
        self._index = -1
        self._state: dict[str, str] = {}

    def at(self, index: int) -> tuple[TreeFile, ...]:
        if index < self._index:
            start = max((k for k in self._kept if k <= index), default=-1)
            self._index, self._state = (start, dict(self._kept[start])) if start >= 0 else (-1, {})
        repo = self.loader.repo
        while self._index < index:
            self._index += 1
            commit, changes = self.log[self._index]
            if self._index == 0 or any(MODE_SYMLINK in (c.new_mode, c.old_mode) for c in changes):
                listed, _ = repo.yaml_files(commit.sha, self.settings, require=False)
                self._state = {f.path: f.blob for f in listed}
            else:
                for change in changes:
                    if change.new_blob and repo.selects(change.path, self.settings):
                        self._state[change.path] = change.new_blob
                    else:
                        self._state.pop(change.path, None)
            if self._index % self.EVERY == 0:
                self._kept[self._index] = dict(self._state)
        return tuple(TreeFile(p, b) for p, b in sorted(self._state.items()))


class Definitions:
    """The catalogue in force at a moment; `at(moment)` -> (catalogue, source)."""

    def __init__(self, today: CatalogueReader, reason: str, loader: Any = None,
                 commits: list[tuple[datetime, Any]] | None = None, files: FileStates | None = None) -> None:
        self.today, self.reason = today, reason
        self.loader = loader
        self.commits = commits or []
        self.files = files
        self._times = [moment for moment, _ in self.commits]
        self._built: dict[str, CatalogueReader] = {}

    @property
    def commits_built(self) -> int:
        """How many commits' catalogues were built (each once)."""
        return len(self._built)

    def in_force(self, moment: datetime) -> tuple[Any, tuple[TreeFile, ...]] | None:
        """The commit in force at a moment, with the catalogue files it holds; None before the first one."""
        index = index_in_force(self._times, moment)
        if self.loader is None or self.files is None or index < 0:
            return None
        return self.commits[index][1], self.files.at(index)

    def at(self, moment: datetime) -> tuple[CatalogueReader, Source]:
        found = self.in_force(moment)
        if found is None:
            reason = self.reason if self.loader is None else "before the first commit of the catalogue"
            return self.today, Source(reason=reason)
        commit, files = found
        catalogue = self._built.get(commit.sha)
        if catalogue is None:
            catalogue = self.loader.load_files(list(files)).catalogue
            self._built[commit.sha] = catalogue
        return catalogue, Source(commit.sha, commit.committed or commit.date, commit.message)

    def first_after(self, start: datetime, end: datetime) -> list[tuple[CatalogueReader, Source]]:
        """The catalogues of the commits that entered the history in [start, end), oldest first."""
        found = []
        for moment, commit in self.commits:
            if as_utc(start) <= moment < as_utc(end):
                found.append(self.at(moment))
        return found

    def close(self) -> None:
        if self.loader is not None:
            self.loader.close()
            self.loader = None


def today_only(catalogue: CatalogueReader, reason: str) -> Definitions:
    return Definitions(catalogue, reason)


def from_git(root: Path, settings: Settings, today: CatalogueReader, rev: str = "HEAD") -> Definitions:
    """Definitions from the first-parent history of `rev` (HEAD), or today's when there is no usable git
    history."""
    from svcascode.gitload import RevisionLoader

    try:
        loader = RevisionLoader(root, settings)
    except SvcascodeError:
        return Definitions(today, "not a git repository")
    try:
        if loader.repo.head() is None:
            loader.close()
            return Definitions(today, "the repository has no commit yet")
        log = loader.repo.log(rev, settings, first_parent=True)
    except SvcascodeError as error:
        loader.close()
        return Definitions(today, f"git history unreadable: {error}")
    if not log:
        loader.close()
        return Definitions(today, "no commit touches the catalogue")
    times = line_times(commit.committed or commit.date for commit, _ in log)
    commits = [(times[index], commit) for index, (commit, _) in enumerate(log)]
    return Definitions(today, "", loader, commits, FileStates(loader, settings, log))
