"""`svcascode import backstage` and `svcascode export backstage`.

import: exit 0 when every entity was imported or deliberately left (its notes say what to add), 1 when
an entity or a file could not be imported (each said with its place), 2 when the tool could not run
(a path missing, the output not writable). Running it again on the same input writes nothing.
export: exit 0 when written, 2 when the output cannot be written.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from svcascode.cli import EXIT_FINDINGS, EXIT_OK, _context, output_folder, parse_as_of
from svcascode.commands.export import export
from svcascode.commands.importing import import_group
from svcascode.errors import SvcascodeError
from svcascode.escape import inert, one_line


@import_group.command("backstage")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", type=click.Path(file_okay=False),
              callback=output_folder, default="services/imported", show_default=True,
              help="Folder to write the documents into (teams/ and calendars/ under it).")
def import_backstage_command(paths: tuple[str, ...], out: str) -> None:
    """Service and Team documents from Backstage entity files (a folder: every .yaml/.yml file under it that
    holds entities). Components, Resources and APIs become Services (an API of a Component's name is its
    interface), Groups Teams; what svcascode has no field for is kept as annotations for export; each field
    that cannot be mapped and each required field Backstage lacks is a note FILE:LINE:COL. Never overwrites
    a document or a file: those are skipped and listed."""
    from svcascode.backstage.importer import import_backstage
    from svcascode.catalogue import load_catalogue

    root, settings = _context()
    loaded = load_catalogue(root, settings)
    existing = {(d.kind, d.name): d.file for d in loaded.catalogue.documents}
    for kind, name in loaded.catalogue.invalid:
        existing.setdefault((kind, name), "an invalid document of the catalogue")
    result = import_backstage(list(paths), Path(out), root, settings.limits, existing)
    for note in result.notes:
        click.echo(inert(one_line(note)))
    for path in result.written:
        click.echo(f"wrote {path}")
    for path, reason in result.skipped:
        click.echo(inert(one_line(f"skipped {path}: {reason}")))
    errors = sum(1 for n in result.notes if n.error)
    summary = (f"{len(result.written)} written, {len(result.skipped)} skipped (already there), "
               f"{len(result.notes) - errors} notes to act on")
    if errors:
        summary += f", {errors} not imported"
    click.echo(("FAIL: " if errors else "imported: ") + summary)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


@export.command("backstage")
@click.option("--out", "out", type=click.Path(file_okay=False),
              callback=output_folder, default="out/backstage", show_default=True,
              help="Folder to write catalog-info.yaml into (created when missing).")
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of,
              help="Evaluate compliance as of this date (YYYY-MM-DD).")
def export_backstage_command(out: str, as_of: date) -> None:
    """catalog-info.yaml with a Component (Resource for platform services, or the kind it was imported
    from) per service, a Group per team and a User per member: owner, relations, system, links, and tier,
    SLA target and compliance status as svcascode.io/ annotations and labels; what import kept (APIs,
    Systems, Domains) comes back."""
    from svcascode.assessment import assess
    from svcascode.backstage.exporter import export_backstage
    from svcascode.catalogue import load_catalogue

    root, settings = _context()
    loaded = load_catalogue(root, settings)
    statuses = {name: result.status for name, result in assess(loaded, as_of).services().items()}
    result = export_backstage(loaded.catalogue, statuses)
    from svcascode.safewrite import OutputFolder

    target = OutputFolder(out).write("catalog-info.yaml", result.text())
    for note in result.notes:
        click.echo(inert(one_line(note)), err=True)
    invalid = len(loaded.findings)
    if invalid:
        click.echo(f"note: the catalogue has {invalid} validation findings; documents that failed validation "
                   "are not exported (svcascode validate lists them)", err=True)
    click.echo(f"wrote {target} ({len(result.entities)} entities)")
