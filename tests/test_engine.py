"""The engine: which documents a control selects, baselines, malformed controls, and waivers over time."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest

from svcascode.catalogue import Catalogue, load_catalogue
from svcascode.config import LibrarySettings, Settings
from svcascode.engine import evaluate

REPO = Path(__file__).parent.parent


def service(name: str, tier: str = "tier-2", extra: str = "", labels: str = "{}") -> str:
    return textwrap.dedent(f"""\
        apiVersion: svcascode.io/v1alpha1
        kind: Service
        metadata: {{name: {name}, labels: {labels}}}
        spec:
          type: business
          tier: {tier}
          lifecycle: production
          owner: ops
          supportHours: always-on
          data: {{classification: internal}}
        """) + extra


def control(name: str, applies: str = "{kinds: [Service]}", check: str = "{schema: {properties: {spec: "
            "{required: [businessOwner]}}}}", severity: str = "high") -> str:
    return textwrap.dedent(f"""\
        apiVersion: svcascode.io/v1alpha1
        kind: Control
        metadata: {{name: {name}}}
        spec:
          severity: {severity}
          enforcement: block
          appliesTo: {applies}
          check: {check}
          rationale: r
          remediation: r
          examples: {{failing: f, passing: p}}
          mappings:
            - {{framework: iso27001-2022, controls: [A.5.9]}}
        """)


def waiver(approved: str, expires: str, approver: str = "ana@example.com", subject: str = "service:billing",
           name: str = "wvr-billing") -> str:
    return textwrap.dedent(f"""\
        apiVersion: svcascode.io/v1alpha1
        kind: Waiver
        metadata: {{name: {name}}}
        spec:
          control: svc-owner
          subjects: [{subject}]
          justification: Owner being appointed.
          requestedBy: ben@example.com
          approvedBy: [{approver}]
          approvedAt: {approved}
          expiresAt: {expires}
        """)


def catalogue(tmp_path: Path, *documents: str) -> Catalogue:
    (tmp_path / "services").mkdir()
    (tmp_path / "policies").mkdir()
    shutil.copy(REPO / "tests" / "cases" / "_base.yaml", tmp_path / "services" / "base.yaml")
    shutil.copytree(REPO / "svcascode" / "library" / "frameworks", tmp_path / "policies" / "frameworks")
    shutil.copy(REPO / "svcascode" / "library" / "controls" / "wvr-valid.yaml", tmp_path / "policies" / "wvr-valid.yaml")
    (tmp_path / "services" / "case.yaml").write_text("---\n".join(documents))
    (tmp_path / ".svcascode.yaml").write_text("library: {enabled: false}  # only the controls each test writes\n")
    result = load_catalogue(tmp_path, Settings(cache=False, library=LibrarySettings(enabled=False)))
    assert not result.findings, [f"{f.located()}: {f.message}" for f in result.findings]
    return result.catalogue


AS_OF = date(2026, 11, 27)


# ---------------------------------------------------------------------------------------------------
# Waivers across as-of dates: approved 2026-06-01, expires 2026-11-01


@pytest.mark.parametrize("as_of, waived, expired", [
    (date(2026, 5, 31), False, False),   # not yet approved: the finding is open, the waiver not stale
    (date(2026, 6, 1), True, False),     # in force from the approval date
    (date(2026, 10, 31), True, False),   # last day in force
    (date(2026, 11, 1), False, True),    # expires on this day: the finding re-opens
    (date(2027, 1, 15), False, True),
])
def test_waiver_across_as_of_dates(tmp_path: Path, as_of: date, waived: bool, expired: bool) -> None:
    cat = catalogue(tmp_path, service("billing"), control("svc-owner"), waiver("2026-06-01", "2026-11-01"))
    result = evaluate(cat, as_of)
    [owner] = [f for f in result.findings if f.rule == "svc-owner"]
    assert owner.suppressed is waived
    assert (owner.justification == "Owner being appointed.") is waived
    assert result.waiver_matches == ({"wvr-billing": 1} if waived else {})
    waiver_findings = [f.message for f in result.findings if f.rule == "wvr-valid"]
    if expired:
        assert waiver_findings == ["expired on 2026-11-01; the findings it waived are open again: fix them, or "
                                   "renew the waiver with a new approval and expiry"]
    elif as_of == date(2026, 10, 31):
        assert len(waiver_findings) == 1 and "expires on 2026-11-01, in 1 day:" in waiver_findings[0]
    else:
        assert waiver_findings == []


def test_the_same_date_gives_the_same_answer_in_separate_processes(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    catalogue(tmp_path, service("billing"), control("svc-owner"), waiver("2026-06-01", "2026-11-01"))
    runs = []
    for seed in ("1", "2"):  # a different hash seed changes set and dict-of-set iteration orders
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "svcascode", "check", "--as-of", AS_OF.isoformat(),
                               "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True)
        runs.append([(f["rule"], f["name"], bool(f.get("waiver"))) for f in json.loads(done.stdout)["findings"]])
    assert runs[0] == runs[1] == [("svc-owner", "billing", False), ("wvr-valid", "wvr-billing", False)]


def test_self_approved_waiver_suppresses_nothing(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, service("billing"), control("svc-owner"),
                    waiver("2026-10-01", "2027-01-31", approver="ben@example.com"))
    result = evaluate(cat, AS_OF)
    assert [(f.rule, f.suppressed) for f in result.findings if f.rule == "svc-owner"] == [("svc-owner", False)]
    assert any("approved by its own requester" in f.message for f in result.findings if f.rule == "wvr-valid")
    assert result.waiver_matches == {}


def test_waiver_only_covers_its_subjects(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, service("billing"), service("ledger"), control("svc-owner"),
                    waiver("2026-10-01", "2027-01-31"))
    result = evaluate(cat, AS_OF)
    state = {f.name: f.suppressed for f in result.findings if f.rule == "svc-owner"}
    assert state == {"billing": True, "ledger": False}


def test_a_stale_waiver_is_known_once_every_other_control_ran(tmp_path: Path) -> None:
    owned = "  businessOwner: head-of-billing@example.com\n"
    cat = catalogue(tmp_path, service("billing", extra=owned), control("svc-owner"),
                    waiver("2026-10-01", "2027-01-31"))
    result = evaluate(cat, AS_OF)
    # wvr-valid runs first (a waiver it fails suppresses nothing); what a waiver matched is known at the end
    assert [c.name for c in result.controls] == ["wvr-valid", "svc-owner"]
    [stale] = result.findings
    assert stale.rule == "wvr-valid" and stale.enforcement == "warn" and "stale" in stale.message


# ---------------------------------------------------------------------------------------------------
# Selection


def test_select_and_ignore(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, service("billing"), control("svc-owner"),
                    control("svc-owner-again"))
    assert {f.rule for f in evaluate(cat, AS_OF).findings} == {"svc-owner", "svc-owner-again"}
    assert {f.rule for f in evaluate(cat, AS_OF, select=["svc-owner"]).findings} == {"svc-owner"}
    assert {f.rule for f in evaluate(cat, AS_OF, ignore=["svc-owner"]).findings} == {"svc-owner-again"}


def test_applies_to_where_labels_and_has_fields(tmp_path: Path) -> None:
    cat = catalogue(
        tmp_path,
        service("billing", tier="tier-1", labels="{domain: finance}"),
        service("ledger", tier="tier-2", labels="{domain: finance}"),
        service("wiki", tier="tier-1"),
        service("portal", tier="tier-1", labels="{domain: finance}", extra="  operations: {runbook: https://x.io}\n"),
        control("by-tier", applies="{kinds: [Service], where: {tier: tier-1}}"),
        control("by-label", applies="{kinds: [Service], labels: {domain: finance}}"),
        control("by-field", applies="{kinds: [Service], hasFields: [operations.runbook]}"),
    )
    subjects = {rule: sorted(d.name for d in docs) for rule, docs in evaluate(cat, AS_OF).subjects.items()}
    assert subjects["by-tier"] == ["billing", "portal", "wiki"]
    assert subjects["by-label"] == ["billing", "ledger", "portal"]
    assert subjects["by-field"] == ["portal"]


def test_baseline_can_leave_a_control_out_for_a_tier(tmp_path: Path) -> None:
    baseline = textwrap.dedent("""\
        apiVersion: svcascode.io/v1alpha1
        kind: Baseline
        metadata: {name: tier-3-light}
        spec:
          appliesTo: {tiers: [tier-3]}
          controls: [all]
          exclude: [svc-owner]
        """)
    cat = catalogue(tmp_path, service("billing", tier="tier-1"), service("wiki", tier="tier-3"),
                    control("svc-owner"), baseline)
    assert [f.name for f in evaluate(cat, AS_OF).findings] == ["billing"]


# ---------------------------------------------------------------------------------------------------
# Malformed and unused controls


def test_malformed_control_is_a_problem_and_the_others_still_run(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, service("billing"), control("svc-owner"),
                    control("svc-bad", check="{builtin: no_such_check}"))
    result = evaluate(cat, AS_OF)
    [problem] = [p for p in result.problems if p.rule != "control-selects-nothing"]
    assert problem.rule == "control-invalid" and problem.name == "svc-bad"
    assert problem.json_path == "spec.check.builtin" and problem.file == "services/case.yaml"
    assert "unknown built-in check 'no_such_check'" in problem.message
    assert "svc-bad" not in {c.name for c in result.controls}
    assert [f.rule for f in result.findings] == ["svc-owner"]


def test_control_selecting_nothing_is_reported(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, service("billing", extra="  businessOwner: a@example.com\n"),
                    control("svc-owner", applies="{kinds: [Service], where: {tier: tier-9}}"))
    [unused] = [p for p in evaluate(cat, AS_OF).problems if p.name == "svc-owner"]
    assert unused.rule == "control-selects-nothing" and unused.enforcement == "audit"
    assert unused.json_path == "spec.appliesTo"
