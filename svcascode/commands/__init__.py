"""Commands beyond validate and schema, one module each; importing a module registers its commands.

The command line imports a module the first time one of its commands is used.
"""

from __future__ import annotations

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
