"""Text from documents reaches `svcascode controls` and the generated Prometheus rules inert: no line a CI
runner reads as a workflow command, no raw bidirectional character, and no Go template Prometheus would
expand other than the one svcascode writes itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from conftest import copy_example
from svcascode.cli import main

AS_OF = "2026-11-27"
HOSTILE = "Plat\n::error::pwned {{ .Labels }} \u202eevil {{ $value | humanizePercentage }}{"
COMMAND_LINE = re.compile(r"^\s*(::|##\[)", re.M)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("inert") / "catalogue")
    (root / ".git").mkdir()
    title = json.dumps(HOSTILE)  # a YAML double-quoted scalar holding the newline and U+202E
    for path, old in (("services/catalogue/app-platform.yaml", "  title: Application platform (Kubernetes)"),
                      ("services/slos/app-platform.yaml", "  displayName: Application platform availability")):
        file = root / path
        text = file.read_text()
        assert old in text
        file.write_text(text.replace(old, f"{old.split(':')[0]}: {title}"))
    control = root / "policies/controls/svc-runbook-linked.yaml"
    control.parent.mkdir(parents=True, exist_ok=True)
    control.write_text(f"""apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {{name: hostile-title, title: {title}}}
spec:
  severity: low
  enforcement: audit
  appliesTo: {{kinds: [Service]}}
  check: {{schema: {{type: object}}}}
  rationale: x
  remediation: x
  examples: {{failing: "spec: {{}}", passing: "spec: {{}}"}}
  mappings: [{{framework: iso27001-2022, controls: [A.5.30]}}]
""")
    return root


def run(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--no-cache", *args])
    assert result.exit_code == 0, result.output
    return result


def test_controls_lists_a_hostile_title_on_one_line_with_escapes(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = run(root, monkeypatch, "controls").output
    assert not COMMAND_LINE.search(text)
    assert "\u202e" not in text
    line = next(line for line in text.splitlines() if line.startswith("hostile-title"))
    assert "Plat ::error::pwned" in line and "\\u202eevil" in line

    listed = run(root, monkeypatch, "controls", "--format", "json").output
    assert "\u202e" not in listed and not COMMAND_LINE.search(listed)
    titles = {c["id"]: c["title"] for c in json.loads(listed)}
    assert titles["hostile-title"] == HOSTILE  # the JSON still means the title as written


def test_generated_rules_expand_no_template_of_the_catalogue(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    run(root, monkeypatch, "generate", "prometheus", "--out", str(tmp_path / "rules"), "--as-of", AS_OF)
    text = (tmp_path / "rules/app-platform.rules.yaml").read_text()
    assert not COMMAND_LINE.search(text)
    assert "\u202e" not in text
    alerts = [rule for group in yaml.safe_load(text)["groups"] for rule in group["rules"] if "alert" in rule]
    assert alerts
    for alert in alerts:
        for key, value in {**alert["annotations"], **alert["labels"]}.items():
            actions = re.findall(r"\{\{.*?\}\}", value)
            allowed = ['{{ "{{" }}'] + (["{{ $value | humanizePercentage }}"] if key == "description" else [])
            assert set(actions) <= set(allowed), (key, value)
        description = alert["annotations"]["description"]
        assert description.endswith(" Error ratio now: {{ $value | humanizePercentage }}.")
        assert description.count("{{ $value | humanizePercentage }}") == 1  # the title's copy is escaped
        assert "Plat ::error::pwned" in description
