"""`svcascode export openslo`: OpenSLO v1 Service, SLO and AlertPolicy documents (docs/monitoring.md); a
note on stderr for each SLO exported without alert policies.

Exit 0 when written; 2 when the catalogue is invalid or the output cannot be written.
"""

from __future__ import annotations

import click
import yaml

from svcascode.cli import _context, output_folder
from svcascode.commands.export import export
from svcascode.escape import inert, one_line
from svcascode.monitoring.output import OutputFolder, comment, dump


@export.command("openslo")
@click.option("--out", "out", type=click.Path(file_okay=False),
              callback=output_folder, default="out/monitoring/openslo", show_default=True,
              help="Folder to write the documents into (created when missing).")
def openslo_command(out: str) -> None:
    """OpenSLO v1 documents for every service level measured by an SLO: the Service, its SLOs with their
    authors' alert policies (or one AlertPolicy per burn-rate condition, notifying the owning team) and
    what they refer to. The folder is a catalogue of its own: `svcascode -C DIR validate`."""
    from svcascode.commands.generate import load_valid
    from svcascode.monitoring.openslo_export import SETTINGS, export as export_documents

    root, settings = _context()
    folder = OutputFolder(root, settings, out)
    result = load_valid(root, settings)
    header = comment("Exported by `svcascode export openslo` from the catalogue; OpenSLO v1.")
    exported = export_documents(result.catalogue)
    for stem, documents in sorted(exported.files.items()):
        text = header + "---\n".join(dump(d) for d in documents)
        click.echo(f"wrote {folder.write(f'{stem}.yaml', text)}")
    folder.write(".svcascode.yaml", yaml.safe_dump(SETTINGS, sort_keys=False))
    for note in exported.notes:
        click.echo(inert(one_line(f"note: {note}")), err=True)
