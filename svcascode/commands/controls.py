"""`svcascode controls` lists the controls in force; `svcascode explain ID` prints one in full.

Controls are read from the catalogue: the built-in library's (svcascode.library) and the repository's
own, which replace library controls of the same id. Each is listed with where it comes from. `explain`
prints fixed sections, in this order, for every control: what the sections in EXPLAIN_SECTIONS name.
"""

from __future__ import annotations

import difflib
import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

import click
import yaml

from svcascode.catalogue import Catalogue, CatalogueBuilder, load_catalogue
from svcascode.checks import load_builtin
from svcascode.checks.base import TIER_DEFAULTS, CheckSpec
from svcascode.cli import _context, main
from svcascode.escape import inert, inert_json, md_text, squash, visible
from svcascode.facts import TIER_ORDER
from svcascode.rules import TOOL_RULES
from svcascode.config import Settings
from svcascode.documents import Document
from svcascode.engine import Baselines
from svcascode.errors import SvcascodeError
from svcascode.escape import one_line
from svcascode.library import NoDocuments, is_library, source_of
from svcascode.loading.cache import make_cache

EXPLAIN_SECTIONS = ("Severity", "Applies to", "What it checks", "Parameters", "Why it matters", "Remediation",
                    "Failing example", "Passing example", "Framework mappings")
WIDTH = 100


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


def check_name(control: Document) -> str:
    """The built-in's name, `schema` for a declarative check, `expression` for a CEL one."""
    builtin = control.spec.check.builtin
    if builtin is not None:
        return str(builtin)
    return "schema" if control.spec.check.schema_ is not None else "expression"


def frameworks(control: Document) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for mapping in control.spec.mappings:
        out.setdefault(mapping.framework, []).extend(mapping.controls)
    return out


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
                    "Applies to: " + "; ".join(md_text(line.strip()) for line in _applies_to(control)) + ".", "",
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


def _wrap(text: str, indent: str = "  ") -> list[str]:
    paragraphs = [p for p in str(text).strip().split("\n\n") if p.strip()]
    lines: list[str] = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        for item in _items(paragraph):  # "- " lines stay a list, each item wrapped under its dash
            bullet = item.startswith("- ")
            lines.extend(textwrap.wrap(item, WIDTH, initial_indent=indent,
                                       subsequent_indent=indent + ("  " if bullet else ""),
                                       break_on_hyphens=False))  # ids such as acc-review-overdue stay whole
    return lines


def _items(paragraph: str) -> list[str]:
    """The paragraph's text, one item per "- " list entry (and one for any text before the list)."""
    items: list[list[str]] = []
    for line in paragraph.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "-" or not items:
            items.append(words)
        else:
            items[-1].extend(words)
    return [" ".join(words) for words in items]


def _block(text: str, indent: str = "    ") -> list[str]:
    return [indent + line if line else "" for line in str(text).rstrip("\n").splitlines()]


def _applies_to(control: Document) -> list[str]:
    applies = control.spec.applies_to
    lines = [f"  kinds: {', '.join(applies.kinds)}"]
    for dotted, allowed in applies.where.items():
        options = allowed if isinstance(allowed, list) else [allowed]
        lines.append(f"  where spec.{dotted} is {' or '.join(str(o) for o in options)}")
    if applies.has_fields:
        lines.append(f"  with {', '.join('spec.' + f for f in applies.has_fields)} set")
    for key, value in applies.labels.items():
        lines.append(f"  labelled {key}={value}")
    return lines


def _builtin(control: Document) -> tuple[CheckSpec | None, str]:
    name = control.spec.check.builtin
    try:
        spec = load_builtin(name)
    except ImportError as error:
        return None, f"check '{name}' is not available: {error}"
    if spec is None:
        return None, f"unknown built-in check '{name}': this control cannot run (see `svcascode check`)"
    return spec, spec.summary


def _baseline_params(spec: CheckSpec) -> list[str]:
    """The per-tier Baseline parameters a built-in reads, found by name in its module's source."""
    module = inspect.getmodule(spec.function)
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        return []
    return [name for name in TIER_DEFAULTS if f'"{name}"' in source or f"'{name}'" in source]


