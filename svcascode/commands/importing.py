"""`svcascode import`: documents from other tools' catalogues, one subcommand per source.

Each source's subcommand lives in its own module, imported the first time it is used.
"""

from __future__ import annotations

from svcascode.cli import main
from svcascode.commands import Subcommands


@main.group("import", cls=Subcommands, modules={"backstage": "backstage", "incidents": "incidents_import"})
def import_group() -> None:
    """Write svcascode documents from another tool's catalogue (never over an existing one)."""

