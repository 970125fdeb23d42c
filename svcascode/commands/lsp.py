"""`svcascode lsp`: the language server on stdin and stdout (svcascode.lsp; docs/editors.md)."""

from __future__ import annotations

from datetime import date

import click

from svcascode.cli import main, parse_as_of
from svcascode.finding import FAIL_ON_CHOICES


@main.command()
@click.option("--as-of", "as_of", metavar="DATE", callback=lambda c, p, v: parse_as_of(c, p, v) if v else None,
              help="Evaluate as of this date (YYYY-MM-DD) instead of today.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Findings that would fail `check --fail-on` at this severity are errors; the rest warnings.")
@click.option("--select", multiple=True, metavar="IDS", help="Evaluate only these controls.")
@click.option("--ignore", multiple=True, metavar="IDS", help="Do not evaluate these controls.")
@click.option("--debounce", type=click.FloatRange(0, 5), default=0.02, show_default=True, metavar="SECONDS",
              help="Wait this long after a change for more changes before assessing.")
def lsp(as_of: date | None, fail_on: str, select: tuple[str, ...], ignore: tuple[str, ...], debounce: float) -> None:
    """Serve the Language Server Protocol on stdin and stdout, for an editor's LSP client.

    Open YAML files under the configured roots get the findings `svcascode check` reports for the
    workspace as it is in the editor (unsaved changes included), as you type; with go to definition,
    find references, symbols, hover, completion and quick fixes. Options given by the client as
    initializationOptions (asOf, failOn, select, ignore) take precedence. See docs/editors.md.
    """
    import gc

    from svcascode.assessment import split_ids
    from svcascode.lsp.server import serve
    from svcascode.lsp.workspace import Options

    gc.enable()  # a long-running process: the cyclic collector runs, as the command line turns it off
    serve(Options(as_of, fail_on, tuple(split_ids(select)), tuple(split_ids(ignore))), debounce)