def _expression_lines(control: Document) -> list[str]:
    """An expression control's expressions, messages and the catalogue functions they call."""
    from svcascode.expressions import FUNCTIONS, expression_functions

    check = control.spec.check
    lines = ["  CEL expressions (each selected document must make them true):"]
    for variable in check.variables:
        lines.extend(_block(f"{variable.name} = {variable.expression}"))
    rules = [(check.expression, check.message, check.path, False)] if check.expression is not None else [
        (v.expression, v.message, v.path, v.warning) for v in check.validations]
    for expression, message, path, warning in rules:
        lines.append("")
        lines.extend(_block(str(expression).strip()))
        if message:
            lines.append(f"      message{' (warning)' if warning else ''}: {one_line(str(message).strip())}")
        if path:
            lines.append(f"      at: {path}")
    used = expression_functions(control)
    lines.append("")
    lines.append("  functions used: " + (", ".join(used) if used else "none (reads only the document)"))
    lines.extend(f"    {FUNCTIONS[name].signature}: {FUNCTIONS[name].summary}" for name in used)
    return lines


def _parameters(control: Document, catalogue: Catalogue, spec: CheckSpec | None) -> list[str]:
    check = control.spec.check
    if check.builtin is None and check.schema_ is not None:
        return ["  none: a declarative check has no parameters"]
    if check.builtin is None:  # an expression check: its params, and the Baseline parameters it reads
        lines = [f"  {name}: {_show(value)}" for name, value in check.params.items()] or ["  none"]
        texts = " ".join([*(v.expression for v in check.variables), str(check.expression or ""),
                          *(v.expression for v in check.validations)])
        used = [name for name in TIER_DEFAULTS if f'"{name}"' in texts or f"'{name}'" in texts]
    else:
        values = {**(spec.params if spec else {}), **control.spec.check.params}
        lines = [f"  {name}: {_show(value)}" + ("" if name in control.spec.check.params else "  (default)")
                 for name, value in values.items()] or ["  none"]
        used = _baseline_params(spec) if spec else []
    if used:
        baselines = Baselines(catalogue)
        lines.append("  Baseline parameters (per tier; Baseline documents override the defaults):")
        for name in used:
            per_tier = ", ".join(f"{tier} {_show(baselines.parameter(name, tier))}" for tier in TIER_ORDER)
            lines.append(f"    {name}: {per_tier}")
    return lines


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _mappings(control: Document, catalogue: Catalogue) -> list[str]:
    lines = []
    for mapping in control.spec.mappings:
        framework = catalogue.get("Framework", mapping.framework)
        titles = {c.id: c.title for c in framework.spec.controls} if framework is not None else {}
        heading = framework.model.metadata.title if framework is not None and framework.model.metadata.title \
            else mapping.framework
        lines.append(f"  {heading} ({mapping.framework}, {mapping.relationship}):")
        for control_id in mapping.controls:
            title = titles.get(control_id)
            lines.append(f"    {control_id}" + (f"  {title}" if title else ""))
    return lines


def render_explain(control: Document, catalogue: Catalogue) -> str:
    spec = control.spec
    builtin, what = _builtin(control) if spec.check.builtin is not None else (None, "")
    title = control.model.metadata.title or control.name
    where = f"{source_of(control)} ({control.file})" if is_library(control.file) else source_of(control)
    out = [f"{control.name}: {title}", f"  {where}", ""]

    def section(name: str, body: list[str]) -> None:
        out.extend([name, *body, ""])

    section("Severity", [f"  {spec.severity}, enforcement {spec.enforcement}"
                         + {"block": " (fails the check)", "warn": " (reported, never fails)",
                            "audit": " (recorded for audit, never fails)"}[str(spec.enforcement)]])
    section("Applies to", _applies_to(control))
    if spec.check.builtin is not None:
        origin = builtin.origin if builtin is not None else "built-in"
        section("What it checks", [f"  {origin} check {spec.check.builtin}", "", *_wrap(what)])
    elif spec.check.expression is not None or spec.check.validations:
        section("What it checks", _expression_lines(control))
    else:
        schema = yaml.safe_dump(spec.check.schema_, sort_keys=False, allow_unicode=True)
        section("What it checks", ["  each selected document must satisfy this JSON Schema:", *_block(schema)])
    section("Parameters", _parameters(control, catalogue, builtin))
    section("Why it matters", _wrap(spec.rationale))
    section("Remediation", _wrap(spec.remediation))
    section("Failing example", _block(spec.examples.failing))
    section("Passing example", _block(spec.examples.passing))
    section("Framework mappings", _mappings(control, catalogue))
    return "\n".join(out).rstrip("\n") + "\n"


def render_tool_rule(rule: str) -> str:
    info = TOOL_RULES[rule]
    out = [f"{rule}: {info.title}", "  reported by svcascode itself, not by a Control document", "",
           "Severity", f"  {info.severity}, enforcement {info.enforcement}", "",
           "What it checks", *_wrap(info.description), "", "Remediation", *_wrap(info.help)]
    return "\n".join(out) + "\n"


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
