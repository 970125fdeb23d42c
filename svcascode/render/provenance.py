"""What the report knows from git: the commit, when each finding first appeared, and the posture trend.

History is optional: outside a git repository (or in one without commits) the report says so and is
still written. `load_history` is the one place that reaches git.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from svcascode.assessment import Assessment, assess
from svcascode.config import Settings
from svcascode.errors import SvcascodeError
from svcascode.finding import Finding

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


Posture = Callable[[Assessment], tuple[int, int, int]]  # satisfied, not satisfied, waived


def load_history(root: Path, settings: Settings, as_of: date, posture: Posture, commits: int = 10,
                 days: int | None = None) -> History:
    """The history of the catalogue roots: the last `commits` commits that changed it (or those of the
    last `days` before the as-of date), walked by svcascode.history along the main line."""
    try:
        from svcascode import history as walk
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
        since = date.fromordinal(as_of.toordinal() - days).isoformat() if days else None
        until = f"{as_of.isoformat()} 23:59:59"
        log = [commit for commit, _ in repo.log("HEAD", settings, since, until, first_parent=True)]
        chosen = log if days else log[-commits:]
        if not chosen:
            return History(head, dirty, note="")
        parents = repo.git("rev-list", "--parents", "-n", "1", chosen[0].sha).split()
        rev_range = f"{parents[1]}..HEAD" if len(parents) > 1 else "HEAD"
        from_root = len(parents) == 1 and not repo.is_shallow()  # the first commit: nothing can be older
        loader = RevisionLoader(root, settings, repo)
        computed: dict[str, tuple[int, int, int]] = {}
        present: dict[str, set[str]] = {}

        def evaluate_commit(loaded: Any, day: date) -> list[Finding]:
            assessment = assess(loaded, min(day, as_of))
            computed["last"] = posture(assessment)
            found = list(assessment.findings)  # document and control-definition findings too
            present["last"] = {f.fingerprint for f in found}
            return found

        from svcascode.ledger.recall import open_recall

        recall = open_recall(root, settings, repo.prefix, None)  # the store of assessments, read first

        def recall_commit(commit: Any, day: date, files: Any, load: Any) -> list[Finding]:
            assert recall is not None
            found = recall.assessment(commit.sha, min(day, as_of), files, load)
            computed["last"], present["last"] = found.counts, set(found.fingerprints)
            return found.findings

        first_seen: dict[str, FirstSeen] = {}
        trend: list[TrendPoint] = []
        points = walk.posture(loader, evaluate_commit, rev_range, since, until,
                              recall=recall_commit if recall is not None else None)
        try:
            for index, point in enumerate(points):  # each point read as it is walked: `computed` is its commit's
                commit = point.commit
                if commit.sha not in {c.sha for c in chosen}:
                    continue
                for fingerprint in sorted(present.get("last", set())):
                    first_seen.setdefault(fingerprint, FirstSeen(commit.sha, commit.author, commit.date,
                                                                before_range=not trend and not from_root))
                satisfied, not_satisfied, waived = computed.get("last", (0, 0, 0))
                open_findings = sum(point.severities.values())
                trend.append(TrendPoint(commit.sha, point.as_of, satisfied, not_satisfied, waived, open_findings))
        finally:
            if recall is not None:
                recall.close()
        loader.cache.save()
        return History(head, dirty, first_seen, tuple(trend), note="")
    finally:
        repo.close()
