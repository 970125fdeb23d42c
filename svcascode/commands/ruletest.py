"""`svcascode test [PATH...]`: every control's examples and the rule case files under PATH, like `opa test`.

Exit 0 when every case passes, 1 when one fails, 2 when a case file is malformed (a located message).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click

from svcascode.cli import EXIT_FINDINGS, EXIT_OK, _context, main, output_file
from svcascode.escape import inert, inert_json, one_line, visible


def render_text(results: list[Any]) -> str:
    lines = []
    for result in results:
        if result.passed:
            continue
        lines.append(f"FAIL {one_line(result.file)}:{result.line}: {one_line(result.suite)}: {one_line(result.name)}")
        lines.extend(f"  {one_line(p)}" for p in result.problems)
        lines.extend(f"  expected, not reported: line {m.get('line', '-')} {m.get('rule')}: "
                     f"{one_line(m.get('message', ''))}" for m in result.missing)
        lines.extend(f"  reported, not expected: line {u['line']} {u['rule']} [{u['severity']}]: "
                     f"{one_line(u['message'])}" for u in result.unexpected)
    skipped = [r for r in results if r.skipped]
    lines.extend(f"skip {one_line(r.file)}:{r.line}: {one_line(r.suite)}: {one_line(r.name)}: {one_line(r.skipped)}"
                 for r in skipped)
    failed = sum(1 for r in results if not r.passed)
    lines.append(f"{len(results) - failed - len(skipped)} passed, {failed} failed"
                 + (f", {len(skipped)} skipped" if skipped else ""))
    return inert(visible("\n".join(lines), keep="\n")) + "\n"


def render_json(results: list[Any]) -> str:
    failed = sum(1 for r in results if not r.passed)
    document = {"passed": len(results) - failed, "failed": failed, "cases": [r.as_json() for r in results]}
    return inert_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def render_junit(results: list[Any]) -> str:
    suites: dict[str, list[Any]] = {}
    for result in results:
        suites.setdefault(result.suite, []).append(result)
    root = ET.Element("testsuites", name="svcascode test", tests=str(len(results)),
                      failures=str(sum(1 for r in results if not r.passed)))
    for name, cases in suites.items():
        suite = ET.SubElement(root, "testsuite", name=visible(name), tests=str(len(cases)),
                              failures=str(sum(1 for c in cases if not c.passed)))
        for case in cases:
            element = ET.SubElement(suite, "testcase", name=visible(case.name), classname=visible(case.control),
                                    file=visible(case.file), line=str(case.line))
            if case.skipped:
                ET.SubElement(element, "skipped", message=visible(case.skipped))
            elif not case.passed:
                detail = [*case.problems,
                          *(f"expected, not reported: line {m.get('line', '-')} {m.get('rule')}: "
                            f"{m.get('message', '')}" for m in case.missing),
                          *(f"reported, not expected: line {u['line']} {u['rule']}: {u['message']}"
                            for u in case.unexpected)]
                failure = ET.SubElement(element, "failure", message=visible(detail[0] if detail else "failed"))
                failure.text = visible("\n".join(detail), keep="\n")
    ET.indent(root)
    return inert('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


FORMATS = {"text": render_text, "json": render_json, "junit": render_junit}


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              callback=output_file, help="Write to this file instead of stdout.")
@click.option("--no-examples", is_flag=True, help="Run only the case files, not every control's examples.")
def test_command(paths: tuple[str, ...], fmt: str, output: str | None, no_examples: bool) -> None:
    """Run every control's failing and passing examples, and the rule case files under PATHS.

    A case file names a control, an as-of date and cases: documents and the findings expected in them,
    with their lines (see docs/rules.md). `_base.yaml` beside a case file is included in each of its
    cases unless the case says `base: false`.
    """
    from svcascode.catalogue import load_catalogue
    from svcascode.ruletest import run_tests

    root, settings = _context()
    catalogue = load_catalogue(root, settings).catalogue
    results = run_tests(catalogue, [Path(p) for p in paths], root, examples=not no_examples)
    text = FORMATS[fmt](results)
    if output:
        from svcascode.safewrite import write_file

        write_file(output, text)
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_FINDINGS if any(not r.passed for r in results) else EXIT_OK)
