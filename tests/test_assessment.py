"""One answer everywhere: check, the diff gate, the catalogue pages and the report read one assessment.

Each test here pins a place where two commands used to disagree about the same fact.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from conftest import copy_example, run_cli
from git_helpers import Repo

AS_OF = "2026-11-27"
WAIVERS = Path("policies/waivers.yaml")
DW_WAIVER = "wvr-2026-047-dw-backup-interval"

# The data-warehouse waiver (control bck-rpo-consistent, critical) as written, and variants of it.
# Each row: what to change in its spec, and the state every command must agree on as of AS_OF.
WAIVER_TABLE = [
    ({}, "in force"),
    ({"requestedBy": "priya.nair@example.com"}, "self-approved"),  # the requester is one of its approvers
    ({"expiresAt": AS_OF}, "expired"),  # expires on the as-of date: no longer in force that day
    ({"approvedAt": "2026-11-28"}, "not yet in force"),  # approved after the as-of date (and the change)
    ({"expiresAt": "2027-05-01"}, "fails wvr-valid"),  # 201 days: longer than a critical waiver may last
]


def _set_waiver(root: Path, changes: dict[str, str]) -> None:
    path = root / WAIVERS
    text = path.read_text()
    head, sep, rest = text.partition(f"name: {DW_WAIVER}")
    block, end, tail = rest.partition("\n---")
    for key, value in changes.items():
        block, count = re.subn(rf"(\n  {key}: )[^\n]*", rf"\g<1>{value}", block)
        assert count == 1, key
    path.write_text(head + sep + block + end + tail)


@pytest.mark.parametrize(("changes", "state"), WAIVER_TABLE, ids=[s for _, s in WAIVER_TABLE])
def test_a_waiver_has_one_state_in_check_the_diff_gate_and_the_report(tmp_path: Path, changes: dict[str, str],
                                                                       state: str) -> None:
    root = copy_example(tmp_path / "repo")
    _set_waiver(root, changes)
    repo = Repo(root)
    repo.commit("catalogue with the waiver", {})
    service = root / "services/catalogue/data-warehouse.yaml"
    service.write_text(service.read_text().replace("    rpo: 4h\n", "    rpo: 8h\n"))  # a weakening it waives

    in_force = state == "in force"
    check = run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=root)
    finding = next(f for f in json.loads(check.stdout)["findings"]
                   if f["rule"] == "bck-rpo-consistent" and f["name"] == "data-warehouse")
    assert ((finding.get("waiver") or {}).get("name") == DW_WAIVER) is in_force, finding

    gate = run_cli("diff", "HEAD", "--as-of", AS_OF, "--fail-on-weakened", "--format", "json", cwd=root)
    unapproved = [u for u in json.loads(gate.stdout)["gate"]["unapproved"] if u["name"] == "data-warehouse"]
    assert (not unapproved) is in_force, gate.stdout
    assert gate.returncode == (0 if in_force else 1)
    comment = run_cli("diff", "HEAD", "--as-of", AS_OF, "--fail-on-weakened", "--format", "markdown", cwd=root)
    assert (f"approved by waiver {DW_WAIVER}" in comment.stdout) is in_force

    out = tmp_path / "report"
    report = run_cli("render", "report", "--out", str(out), "--as-of", AS_OF, "--format", "json",
                     "--history-commits", "0", cwd=root)
    assert report.returncode == 0, report.stderr
    row = next(w for w in json.loads((out / "report.json").read_text())["waivers"] if w["name"] == DW_WAIVER)
    assert row["state"] == state and row["suppresses"] is in_force
    assert row["findingsWaived"] == (1 if in_force else 0)


REMOTE_REF_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-remote-schema, title: A control whose schema needs the network}
spec:
  severity: medium
  enforcement: block
  appliesTo: {kinds: [Service]}
  check:
    schema:
      $ref: "https://schemas.example.com/service.json"
  rationale: Shows that a schema with a remote reference is reported once.
  remediation: Inline the schema.
  examples: {failing: "kind: Service", passing: "kind: Service"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
"""

NOTHING_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-nothing-selected, title: A control that selects no document}
spec:
  severity: low
  enforcement: warn
  appliesTo: {kinds: [Service], labels: {no.such/label: "x"}}
  check:
    schema: {required: [spec]}
  rationale: Selects nothing, on purpose.
  remediation: None needed.
  examples: {failing: "kind: Service", passing: "kind: Service"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
"""


@pytest.fixture(scope="module")
def odd_controls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example catalogue with a malformed control and one that selects nothing."""
    root = copy_example(tmp_path_factory.mktemp("odd") / "catalogue")
    (root / "policies/svc-remote-schema.yaml").write_text(REMOTE_REF_CONTROL)
    (root / "policies/svc-nothing-selected.yaml").write_text(NOTHING_CONTROL)
    return root


def _page(path: Path) -> str:
    """A page's HTML without the <wbr> break hints that long identifiers carry."""
    return path.read_text().replace("<wbr>", "")


def _fingerprints(rows: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["fingerprint"]) for r in rows)


