"""`svcascode import incidents FILE.csv --mapping servicenow|jsm|pagerduty|MAPPING.yaml [--outages OUTAGES.csv]
[--task-sla TASK_SLA.csv]`.

Exit 0 when every row was imported or was already there; 1 when a row could not be imported (each
problem is one line FILE:ROW:COLUMN; nothing is written unless --partial, which writes the good rows);
2 when the tool could not run (the file unreadable, not UTF-8 or not CSV, its header not the mapping's,
the mapping invalid, the output not writable).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from svcascode.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, _context, output_folder
from svcascode.commands.importing import import_group
from svcascode.errors import SvcascodeError
from svcascode.escape import inert, one_line


@import_group.command("incidents")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--mapping", "mapping_choice", required=True, metavar="servicenow|jsm|pagerduty|MAPPING.yaml",
              help="The tool the export came from, or a mapping file (which may start from one with `base:`).")
@click.option("--out", "out", type=click.Path(file_okay=False),
              callback=output_folder, default="services/incidents", show_default=True,
              help="Folder to write one Incident document per ticket into.")
@click.option("--partial", is_flag=True, default=False,
              help="Write the good rows even when others are bad (the bad ones are listed; exit 1).")
@click.option("--dry-run", "dry_run", is_flag=True, default=False, help="Say what would be written; write nothing.")
@click.option("--outages", "outages", type=click.Path(dir_okay=False), metavar="FILE.csv",
              help="ServiceNow only: the outage records (cmdb_ci_outage list, Export > CSV) of these incidents: "
                   "their type, begin and end are the incidents' impacts.")
@click.option("--task-sla", "task_sla", type=click.Path(dir_okay=False), metavar="FILE.csv",
              help="ServiceNow only: the task SLAs (task_sla list, Export > CSV) of these incidents, kept as their "
                   "recordedSlas for `svcascode sla reconcile`.")
def import_incidents_command(file: str, mapping_choice: str, out: str, partial: bool, dry_run: bool,
                             outages: str | None, task_sla: str | None) -> None:
    """Incident documents from a ticket export (CSV): ServiceNow's incident list, Jira Service Management's
    issue export, PagerDuty's incidents, or any CSV through a mapping file. Services are found by the names
    each Service declares for the tool (spec.externalNames). A ticket counts downtime only when the export
    says the service was impaired; otherwise its impact is unknown and it is listed for review. Every bad
    cell is a line FILE:ROW:COLUMN (the header is row 1). Never overwrites a file; a ticket already imported
    (matched on spec.source system and id) is skipped, so importing the same export again writes nothing."""
    from svcascode.catalogue import load_catalogue
    from svcascode.incidentimport.importer import Directory, Evidence, Existing, ImportResult, plan_import, write
    from svcascode.incidentimport.mapping import MappingError, load_mapping
    from svcascode.incidentimport.records import read_outages, read_task_slas

    root, settings = _context()
    try:
        mapping = load_mapping(mapping_choice, Path.cwd())
    except MappingError as error:
        for message in error.messages:
            click.echo(inert(one_line(message)), err=True)
        click.echo(f"svcascode: error: the mapping {one_line(mapping_choice)!r} cannot be used: fix it and run "
                   "again", err=True)
        sys.exit(EXIT_ERROR)
    loaded = load_catalogue(root, settings)
    catalogue = loaded.catalogue
    sources = {(i.spec.source.system, i.spec.source.id): i.file for i in catalogue.of_kind("Incident")
               if i.spec.source is not None}
    names = {i.name: i.file for i in catalogue.of_kind("Incident")}
    names.update({name: "an invalid document of the catalogue" for kind, name in catalogue.invalid
                  if kind == "Incident"})
    directory = Directory.of(catalogue.of_kind("Service"))
    if (outages or task_sla) and mapping.system != "servicenow":
        raise SvcascodeError(f"--outages and --task-sla read ServiceNow's records; the mapping is for "
                             f"{one_line(mapping.system)}")
    evidence: dict[str, Evidence] = {}
    records = ImportResult()
    if outages:
        read_outages(Path(outages), one_line(outages), mapping, directory, records, evidence)
    if task_sla:
        read_task_slas(Path(task_sla), one_line(task_sla), mapping, records, evidence)
    shown = one_line(file)
    result = plan_import(Path(file), shown, mapping, directory, Existing(sources, names), evidence)
    result.problems[:0] = records.problems
    for problem in result.problems:
        click.echo(inert(one_line(str(problem))))
    if result.more_problems:
        click.echo(f"... and {result.more_problems} more problems (only the first are listed)")
    failed = bool(result.problems or result.more_problems)
    out_path = Path(out)
    if dry_run:
        for planned in result.planned:
            click.echo(inert(one_line(f"would write {out_path / (planned.name + '.yaml')} (row {planned.row})")))
    elif failed and not partial:
        result.planned = []
    else:
        write(result, out_path, Path(file).name)
    for row, why in result.skipped:
        click.echo(inert(one_line(f"skipped row {row}: {why}")))
    for path in result.written:
        click.echo(inert(one_line(f"wrote {path}")))
    if not failed or partial or dry_run:
        for note in result.notes:
            click.echo(inert(one_line(f"review: {note}")))
    bad = len(result.problems) + result.more_problems
    would = len(result.planned) if dry_run else len(result.written)
    summary = (f"{would} {'to write' if dry_run else 'written'}, {len(result.skipped)} skipped (already there)")
    if failed:
        rows = len({p.row for p in result.problems})
        summary += f", {bad} problem{'s' if bad != 1 else ''} in {rows} row{'s' if rows != 1 else ''}"
        if not partial and not dry_run:
            summary += "; nothing written: fix the rows, or --partial to write the good ones"
    click.echo(("FAIL: " if failed else "imported: ") + summary)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)
