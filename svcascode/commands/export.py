"""`svcascode export`: the catalogue in other tools' formats, one subcommand per format.

Each format's subcommand lives in its own module, imported at the end of this one so that `export`
knows it.
"""

from __future__ import annotations

from svcascode.cli import main


@main.group("export")
def export() -> None:
    """Write the catalogue in another tool's format."""


from svcascode.commands import backstage as _backstage  # noqa: E402,F401  registers `export backstage`
from svcascode.commands import openslo as _openslo  # noqa: E402,F401  registers `export openslo`
