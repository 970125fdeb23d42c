"""What the report knows from git: the commit, when each finding first appeared, and the posture trend.

History is optional: outside a git repository (or in one without commits) the report says so and is
still written. `load_history` is the one place that reaches git.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from svcascode.catalogue import Catalogue
from svcascode.config import Settings
from svcascode.engine import Evaluation, evaluate
from svcascode.errors import SvcascodeError

NOT_A_REPOSITORY = "no history: not a git repository"


@dataclass(frozen=True)
class FirstSeen:
    """The earliest commit of the walked history in which a finding (by fingerprint) was present."""

    commit: str
    author: str
    date: str
    before_range: bool = False  # present already in the oldest commit walked: it may be older still


@dataclass(frozen=True)
class TrendPoint:
    commit: str
    date: str
    satisfied: int
    not_satisfied: int
    waived: int
    open_findings: int

    @property
    def label(self) -> str:
        return f"{self.date} {self.commit[:7]}"


@dataclass(frozen=True)
class History:
    commit: str | None = None
    dirty: bool = False  # the working tree differs from the commit in the catalogue roots
    first_seen: dict[str, FirstSeen] = field(default_factory=dict)  # finding fingerprint -> first commit
    trend: tuple[TrendPoint, ...] = ()
    note: str = NOT_A_REPOSITORY  # shown when there is no commit

    @property
    def available(self) -> bool:
        return self.commit is not None


Posture = Callable[[Catalogue, Evaluation], tuple[int, int, int]]  # satisfied, not satisfied, waived


def load_history(root: Path, settings: Settings, as_of: date, posture: Posture, commits: int = 10,
                 days: int | None = None) -> History:
    """The history of the catalogue roots: the last `commits` commits (or those of the last `days`)."""
    try:
        from svcascode.gitload import RevisionLoader
        from svcascode.gitrepo import GitRepo

        repo = GitRepo(root)
    except (SvcascodeError, ImportError):
        return History()
    try:
        head = repo.head()
        if head is None:
            return History(note="no history: the git repository has no commits yet")
        dirty = bool(repo.git("status", "--porcelain", "--", *[repo.prefix + r for r in settings.roots]).strip())
        since = (date.fromordinal(as_of.toordinal() - days).isoformat()) if days else None
        log = repo.log("HEAD", paths=settings.roots, since=since, until=f"{as_of.isoformat()} 23:59:59")
        chosen = log if days else log[-commits:]
        loader = RevisionLoader(root, settings, repo)
        first_seen: dict[str, FirstSeen] = {}
        trend: list[TrendPoint] = []
        for index, commit in enumerate(chosen):
            catalogue = loader.load_commit(commit.sha).catalogue
            evaluation = evaluate(catalogue, min(as_of, date.fromisoformat(commit.day)))
            for finding in evaluation.findings:
                first_seen.setdefault(finding.fingerprint,
                                      FirstSeen(commit.sha, commit.author, commit.date, before_range=index == 0))
            satisfied, not_satisfied, waived = posture(catalogue, evaluation)
            open_findings = sum(1 for f in evaluation.findings if not f.suppressed)
            trend.append(TrendPoint(commit.sha, commit.day, satisfied, not_satisfied, waived, open_findings))
        loader.cache.save()
        return History(head, dirty, first_seen, tuple(trend), note="")
    finally:
        repo.close()
