"""Every control's cases, from tests/cases/<control-id>.yaml, run by this one runner.

A case file:

    control: bck-rpo-consistent          # the control under test, from svcascode/library/controls/
    asOf: 2026-11-27                     # evaluation date (default 2026-11-27)
    cases:
      - name: snapshot interval longer than the RPO
        asOf: 2026-12-01                 # optional: this case's evaluation date, over the file's
        controls: [bck-rpo-consistent]   # optional: more controls to load (waiver cases)
        base: true                       # optional: include tests/cases/_base.yaml (default true)
        documents: |                     # written to services/case.yaml; line numbers refer to it
          apiVersion: svcascode.io/v1alpha1
          ...
        expect:                          # exactly these findings in services/case.yaml
          - {line: 12, severity: critical, message: "interval 24h is longer than the RPO"}
          - {line: 30, rule: wvr-valid, waived: false, message: expired}

`message` is a substring of the finding's message; `rule` defaults to the control; `waived` to false.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from svcascode.catalogue import load_catalogue
from svcascode.config import LibrarySettings, Settings
from svcascode.engine import evaluate

HERE = Path(__file__).parent
REPO = HERE.parent
LIBRARY = REPO / "svcascode" / "library"  # the built-in library: controls/ and frameworks/
CASE_FILES = sorted(p for p in (HERE / "cases").glob("*.yaml") if not p.name.startswith("_"))


def _cases() -> list[Any]:
    params = []
    for path in CASE_FILES:
        spec = yaml.safe_load(path.read_text())
        for index, case in enumerate(spec["cases"]):
            params.append(pytest.param(spec, case, id=f"{path.stem}:{case['name']}"))
    return params


def run_case(spec: dict[str, Any], case: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    control = spec["control"]
    (tmp_path / "services").mkdir()
    (tmp_path / "policies").mkdir()
    if case.get("base", True):
        shutil.copy(HERE / "cases" / "_base.yaml", tmp_path / "services" / "base.yaml")
    (tmp_path / "services" / "case.yaml").write_text(case["documents"])
    shutil.copytree(LIBRARY / "frameworks", tmp_path / "policies" / "frameworks")
    for extra in {control, *case.get("controls", [])}:
        shutil.copy(LIBRARY / "controls" / f"{extra}.yaml", tmp_path / "policies" / f"{extra}.yaml")
    # only the controls under test: the built-in library is off, its files copied in
    result = load_catalogue(tmp_path, Settings(cache=False, library=LibrarySettings(enabled=False)))
    invalid = [f"{f.located()}: {f.message}" for f in result.findings]
    assert not invalid, f"case documents are not valid: {invalid}"
    as_of = case.get("asOf", spec.get("asOf", "2026-11-27"))
    as_of = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
    evaluation = evaluate(result.catalogue, as_of)
    problems = [f"{f.located()}: {f.message}" for f in evaluation.problems if f.rule != "control-selects-nothing"]
    assert not problems, problems
    return [{"line": f.line, "rule": f.rule, "severity": f.severity, "message": f.message, "waived": f.suppressed}
            for f in evaluation.findings if f.file == "services/case.yaml"]


@pytest.mark.parametrize("spec, case", _cases())
def test_control_case(spec: dict[str, Any], case: dict[str, Any], tmp_path: Path) -> None:
    got = run_case(spec, case, tmp_path)
    expected = case.get("expect") or []
    unmatched = list(got)
    missing = []
    for want in expected:
        rule = want.get("rule", spec["control"])
        match = next((g for g in unmatched if g["line"] == want["line"] and g["rule"] == rule
                      and want.get("message", "") in g["message"]
                      and g["severity"] == want.get("severity", g["severity"])
                      and g["waived"] == want.get("waived", False)), None)
        if match is None:
            missing.append(want)
        else:
            unmatched.remove(match)
    assert not missing and not unmatched, (
        f"\nexpected but not found: {missing}\nfound but not expected: {unmatched}")


def test_every_builtin_control_has_cases() -> None:
    controls = sorted(p.stem for p in (LIBRARY / "controls").glob("*.yaml"))
    with_cases = {yaml.safe_load(p.read_text())["control"] for p in CASE_FILES}
    assert sorted(set(controls) - with_cases) == []
