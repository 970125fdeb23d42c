"""What `svcascode explain ID` prints for a control or a rule of the tool, in fixed sections (EXPLAIN_SECTIONS):
read by the command and by the language server's hover."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

import yaml

from svcascode.catalogue import Catalogue
from svcascode.checks import load_builtin
from svcascode.checks.base import TIER_DEFAULTS, CheckSpec
from svcascode.facts import TIER_ORDER
from svcascode.rules import TOOL_RULES
from svcascode.documents import Document
from svcascode.engine import Baselines
from svcascode.escape import one_line
from svcascode.library import is_library, source_of

EXPLAIN_SECTIONS = ("Severity", "Applies to", "What it checks", "Parameters", "Why it matters", "Remediation",
                    "Failing example", "Passing example", "Framework mappings")
WIDTH = 100


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


def applies_to(control: Document) -> list[str]:
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
    section("Applies to", applies_to(control))
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
