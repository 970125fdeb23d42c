"""Hostile catalogue content: whatever a pull request writes, the gate answers in bounded time with a
located message and the documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import copy_example, cpu_seconds, run_cli

AS_OF = "2026-11-27"

BACKTRACKING_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-backtracking-pattern, title: A pattern that backtracks on a plain engine}
spec:
  severity: medium
  enforcement: block
  appliesTo: {kinds: [Service]}
  check:
    schema:
      properties:
        metadata:
          properties:
            description: {pattern: "^(a+)+$"}
          patternProperties:
            "^(x+x+)+y$": {type: string}
  rationale: Nested quantifiers take exponential time on a backtracking engine.
  remediation: None.
  examples: {failing: "kind: Service", passing: "kind: Service"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
"""

BACKREFERENCE_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-backreference, title: A pattern RE2 cannot run}
spec:
  severity: medium
  enforcement: block
  appliesTo: {kinds: [Service]}
  check:
    schema:
      properties:
        metadata:
          properties:
            name: {pattern: "^(a)\\\\1$"}
  rationale: Backreferences need backtracking.
  remediation: None.
  examples: {failing: "kind: Service", passing: "kind: Service"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
"""


def test_a_backtracking_schema_pattern_runs_in_linear_time(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / "policies/svc-backtracking-pattern.yaml").write_text(BACKTRACKING_CONTROL)
    service = root / "services/catalogue/claims-api.yaml"
    text = service.read_text()
    assert "  description:" in text
    # 40 'a' then '!': a backtracking engine tries 2^40 ways before failing
    service.write_text(text.replace("  description:", '  description: "' + "a" * 40 + '!"\n  x-description:', 1)
                       .replace("x-description:", "#", 1))
    started = cpu_seconds()
    result = run_cli("check", "--as-of", AS_OF, "--format", "json", "--select", "svc-backtracking-pattern",
                     "--fail-on", "medium", cwd=root)
    assert cpu_seconds() - started < 20
    assert result.returncode == 1, result.stderr
    found = {f["name"]: f["message"] for f in json.loads(result.stdout)["findings"]
             if f["rule"] == "svc-backtracking-pattern"}
    assert found["claims-api"] == ("A pattern that backtracks on a plain engine: metadata.description: '" + "a" * 40
                                   + "!' does not match '^(a+)+$'")


def test_a_pattern_the_linear_engine_cannot_run_is_refused_where_it_is_written(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    path = root / "policies/svc-backreference.yaml"
    path.write_text(BACKREFERENCE_CONTROL)
    result = run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=root)
    assert result.returncode == 1
    problems = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "control-invalid"]
    assert len(problems) == 1, problems
    line = next(i for i, l in enumerate(BACKREFERENCE_CONTROL.splitlines(), 1) if "pattern:" in l)
    assert (problems[0]["file"], problems[0]["line"]) == ("policies/svc-backreference.yaml", line)
    assert "backreferences or lookaround" in problems[0]["message"]
    assert "Traceback" not in result.stderr and result.stderr == ""


CIRCULAR_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-circular-ref, title: A schema that refers to itself in place}
spec:
  severity: medium
  enforcement: block
  appliesTo: {kinds: [Service]}
  check:
    schema:
      $defs:
        a: {$ref: "#/$defs/b"}
        b: {$ref: "#/$defs/a"}
      $ref: "#/$defs/a"
  rationale: A loop of references never reaches the document.
  remediation: None.
  examples: {failing: "kind: Service", passing: "kind: Service"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
"""


def test_a_circular_ref_is_one_finding_at_the_control(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / "policies/svc-circular-ref.yaml").write_text(CIRCULAR_CONTROL)
    result = run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=root)
    findings = json.loads(result.stdout)["findings"]
    about = [f for f in findings if "svc-circular-ref" in f["message"] or f["rule"] == "svc-circular-ref"]
    assert len(about) == 1, about
    assert about[0]["rule"] == "control-invalid" and about[0]["kind"] == "Control"
    assert about[0]["file"] == "policies/svc-circular-ref.yaml" and about[0]["line"] > 1
    assert "circular $ref" in about[0]["message"]
    assert not [f for f in findings if f["rule"] == "check-error"]


def test_a_recursive_alias_is_a_located_finding(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    (root / "services").mkdir(parents=True)
    (root / "services/loop.yaml").write_text("x: &a [*a]\n")
    (root / "services/self.yaml").write_text("spec: &b\n  self: *b\n")
    result = run_cli("validate", cwd=root)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "recursive alias" in line]
    assert [line.split(": ")[0] for line in lines] == ["services/loop.yaml:1:4", "services/self.yaml:2:3"]
