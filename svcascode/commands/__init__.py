"""Commands beyond validate and schema, one module each; importing a module registers its commands.

The command line imports a module the first time one of its commands is used.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> the module in this package that defines it with `@main.command()`
COMMAND_MODULES: dict[str, str] = {
    "check": "check",
    "controls": "controls",
    "explain": "controls",
    "diff": "diff",
    "export": "export",
    "forecast": "forecast",
    "generate": "generate",
    "history": "history",
    "import": "importing",
    "init": "init",
    "ledger": "ledger",
    "lsp": "lsp",
    "render": "render",
    "report": "report",
    "sla": "sla",
    "test": "ruletest",
}


class Subcommands(click.Group):
    """A group whose subcommands live in modules of this package, imported the first time one is used
    (`export backstage`, `import incidents`): the group's module imports none of them, they import it."""

    def __init__(self, *args: Any, modules: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modules = modules

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.modules))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.modules:
            importlib.import_module(f"{__name__}.{self.modules[name]}")
        return super().get_command(ctx, name)
