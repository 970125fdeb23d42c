"""CEL expression controls, plugin checks and `svcascode test`, as a rule author uses them."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from svcascode.checks import _LOCAL, load_builtin
from svcascode.cli import main
from conftest import cpu_seconds

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = "2026-11-27"


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["-C", str(root), "--no-cache", *args])


def findings(root: Path, *args: str) -> list[tuple[str, int, int, str, str]]:
    result = run(root, "check", "--as-of", AS_OF, "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return [(f["file"], f["line"], f["column"], f["rule"], f["message"]) for f in json.loads(result.output)["findings"]]


@pytest.fixture
def org(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "org-rules", tmp_path / "org")
    return tmp_path / "org"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


CONTROL = "policies/tier1-thin-rota-ola.yaml"


# ---------------------------------------------------------------------------------------------------
# The organisation's rule, in YAML only


def test_thin_rota_without_ola_fires_at_the_owner_line(org: Path) -> None:
    # ledger: finance has one person on call and ledger depends on nothing with an OLA; payments depends on
    # database, whose owner platform gives finance an OLA: it passes
    assert findings(org) == [
        ("services/catalogue.yaml", 41, 3, "tier1-thin-rota-ola",
         "owner team finance has 1 people on call, fewer than 2, and no OLA with a supporting team: agree an OLA "
         "with the team of a service ledger depends on, naming finance as its customer")]


def test_the_ola_must_be_in_force(org: Path) -> None:
    _edit(org / "services/catalogue.yaml", "  validFrom: 2026-01-01\n", "  validFrom: 2026-01-01\n  validTo: 2026-06-30\n")
    assert [(f[1], f[4].split(":")[0]) for f in findings(org)] == [
        (41, "owner team finance has 1 people on call, fewer than 2, and no OLA with a supporting team"),
        (52, "owner team finance has 1 people on call, fewer than 2, and no OLA with a supporting team")]


def test_params_are_read_by_the_expression(org: Path) -> None:
    _edit(org / CONTROL, "params: {minOnCall: 2}", "params: {minOnCall: 1}")
    assert findings(org) == []


def test_svcascode_test_runs_the_examples_and_the_case_file(org: Path) -> None:
    result = run(org, "test", "rule-tests")
    assert result.exit_code == 0, result.output
    assert result.output == "3 passed, 0 failed\n"


def test_svcascode_test_fails_a_case_whose_finding_moved(org: Path) -> None:
    _edit(org / "rule-tests/tier1-thin-rota-ola.yaml", "{line: 22,", "{line: 21,")
    result = run(org, "test", "rule-tests")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "FAIL rule-tests/tier1-thin-rota-ola.yaml:4: rule-tests/tier1-thin-rota-ola.yaml: "
        "a one-person rota without an OLA fires at the owner",
        "  expected, not reported: line 21 tier1-thin-rota-ola: owner team solo has 1 people on call, fewer than 2, "
        "and no OLA",
        "  reported, not expected: line 22 tier1-thin-rota-ola [high]: owner team solo has 1 people on call, fewer "
        "than 2, and no OLA with a supporting team: agree an OLA with the team of a service ledger depends on, "
        "naming solo as its customer",
        "2 passed, 1 failed"]


def test_svcascode_test_fails_an_example_that_does_not_fail(org: Path) -> None:
    _edit(org / CONTROL, "      metadata: {name: solo-team}\n      spec:\n        type: team\n"
          "        members: [{id: sol@example.com, role: lead}]\n"
          "        onCall: {coverage: always-on, primary: [sol@example.com]}",
          "      metadata: {name: solo-team}\n      spec:\n        type: team\n"
          "        members: [{id: sol@example.com, role: lead}, {id: two@example.com, role: member}]\n"
          "        onCall: {coverage: always-on, primary: [sol@example.com], secondary: [two@example.com]}")
    result = run(org, "test")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("FAIL policies/tier1-thin-rota-ola.yaml:33: examples of "
                                             "tier1-thin-rota-ola: failing example")


def test_svcascode_test_json_and_junit(org: Path) -> None:
    report = json.loads(run(org, "test", "rule-tests", "--format", "json").output)
    assert (report["passed"], report["failed"]) == (3, 0)
    assert [(c["suite"], c["name"], c["line"]) for c in report["cases"]] == [
        ("examples of tier1-thin-rota-ola", "failing example", 33),
        ("examples of tier1-thin-rota-ola", "passing example", 53),
        ("rule-tests/tier1-thin-rota-ola.yaml", "a one-person rota without an OLA fires at the owner", 4)]
    junit = ET.fromstring(run(org, "test", "rule-tests", "--format", "junit").output)
    assert (junit.get("tests"), junit.get("failures")) == ("3", "0")
    assert [c.get("name") for c in junit.iter("testcase")][-1] == "a one-person rota without an OLA fires at the owner"


@pytest.mark.parametrize("old, new, message", [
    ("asOf: 2026-11-27", "asOf: someday", "rule-tests/tier1-thin-rota-ola.yaml:2:1: asOf: 'someday' is not a date"),
    ("control: tier1-thin-rota-ola", "control: tier1-thin-rota", "rule-tests/tier1-thin-rota-ola.yaml:1:1: control: "
     "'tier1-thin-rota' is not a control in force here"),
    ("    expect:\n", "    expected:\n", "rule-tests/tier1-thin-rota-ola.yaml:31:5: unknown key 'expected'"),
    ("        tier: tier-1\n", "        tier: tier-9\n", "rule-tests/tier1-thin-rota-ola.yaml:26:9: case 'a one-person "
     "rota without an OLA fires at the owner': the documents are not valid: spec.tier: 'tier-9' is not one of"),
])
def test_a_malformed_case_file_is_a_located_error(org: Path, old: str, new: str, message: str) -> None:
    _edit(org / "rule-tests/tier1-thin-rota-ola.yaml", old, new)
    result = run(org, "test", "rule-tests")
    assert result.exit_code == 2
    assert result.output.startswith(f"svcascode: error: {message}"), result.output


def test_a_case_file_that_is_a_fifo_is_refused_without_blocking(org: Path) -> None:
    import os

    os.mkfifo(org / "rule-tests" / "pipe.yaml")
    result = run(org, "test", "--no-examples", "rule-tests/pipe.yaml")
    assert result.exit_code == 2
    assert result.output.startswith("svcascode: error: rule-tests/pipe.yaml:1:1: cannot be read: a FIFO (named pipe), not a regular file")


# ---------------------------------------------------------------------------------------------------
# Errors in expressions are located in the Control's file; errors at run time on the document


@pytest.mark.parametrize("old, new, where, message", [
    ("size(onCall(team)) >= params", "size(onCal(team)) >= params", (21, 38),
     "unknown function 'onCal'; did you mean 'onCall'?"),
    ("size(onCall(team)) >= params", "size(onCall(team, 2)) >= params", (21, 38),
     "onCall(team) takes 1 argument(s), not 2"),
    ("exists(l, l.spec.customer == team.metadata.name))", "exists(l, l.spec.customer == tem.metadata.name))", (20, 62),
     "unknown variable 'tem'"),
    ("|| supported\n", "|| supported)\n", (21, 84), "syntax error"),
    ("{{params.minOnCall}}", "{{params.minOnCall +}}", (24, 26), "syntax error"),
])
def test_expression_errors_are_located_at_line_and_column(org: Path, old: str, new: str, where: tuple[int, int],
                                                          message: str) -> None:
    _edit(org / CONTROL, old, new)
    found = findings(org)
    assert [(f[0], f[1], f[2], f[3]) for f in found] == [(CONTROL, *where, "control-invalid")]
    assert message in found[0][4]


def test_a_runtime_error_is_a_finding_on_the_document(org: Path) -> None:
    _edit(org / CONTROL, "expression: team == null ||", "expression: document.spec.nothing == 1 ||")
    found = findings(org)
    # CEL's || is true when any side is: payments (supported) and database (two on call) pass despite the error
    assert [(f[0], f[1], f[3]) for f in found] == [("services/catalogue.yaml", 34, "check-error")]
    assert "the expression could not be evaluated on this document: no such member in mapping: 'nothing'" in found[0][4]


def test_durations_dates_and_percentages_compare_as_values(org: Path) -> None:
    level = org / "services/catalogue.yaml"
    _edit(level, "  review: {cadence: 365d}\n", "  review: {cadence: 365d}\n  continuity: {rpo: 90m}\n")
    _edit(org / CONTROL, "expression: team == null ||", 'expression: lookup("ServiceLevel", "database-ola").spec.'
          'continuity.rpo < duration("2h") && lookup("ServiceLevel", "database-ola").spec.availability.targetPercent '
          '>= 99.5 && asOf - lookup("ServiceLevel", "database-ola").spec.validFrom > duration("300d") && false ||')
    assert [f[1] for f in findings(org)] == [41]  # the conjunction is true, so `&& false` leaves the rest
    _edit(org / CONTROL, 'duration("2h")', 'duration("1h")')
    assert [f[1] for f in findings(org)] == [41]
    _edit(org / CONTROL, "&& false ||", "||")
    assert [f[1] for f in findings(org)] == [41]  # 90m is not < 1h
    _edit(org / CONTROL, 'duration("1h")', 'duration("1d")')
    assert findings(org) == []  # 90m < 1d, 99.9 >= 99.5, 330 days > 300d


def test_documents_read_as_maps_compare_test_and_iterate_as_maps(org: Path) -> None:
    ola = 'lookup("ServiceLevel", "database-ola")'
    for condition, true in [
            (f"{ola} == {ola}", True),
            (f"{ola}.spec == {ola}.spec.availability", False),
            (f"has({ola}.spec.availability.targetPercent)", True),
            (f"has({ola}.spec.continuity)", False),
            (f'{ola}.spec.availability.exists(k, k == "targetPercent")', True),
            (f'{ola}.spec.availability.all(k, k != "targetPercent")', False),
            (f"size({ola}.spec.availability) == size({ola}.spec.availability)", True)]:
        text = (org / CONTROL).read_text()
        _edit(org / CONTROL, "expression: team == null ||", f"expression: (!({condition})) || team == null ||")
        assert [f[1] for f in findings(org)] == ([41] if true else []), condition  # the rest fails at 41
        (org / CONTROL).write_text(text)


# ---------------------------------------------------------------------------------------------------
# The cost limit


def test_a_hostile_expression_stops_at_the_cost_limit(org: Path) -> None:
    # each level doubles the list: 2^40 elements if nothing stopped it
    doubling = "[[1, 2]]" + "".join(f".map(x{i}, x{i} + x{i})" for i in range(40))
    _edit(org / CONTROL, "expression: team == null ||", f"expression: size({doubling}) > 0 && false ||")
    started = cpu_seconds()
    found = findings(org)
    assert cpu_seconds() - started < 60
    assert [(f[1], f[3]) for f in found] == [(34, "check-error"), (45, "check-error"), (58, "check-error")]
    # 200,000 steps, and 5,000 for the team the control's variables read
    assert found[0][4].endswith("evaluation cost more than 205,000 steps (200,000, and 5,000 for the other "
                                "document it read)")


def test_a_hostile_document_stops_at_the_cost_limit(org: Path) -> None:
    people = "".join(f"\n      - p{i}@example.com" for i in range(3000))
    _edit(org / "services/catalogue.yaml", "    primary: [pat@example.com]", f"    primary:\n      - pat@example.com{people}")
    _edit(org / CONTROL, "expression: team == null ||", "expression: dependencies(document).all(d, onCall(owner(d))"
          ".all(a, onCall(owner(d)).all(b, a == b || a != b))) && false ||")
    started = cpu_seconds()
    found = findings(org)
    assert cpu_seconds() - started < 60
    errors = [(f[1], f[4].split(": ")[-1]) for f in found if f[3] == "check-error"]
    # payments, 3,001 lines further down; its team, its dependency and their teams add 5,000 steps each
    assert errors == [(45 + 3001, "evaluation cost more than 220,000 steps (200,000, and 5,000 for each of the 4 "
                                  "other documents it read)")]


def test_nesting_is_bounded_before_parsing(org: Path) -> None:
    _edit(org / CONTROL, "expression: team == null ||", "expression: " + "(" * 200 + "true" + ")" * 200 + " ||")
    found = findings(org)
    assert [(f[3], f[1]) for f in found] == [("control-invalid", 21)]
    assert "nested more than 24 brackets deep" in found[0][4]


# ---------------------------------------------------------------------------------------------------
# Plugins


PLUGIN_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: acme-team-size, title: Teams stay small}
spec:
  severity: medium
  enforcement: block
  appliesTo: {kinds: [Team]}
  check:
    builtin: %s
  rationale: r
  remediation: r
  examples: {failing: f, passing: p}
  mappings:
    - {framework: internal-policy, controls: [OPS-7]}
"""


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The acme-checks distribution installed: its dist-info and package on sys.path, found by importlib.metadata."""
    monkeypatch.syspath_prepend(str(FIXTURES / "plugin"))
    load_builtin.cache_clear()
    yield
    load_builtin.cache_clear()


@pytest.fixture
def clean_local() -> Iterator[None]:
    _LOCAL.clear()
    load_builtin.cache_clear()
    yield
    _LOCAL.clear()
    load_builtin.cache_clear()


def test_an_installed_plugin_check_runs_with_its_parameters(org: Path, plugin: None) -> None:
    (org / "policies/acme.yaml").write_text(PLUGIN_CONTROL % "acme_team_size\n    params: {maxMembers: 1}")
    assert [(f[0], f[1], f[3], f[4]) for f in findings(org, "--select", "acme-team-size")] == [
        ("services/catalogue.yaml", 24, "acme-team-size", "team has 2 members, more than 1")]


def test_a_plugin_check_gets_the_parameter_type_checks(org: Path, plugin: None) -> None:
    (org / "policies/acme.yaml").write_text(PLUGIN_CONTROL % "acme_team_size\n    params: {maxMembers: many}")
    found = findings(org, "--select", "acme-team-size")
    assert [(f[0], f[3], f[4]) for f in found] == [
        ("policies/acme.yaml", "control-invalid",
         "control acme-team-size: parameter 'maxMembers' of built-in 'acme_team_size': 'many' is not a number")]


def test_a_plugin_check_is_listed_and_explained(org: Path, plugin: None) -> None:
    (org / "policies/acme.yaml").write_text(PLUGIN_CONTROL % "acme_team_size")
    listed = json.loads(run(org, "controls", "--format", "json").output)
    assert {c["id"]: c["check"] for c in listed} == {"acme-team-size": "acme_team_size",
                                                   "tier1-thin-rota-ola": "expression"}
    explained = run(org, "explain", "acme-team-size").output
    assert "  plugin acme-checks 1.0 (entry point acme_checks) check acme_team_size" in explained
    assert "Every Team has at most `maxMembers` members" in explained
    assert "  maxMembers: 3  (default)" in explained


def test_without_the_package_the_check_is_unknown(org: Path) -> None:
    load_builtin.cache_clear()
    (org / "policies/acme.yaml").write_text(PLUGIN_CONTROL % "acme_team_size")
    found = findings(org, "--select", "acme-team-size")
    assert [f[3] for f in found] == ["control-invalid"]
    assert "unknown built-in check 'acme_team_size'" in found[0][4]


def test_a_repository_check_runs_only_when_enabled(org: Path, clean_local: None) -> None:
    shutil.copy(FIXTURES / "plugin/local_team_size.py", org / "local_team_size.py")
    (org / "policies/local.yaml").write_text(PLUGIN_CONTROL.replace("acme-team-size", "team-email")
                                             % "local_team_size")
    found = findings(org, "--select", "team-email")
    assert [f[3] for f in found] == ["control-invalid"]  # not enabled: the module is never imported
    assert "svcascode_local_checks.local_team_size" not in __import__("sys").modules
    (org / ".svcascode.yaml").write_text("library: {enabled: false}\nlocal_checks: [local_team_size.py]\n")
    assert [(f[1], f[3], f[4]) for f in findings(org, "--select", "team-email")] == [
        (8, "team-email", "team has no e-mail address"), (21, "team-email", "team has no e-mail address")]
    explained = run(org, "explain", "team-email").output
    assert "  repository module local_team_size.py check local_team_size" in explained


def test_a_repository_check_outside_the_repository_is_refused(org: Path, clean_local: None) -> None:
    (org / ".svcascode.yaml").write_text("library: {enabled: false}\nlocal_checks: [../evil.py]\n")
    result = run(org, "check")
    assert result.exit_code == 2
    assert "local_checks: '../evil.py': '..' leaves the repository" in result.output


# ---------------------------------------------------------------------------------------------------
# explain


def test_explain_shows_the_expressions_and_functions(org: Path) -> None:
    out = run(org, "explain", "tier1-thin-rota-ola").output
    assert "    team == null || size(onCall(team)) >= params.minOnCall || supported\n      message: owner team " in out
    assert "{{params.minOnCall}}, and no OLA with a supporting team" in out
    assert "\n      at: spec.owner\n" in out
    assert "  functions used: owner, levels, dependencies, onCall\n" in out


def test_explain_of_a_library_expression_control() -> None:
    out = run(Path(__file__).parent.parent, "explain", "acc-review-overdue").output
    assert "    judgedAt = tier(document)\n" in out
    assert "  functions used: evidence, tier, baseline\n" in out
    assert "  evidenceType: access-review\n" in out


def test_the_guide_documents_every_function_with_its_example() -> None:
    from svcascode.expressions import FUNCTIONS, VARIABLES, compile_expression

    guide = (Path(__file__).parent.parent / "docs" / "rules.md").read_text()
    for name, doc in FUNCTIONS.items():
        assert f"`{doc.example}`" in guide, name  # the guide's example is the one explain's registry holds
        assert compile_expression(doc.example, {*VARIABLES}).text == doc.example
    assert "## Levels" in guide and "## Deadlines" in guide


def test_documents_of_one_model_share_the_keys_of_their_cel_maps() -> None:
    """A model's CEL map names its fields by keys made once per model class: a thousand services' maps hold the
    same key objects, and make no new ones."""
    from celpy import celtypes

    from svcascode.expressions import to_cel
    from svcascode.models import ServiceSpec

    spec = {"type": "business", "tier": "tier-1", "lifecycle": "production", "owner": "ops",
            "supportHours": "always-on", "data": {"classification": "internal"}}
    first, second = (to_cel(ServiceSpec.model_validate(spec)) for _ in range(2))
    assert dict(first) and list(first) == list(second)
    assert all(a is b for a, b in zip(first, second))
    made = 0
    real_new = celtypes.StringType.__new__

    def counted(cls: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal made
        made += 1
        return real_new(cls, *args, **kwargs)

    models = [ServiceSpec.model_validate(spec) for _ in range(1000)]
    celtypes.StringType.__new__ = counted  # type: ignore[method-assign]
    try:
        maps = [to_cel(model) for model in models]
    finally:
        celtypes.StringType.__new__ = real_new  # type: ignore[method-assign]
    assert len(maps) == 1000 and made == 0
