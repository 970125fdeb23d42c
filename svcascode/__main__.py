"""`python -m svcascode` runs the command line."""

from svcascode.cli import run

run()
