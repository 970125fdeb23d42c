"""`svcascode check`: validate the catalogue, evaluate its controls, report findings, exit 0, 1 or 2.

Three steps, each replaceable on its own: parse the options (the click command), load the documents
(`load_documents`, which reading from a git revision replaces), and run (`run_check`, which builds the
Report that decides the exit code).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import click

from svcascode.cli import (EXIT_FINDINGS, EXIT_OK, _context, _write, answer_from, main,
                           output_file, parse_as_of, run_cache)
from svcascode.errors import SvcascodeError
from svcascode.finding import FAIL_ON_CHOICES, NEVER, Finding
from svcascode.formats import FORMATS

# The engine, the catalogue and the models are imported when a run needs them: a run the run cache
# answers (svcascode.runcache) never imports them.
if TYPE_CHECKING:
    from svcascode.assessment import Assessment
    from svcascode.catalogue import LoadResult
    from svcascode.config import Settings
    from svcascode.formats import Report

__all__ = ["NEVER", "FAIL_ON_CHOICES", "assess_catalogue", "run_check", "compare_with_base"]

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
              fail_on: str = "high", paths: Sequence[str] = (), load: LoadStep = load_documents) -> Report:
    """Validate and evaluate; the Report holds every finding and decides the exit code.

    With `paths`, only findings located in those files are reported; the whole catalogue is still loaded
    and evaluated, so that references and cross-document checks hold.
    """
    if fail_on not in FAIL_ON_CHOICES:
        raise SvcascodeError(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_ON_CHOICES)}")
    return assess_catalogue(root, settings, as_of, select, ignore, paths, load).report(fail_on)


# ---------------------------------------------------------------------------------------------------
# The command


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of,
              help="Evaluate as of this date (YYYY-MM-DD) instead of today, for reproducible results.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Exit 1 when an unwaived, blocking finding is at or above this severity; `none` never fails.")
@click.option("--select", multiple=True, metavar="IDS",
              help="Evaluate only these controls (repeat or separate with commas).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Do not evaluate these controls.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              callback=output_file, help="Write to this file instead of stdout.")
@click.option("--rev", metavar="REV", help="Check the documents at this git revision, read from git objects "
              "without a checkout.")
@click.option("--base", metavar="REV", help="Ratchet: findings that already exist at this revision are "
              "reported as existing and do not fail; only new ones do. Fixed findings are listed.")
@click.option("--ratchet", type=click.Choice(["new", "touched"]), default=None,
              help="With --base: fail on new findings only (new), or also on findings of documents the change "
                   "edits (touched). Default: the stricter of `ratchet:` in the base's and the working tree's "
                   ".svcascode.yaml, else new.")
@click.option("--until", metavar="DATE", help="Also list the findings that will open after the as-of date up to "
              "this date, as `svcascode forecast --until` does (text, markdown and json formats).")
def check(paths: tuple[str, ...], as_of: date, fail_on: str, select: tuple[str, ...], ignore: tuple[str, ...],
          fmt: str, output: str | None, rev: str | None, base: str | None, ratchet: str | None,
          until: str | None) -> None:
    """Validate the documents, then evaluate every control as of a date.

    Invalid documents are findings too (rule ids yaml-invalid, schema-invalid, ref-unresolved, ...).
    Waived findings are reported, marked with their waiver, and never fail the run; findings of controls
    with enforcement warn or audit never fail it either. With PATHS, only findings located in those
    files are reported.

    With --rev, the documents are read from that git revision instead of the working tree. With --base,
    only findings that do not already exist at that revision fail the run; with --ratchet touched, so do
    those on documents the change edits (see docs/git.md).

    Exit codes: 0 nothing blocking at or above --fail-on; 1 something is; 2 the check could not run.
    """
    from svcascode.gitrepo import check_revision_text

    for option, value in (("--rev", rev), ("--base", base)):
        if value is not None:
            check_revision_text(value, option)  # before anything is read or written
    if ratchet is not None and base is None:
        raise SvcascodeError(f"--ratchet {ratchet}: it says which findings of a --base comparison fail; give "
                             "--base REV too")
    # the working tree's check, as asked, may be answered by an earlier run with the same inputs
    plain = rev is None and base is None and until is None
    runs = run_cache(("check", fmt, fail_on, as_of.isoformat(), select, ignore), paths) if plain else None
    answer_from(runs, output)
    # against a revision, the code a run may execute is chosen by the trusted one: --base, else --rev
    trusted = ("--base", base) if base is not None else ("--rev", rev) if rev is not None else None
    root, settings = _context(runs, trusted)
    step = revision_step(rev) if rev is not None else load_documents
    loaded: list[LoadResult] = []  # what was loaded, for the run cache to keep

    def load(root: Path, settings: Settings, paths: Sequence[str]) -> LoadResult:
        loaded.append(step(root, settings, paths))
        return loaded[-1]

    from svcascode.delivery.ledger import definitions_from_git  # after the run cache: it loads the models

    with definitions_from_git(root, settings, rev or "HEAD"):  # service levels as delivered: as it was then
        report = run_check(root, settings, as_of, select, ignore, fail_on, paths, load=load)
        if base is not None:
            report = compare_with_base(report, root, settings, base, as_of, select, ignore, paths, ratchet,
                                       loaded[0])
        text = FORMATS[fmt](report)
        if until is not None:
            text = _with_forecast(text, fmt, report, root, settings, as_of, until, select, ignore, paths, load)
    code = EXIT_FINDINGS if report.exit_code else EXIT_OK
    if runs is not None:  # the working tree's plain check: loaded once
        runs.keep(settings, loaded[0], code, text)
    _write(text, output)
    sys.exit(code)


def _with_forecast(text: str, fmt: str, report: Report, root: Path, settings: Settings, as_of: date, until: str,
                   select: Iterable[str], ignore: Iterable[str], paths: Sequence[str], load: LoadStep) -> str:
    """`check --until DATE`: the check's output, then the deadlines up to DATE (the `forecast` field in JSON)."""
    from dataclasses import replace

    from svcascode.assessment import ControlSelection
    from svcascode.forecast import forecast, until_date
    from svcascode.formats.forecast import FORECAST_FORMATS

    try:
        last = until_date(as_of, None, date.fromisoformat(until))
    except ValueError:
        raise SvcascodeError(f"--until {until!r} is not a date; write it as YYYY-MM-DD") from None
    loaded = load(root, settings, paths)
    known = [c.name for c in loaded.catalogue.of_kind("Control")]
    result = forecast(loaded, as_of, last, ControlSelection.resolve(select, ignore, known))
    if fmt == "json":
        return FORMATS[fmt](replace(report, extra={**report.extra, "forecast": result.as_dict()}))
    if fmt in ("text", "markdown"):
        return text + ("\n" if fmt == "markdown" else "") + FORECAST_FORMATS[fmt](result)
    return text
