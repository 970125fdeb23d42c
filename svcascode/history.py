"""The catalogue through its git history: the audit trail of documents, and compliance posture per commit.

Both walk one `git log --raw` of the range. The audit trail diffs, for each commit, only the files it
changed (a document moved between two files is in both). The posture keeps the list of catalogue
files up to date from each commit's changes, so a commit costs reading and parsing the blobs it
changed (each blob once per run, by blob id), plus evaluating the controls whose inputs changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Callable, Iterable, Iterator

from svcascode.diff import DocumentChange, diff_catalogues
from svcascode.finding import SEVERITIES, Finding
from svcascode.gitload import RevisionLoader
from svcascode.gitrepo import MODE_SYMLINK, Commit, RawChange, TreeFile


@dataclass(frozen=True)
class AuditEntry:
    commit: Commit
    changes: tuple[DocumentChange, ...]


@dataclass(frozen=True)
class Posture:
    """Open findings at one commit, evaluated as of the day that commit entered the history."""

    commit: Commit
    as_of: str
    severities: dict[str, int]  # open (unwaived) findings by severity
    controls: dict[str, int]  # open findings by rule id
    waived: int
    failing: int  # open, blocking, at or above the threshold


@dataclass
class WalkStats:
    commits: int = 0
    evaluated: int = 0  # commits whose catalogue was evaluated (others reused an identical state)
    extra: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[Iterable[Any]], Iterable[Any]]


def _no_progress(items: Iterable[Any]) -> Iterable[Any]:
    return items


def matches_document(change: DocumentChange, wanted: str | None) -> bool:
    """`Kind/name` or `kind:name`, any case for the kind."""
    if wanted is None:
        return True
    kind, sep, name = wanted.replace(":", "/", 1).partition("/")
    return bool(sep) and change.kind.lower() == kind.lower() and change.name == name


def _files(loader: RevisionLoader, changes: list[RawChange], old: bool) -> list[TreeFile]:
    settings = loader.settings
    out = []
    for change in changes:
        blob, mode = (change.old_blob, change.old_mode) if old else (change.new_blob, change.new_mode)
        if blob and mode != MODE_SYMLINK and loader.repo.selects(change.path, settings):
            out.append(TreeFile(change.path, blob))
    return sorted(out, key=lambda f: f.path)


def audit_trail(loader: RevisionLoader, rev_range: str = "HEAD", document: str | None = None,
                since: str | None = None, until: str | None = None, first_parent: bool = False,
                progress: Progress = _no_progress) -> Iterator[AuditEntry]:
    """Every commit that changed a document (or the one given), with its semantic changes."""
    for commit, changes in progress(loader.repo.log(rev_range, loader.settings, since, until, first_parent)):
        before = loader.catalogue(_files(loader, changes, old=True))
        after = loader.catalogue(_files(loader, changes, old=False))
        found = tuple(c for c in diff_catalogues(before, after).changes if matches_document(c, document))
        if found:
            yield AuditEntry(commit, found)


# (commit, as-of date, the catalogue's files at the commit, how to load them) -> the run's findings
Recall = Callable[[Commit, date, list[TreeFile], Callable[[], Any]], list[Finding]]


def posture(loader: RevisionLoader, evaluate: Callable[[Any, date], list[Finding]], rev_range: str = "HEAD",
            since: str | None = None, until: str | None = None, fail_on: str = "high",
            progress: Progress = _no_progress, stats: WalkStats | None = None,
            recall: Recall | None = None) -> Iterator[Posture]:
    """Posture at each commit of the main line (first parents) that changed the catalogue.

    `evaluate(load_result, as_of)` returns a run's findings; the caller decides how controls run.
    `recall`, when given, answers instead (the store of assessments, svcascode.ledger.recall): it loads
    the commit only when it does not hold its assessment.

    Commit N+1 is evaluated from commit N's results plus what changed between them: the loader keeps
    every file version validated once, and the result memo of its cache (svcascode.incremental) keeps
    each (control, document) result with what it read, so a commit re-runs only the checks whose
    document, lookups or (where read) as-of date changed. The memo is saved once, when the loader closes.
    """
    from svcascode.formats.report import Report
    from svcascode.incremental import memo_of

    memo = memo_of(loader.cache)
    memo.defer_save = True
    stats = stats if stats is not None else WalkStats()
    log = loader.repo.log(rev_range, loader.settings, since, until, first_parent=True)
    state: dict[str, str] = {}
    previous: tuple[frozenset[tuple[str, str]], str] | None = None
    result: Posture | None = None
    for index, (commit, changes) in enumerate(progress(log)):
        stats.commits += 1
        if index == 0 or any(c.new_mode == MODE_SYMLINK or c.old_mode == MODE_SYMLINK for c in changes):
            listed, _ = loader.repo.yaml_files(commit.sha, loader.settings, require=False)
            state = {f.path: f.blob for f in listed}
        else:
            for change in changes:
                if change.new_blob and loader.repo.selects(change.path, loader.settings):
                    state[change.path] = change.new_blob
                else:
                    state.pop(change.path, None)
        as_of = (commit.committed or commit.date)[:10]
        key = (frozenset(state.items()), as_of)
        if result is None or key != previous:
            stats.evaluated += 1
            files = [TreeFile(p, b) for p, b in sorted(state.items())]
            if recall is not None:
                findings = recall(commit, date.fromisoformat(as_of), files, partial(loader.load_files, files))
            else:
                findings = evaluate(loader.load_files(files), date.fromisoformat(as_of))
            report = Report("history", tuple(findings), fail_on=fail_on)
            open_findings = [f for f in findings if not f.suppressed]
            controls: dict[str, int] = {}
            for f in open_findings:
                controls[f.rule] = controls.get(f.rule, 0) + 1
            result = Posture(commit, as_of, {s: sum(1 for f in open_findings if f.severity == s) for s in SEVERITIES},
                             dict(sorted(controls.items())), sum(1 for f in findings if f.suppressed),
                             len(report.failures))
        else:
            result = Posture(commit, result.as_of, result.severities, result.controls, result.waived, result.failing)
        previous = key
        stats.extra.update(pairsEvaluated=memo.evaluated, pairsReused=memo.reused)
        yield result
