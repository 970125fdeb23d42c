"""`svcascode check`: validate the catalogue, evaluate its controls, report findings, exit 0, 1 or 2.

The command parses the options and runs the steps of `svcascode.runs`: load the documents, assess,
report (the Report decides the exit code), and compare with a base revision.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import click

from svcascode.cli import (EXIT_FINDINGS, EXIT_OK, _context, _write, answer_from, main,
                           output_file, parse_as_of, run_cache)
from svcascode.errors import SvcascodeError
from svcascode.finding import FAIL_ON_CHOICES, NEVER
from svcascode.formats import FORMATS

from svcascode.runs import LoadStep, assess_catalogue, compare_with_base, load_documents, revision_step, run_check

if TYPE_CHECKING:
    from svcascode.catalogue import LoadResult
    from svcascode.config import Settings
    from svcascode.formats import Report

__all__ = ["NEVER", "FAIL_ON_CHOICES", "assess_catalogue", "run_check", "compare_with_base", "load_documents"]

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
        report = run_check(root, settings, as_of, select, ignore, fail_on, paths, load=load, last=until is None)
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
