"""`svcascode check` end to end: exit codes, thresholds, selection, formats, waivers and broken controls.

Most tests run on a small catalogue written into a temporary directory (the organisation of
tests/cases/_base.yaml, the framework documents, and controls written by each test), so that every
expected finding is visible in the test; a few run on a copy of the example catalogue.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from svcascode.cli import main
from svcascode.formats import FORMATS
from conftest import copy_example

REPO = Path(__file__).parent.parent
LIBRARY = REPO / "svcascode" / "library"  # the built-in library: controls/ and frameworks/
DEMO_DATE = "2026-11-27"

SERVICE = """\
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata: {{name: {name}}}
spec:
  type: business
  tier: tier-2
  lifecycle: production
  owner: ops
  supportHours: always-on
  data: {{classification: internal}}
{extra}"""

RUNBOOK_SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "required": ["operations"]}}}


def control(name: str, severity: str = "medium", enforcement: str = "block", kinds: str = "[Service]",
            check: dict[str, Any] | None = None, where: str = "") -> str:
    check_yaml = json.dumps(check or {"schema": RUNBOOK_SCHEMA})
    return textwrap.dedent(f"""\
        apiVersion: svcascode.io/v1alpha1
        kind: Control
        metadata: {{name: {name}, title: Test control {name}}}
        spec:
          severity: {severity}
          enforcement: {enforcement}
          appliesTo: {{kinds: {kinds}{where}}}
          check: {check_yaml}
          rationale: Why {name} matters.
          remediation: How to fix {name}.
          examples: {{failing: "a", passing: "b"}}
          mappings:
            - {{framework: iso27001-2022, controls: [A.5.37]}}
        """)


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalogue with one compliant service and one control that requires spec.operations."""
    (tmp_path / "services").mkdir()
    (tmp_path / "policies").mkdir()
    shutil.copy(REPO / "tests" / "cases" / "_base.yaml", tmp_path / "services" / "base.yaml")
    shutil.copytree(LIBRARY / "frameworks", tmp_path / "policies" / "frameworks")
    (tmp_path / ".svcascode.yaml").write_text("library: {enabled: false}  # only the controls each test writes\n")
    (tmp_path / "services" / "billing.yaml").write_text(
        SERVICE.format(name="billing", extra="  operations: {runbook: https://wiki.example.com/billing}\n"))
    (tmp_path / "policies" / "runbook.yaml").write_text(control("svc-runbook"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example catalogue, with its documented deliberate gaps."""
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args], catch_exceptions=False)


def findings_of(result: Result) -> list[dict[str, Any]]:
    return list(json.loads(result.stdout)["findings"])


def add_gap(root: Path) -> None:
    """A second service without spec.operations: one svc-runbook finding at its `spec:` line (4)."""
    (root / "services" / "ledger.yaml").write_text(SERVICE.format(name="ledger", extra=""))


# ---------------------------------------------------------------------------------------------------
# Exit codes


def test_clean_catalogue_passes_with_exit_0(small: Path) -> None:
    result = run("--as-of", DEMO_DATE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("PASS: no findings")


def test_a_gap_fails_with_exit_1_and_says_where(small: Path) -> None:
    add_gap(small)
    result = run("--as-of", DEMO_DATE, "--fail-on", "medium")
    assert result.exit_code == 1
    assert "services/ledger.yaml:4:1: Service/ledger: [medium/block] svc-runbook:" in result.stdout
    assert "FAIL:" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--fail-on", "severe"], "Invalid value for '--fail-on'"),
    (["--format", "pdf"], "Invalid value for '--format'"),
    (["--as-of", "2026-02-30"], "'2026-02-30' is not a date; write it as YYYY-MM-DD"),
    (["--as-of", "yesterday"], "is not a date"),
    (["services/nope.yaml"], "services/nope.yaml: no such file or directory"),
    (["--select", "svc-runbok"], "unknown control id 'svc-runbok' (did you mean 'svc-runbook'?)"),
    (["--ignore", "nothing-like-it"], "known ids: svc-runbook"),
])
def test_cannot_run_exits_2_with_a_message(small: Path, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_no_catalogue_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 2
    assert "no catalogue found" in result.stderr


# ---------------------------------------------------------------------------------------------------
# Thresholds and enforcement


@pytest.mark.parametrize("fail_on, code", [("critical", 0), ("high", 0), ("medium", 1), ("low", 1), ("info", 1),
                                           ("none", 0)])
def test_fail_on_threshold_decides_the_exit_code(small: Path, fail_on: str, code: int) -> None:
    add_gap(small)  # one medium, blocking finding
    result = run("--as-of", DEMO_DATE, "--fail-on", fail_on, "--format", "json")
    assert result.exit_code == code
    [finding] = findings_of(result)
    assert finding["rule"] == "svc-runbook" and finding["failing"] is bool(code)


def test_default_threshold_is_high(small: Path) -> None:
    add_gap(small)
    (small / "policies" / "runbook.yaml").write_text(control("svc-runbook", severity="high"))
    assert run("--as-of", DEMO_DATE).exit_code == 1
    (small / "policies" / "runbook.yaml").write_text(control("svc-runbook", severity="medium"))
    assert run("--as-of", DEMO_DATE).exit_code == 0


@pytest.mark.parametrize("enforcement", ["warn", "audit"])
def test_warn_and_audit_controls_never_fail(small: Path, enforcement: str) -> None:
    add_gap(small)
    (small / "policies" / "runbook.yaml").write_text(control("svc-runbook", "critical", enforcement))
    result = run("--as-of", DEMO_DATE, "--fail-on", "info")
    assert result.exit_code == 0
    assert f"[critical/{enforcement}] svc-runbook" in result.stdout


# ---------------------------------------------------------------------------------------------------
# Selection


def test_select_and_ignore_choose_controls(small: Path) -> None:
    add_gap(small)
    (small / "policies" / "owner.yaml").write_text(control(
        "svc-named-owner", "high", check={"schema": {"properties": {"spec": {"required": ["businessOwner"]}}}}))
    both = {f["rule"] for f in findings_of(run("--as-of", DEMO_DATE, "--format", "json", "--fail-on", "none"))}
    assert both == {"svc-runbook", "svc-named-owner"}
    ignored = run("--as-of", DEMO_DATE, "--format", "json", "--ignore", "svc-named-owner")
    assert {f["rule"] for f in findings_of(ignored)} == {"svc-runbook"}
    assert ignored.exit_code == 0  # the high control was left out; medium is below the default threshold
    selected = run("--as-of", DEMO_DATE, "--format", "json", "--select", "SVC-NAMED-OWNER")
    assert {f["rule"] for f in findings_of(selected)} == {"svc-named-owner"}
    assert json.loads(selected.stdout)["controls"] == ["svc-named-owner"]
    assert selected.exit_code == 1
    assert findings_of(run("--as-of", DEMO_DATE, "--format", "json",
                           "--select", "svc-runbook,svc-named-owner", "--ignore", "svc-runbook"))[0]["rule"] \
        == "svc-named-owner"


def test_paths_limit_the_findings_to_those_files(small: Path) -> None:
    add_gap(small)
    (small / "services" / "other.yaml").write_text(SERVICE.format(name="other", extra=""))
    result = run("--as-of", DEMO_DATE, "--format", "json", "--fail-on", "none", "services/other.yaml")
    assert [f["file"] for f in findings_of(result)] == ["services/other.yaml"]


# ---------------------------------------------------------------------------------------------------
# Invalid documents are findings


def test_invalid_document_is_a_located_finding_in_json(small: Path) -> None:
    (small / "services" / "broken.yaml").write_text(
        SERVICE.format(name="broken", extra="  runbok: https://wiki.example.com\n"))
    result = run("--as-of", DEMO_DATE, "--format", "json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["valid"] is False
    [finding] = [f for f in body["findings"] if f["file"] == "services/broken.yaml"]
    assert finding["rule"] == "schema-invalid" and finding["severity"] == "critical"
    assert finding["line"] == 11 and finding["path"] == "spec.runbok" and finding["failing"] is True
    assert "unknown field 'runbok'" in finding["message"]


def test_broken_yaml_is_a_finding_even_with_fail_on_critical(small: Path) -> None:
    (small / "services" / "broken.yaml").write_text("kind: Service\nmetadata: {name: [unclosed\n")
    result = run("--as-of", DEMO_DATE, "--fail-on", "critical", "--format", "json")
    assert result.exit_code == 1
    [finding] = findings_of(result)
    assert finding["rule"] == "yaml-invalid" and finding["file"] == "services/broken.yaml"
    assert (finding["line"], finding["column"]) == (3, 1)  # where the unclosed flow sequence ends


# ---------------------------------------------------------------------------------------------------
# Waivers


def waiver(approved: str, expires: str, requested: str = "ben@example.com", approver: str = "ana@example.com",
           subject: str = "service:ledger") -> str:
    return textwrap.dedent(f"""\
        apiVersion: svcascode.io/v1alpha1
        kind: Waiver
        metadata: {{name: wvr-ledger-runbook}}
        spec:
          control: svc-runbook
          subjects: [{subject}]
          justification: Runbook being rewritten for the new ledger release.
          requestedBy: {requested}
          approvedBy: [{approver}]
          approvedAt: {approved}
          expiresAt: {expires}
        """)


def with_waiver_control(root: Path) -> None:
    shutil.copy(LIBRARY / "controls" / "wvr-valid.yaml", root / "policies" / "wvr-valid.yaml")


def test_waived_finding_is_reported_suppressed_with_justification(small: Path) -> None:
    add_gap(small)
    with_waiver_control(small)
    (small / "policies" / "waiver.yaml").write_text(waiver("2026-10-01", "2027-01-31"))
    result = run("--as-of", DEMO_DATE, "--format", "json", "--fail-on", "info")
    assert result.exit_code == 0
    [finding] = findings_of(result)
    assert finding["rule"] == "svc-runbook" and finding["suppressed"] is True and finding["failing"] is False
    assert finding["waiver"] == {"name": "wvr-ledger-runbook",
                                 "justification": "Runbook being rewritten for the new ledger release."}
    text = run("--as-of", DEMO_DATE, "--fail-on", "info").stdout
    assert "[waived by wvr-ledger-runbook] svc-runbook:" in text
    assert "1 waived" in text


def test_expired_waiver_reopens_its_finding_across_as_of_dates(small: Path) -> None:
    add_gap(small)
    (small / "policies" / "runbook.yaml").write_text(control("svc-runbook", "high"))
    with_waiver_control(small)
    (small / "policies" / "waiver.yaml").write_text(waiver("2026-06-01", "2026-11-01"))

    before = run("--as-of", "2026-10-15", "--format", "json")
    assert before.exit_code == 0
    [waived] = findings_of(before)
    assert waived["suppressed"] is True

    after = run("--as-of", DEMO_DATE, "--format", "json")
    assert after.exit_code == 1
    by_rule = {f["rule"]: f for f in findings_of(after)}
    assert by_rule["svc-runbook"]["suppressed"] is False and by_rule["svc-runbook"]["failing"] is True
    expired = by_rule["wvr-valid"]
    assert expired["file"] == "policies/waiver.yaml" and expired["line"] == 11
    assert "expired on 2026-11-01; the findings it waived are open again" in expired["message"]


def test_self_approved_waiver_suppresses_nothing(small: Path) -> None:
    add_gap(small)
    (small / "policies" / "runbook.yaml").write_text(control("svc-runbook", "high"))
    with_waiver_control(small)
    (small / "policies" / "waiver.yaml").write_text(waiver("2026-10-01", "2027-01-31", approver="ben@example.com"))
    result = run("--as-of", DEMO_DATE, "--format", "json")
    assert result.exit_code == 1
    messages = {f["rule"]: f for f in findings_of(result)}
    assert messages["svc-runbook"]["suppressed"] is False
    assert "approved by its own requester" in messages["wvr-valid"]["message"]


def test_stale_waiver_is_a_warning_that_does_not_fail(small: Path) -> None:
    with_waiver_control(small)
    (small / "policies" / "waiver.yaml").write_text(waiver("2026-10-01", "2027-01-31", subject="service:billing"))
    result = run("--as-of", DEMO_DATE, "--format", "json", "--fail-on", "info")
    assert result.exit_code == 0
    [stale] = findings_of(result)
    assert stale["rule"] == "wvr-valid" and stale["enforcement"] == "warn" and "stale" in stale["message"]


def test_stale_is_not_claimed_when_the_waived_control_was_not_run(small: Path) -> None:
    with_waiver_control(small)
    (small / "policies" / "waiver.yaml").write_text(waiver("2026-10-01", "2027-01-31", subject="service:billing"))
    result = run("--as-of", DEMO_DATE, "--format", "json", "--select", "wvr-valid")
    assert findings_of(result) == []


# ---------------------------------------------------------------------------------------------------
# Malformed controls are located findings, never skipped silently


@pytest.mark.parametrize("check, path, message", [
    ({"builtin": "svc_owner_exist"}, "spec.check.builtin",
     "unknown built-in check 'svc_owner_exist'; did you mean 'svc_owner_exists'?"),
    ({"builtin": "wvr_valid", "params": {"maxWaiverDaysCritical": "90d"}}, "spec.check.params.maxWaiverDaysCritical",
     "unknown parameter 'maxWaiverDaysCritical' of built-in 'wvr_valid'; did you mean 'maxWaiverDaysCriticalHigh'?"),
    ({"builtin": "svc_owner_exists", "params": {"accountableRoles": "lead"}}, "spec.check.params.accountableRoles",
     "parameter 'accountableRoles' of built-in 'svc_owner_exists': 'lead' is not a list; write [lead]"),
    ({"builtin": "acc_lifecycle", "params": {"maxOnTermination": 24}}, "spec.check.params.maxOnTermination",
     "24 is not text (a duration such as 24h or 90d)"),
    ({"builtin": "acc_lifecycle", "params": {"maxOnTermination": "one day"}}, "spec.check.params.maxOnTermination",
     "'one day' is not a duration such as 24h or 90d"),
    ({"builtin": "svc_owner_exists", "params": {"minMembers": "two"}}, "spec.check.params.minMembers",
     "'two' is not a number"),
    ({"schema": {"type": "objekt"}}, "spec.check.schema.type", "invalid JSON Schema"),
    ({"schema": {"$ref": "https://schemas.example.com/service.json"}}, "spec.check.schema.$ref",
     "cannot be resolved without the network"),
])
def test_malformed_control_is_a_located_finding(small: Path, check: dict[str, Any], path: str, message: str) -> None:
    (small / "policies" / "broken-control.yaml").write_text(control("svc-broken", check=check))
    result = run("--as-of", DEMO_DATE, "--format", "json")
    assert result.exit_code == 1
    [problem] = [f for f in findings_of(result) if f["file"] == "policies/broken-control.yaml"]
    assert problem["rule"] == "control-invalid" and problem["severity"] == "high"
    assert problem["path"] == path and problem["line"] == 8  # `check:` is on line 8 of the control
    assert message in problem["message"]


def test_control_that_selects_nothing_is_reported(small: Path) -> None:
    (small / "policies" / "typo.yaml").write_text(control("svc-typo", where=", where: {type: [busines]}"))
    result = run("--as-of", DEMO_DATE, "--format", "json", "--fail-on", "info")
    assert result.exit_code == 0  # informational: reported, never blocking
    [unused] = findings_of(result)
    assert unused["rule"] == "control-selects-nothing" and unused["line"] == 7
    assert "svc-typo selects no document" in unused["message"]


# ---------------------------------------------------------------------------------------------------
# Formats and output


def test_format_choices_are_the_registered_formats() -> None:
    result = CliRunner().invoke(main, ["check", "--help"])
    assert f"--format [{'|'.join(FORMATS)}]" in result.output


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_a_failing_run(small: Path, fmt: str) -> None:
    add_gap(small)
    (small / "services" / "broken.yaml").write_text("kind: [\n")
    result = run("--as-of", DEMO_DATE, "--format", fmt, "--fail-on", "medium")
    assert result.exit_code == 1
    assert "ledger" in result.stdout and "broken.yaml" in result.stdout


def test_output_file(small: Path) -> None:
    add_gap(small)
    result = run("--as-of", DEMO_DATE, "--format", "json", "-o", "report.json", "--fail-on", "medium")
    assert result.exit_code == 1 and result.stdout == ""
    body = json.loads((small / "report.json").read_text())
    assert body["asOf"] == DEMO_DATE and body["failOn"] == "medium" and body["exitCode"] == 1


# ---------------------------------------------------------------------------------------------------
# The example catalogue and its documented gaps


def test_example_catalogue_shows_its_deliberate_gaps(example: Path) -> None:
    result = run("--as-of", DEMO_DATE, "--format", "json", "--fail-on", "info")
    assert result.exit_code == 1
    found = {(f["rule"], f["name"], f["suppressed"]) for f in findings_of(result)}
    assert ("bck-rpo-consistent", "data-warehouse", True) in found        # waived by a valid waiver
    assert ("acc-review-overdue", "hr-access", False) in found           # its waiver expired
    assert ("wvr-valid", "wvr-2026-019-hr-access-review", False) in found
    assert ("mw-business-hours", "portal-tuesday-release", False) in found
    assert ("oncall-min-rota", "finance-systems", False) in found
    assert not [f for f in findings_of(result) if f["rule"] in ("schema-invalid", "yaml-invalid", "ref-unresolved",
                                                                 "control-invalid", "check-error")]


def test_example_catalogue_before_the_hr_waiver_expired(example: Path) -> None:
    result = run("--as-of", "2026-09-01", "--format", "json", "--select", "acc-review-overdue,wvr-valid")
    hr = [f for f in findings_of(result) if f["name"] == "hr-access"]
    assert hr and all(f["suppressed"] for f in hr)
    assert not [f for f in findings_of(result) if f["rule"] == "wvr-valid" and "expired" in f["message"]]


def test_report_describes_every_rule_that_appears_or_ran(small: Path) -> None:
    """SARIF and the other formats take titles, help and mappings from Report.rules."""
    from datetime import date

    from svcascode.commands.check import run_check
    from svcascode.config import Settings

    add_gap(small)
    (small / "services" / "broken.yaml").write_text("kind: [\n")
    report = run_check(small, Settings(cache=False), date(2026, 11, 27), fail_on="medium")
    assert report.exit_code == 1 and report.as_of == DEMO_DATE
    assert {f.rule for f in report.findings} <= set(report.rules)
    assert report.rules["svc-runbook"] == {
        "title": "Test control svc-runbook", "severity": "medium", "enforcement": "block",
        "help": "How to fix svc-runbook.", "description": "Why svc-runbook matters.",
        "mappings": [{"framework": "iso27001-2022", "controls": ["A.5.37"], "relationship": "intersects-with"}]}
    assert report.rules["yaml-invalid"]["title"] == "File is well-formed, bounded YAML"
    assert report.rules["yaml-invalid"]["help"]


def test_the_installed_script_ends_without_a_pass_of_the_cyclic_collector(example: Path) -> None:
    """The script's process ends when the command returns: the collector, off during the command, is not
    turned on again for a last pass over every object the run made (a tenth of a cold check's time). Counted
    through `gc.callbacks`, in the process the script's entry point runs in."""
    import subprocess
    import sys

    probe = textwrap.dedent("""\
        import gc, os, sys
        from svcascode import cli
        passes = []
        original = cli.main.invoke
        def invoke(ctx):
            gc.callbacks.append(lambda phase, info: passes.append(phase) if phase == "start" else None)
            try:
                return original(ctx)
            finally:
                # the moment `run()` ends the process: flushing its streams may allocate, and so collect
                sys.stdout.flush()
                print("x" * 100_000, file=open(os.devnull, "w"))
                os.write(2, f"collector passes: {len(passes)}\\n".encode())
        cli.main.invoke = invoke
        sys.argv = ["svcascode", "check", "--no-cache", "--as-of", "2026-11-27", "--format", "json"]
        cli.run()
        """)
    ran = subprocess.run([sys.executable, "-c", probe], cwd=example, capture_output=True, text=True, timeout=300)
    assert ran.returncode in (0, 1), ran.stderr
    assert json.loads(ran.stdout)["summary"]
    assert "collector passes: 0\n" in ran.stderr
