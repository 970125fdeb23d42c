"""`svcascode report`: reports over the catalogue as delivered and as recorded.

`report posture`: one posture across repositories on a day, from the store of assessments (as
`svcascode ledger` keeps it). `report service-levels`: the service review pack; it is `sla review` (the
same options, outputs and exit codes): per customer and service, target against attained with the trend
of the last 12 windows, breaches with each incident's clock timeline, credits and reviews, each judged
by the definitions in force then.
"""

from __future__ import annotations

from datetime import date

import click

from svcascode.cli import _write, main
from svcascode.commands.sla import _options, _run


@main.group()
def report() -> None:
    """Reports over the catalogue as delivered (the compliance report is `render report`)."""


@report.command("service-levels")
@_options(["html", "markdown", "json", "csv", "text"], period_required=True)
def service_levels(period: str, as_of: date, definitions: str, output: str | None, fmt: str) -> None:
    """The service review pack of the period (a month 2026-11, a quarter 2026-Q4 or a range of months):
    the same as `svcascode sla review`."""
    _run("review", period, as_of, definitions, output, fmt)


@report.command("posture")
@click.option("--as-of", "as_of", metavar="DATE", required=True, help="The day (YYYY-MM-DD) whose posture to show.")
@click.option("--store", "store_spec", metavar="PATH|URL", envvar="SVCASCODE_STORE",
              help="The store of assessments (as `svcascode ledger`); default $SVCASCODE_STORE, else the cache "
                   "folder's.")
@click.option("--repository", "repositories", multiple=True, metavar="NAME",
              help="Only these repositories of the store (repeat); default: every repository it holds.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def posture(as_of: str, store_spec: str | None, repositories: tuple[str, ...], fmt: str, output: str | None) -> None:
    """One posture across repositories on a day, from the store of assessments: each control's state
    (the worst of the repositories'), each repository's commit and state, and the open findings. In a
    git repository, its day is assessed and recorded first when the store lacks it (`svcascode ledger`).

    Exit codes: 0 shown; 2 could not run.
    """
    from svcascode.commands.ledger import build_ledger
    from svcascode.ledger.formats import render_posture

    ledger, left_out = build_ledger(as_of, store_spec, repositories, False, None, option="--as-of")
    if left_out:
        from svcascode.errors import SvcascodeError

        raise SvcascodeError(f"--as-of {as_of}: that day has not ended (UTC): its commit in force is not known yet")
    _write(render_posture(ledger, fmt), output)
