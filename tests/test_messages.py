"""Messages in the user's terms: a built-in control with nothing to check says it is not applicable, a
declarative control's failure says what the control asks and names the missing field, and every SARIF
rule of the library and of the tool links its entry in the published control reference."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from svcascode.cli import main

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "docs" / "controls.md"
SERVICE = "services/catalogue/example-service.yaml"
RUNBOOK_LINE = "    runbook: https://wiki.example.com/runbooks/example-service\n"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["--no-cache", *args], catch_exceptions=False)


def findings(result: Result) -> list[dict[str, Any]]:
    return list(json.loads(result.stdout)["findings"])


@pytest.fixture
def scaffold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh `svcascode init` catalogue, the current folder."""
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0
    return tmp_path


def test_built_in_controls_with_nothing_to_check_say_not_applicable(scaffold: Path) -> None:
    unused = {f["file"].rsplit("/", 1)[-1]: f["message"] for f in findings(invoke("check", "--format", "json"))
              if f["rule"] == "control-selects-nothing"}
    assert len(unused) == 6, unused  # a one-service scaffold has no waiver, incident, tier-0/1 or external service
    for message in unused.values():
        assert message.startswith("not applicable: the catalogue has no ")
        assert "typo" not in message and "appliesTo" not in message
    assert unused["wvr-valid.yaml"] == ("not applicable: the catalogue has no Waiver, so built-in control wvr-valid "
                                        "has nothing to check")
    assert "no Service with dependencies," in unused["svc-dep-resolve.yaml"]
    assert "no Service with type external," in unused["svc-supplier-uc.yaml"]
    assert "no Service with tier tier-0 or tier-1," in unused["oncall-coverage.yaml"]


def test_a_repository_control_that_selects_nothing_still_hints_at_a_typo(scaffold: Path) -> None:
    (scaffold / "policies" / "typo.yaml").write_text("""\
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: org-typo, title: Business services are reviewed}
spec:
  severity: low
  enforcement: audit
  appliesTo: {kinds: [Service], where: {type: busines}}
  check: {schema: {type: object}}
  rationale: r
  remediation: r
  examples: {failing: "x: 1", passing: "x: 1"}
  mappings: [{framework: soc2-2017, controls: [CC7.4]}]
""")
    [message] = [f["message"] for f in findings(invoke("check", "--format", "json")) if f["rule"] ==
                 "control-selects-nothing" and f["file"] == "policies/typo.yaml"]
    assert message == ("control org-typo selects no document (no Service with type busines): if it should, check "
                       "spec.appliesTo for a typo in kinds, where, hasFields or labels")


def test_a_declarative_control_says_what_it_asks_and_names_the_missing_field(scaffold: Path) -> None:
    service = scaffold / SERVICE
    text = service.read_text()
    assert RUNBOOK_LINE in text
    service.write_text(text.replace(RUNBOOK_LINE, ""))
    [runbook] = [f for f in findings(invoke("check", "--format", "json")) if f["rule"] == "svc-runbook-linked"]
    assert runbook["message"] == ("Production tier-0..2 services link an https runbook: "
                                  "spec.operations.runbook is missing")
    assert runbook["path"] == "spec.operations"  # located at the field that exists, where the runbook goes

    # no operations at all: still named down to the runbook, not "'operations' is a required property"
    service.write_text(re.sub(r"  operations:\n(    .*\n)+", "", text))
    [runbook] = [f for f in findings(invoke("check", "--format", "json")) if f["rule"] == "svc-runbook-linked"]
    assert runbook["message"].endswith(": spec.operations.runbook is missing")
    assert "required property" not in runbook["message"]

    # a value of the wrong form: the control's statement, then the field and what is wrong with it
    service.write_text(text.replace("https://wiki.example.com", "http://wiki.example.com"))
    [runbook] = [f for f in findings(invoke("check", "--format", "json")) if f["rule"] == "svc-runbook-linked"]
    assert runbook["message"].startswith("Production tier-0..2 services link an https runbook: "
                                         "spec.operations.runbook: 'http://wiki.example.com/runbooks/")


def test_a_declarative_control_uses_its_own_message(scaffold: Path) -> None:
    (scaffold / "policies" / "org-cost-centre.yaml").write_text("""\
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: org-cost-centre, title: Services carry a cost centre}
spec:
  severity: high
  enforcement: block
  appliesTo: {kinds: [Service]}
  check:
    message: Finance cannot charge this service back
    schema:
      required: [metadata]
      properties:
        metadata:
          required: [labels]
          properties: {labels: {required: [cost-centre, budget-owner]}}
  rationale: r
  remediation: Add the label cost-centre.
  examples: {failing: "x: 1", passing: "x: 1"}
  mappings: [{framework: soc2-2017, controls: [CC7.4]}]
""")
    result = invoke("check", "--format", "json")
    assert result.exit_code == 1
    messages = [f["message"] for f in findings(result) if f["rule"] == "org-cost-centre"]
    # two properties are required under labels: the message stops at the labels that are missing
    assert messages == ["Finance cannot charge this service back: metadata.labels is missing"]


def test_sarif_rules_link_their_entry_in_the_control_reference(scaffold: Path) -> None:
    (scaffold / SERVICE).write_text((scaffold / SERVICE).read_text().replace("owner: example-team",
                                                                             "owner: no-such-team"))
    (scaffold / "policies" / "org.yaml").write_text("""\
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: org-titled, title: Services have a title}
spec:
  severity: low
  enforcement: audit
  appliesTo: {kinds: [Service]}
  check: {schema: {required: [metadata], properties: {metadata: {required: [title]}}}}
  rationale: r
  remediation: r
  examples: {failing: "x: 1", passing: "x: 1"}
  mappings: [{framework: soc2-2017, controls: [CC7.4]}]
""")
    sarif = json.loads(invoke("check", "--format", "sarif").stdout)
    rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    anchors = set(re.findall(r"^#{2,3} ([a-z0-9-]+)$", REFERENCE.read_text(), re.M))
    assert {"ref-unresolved", "svc-runbook-linked", "wvr-valid", "org-titled"} <= set(rules)
    for rule_id, rule in rules.items():
        if rule_id == "org-titled":  # the repository's own control is documented where it is written
            assert "helpUri" not in rule
            continue
        base, _, anchor = rule["helpUri"].partition("#")
        assert base == "https://github.com/svcascode/svcascode/blob/main/docs/controls.md"
        assert anchor == rule_id and anchor in anchors, rule_id


def test_the_published_control_reference_is_the_librarys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no catalogue: the built-in library alone
    result = CliRunner().invoke(main, ["controls", "--format", "markdown"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout == REFERENCE.read_text(), "regenerate docs/controls.md: " \
        "`svcascode controls --format markdown > docs/controls.md` in an empty folder"
    controls = sorted(p.stem for p in (REPO / "svcascode" / "library" / "controls").glob("*.yaml"))
    assert re.findall(r"^## ([a-z0-9-]+)$", result.stdout, re.M) == controls
