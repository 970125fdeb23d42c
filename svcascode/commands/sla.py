"""`svcascode sla`: service levels as delivered, from the Incident documents of the catalogue.

- `sla clocks`: every incident's response and resolution clocks against each level of the services it
  affected, in force when it opened;
- `sla attainment --period P`: availability attained per level and window, error budget and credits;
- `sla review --period P`: the service review pack (attainment with the trend of the last 12 windows,
  breaches with each incident's clock and timeline, credits, reviews);
- `sla reconcile --period P`: every clock where what the ticketing tool recorded differs from what the
  contract in git gives.

Each window and clock is judged by the definitions of the last commit on the first-parent line at or
before it (`--definitions git`, the default), or by today's (`--definitions today`); every result names
its commit. Exit 0 when every window and clock shown is met (or still within target), 1 when any is
breached, 2 on bad input.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import click

from svcascode.cli import _context, _write, main, output_file, parse_as_of
from svcascode.errors import SvcascodeError
from svcascode.escape import inert, one_line, visible
from svcascode.formats.servicelevels import SLA_FORMATS


@main.group()
def sla() -> None:
    """SLA clocks, availability attained and the service review, as delivered."""


def _period_option(required: bool) -> Callable[[Any], Any]:
    return click.option("--period", required=required, metavar="PERIOD",
                        help="A month 2026-11, a quarter 2026-Q4 or a range of months 2026-01..2026-06.")


_common: list[Callable[[Any], Any]] = [
    click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of,
                 help="Judge as of the end of this day, UTC (YYYY-MM-DD; default today)."),
    click.option("--definitions", type=click.Choice(["git", "today"]), default="git", show_default=True,
                 help="git: the definitions in force at each moment, from history; today: the working tree's."),
    click.option("--output", "-o", type=click.Path(dir_okay=False),
                 callback=output_file, help="Write to this file instead of stdout."),
]


def _options(formats: list[str], period_required: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(function: Any) -> Any:
        for option in reversed([_period_option(period_required), *_common,
                                click.option("--format", "fmt", type=click.Choice(formats), default=formats[0],
                                             show_default=True)]):
            function = option(function)
        return function
    return wrap


@sla.command("clocks")
@_options(["text", "json", "markdown", "csv"], period_required=False)
def clocks_command(period: str | None, as_of: date, definitions: str, output: str | None, fmt: str) -> None:
    """Response and resolution clocks of every incident (opened in the period, when given)."""
    _run("clocks", period, as_of, definitions, output, fmt)


@sla.command("attainment")
@_options(["text", "json", "markdown", "csv"], period_required=True)
def attainment_command(period: str, as_of: date, definitions: str, output: str | None, fmt: str) -> None:
    """Availability attained per service level and window in the period, error budget and credits."""
    _run("attainment", period, as_of, definitions, output, fmt)


@sla.command("review")
@_options(["markdown", "html", "json", "csv", "text"], period_required=True)
def review_command(period: str, as_of: date, definitions: str, output: str | None, fmt: str) -> None:
    """The service review pack of the period: per customer and service, target against attained with the
    trend of the last 12 windows, breaches with each incident's clock timeline, credits and reviews."""
    _run("review", period, as_of, definitions, output, fmt)


@sla.command("reconcile")
@_options(["text", "json", "markdown", "csv"], period_required=True)
def reconcile_command(period: str, as_of: date, definitions: str, output: str | None, fmt: str) -> None:
    """Every SLA clock of the incidents of the period where the ticketing tool's recorded result (met or
    breached, time counted; imported from ServiceNow's task_sla or Jira's SLA fields) differs from what the
    contract in git gives for that ticket, with the definition and commit used. Exit 1 when one differs."""
    from svcascode.delivery.ledger import Ledger
    from svcascode.delivery.reconcile import in_span, reconcile
    from svcascode.formats.servicelevels import RECONCILE_FORMATS

    span, loaded, invalid, source_definitions, instant = _prepare(period, as_of, definitions)
    try:
        ledger = Ledger(loaded.catalogue, source_definitions, instant)
        first, end = _bounds(span)
        result = reconcile(ledger, in_span(ledger.incidents, first, end, instant))
        data = {"period": span.label, "asOf": instant.isoformat().replace("+00:00", "Z"), "definitions": ledger.note,
                **result.as_json()}
    finally:
        source_definitions.close()
    _write(RECONCILE_FORMATS[fmt](data), output)
    if invalid:
        raise SvcascodeError(f"{len(invalid)} document problem(s) above: run `svcascode validate`")
    raise SystemExit(1 if result.differences else 0)


def _bounds(span: Any) -> tuple[Any, Any]:
    from datetime import datetime

    from svcascode.calendars import as_utc

    return (as_utc(datetime(span.first.year, span.first.month, span.first.day)),
            as_utc(datetime(span.end.year, span.end.month, span.end.day)))


def _prepare(period: str | None, as_of: date, source: str) -> tuple[Any, Any, list[Any], Any, Any]:
    """The span, the loaded catalogue (its invalid documents listed on stderr), the definitions, the instant."""
    from svcascode.catalogue import load_catalogue
    from svcascode.delivery.attainment import Span, parse_period
    from svcascode.delivery.clocks import as_of_instant
    from svcascode.delivery.timeline import from_git, today_only

    if period is None:
        span = Span("all", date(1, 1, 10), date(9998, 11, 1))
    else:
        try:
            span = parse_period(period)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--period") from None
    root, settings = _context()
    loaded = load_catalogue(root, settings)
    invalid = [f for f in loaded.findings if f.severity in ("critical", "high") and f.rule in (
        "yaml-invalid", "schema-invalid", "file-refused")]
    for finding in invalid[:20]:
        click.echo(inert(visible(one_line(f"{finding.file}:{finding.line}:{finding.column}: {finding.kind}/"
                                          f"{finding.name}: {finding.message}"))), err=True)
    definitions = (from_git(root, settings, loaded.catalogue) if source == "git"
                   else today_only(loaded.catalogue, "--definitions today"))
    return span, loaded, invalid, definitions, as_of_instant(as_of)


def _run(part: str, period: str | None, as_of: date, source: str, output: str | None, fmt: str) -> None:
    from svcascode.delivery.ledger import Ledger
    from svcascode.delivery.review import build_review

    span, loaded, invalid, definitions, instant = _prepare(period, as_of, source)
    try:
        review = build_review(Ledger(loaded.catalogue, definitions, instant), span, windows=part != "clocks")
    finally:
        definitions.close()
    data = review.as_json()
    if part == "clocks" and period is None:
        data["period"] = "all incidents"
    _write(SLA_FORMATS[fmt](data, part), output)
    breached = (part != "clocks" and data["breaches"]["windows"]) or (part != "attainment" and data["breaches"]["clocks"])
    if invalid:
        raise SvcascodeError(f"{len(invalid)} document problem(s) above: run `svcascode validate`")
    raise SystemExit(1 if breached else 0)

