"""`svcascode export`: the catalogue in other tools' formats, one subcommand per format.

Each format's subcommand lives in its own module, imported the first time it is used.
"""

from __future__ import annotations

from svcascode.cli import main
from svcascode.commands import Subcommands


@main.group("export", cls=Subcommands, modules={"backstage": "backstage", "openslo": "openslo"})
def export() -> None:
    """Write the catalogue in another tool's format."""

