"""`svcascode controls` lists the controls in force; `svcascode explain ID` prints one in full.

Controls are read from the catalogue: the built-in library's (svcascode.library) and the repository's
own, which replace library controls of the same id. Each is listed with where it comes from. `explain`
prints fixed sections, in this order, for every control (`svcascode.explain`).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click

from svcascode.catalogue import Catalogue, CatalogueBuilder, load_catalogue
from svcascode.cli import _context, main
from svcascode.escape import inert, inert_json, md_text, squash, visible
from svcascode.rules import TOOL_RULES
from svcascode.config import Settings
from svcascode.documents import Document
from svcascode.errors import SvcascodeError
from svcascode.escape import one_line
from svcascode.library import source_of
from svcascode.loading.discover import NoDocuments
from svcascode.loading.cache import make_cache
from svcascode.explain import applies_to, check_name, frameworks, render_explain, render_tool_rule


def load_controls(root: Path, settings: Settings) -> tuple[Catalogue, list[Document], int]:
    """The catalogue, its controls sorted by id, and how many Control documents are invalid.

    A repository without documents has nothing to check, but the built-in library ships with the tool:
    its controls are listed (and explained), with a note on how to start a catalogue."""
    try:
        result = load_catalogue(root, settings)
    except NoDocuments as empty:
        click.echo(f"svcascode: note: {visible(str(empty))}; listing the built-in library alone", err=True)
        result = CatalogueBuilder(make_cache(root, settings), settings).build([])
    invalid = sum(1 for f in result.findings if f.kind == "Control")
    return result.catalogue, sorted(result.catalogue.of_kind("Control"), key=lambda c: c.name), invalid


def control_summary(control: Document) -> dict[str, Any]:
    return {"id": control.name, "title": control.model.metadata.title or control.name,
            "severity": str(control.spec.severity), "enforcement": str(control.spec.enforcement),
            "check": check_name(control), "frameworks": frameworks(control), "source": source_of(control)}


def render_list(controls: list[Document]) -> str:
    if not controls:
        return ("no controls: the built-in library is disabled (library.enabled: false); add Control "
                "documents under policies/\n")
    width = max(len(c.name) for c in controls)
    sources = {c.name: source_of(c) for c in controls}
    source_width = max(len(s) for s in sources.values())
    lines = []
    for control in controls:
        summary = control_summary(control)
        maps = "; ".join(f"{name} {', '.join(ids)}" for name, ids in summary["frameworks"].items())
        # a title or mapping is the document's text: one line, controls and bidi characters shown as escapes
        lines.append(f"{control.name:<{width}}  {summary['severity']:<8}  {summary['enforcement']:<5}  "
                     f"{one_line(sources[control.name]):<{source_width}}  {squash(summary['title'])}  "
                     f"[{squash(maps)}]")
    text = "\n".join(lines) + f"\n\n{len(controls)} controls; `svcascode explain ID` shows one in full\n"
    return inert(text)  # and no line a CI runner reads as a command


def render_reference(controls: list[Document], catalogue: Catalogue) -> str:
    """The control reference as Markdown: a heading per control (its id, so the anchor is `#id`) with
    what it applies to, why it matters, the remediation and its mappings, then the tool's own rules.
    docs/controls.md is this page for the built-in library; SARIF rules link their entry in it."""
    out = ["# Control reference", "",
           f"The {len(controls)} controls in force, then the rules svcascode reports itself. "
           "`svcascode explain ID` prints one in full, with its check, parameters and examples. "
           "Written by `svcascode controls --format markdown`.", "",
           "| id | severity | enforcement | title |", "|---|---|---|---|"]
    out.extend(f"| [{c.name}](#{c.name}) | {c.spec.severity} | {c.spec.enforcement} | "
               f"{md_text(c.model.metadata.title or c.name)} |" for c in controls)
    for control in controls:
        spec = control.spec
        out.extend(["", f"## {control.name}", "",
                    f"**{md_text(control.model.metadata.title or control.name)}**: {spec.severity}, enforcement "
                    f"{spec.enforcement}; {md_text(source_of(control))}.", "",
                    "Applies to: " + "; ".join(md_text(line.strip()) for line in applies_to(control)) + ".", "",
                    f"Why it matters: {md_text(spec.rationale)}", "", f"Remediation: {md_text(spec.remediation)}"])
        mappings = [f"{md_text(m.framework)} {md_text(', '.join(m.controls))}" for m in spec.mappings]
        if mappings:
            out.extend(["", "Framework mappings: " + "; ".join(mappings) + "."])
    out.extend(["", "## Rules svcascode reports itself", "",
                "About files, documents and control definitions rather than a control's subject."])
    for rule, info in TOOL_RULES.items():
        out.extend(["", f"### {rule}", "", f"**{md_text(info.title)}**: {info.severity}, enforcement "
                    f"{info.enforcement}.", "", md_text(info.description), "", f"Remediation: {md_text(info.help)}"])
    return "\n".join(out) + "\n"


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown: the control reference page (docs/controls.md for the library).")
def controls(fmt: str) -> None:
    """List the controls: id, severity, enforcement, source, title and framework mappings.

    The source is `built-in library VERSION` for a control of the default library, or the file and
    line of the repository's own control (which replaces a library control of the same id).
    """
    root, settings = _context()
    catalogue, found, invalid = load_controls(root, settings)
    if invalid:
        click.echo(f"svcascode: warning: {invalid} Control document problem(s) not listed; run "
                   "`svcascode validate`", err=True)
    if fmt == "json":
        click.echo(inert_json(json.dumps([control_summary(c) for c in found], indent=2, ensure_ascii=False)))
    elif fmt == "markdown":
        click.echo(inert(render_reference(found, catalogue)), nl=False)
    else:
        click.echo(render_list(found), nl=False)


# ---------------------------------------------------------------------------------------------------
# explain


def find_control(controls: list[Document], wanted: str) -> Document:
    """The control named `wanted`, in any case (BCK-RPO-CONSISTENT is bck-rpo-consistent)."""
    by_id = {c.name: c for c in controls}
    key = wanted.strip().lower()
    if key in by_id:
        return by_id[key]
    close = difflib.get_close_matches(key, list(by_id) + list(TOOL_RULES), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "; `svcascode controls` lists them"
    raise SvcascodeError(f"no control with id {wanted!r}{hint}")


@main.command()
@click.argument("control_id", metavar="ID")
def explain(control_id: str) -> None:
    """Print one control's documentation: what it checks, why, how to fix it, examples, mappings.

    ID is a control id in any case (bck-rpo-consistent or BCK-RPO-CONSISTENT), or one of the rule ids
    svcascode reports itself (schema-invalid, ref-unresolved, ...).
    """
    root, settings = _context()
    catalogue, found, _ = load_controls(root, settings)
    if control_id.lower() in TOOL_RULES and control_id.lower() not in {c.name for c in found}:
        click.echo(inert(visible(render_tool_rule(control_id.lower()), keep="\n")), nl=False)
        return
    click.echo(inert(visible(render_explain(find_control(found, control_id), catalogue), keep="\n")), nl=False)
