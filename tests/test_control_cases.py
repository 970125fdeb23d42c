"""Every built-in control's cases (tests/cases/<control-id>.yaml) run through `svcascode test`.

The case file format and the runner are the product's (svcascode/ruletest.py, docs/rules.md); this
file runs the library's own cases with the command a rule author uses, and fails naming each case
that fails, with the findings expected and reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from svcascode.cli import main

HERE = Path(__file__).parent
REPO = HERE.parent
LIBRARY = REPO / "svcascode" / "library"  # the built-in library: controls/ and frameworks/
CASE_FILES = sorted(p for p in (HERE / "cases").glob("*.yaml") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["-C", str(REPO), "--no-cache", "test", "--no-examples", "--format",
                                       "json", str(HERE / "cases")])
    assert result.exit_code in (0, 1), result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def test_every_case_passes(report: dict[str, Any]) -> None:
    failed = [f"{c['file']}:{c['line']} {c['name']}\n  expected but not found: {c['missing']}\n"
              f"  found but not expected: {c['unexpected']}" for c in report["cases"] if not c["passed"]]
    assert not failed, "\n".join(failed)


def test_every_case_file_is_run(report: dict[str, Any]) -> None:
    expected = sum(len(yaml.safe_load(p.read_text())["cases"]) for p in CASE_FILES)
    assert report["passed"] + report["failed"] == expected == len(report["cases"])
    assert {c["file"] for c in report["cases"]} == {f"tests/cases/{p.name}" for p in CASE_FILES}


def test_every_builtin_control_has_cases() -> None:
    controls = sorted(p.stem for p in (LIBRARY / "controls").glob("*.yaml"))
    with_cases = {yaml.safe_load(p.read_text())["control"] for p in CASE_FILES}
    assert sorted(set(controls) - with_cases) == []
