"""`svcascode render`: the service catalogue as a static site, and the compliance report for auditors.

Both evaluate the catalogue as `svcascode check` does. Rendering succeeds (exit 0) whatever the
findings are; the pages show them. Exit 2 when the output cannot be written or the input not read.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from svcascode.assessment import assess
from svcascode.catalogue import load_catalogue
from svcascode.cli import _context, main, output_folder, parse_as_of
from svcascode.delivery.ledger import definitions_from_git
from svcascode.errors import SvcascodeError
from svcascode.render.report import REPORT_FORMATS


@main.group()
def render() -> None:
    """Render the service catalogue site or the compliance report."""


@render.command("catalogue")
@click.option("--out", "out", type=click.Path(file_okay=False),
              callback=output_folder, default="out/catalogue", show_default=True,
              help="Folder to write the site into (created when missing).")
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of, help="Evaluate as of this date (YYYY-MM-DD).")
@click.option("--deadline-days", type=click.IntRange(0, 1096), default=30, show_default=True,
              help="List on each service and team page the findings that will open within this many days "
                   "(as `svcascode forecast` does); 0 leaves the deadlines out.")
def catalogue_command(out: str, as_of: date, deadline_days: int) -> None:
    """A static HTML site and its Markdown version: an index sortable and filterable by tier, owner,
    lifecycle and compliance status, a page per service and per team. Opens from file://."""
    from svcascode.forecast import forecast, until_date
    from svcascode.render.catalogue import SiteInput, write_site

    root, settings = _context()
    loaded = load_catalogue(root, settings)
    with definitions_from_git(root, settings):  # service levels as delivered: as `check` and `sla` judge them
        assessment = assess(loaded, as_of)
        deadlines = (forecast(loaded, as_of, until_date(as_of, deadline_days, None), now=assessment)
                     if deadline_days else None)
        written = write_site(SiteInput(assessment, _head(root), deadlines), Path(out))
    for path in written:
        click.echo(f"wrote {path}")


@render.command("report")
@click.option("--out", "out", type=click.Path(file_okay=False),
              callback=output_folder, default="out/report", show_default=True,
              help="Folder to write the report into (created when missing).")
@click.option("--format", "formats", type=click.Choice(list(REPORT_FORMATS)), multiple=True, default=("html",),
              show_default=True, help="Repeat for several formats. pdf needs WeasyPrint and its system libraries.")
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of, help="Evaluate as of this date (YYYY-MM-DD).")
@click.option("--history-commits", type=click.IntRange(0, 1000), default=10, show_default=True,
              help="Posture trend and first-seen over this many recent commits touching the catalogue.")
@click.option("--history-days", type=click.IntRange(1, 3660), default=None,
              help="Instead: every commit of this many days before the as-of date.")
def report_command(out: str, formats: tuple[str, ...], as_of: date, history_commits: int,
                   history_days: int | None) -> None:
    """The compliance report for auditors: scope, posture per framework and control, findings with the
    commit that introduced them, waivers, evidence and the posture trend; OSCAL assessment-results."""
    from svcascode.render.charts import trend_chart
    from svcascode.render.provenance import History, load_history
    from svcascode.render.report import ReportInput, build_report, generated_time, pdf_available, posture_counts

    if "pdf" in formats and not pdf_available():
        click.echo("svcascode: PDF skipped, HTML written instead: it needs WeasyPrint and its system libraries "
                   "(pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0)", err=True)
        formats = tuple("html" if f == "pdf" else f for f in formats)
    root, settings = _context()
    # the posture trend assesses past commits, each by its own definitions; the report's as it was then
    history = (load_history(root, settings, as_of, posture_counts, history_commits, history_days)
               if history_commits or history_days else History(note="no history: not asked for"))
    with definitions_from_git(root, settings):  # service levels as delivered: as `check` and `sla` judge them
        assessment = assess(load_catalogue(root, settings), as_of)
        report = build_report(ReportInput(assessment, history, generated_time()))
    chart = trend_chart(history.trend) if history.trend else None
    for fmt in dict.fromkeys(formats):
        for path in REPORT_FORMATS[fmt](report, Path(out), chart):
            click.echo(f"wrote {path}")
    if not history.available:
        click.echo(history.note, err=True)


def _head(root: Path) -> str | None:
    try:
        from svcascode.gitrepo import GitRepo

        with GitRepo(root) as repo:
            return repo.head()
    except (SvcascodeError, ImportError):
        return None
