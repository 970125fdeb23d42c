"""Commands beyond validate and schema, one module each; importing a module registers its command."""

from __future__ import annotations

import importlib


class _Modules:
    # one entry per command module; each module decorates its command with `@main.command()`
    names: tuple[str, ...] = ("check", "controls", "diff", "history", "render")

    def load(self) -> None:
        for name in self.names:
            importlib.import_module(f"svcascode.commands.{name}")


COMMAND_MODULES = _Modules()