def test_report_findings_equal_check_findings_malformed_controls_included(odd_controls: Path,
                                                                          tmp_path: Path) -> None:
    check = json.loads(run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=odd_controls).stdout)
    out = tmp_path / "report"
    run_cli("render", "report", "--out", str(out), "--as-of", AS_OF, "--format", "json", "--history-commits", "0",
            cwd=odd_controls)
    report = json.loads((out / "report.json").read_text())
    assert _fingerprints(report["findings"]) == _fingerprints(check["findings"])
    remote = [f for f in report["findings"] if "svc-remote-schema" in f["message"]]
    assert len(remote) == 1 and remote[0]["rule"] == "control-invalid"  # one finding, not one per service


def test_a_control_that_selects_nothing_is_not_applicable_everywhere(odd_controls: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run_cli("render", "report", "--out", str(out), "--as-of", AS_OF, "--format", "json", "--history-commits", "0",
            cwd=odd_controls)
    report = json.loads((out / "report.json").read_text())
    statuses = {c["id"]: c["status"] for c in report["controls"]}
    assert statuses["svc-nothing-selected"] == "not-applicable"
    iso = next(f for f in report["frameworks"] if f["name"] == "iso27001-2022")
    assert next(c for c in iso["controls"] if c["id"] == "A.5.9")["status"] != "not-applicable"  # others assess it

    site = tmp_path / "site"
    run_cli("render", "catalogue", "--out", str(site), "--as-of", AS_OF, cwd=odd_controls)
    page = _page(site / "services" / "claims-api.html")
    row = re.search(r"svc-nothing-selected</span>.*?</td><td>(.*?)</td>", page, re.S)
    assert row is not None and "not-applicable" in row.group(1)


def test_a_malformed_control_is_not_assessed_rather_than_satisfied(odd_controls: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run_cli("render", "report", "--out", str(out), "--as-of", AS_OF, "--format", "json", "--history-commits", "0",
            cwd=odd_controls)
    statuses = {c["id"]: c["status"] for c in json.loads((out / "report.json").read_text())["controls"]}
    assert statuses["svc-remote-schema"] == "not-assessed"


def test_a_service_page_shows_the_findings_of_its_owning_team(tmp_path: Path) -> None:
    # general-ledger (tier-1) is owned by finance-systems, whose on-call rota has one person: critical
    root = copy_example(tmp_path / "catalogue")
    site = tmp_path / "site"
    assert run_cli("render", "catalogue", "--out", str(site), "--as-of", AS_OF, cwd=root).returncode == 0
    page = _page(site / "services" / "general-ledger.html")
    title = re.search(r"<h1>.*?</h1>", page, re.S)
    assert title is not None and "non-compliant" in title.group(0)
    assert "oncall-min-rota" in page and "Team/finance-systems" in page
    team = _page(site / "teams" / "finance-systems.html")
    findings = team.split('id="findings"')[1]
    assert "oncall-min-rota" in findings and "1 distinct person on call" in findings
    index = _page(site / "index.html")
    row = re.search(r'services/general-ledger\.html.*?</tr>', index, re.S)
    assert row is not None and "non-compliant" in row.group(0)


FRAMEWORK_EXTRA = "    - {id: A.5.1, title: Policies for information security}\n"


def test_a_framework_lists_controls_no_control_assesses_as_not_assessed(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    library = Path(__file__).parent.parent / "svcascode" / "library"
    text = (library / "frameworks" / "iso27001-2022.yaml").read_text()  # the repository's own replaces it
    if "id: A.5.1," not in text:
        text = text.replace("  controls:\n", "  controls:\n" + FRAMEWORK_EXTRA, 1)
    (root / "policies" / "iso27001-2022.yaml").write_text(text)
    mapped = {c for f in (library / "controls").glob("*.yaml") for c in re.findall(
        r"framework: iso27001-2022, controls: \[([^\]]*)\]", f.read_text()) for c in c.split(", ")}
    assert "A.5.1" not in mapped
    out = tmp_path / "report"
    run_cli("render", "report", "--out", str(out), "--as-of", AS_OF, "--format", "json", "--format", "md",
            "--history-commits", "0", cwd=root)
    iso = next(f for f in json.loads((out / "report.json").read_text())["frameworks"] if f["name"] == "iso27001-2022")
    row = next(c for c in iso["controls"] if c["id"] == "A.5.1")
    assert row["status"] == "not-assessed" and row["controls"] == []
    coverage = iso["coverage"]
    assert coverage["total"] == len(iso["controls"]) and coverage["assessed"] < coverage["total"]
    assert iso["counts"]["not-assessed"] == coverage["total"] - coverage["assessed"] >= 1
    markdown = (out / "report.md").read_text()
    assert f"Coverage: {coverage['assessed']} of {coverage['total']} controls assessed" in markdown


def test_check_and_history_agree_on_open_findings(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    repo = Repo(root)
    repo.commit("catalogue", {}, date="2026-11-27T12:00:00+00:00")
    check = json.loads(run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=root).stdout)
    history = json.loads(run_cli("history", "--posture", "--format", "json", cwd=root).stdout)
    point = history["commits"][-1]
    open_findings = [f for f in check["findings"] if not f.get("waiver")]
    assert sum(point["findings"].values()) == len(open_findings) > 0
    assert date.fromisoformat(point["asOf"]) == date.fromisoformat(AS_OF)
