"""`svcascode report service-levels`: the service review pack under the name auditors and managers look for.

It is `sla review` (the same options, outputs and exit codes): per customer and service, target against
attained with the trend of the last 12 windows, breaches with each incident's clock timeline, credits and
reviews, each judged by the definitions in force then.
"""

from __future__ import annotations

from datetime import date

from svcascode.cli import main
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
