"""A check's steps, each replaceable on its own: load the documents (`load_documents`, which reading from
a git revision replaces, `revision_step`), assess them (`assess_catalogue`), report (`run_check`, which builds
the Report that decides the exit code), and compare with a base revision (`compare_with_base`, the ratchet).
`check` and every command that runs a check the way `check` does (`history`, `forecast`) read them here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from svcascode.errors import SvcascodeError
from svcascode.finding import FAIL_ON_CHOICES, Finding

# The engine, the catalogue and the models are imported when a run needs them: a run the run cache
# answers (svcascode.runcache) never imports them.
if TYPE_CHECKING:
    from svcascode.assessment import Assessment
    from svcascode.catalogue import LoadResult
    from svcascode.config import Settings
    from svcascode.formats import Report

LoadStep = Callable[[Path, "Settings", Sequence[str]], "LoadResult"]


def load_documents(root: Path, settings: Settings, paths: Sequence[str]) -> LoadResult:
    """The documents to check: the working tree under the configured roots, or the given paths."""
    from svcascode.catalogue import load_catalogue

    return load_catalogue(root, settings, paths)


def revision_step(rev: str, option: str = "--rev") -> LoadStep:
    """A loading step that reads the documents at a git revision from git objects, without a checkout."""

    def load_revision(root: Path, settings: Settings, paths: Sequence[str]) -> LoadResult:
        from svcascode.gitload import RevisionLoader

        loader = RevisionLoader(root, settings)
        try:
            return loader.load(rev, [_root_relative(root, p) for p in paths], option)
        finally:
            loader.close()

    return load_revision


def _root_relative(root: Path, path: str) -> str:
    """A path given on the command line (relative to the current folder) -> relative to the catalogue root."""
    import os

    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    relative = os.path.relpath(absolute, root.resolve())
    if relative.startswith(".."):
        raise SvcascodeError(f"{path}: outside the catalogue at {root}")
    return "" if relative == "." else relative.replace(os.sep, "/")


def compare_with_base(report: Report, root: Path, settings: Settings, base: str, as_of: date,
                      select: Iterable[str], ignore: Iterable[str], paths: Sequence[str],
                      ratchet: str | None = None, head: LoadResult | None = None) -> Report:
    """The ratchet: findings that already exist at `base` are reported as existing and never fail;
    findings fixed since are listed in `extra["fixed"]`. Matching is by fingerprint (rule, kind/name,
    JSON path), so moved lines and renamed files keep their findings' identity.

    With the `touched` ratchet (`ratchet`, else the stricter of the base's and the working tree's
    `ratchet:` setting), a finding at the base on a document the change edits (`head`, the catalogue
    checked, against the base's, by `svcascode.ratchet`) is `touched` and fails as if it were new.
    """
    from dataclasses import replace

    from svcascode.assessment import ControlSelection, assess, split_ids
    from svcascode.delivery.ledger import definitions_from_git
    from svcascode.gitload import RevisionLoader
    from svcascode.ratchet import Touched, stricter
    from svcascode.trusted import settings_at

    loader = RevisionLoader(root, settings)
    try:
        sha = loader.repo.resolve(base, "--base")
        base_result = loader.load_commit(sha, [_root_relative(root, p) for p in paths], require=False)
        if ratchet is None:  # a pull request can make its gate stricter, never looser than the base's
            trusted = settings_at(loader.repo, sha, root)
            ratchet = stricter(settings.ratchet, trusted.ratchet if trusted is not None else None)
    finally:
        loader.close()
    known = [c.name for c in base_result.catalogue.of_kind("Control")]
    selection = ControlSelection(tuple(split_ids(select)), tuple(split_ids(ignore))).known_at(known)
    with definitions_from_git(root, settings, sha):  # the base's delivery, by the base's own history
        before = {f.fingerprint: f for f in assess(base_result, as_of, selection).in_scope()}
    now = {f.fingerprint for f in report.findings}
    at_base = frozenset(before) & now
    touched: frozenset[str] = frozenset()
    if ratchet == "touched" and head is not None:
        edited = Touched(base_result, head)
        touched = frozenset(f.fingerprint for f in report.findings if f.fingerprint in at_base and edited(f))
    existing = at_base - touched
    status = {fingerprint: "touched" for fingerprint in touched} | {fingerprint: "existing" for fingerprint in existing}
    findings = tuple(replace(f, extra=(*f.extra, ("status", status.get(f.fingerprint, "new"))))
                     for f in report.findings)
    fixed = [{"rule": f.rule, "severity": f.severity, "message": f.message, "file": f.file, "line": f.line,
              "path": f.json_path, "kind": f.kind or None, "name": f.name or None, "fingerprint": f.fingerprint}
             for f in sorted(before.values(), key=Finding.sort_key) if f.fingerprint not in now]
    return replace(report, findings=findings, base=sha, existing=existing, touched=touched,
                   extra={**report.extra, "base": sha, "ratchet": ratchet or "new", "fixed": fixed,
                          "new": sum(1 for f in findings if f.fingerprint not in at_base),
                          "touched": len({f.fingerprint for f in findings} & touched)})


def assess_catalogue(root: Path, settings: Settings, as_of: date, select: Iterable[str] = (),
                     ignore: Iterable[str] = (), paths: Sequence[str] = (), load: LoadStep = load_documents
                     ) -> Assessment:
    """Load (the working tree, a revision, or what `load` gives) and assess with the controls selected."""
    from svcascode.assessment import ControlSelection, assess

    result = load(root, settings, paths)
    known = [c.name for c in result.catalogue.of_kind("Control")]
    return assess(result, as_of, ControlSelection.resolve(select, ignore, known))


def run_check(root: Path, settings: Settings, as_of: date, select: Iterable[str] = (), ignore: Iterable[str] = (),
              fail_on: str = "high", paths: Sequence[str] = (), load: LoadStep = load_documents,
              last: bool = False) -> Report:
    """Validate and evaluate; the Report holds every finding and decides the exit code.

    With `paths`, only findings located in those files are reported; the whole catalogue is still loaded
    and evaluated, so that references and cross-document checks hold. `last`: nothing evaluates this
    catalogue again, so the documents as expressions saw them (a tenth of a large catalogue's memory) are
    let go before the report is built.
    """
    if fail_on not in FAIL_ON_CHOICES:
        raise SvcascodeError(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_ON_CHOICES)}")
    assessment = assess_catalogue(root, settings, as_of, select, ignore, paths, load)
    if last:
        for document in assessment.catalogue.documents:
            document.cel = None
    return assessment.report(fail_on)
