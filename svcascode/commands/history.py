"""`svcascode history`: the audit trail of documents from git, or compliance posture commit by commit.

Parse the options, walk the history (`svcascode.history`), and print it in a format of
`svcascode.formats.history.HISTORY_FORMATS` (text, JSON or CSV). A progress bar goes to stderr when
it is a terminal, never into the output.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Iterable, Iterator

import click

from svcascode.cli import _context, _write, main, output_file
from svcascode.finding import SEVERITIES, Finding
from svcascode.formats.history import AUDIT, HISTORY_FORMATS, POSTURE, HistoryReport


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A function wrapping an iterable in a progress bar on a terminal, or leaving it as it is."""
    bars: list[Any] = []

    def wrap(items: Iterable[Any]) -> Iterable[Any]:
        items = list(items)
        if not sys.stderr.isatty() or len(items) < 2:
            return items
        bar = click.progressbar(items, label=label, file=sys.stderr, show_pos=True)
        bars.append(bar)
        return bar.__enter__()

    try:
        yield wrap
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)


_RELATIVE_DATE = re.compile(r"^\d+ (?:second|minute|hour|day|week|month|year)s? ago$")


def git_date(value: str, option: str, end_of_day: bool) -> str:
    """A --since/--until value git reads the same whatever the time of day.

    A bare YYYY-MM-DD is the whole day (git alone would read it as that day at the current time); an
    ISO date-time and `N days ago` (weeks, months, ...) pass through; anything else exits 2, since git
    would read nonsense as some date and silently select nothing.
    """
    from svcascode.errors import SvcascodeError

    text = value.strip()
    try:
        day = date.fromisoformat(text)
        return f"{day.isoformat()} {'23:59:59' if end_of_day else '00:00:00'}"
    except ValueError:
        pass
    try:
        datetime.fromisoformat(text)
        return text
    except ValueError:
        pass
    if _RELATIVE_DATE.match(text):
        return text
    raise SvcascodeError(f"{option} {value!r}: not a date; write YYYY-MM-DD (a whole day), an ISO date-time "
                         "such as 2026-11-05T09:00:00+00:00, or 'N days ago' (weeks, months, years)")


def check_document(wanted: str) -> str:
    """`KIND/NAME` (or `kind:name`) with a kind svcascode knows; anything else exits 2."""
    from svcascode.errors import SvcascodeError
    from svcascode.models import KINDS, OPENSLO_MODELS

    kind, sep, name = wanted.replace(":", "/", 1).partition("/")
    kinds = {k.lower(): k for k in (*KINDS, *OPENSLO_MODELS)}
    if not sep or not name or kind.lower() not in kinds:
        known = ", ".join(sorted(kinds.values()))
        raise SvcascodeError(f"--document {wanted!r}: expected KIND/NAME, e.g. Service/claims-api, "
                             f"with KIND one of {known}")
    return wanted


# ---------------------------------------------------------------------------------------------------
# The command


@main.command()
@click.argument("rev_range", metavar="[RANGE]", default="HEAD")
@click.option("--document", "document", metavar="KIND/NAME", help="Only the audit trail of this document.")
@click.option("--posture", is_flag=True, help="Findings by severity and control at each commit, evaluated as "
              "of that commit's date, instead of the audit trail.")
@click.option("--since", metavar="DATE", help="Only commits from this date on: YYYY-MM-DD (from the start of "
              "the day), an ISO date-time, or 'N days ago'.")
@click.option("--until", metavar="DATE", help="Only commits up to this date: YYYY-MM-DD (to the end of the "
              "day), an ISO date-time, or 'N days ago'.")
@click.option("--first-parent", is_flag=True, help="Audit trail of the main line only: merges as one change.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="high", show_default=True,
              help="Threshold of the `failing` count in the posture.")
@click.option("--format", "fmt", type=click.Choice(list(HISTORY_FORMATS)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              callback=output_file, help="Write to this file instead of stdout.")
@click.option("--store", "store_spec", metavar="PATH|URL", help="With --posture: the store of assessments to read "
              "first and keep new ones in (as `svcascode ledger`); default $SVCASCODE_STORE, else the cache "
              "folder's. A store that cannot be used is said once, and the walk computes without it.")
def history(rev_range: str, document: str | None, posture: bool, since: str | None, until: str | None,
            first_parent: bool, fail_on: str, fmt: str, output: str | None, store_spec: str | None) -> None:
    """The catalogue's history from git: who changed what, when, and what it did to compliance.

    By default, the audit trail: every commit in RANGE (default HEAD, e.g. v1.0..HEAD) that changed a
    document (or the --document given), with author, date, message and the semantic change. With
    --posture, the open findings by severity and control at each commit of the main line that changed
    the catalogue, each evaluated as of the day it was committed.

    Exit codes: 0 done; 2 could not run (not a git repository, unknown revision).
    """
    from svcascode.gitload import RevisionLoader
    from svcascode.gitrepo import check_revision_text
    from svcascode.history import WalkStats, audit_trail
    from svcascode.history import posture as posture_walk

    for part in rev_range.split(".."):
        if part:
            check_revision_text(part.lstrip("."), "RANGE")
    since = git_date(since, "--since", end_of_day=False) if since is not None else None
    until = git_date(until, "--until", end_of_day=True) if until is not None else None
    if document is not None:
        check_document(document)
    root, settings = _context()
    loader = RevisionLoader(root, settings)
    meta: dict[str, Any] = {"range": rev_range, "document": document, "since": since, "until": until}
    try:
        with _progress("history" if not posture else "posture") as progress:
            if posture:
                from svcascode.ledger.recall import open_recall

                stats = WalkStats()
                recall = open_recall(root, settings, loader.repo.prefix, store_spec)
                try:
                    rows = list(posture_walk(loader, _evaluate(root, settings), rev_range, since, until, fail_on,
                                             progress, stats, recall.findings if recall is not None else None))
                finally:
                    if recall is not None:
                        recall.close()
                meta["stats"] = {"commits": stats.commits, "evaluated": stats.evaluated,
                                 "blobsSeen": loader.blobs_seen, "blobsRead": loader.blobs_read,
                                 "parsed": loader.cache.parsed}
                if recall is not None:
                    meta["stats"]["fromStore"] = recall.read
                text = HISTORY_FORMATS[fmt](HistoryReport(POSTURE, rows, meta))
            else:
                entries = list(audit_trail(loader, rev_range, document, since, until, first_parent, progress))
                text = HISTORY_FORMATS[fmt](HistoryReport(AUDIT, entries, meta))
    finally:
        loader.close()
    _write(text, output)


def _evaluate(root: Any, settings: Any) -> Any:
    from svcascode.finding import NEVER
    from svcascode.runs import run_check

    def evaluate(loaded: Any, as_of: date) -> list[Finding]:
        return list(run_check(root, settings, as_of, fail_on=NEVER, load=lambda *_: loaded).findings)

    return evaluate
