"""`svcascode import`: documents from other tools' catalogues, one subcommand per source.

Each source's subcommand lives in its own module, imported here so that `import` knows it.
"""

from __future__ import annotations

from svcascode.cli import main


@main.group("import")
def import_group() -> None:
    """Write svcascode documents from another tool's catalogue (never over an existing one)."""


from svcascode.commands import backstage as _backstage  # noqa: E402,F401  registers `import backstage`
from svcascode.commands import incidents_import as _incidents  # noqa: E402,F401  registers `import incidents`
