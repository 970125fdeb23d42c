"""The default library ships in the package and applies in every repository: on disk and at git
revisions, replaced by id, disabled by configuration, listed with its source, reported by `check`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from svcascode import __version__
from svcascode.catalogue import load_catalogue
from svcascode.cli import main
from svcascode.config import LibrarySettings, Settings
from svcascode.library import PREFIX, library_files
from conftest import copy_example
from git_helpers import Repo, run as run_process

REPO = Path(__file__).parent.parent
LIBRARY = REPO / "svcascode" / "library"
DEMO_DATE = "2026-11-27"
CONTROL_IDS = sorted(p.stem for p in (LIBRARY / "controls").glob("*.yaml"))
# the example organisation's documented gaps, as (rule, file, line) (README "The demo")
DEMO_GAPS = [
    ("acc-review-overdue", "services/access/hr-access.yaml", 28),
    ("bck-rpo-consistent", "services/catalogue/data-warehouse.yaml", 35),
    ("mw-business-hours", "services/maintenance/business-apps.yaml", 12),
    ("oncall-min-rota", "services/teams/finance-systems.yaml", 22),
    ("wvr-valid", "policies/waivers.yaml", 48),
]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def check_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("check", "--as-of", DEMO_DATE, "--format", "json", "--fail-on", "none", *args)
    return result.exit_code, json.loads(result.stdout)


def gaps(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return sorted((f["rule"], f["file"], f["line"]) for f in report["findings"])


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


OWN_CONTROL = """\
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-business-owner, title: Our own business owner rule}
spec:
  severity: high
  enforcement: block
  appliesTo: {kinds: [Service], where: {type: [business]}}
  check: {schema: {type: object, required: [spec], properties: {spec: {type: object, required: [businessOwner]}}}}
  rationale: Ours.
  remediation: Set spec.businessOwner.
  examples: {failing: "a", passing: "b"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
"""


# ---------------------------------------------------------------------------------------------------
# shipping


def test_the_library_is_package_data_with_every_control_framework_and_baseline() -> None:
    paths = [f.path for f in library_files()]
    assert f"{PREFIX}/baselines.yaml" in paths
    assert sorted(p.rsplit("/", 1)[1][:-5] for p in paths if "/controls/" in p) == CONTROL_IDS
    assert len([p for p in paths if "/frameworks/" in p]) == 3
    assert len(CONTROL_IDS) >= 25


def test_pyproject_ships_the_library_as_package_data() -> None:
    text = (REPO / "pyproject.toml").read_text()
    for pattern in ("library/*.yaml", "library/controls/*.yaml", "library/frameworks/*.yaml"):
        assert f'"{pattern}"' in text


def test_the_example_keeps_only_what_the_organisation_adds() -> None:
    assert not (REPO / "policies" / "controls").exists() and not (REPO / "policies" / "frameworks").exists()
    assert (REPO / "policies" / "waivers.yaml").exists()


# ---------------------------------------------------------------------------------------------------
# the demo


def test_the_demo_gaps_are_reported_from_the_library(example: Path) -> None:
    code, report = check_json()
    assert code == 0 and gaps(report) == DEMO_GAPS
    library = report["library"]
    assert library == {"name": "svcascode", "version": __version__, "enabled": True, "controls": len(CONTROL_IDS),
                       "overridden": [], "disabled": [], "baselines": "library"}


def test_the_demo_without_its_controls_folder_still_reports_its_gaps(example: Path) -> None:
    shutil.rmtree(example / "policies" / "controls", ignore_errors=True)  # a copy with policies/controls/ deleted
    result = invoke("check", "--as-of", DEMO_DATE)
    assert result.exit_code == 1
    for rule, file, line in DEMO_GAPS:
        assert f"{file}:{line}:" in result.stdout and rule in result.stdout
    assert f"library: svcascode {__version__} built-in library, {len(CONTROL_IDS)} controls" in result.stdout


def test_the_library_is_read_the_same_way_at_a_git_revision(example: Path) -> None:
    repo = Repo(example)
    repo.commit("the example catalogue")
    at_rev = run_process(example, "check", "--rev", "HEAD", "--as-of", DEMO_DATE, "--format", "json",
                         "--fail-on", "none")
    assert at_rev.returncode == 0, at_rev.stderr
    assert gaps(json.loads(at_rev.stdout)) == DEMO_GAPS
    against_base = run_process(example, "check", "--base", "HEAD", "--as-of", DEMO_DATE)
    assert against_base.returncode == 0, against_base.stdout + against_base.stderr
    assert "against" in against_base.stdout and "0 new" in against_base.stdout


# ---------------------------------------------------------------------------------------------------
# replacing, disabling


def test_a_repository_control_with_the_same_id_replaces_the_library_one(example: Path) -> None:
    (example / "policies" / "own-owner.yaml").write_text(OWN_CONTROL)
    code, report = check_json()
    assert not [f for f in report["findings"] if f["rule"] == "name-duplicate"]
    assert report["library"]["overridden"] == ["svc-business-owner"]
    assert report["library"]["controls"] == len(CONTROL_IDS) - 1
    listed = {c["id"]: c for c in json.loads(invoke("controls", "--format", "json").stdout)}
    assert listed["svc-business-owner"]["severity"] == "high"
    assert listed["svc-business-owner"]["source"] == "policies/own-owner.yaml:1"
    assert listed["wvr-valid"]["source"] == f"built-in library {__version__}"


def test_the_controls_listing_shows_each_source(example: Path) -> None:
    (example / "policies" / "own-owner.yaml").write_text(OWN_CONTROL)
    lines = {line.split()[0]: line for line in invoke("controls").stdout.splitlines() if line and line[0].isalpha()}
    assert "policies/own-owner.yaml:1" in lines["svc-business-owner"]
    assert f"built-in library {__version__}" in lines["bck-rpo-consistent"]


def test_configuration_disables_named_controls(example: Path) -> None:
    (example / ".svcascode.yaml").write_text("library: {disable: [mw-business-hours, oncall-min-rota]}\n")
    code, report = check_json()
    assert [g[0] for g in gaps(report)] == ["acc-review-overdue", "bck-rpo-consistent", "wvr-valid"]
    assert report["library"]["disabled"] == ["mw-business-hours", "oncall-min-rota"]
    ids = [c["id"] for c in json.loads(invoke("controls", "--format", "json").stdout)]
    assert "oncall-min-rota" not in ids and len(ids) == len(CONTROL_IDS) - 2


def test_disabling_an_unknown_control_is_an_error_that_names_it(example: Path) -> None:
    (example / ".svcascode.yaml").write_text("library: {disable: [oncall-min-rotaa]}\n")
    result = invoke("check", "--as-of", DEMO_DATE)
    assert result.exit_code == 2
    assert "'oncall-min-rotaa' is not a control of the built-in library; did you mean 'oncall-min-rota'?" \
        in result.stderr


def test_configuration_disables_the_whole_library(example: Path) -> None:
    (example / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    result = load_catalogue(example, Settings(cache=False, library=LibrarySettings(enabled=False)))
    assert result.catalogue.of_kind("Control") == []
    code, report = check_json()
    assert report["library"]["enabled"] is False and report["library"]["controls"] == 0
    assert "no controls" in invoke("controls").stdout


def test_an_invalid_repository_control_still_replaces_the_library_one(example: Path) -> None:
    (example / "policies" / "own-owner.yaml").write_text(OWN_CONTROL.split("  mappings:")[0])
    code, report = check_json()
    assert [f["rule"] for f in report["findings"] if f["file"] == "policies/own-owner.yaml"] == ["schema-invalid"]
    assert report["library"]["overridden"] == ["svc-business-owner"]


def test_a_repository_baseline_replaces_the_default_baselines(example: Path) -> None:
    (example / "policies" / "baselines.yaml").write_text(
        "apiVersion: svcascode.io/v1alpha1\nkind: Baseline\nmetadata: {name: ours}\n"
        "spec: {appliesTo: {tiers: [tier-0, tier-1, tier-2, tier-3]}, controls: [all], exclude: [bck-rpo-consistent]}\n")
    code, report = check_json()
    assert report["library"]["baselines"] == "repository"
    assert "bck-rpo-consistent" not in [g[0] for g in gaps(report)]  # the library's baselines select it


def test_findings_in_library_files_are_located_in_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "calendar.yaml").write_text(
        "apiVersion: svcascode.io/v1alpha1\nkind: BusinessCalendar\nmetadata: {name: always-on}\n"
        "spec: {timezone: UTC, alwaysOn: true}\n")
    monkeypatch.chdir(tmp_path)
    code, report = check_json()
    nothing = [f for f in report["findings"] if f["rule"] == "control-selects-nothing"]
    assert nothing and all(f["file"].startswith(f"{PREFIX}/controls/") for f in nothing)
    assert all(f["line"] > 1 for f in nothing)


# ---------------------------------------------------------------------------------------------------
# nothing to check


def test_an_empty_repository_is_an_error_that_says_to_run_init(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 2 and "svcascode init" in result.stderr
    (tmp_path / "services").mkdir()  # the folder, but no document in it: still nothing to check
    (tmp_path / "services" / "README.md").write_text("soon\n")
    result = invoke("check")
    assert result.exit_code == 2 and "svcascode init" in result.stderr and "no documents" in result.stderr


def test_an_empty_repository_still_lists_and_explains_the_library_controls(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no documents: nothing to check, but the library ships with the tool
    listed = invoke("controls", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [(c["id"], c["source"]) for c in json.loads(listed.stdout)] == [
        (control, f"built-in library {__version__}") for control in CONTROL_IDS]
    assert "no documents under" in listed.stderr and "svcascode init" in listed.stderr
    text = invoke("controls")
    assert text.exit_code == 0 and text.stdout.endswith(
        f"\n\n{len(CONTROL_IDS)} controls; `svcascode explain ID` shows one in full\n")
    explained = invoke("explain", "svc-sla-required")
    assert explained.exit_code == 0 and explained.stdout.startswith("svc-sla-required")
    assert invoke("check").exit_code == 2  # checking nothing is still an error


def test_an_empty_git_repository_is_an_error_too(tmp_path: Path) -> None:
    Repo(tmp_path)
    result = run_process(tmp_path, "check")
    assert result.returncode == 2 and "svcascode init" in result.stderr


def test_a_control_naming_a_built_in_now_written_as_an_expression_still_runs(tmp_path: Path) -> None:
    """acc_review_overdue became the library's expression: an override written before (a repository Control
    of the same id naming the old built-in, with its own parameter) runs that expression, not control-invalid."""
    from datetime import date

    import yaml

    from svcascode.assessment import assess

    root = copy_example(tmp_path / "catalogue")
    as_of = date(2026, 11, 27)
    [text] = [f.data for f in library_files() if f.path.endswith("/acc-review-overdue.yaml")]
    document = yaml.safe_load(text)
    expected = [(f.rule, f.file, f.line) for f in assess(load_catalogue(root, Settings(cache=False)), as_of).findings
                if f.rule == "acc-review-overdue"]

    def override(params: dict[str, str]) -> list[Any]:
        document["spec"]["check"] = {"builtin": "acc_review_overdue", "params": params}
        (root / "policies" / "acc-review-overdue.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        return list(assess(load_catalogue(root, Settings(cache=False)), as_of).findings)

    found = override({"evidenceType": "access-review"})
    assert [f.message for f in found if f.rule == "control-invalid"] == []
    assert [(f.rule, f.file, f.line) for f in found if f.rule == "acc-review-overdue"] == expected == [
        ("acc-review-overdue", "services/access/hr-access.yaml", 28)]
    [problem] = [f for f in override({"evidenceTyp": "access-review"}) if f.rule == "control-invalid"]
    assert "unknown parameter 'evidenceTyp' of built-in 'acc_review_overdue'" in problem.message
