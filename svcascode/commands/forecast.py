"""`svcascode forecast`: the findings that will open in the coming days, with the date each opens, the
document, the owner and the control; as text, JSON or Markdown, and one iCalendar file per team."""

from __future__ import annotations

import sys
from datetime import date

import click

from svcascode.cli import (EXIT_OK, _context, _write, answer_from, main, output_file, output_folder, parse_as_of,
                           run_cache)
from svcascode.escape import inert, one_line
from svcascode.formats.forecast import FORECAST_FORMATS


def parse_until(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-02-25") from None


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of,
              help="Forecast from this date (YYYY-MM-DD) instead of today.")
@click.option("--days", type=int, default=None, metavar="N", help="How many days ahead (default 90, at most 1096).")
@click.option("--until", "until", metavar="DATE", callback=parse_until,
              help="Forecast up to and including this date, instead of --days.")
@click.option("--select", multiple=True, metavar="IDS", help="Forecast only these controls.")
@click.option("--ignore", multiple=True, metavar="IDS", help="Leave these controls out.")
@click.option("--every-day", is_flag=True,
              help="Evaluate every day of the period, not only the dates derived from the documents.")
@click.option("--format", "fmt", type=click.Choice(list(FORECAST_FORMATS)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              callback=output_file, help="Write to this file instead of stdout.")
@click.option("--ical", "ical", metavar="DIR", type=click.Path(file_okay=False), callback=output_folder,
              help="Also write one iCalendar file per team (TEAM.ics) into DIR; a file there that svcascode "
                   "did not write is never overwritten.")
def forecast(paths: tuple[str, ...], as_of: date, days: int | None, until: date | None, select: tuple[str, ...],
             ignore: tuple[str, ...], every_day: bool, fmt: str, output: str | None, ical: str | None) -> None:
    """Every finding that will open between the as-of date and --days later (or --until).

    Waivers expiring, evidence ageing past its cadence, service levels ending, reviews falling due: the
    forecast evaluates the controls on each date where a document says something can change, and lists
    each finding on the first date `check --as-of` would report it. With PATHS, only findings located in
    those files.

    Exit codes: 0 the forecast was made (whatever it lists); 2 it could not be (bad option or input).
    """
    # as asked, it may be answered by an earlier run with the same inputs (not when it writes calendars)
    request = ("forecast", fmt, as_of.isoformat(), days, until.isoformat() if until else None, select, ignore,
               every_day)
    runs = run_cache(request, paths) if ical is None else None
    answer_from(runs, output)
    from svcascode.runs import load_documents
    from svcascode.assessment import ControlSelection
    from svcascode.delivery.ledger import definitions_from_git
    from svcascode.forecast import forecast as make_forecast
    from svcascode.forecast import until_date

    root, settings = _context(runs)
    last = until_date(as_of, days, until)
    loaded = load_documents(root, settings, paths)
    known = [c.name for c in loaded.catalogue.of_kind("Control")]
    selection = ControlSelection.resolve(select, ignore, known)
    with definitions_from_git(root, settings):  # service levels as delivered, as `check` judges them
        result = make_forecast(loaded, as_of, last, selection, every_day)
    if ical is not None:
        from svcascode.formats.forecast import write_calendars
        from svcascode.monitoring.output import OutputFolder

        folder = OutputFolder(root, settings, ical)
        teams = [t.name for t in loaded.catalogue.of_kind("Team")]
        written, unchanged = write_calendars(result, teams, folder.path)
        click.echo(inert(one_line(f"calendars: {len(written)} written, {len(unchanged)} unchanged in {folder.path}")),
                   err=True)
    if result.note:
        click.echo(f"svcascode: note: {result.note}", err=True)
    text = FORECAST_FORMATS[fmt](result)
    if runs is not None and result.complete:  # one cut short by its CPU budget is not what the inputs alone give
        runs.keep(settings, loaded, EXIT_OK, text)
    _write(text, output)
    sys.exit(EXIT_OK)
